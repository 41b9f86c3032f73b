import Foundation
import Logging

/// The library's front door: the one value an embedding program creates and keeps.
///
/// A client resolves providers by name from its own ``ProviderRegistry``, finds their
/// credentials, and runs contacts through the pipeline — map, normalise, validate, batch,
/// send with retries, and results in input order. It has no global state: two clients
/// in one process share nothing but what you give both.
///
/// ```swift
/// var providers = ProviderRegistry()
/// providers.register(myProvider)
/// let client = ContactorClient(
///     configuration: .init(transport: myTransport, providers: providers))
/// let outcomes = try await client.add(
///     [ContactDraft(phone: "06 12 34 56 78", firstName: "Ada")],
///     provider: "octopush", list: "newsletter")
/// ```
public struct ContactorClient: Sendable {
    /// Everything a client needs, set once.
    public struct Configuration: Sendable {
        /// The only way to the network (a real HTTP client, a dry-run recorder, a mock).
        public var transport: any HTTPTransport
        /// The providers, by name.
        public var providers: ProviderRegistry
        /// When to send a failed request again.
        public var retry: RetryPolicy
        /// The most batches in flight at once, per run (at least 1).
        public var concurrency: Int
        /// Where to log; credentials are never logged.
        public var logger: Logger
        /// Where import runs are recorded for `resume`, if anywhere.
        public var journal: (any RunJournal)?
        /// Where credentials come from.
        public var credentials: CredentialResolver

        /// Creates a configuration.
        /// - Parameters:
        ///   - transport: The only way to the network.
        ///   - providers: The providers, by name.
        ///   - retry: When to send a failed request again.
        ///   - concurrency: The most batches in flight at once.
        ///   - logger: Where to log.
        ///   - journal: Where import runs are recorded, if anywhere.
        ///   - credentials: Where credentials come from; by default the process
        ///     environment only.
        public init(
            transport: any HTTPTransport, providers: ProviderRegistry,
            retry: RetryPolicy = .standard, concurrency: Int = 4,
            logger: Logger = Logger(label: "contactor"), journal: (any RunJournal)? = nil,
            credentials: CredentialResolver = CredentialResolver()
        ) {
            self.transport = transport
            self.providers = providers
            self.retry = retry
            self.concurrency = max(1, concurrency)
            self.logger = logger
            self.journal = journal
            self.credentials = credentials
        }
    }

    /// The configuration the client was created with.
    public let configuration: Configuration

    /// Creates a client.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The provider named `name`.
    /// - Throws: ``ContactError`` `invalid_configuration` naming the known providers.
    public func provider(named name: String) throws(ContactError) -> any ContactProvider {
        try configuration.providers.resolve(name)
    }

    // MARK: Imports

    /// Runs `records` (CSV rows, typically) through the pipeline and returns their outcomes,
    /// in input order, as they come.
    ///
    /// Everything that can refuse the run as a whole is checked before this returns, and
    /// then nothing has been sent: an unknown provider or an operation it does not support
    /// (`invalid_configuration`, `unsupported_operation`), a list or options it refuses
    /// (``ContactProvider/checkList(_:options:for:)``), a missing credential
    /// (`auth_failed`), a journal run that cannot be resumed (`invalid_configuration`).
    ///
    /// With a journal configured and ``RunOptions/runInfo`` set, the run is recorded: every
    /// outcome is durable in the journal before it is yielded. With ``RunOptions/resume``,
    /// the last unfinished run continues: its lines with a final outcome are not sent
    /// again, and their recorded outcomes are yielded again (``RecordOutcome/isReplayed``)
    /// so the output stays complete. A run is marked finished only when it went through
    /// the whole input, did not stop early, and left no record `failed`; otherwise a later
    /// `resume` sends its failed and missing lines.
    ///
    /// - Parameters:
    ///   - records: The input; read lazily, never all at once.
    ///   - operation: `add` or `delete`.
    ///   - provider: The provider's name.
    ///   - list: The list at the provider.
    ///   - options: Everything else.
    /// - Returns: The run, a sequence of one ``RecordOutcome`` per record.
    /// - Throws: ``ContactError`` when the run is refused before anything is sent.
    public func importRecords<Records: AsyncSequence & Sendable>(
        _ records: Records, operation: ContactOperation = .add, provider: String,
        list: String, options: RunOptions = RunOptions()
    ) async throws -> ImportRun where Records.Element == InputRecord {
        try await start(operation: operation, provider: provider, list: list, options: options) {
            engine, emit in
            try await engine.run(
                records, source: { EngineSource(line: $0.line, payload: .record($0)) },
                emit: emit)
        }
    }

    // MARK: Single operations

    /// Adds contacts given as drafts (phones as typed) to `list`.
    ///
    /// The drafts are normalised and checked like imported records; each outcome's
    /// ``RecordOutcome/line`` is the draft's 1-based position.
    /// - Returns: One outcome per draft, in order.
    /// - Throws: ``ContactError`` when the run is refused before anything is sent (see
    ///   ``importRecords(_:operation:provider:list:options:)``).
    public func add(
        _ drafts: [ContactDraft], provider: String, list: String,
        options: RunOptions = RunOptions()
    ) async throws -> [RecordOutcome] {
        try await collect(
            drafts.enumerated().map { .init(line: $0 + 1, payload: .draft($1)) },
            operation: .add, provider: provider, list: list, options: options)
    }

    /// Adds contacts already normalised to `list`; they are still checked by the provider
    /// and the validators.
    /// - Returns: One outcome per contact, in order.
    /// - Throws: ``ContactError`` when the run is refused before anything is sent.
    public func add(
        _ contacts: [Contact], provider: String, list: String,
        options: RunOptions = RunOptions()
    ) async throws -> [RecordOutcome] {
        try await collect(
            contacts.enumerated().map { .init(line: $0 + 1, payload: .contact($1)) },
            operation: .add, provider: provider, list: list, options: options)
    }

    /// Deletes contacts given as drafts (only the phone matters to most providers) from
    /// `list`.
    /// - Returns: One outcome per draft, in order.
    /// - Throws: ``ContactError`` when the run is refused before anything is sent.
    public func delete(
        _ drafts: [ContactDraft], provider: String, list: String,
        options: RunOptions = RunOptions()
    ) async throws -> [RecordOutcome] {
        try await collect(
            drafts.enumerated().map { .init(line: $0 + 1, payload: .draft($1)) },
            operation: .delete, provider: provider, list: list, options: options)
    }

    /// Deletes contacts already normalised from `list`.
    /// - Returns: One outcome per contact, in order.
    /// - Throws: ``ContactError`` when the run is refused before anything is sent.
    public func delete(
        _ contacts: [Contact], provider: String, list: String,
        options: RunOptions = RunOptions()
    ) async throws -> [RecordOutcome] {
        try await collect(
            contacts.enumerated().map { .init(line: $0 + 1, payload: .contact($1)) },
            operation: .delete, provider: provider, list: list, options: options)
    }

    /// Deletes the contacts with these phone numbers (as typed) from `list`.
    /// - Returns: One outcome per number, in order.
    /// - Throws: ``ContactError`` when the run is refused before anything is sent.
    public func delete(
        phones: [String], provider: String, list: String, options: RunOptions = RunOptions()
    ) async throws -> [RecordOutcome] {
        try await delete(
            phones.map { ContactDraft(phone: $0) }, provider: provider, list: list,
            options: options)
    }

    // MARK: Machinery

    private func collect(
        _ sources: [EngineSource], operation: ContactOperation, provider: String, list: String,
        options: RunOptions
    ) async throws -> [RecordOutcome] {
        let run = try await start(
            operation: operation, provider: provider, list: list, options: options
        ) { engine, emit in
            try await engine.run(ArraySequence(sources), source: { $0 }, emit: emit)
        }
        var outcomes: [RecordOutcome] = []
        outcomes.reserveCapacity(sources.count)
        for try await outcome in run { outcomes.append(outcome) }
        return outcomes
    }

    private typealias Body =
        @Sendable (ImportEngine, ([RecordOutcome]) async throws -> Void) async throws -> Void

    private func start(
        operation: ContactOperation, provider name: String, list: String, options: RunOptions,
        body: @escaping Body
    ) async throws -> ImportRun {
        let provider = try configuration.providers.resolve(name)
        let descriptor = provider.descriptor
        guard descriptor.supports(operation) else {
            throw ContactError(
                .unsupportedOperation, "\(operation) is not supported by \(descriptor.name)",
                provider: descriptor.name, operation: operation)
        }
        if let error = provider.checkList(list, options: options.providerOptions, for: operation) {
            throw error.attributed(to: descriptor.name, operation: operation)
        }
        let credentials = try configuration.credentials.resolve(
            for: descriptor, overrides: options.credentials)
        var logger = configuration.logger
        logger[metadataKey: "provider"] = "\(descriptor.name)"
        let context = ProviderContext(
            transport: configuration.transport, credentials: credentials,
            endpoint: options.endpoint ?? descriptor.defaultEndpoint,
            options: options.providerOptions, logger: logger, payloadHook: options.payloadHook)
        let state = RunState()
        var engine = ImportEngine(
            provider: provider, operation: operation, list: list, context: context,
            preparer: RecordPreparer(
                mapper: options.mapper, region: options.region, provider: provider,
                operation: operation, validators: options.validators),
            batchSize: min(
                descriptor.batchSize(for: operation), max(1, options.batchSize ?? .max)),
            concurrency: max(1, options.concurrency ?? configuration.concurrency),
            retry: configuration.retry, logger: logger, state: state)

        let plan = try await journalPlan(
            provider: descriptor.name, operation: operation, list: list, options: options)
        if case .resume(let journal, let id) = plan {
            let finished = try await journal.finishedLines(run: id)
            engine.replay = ReplayWindow(journal: journal, run: id, finished: finished)
            logger.info("resuming journal run \(id): \(finished.count) lines already done")
        }
        let producer: ImportRun.Producer = { [engine] channel in
            await Self.produce(engine: engine, plan: plan, channel: channel, body: body)
        }
        return ImportRun(
            provider: descriptor.name, operation: operation, list: list, state: state,
            producer: producer)
    }

    private enum JournalPlan: Sendable {
        case none
        case start(any RunJournal, RunInfo)
        case resume(any RunJournal, Int64)
    }

    private func journalPlan(
        provider: String, operation: ContactOperation, list: String, options: RunOptions
    ) async throws -> JournalPlan {
        guard let journal = configuration.journal, let info = options.runInfo else {
            if options.resume {
                throw ContactError(
                    .invalidConfiguration,
                    configuration.journal == nil
                        ? "cannot resume without a journal (use --journal)"
                        : "cannot resume without the run's input information")
            }
            return .none
        }
        guard options.resume else { return .start(journal, info) }
        guard let (id, recorded) = try await journal.lastUnfinishedRun() else {
            throw ContactError(
                .invalidConfiguration, "the journal has no unfinished run to resume")
        }
        var differences: [String] = []
        if recorded.inputDigest != info.inputDigest {
            differences.append(
                "the input's content differs from the one recorded (\(recorded.inputPath))")
        }
        if recorded.provider.lowercased() != provider.lowercased() {
            differences.append("it was sent to \(recorded.provider), not \(provider)")
        }
        if recorded.list != list { differences.append("its list was '\(recorded.list)'") }
        if recorded.operation != operation {
            differences.append("it was a \(recorded.operation) run, not \(operation)")
        }
        guard differences.isEmpty else {
            throw ContactError(
                .invalidConfiguration,
                "cannot resume journal run \(id): \(differences.joined(separator: "; "))")
        }
        return .resume(journal, id)
    }

    private static func produce(
        engine: ImportEngine, plan: JournalPlan, channel: OutcomeChannel, body: Body
    ) async {
        do {
            var journal: (any RunJournal)?
            var runID: Int64?
            switch plan {
            case .none: break
            case .start(let store, let info):
                journal = store
                runID = try await store.startRun(info)
            case .resume(let store, let id):
                journal = store
                runID = id
            }
            engine.state.runID = runID
            var sawFailure = false
            try await body(engine) { chunk in
                if chunk.contains(where: { $0.result.status == .failed }) { sawFailure = true }
                if let journal, let runID {
                    let entries = chunk.lazy.filter { !$0.isReplayed }.map(\.journalEntry)
                    if !entries.isEmpty { try await journal.record(Array(entries), run: runID) }
                }
                guard await channel.send(chunk) else { throw CancellationError() }
            }
            if let journal, let runID, !sawFailure, engine.state.stopReason == nil {
                try await journal.finishRun(runID)
            }
            channel.finish()
        } catch {
            channel.finish(throwing: error)
        }
    }
}

/// The options of one run.
public struct RunOptions: Sendable {
    /// The region national numbers are read in (`--region`); the provider's default when
    /// `nil`.
    public var region: String?
    /// The base URL that replaces the provider's (`--endpoint`).
    public var endpoint: URL?
    /// Provider-specific options (`tag_name`, ...), checked by the provider.
    public var providerOptions: [String: String]
    /// Turns records into drafts; the CSV contract's columns by default.
    public var mapper: any RecordMapper
    /// Extra checks after the provider's, in order (`--validator`).
    public var validators: [any ContactValidator]
    /// A batch size smaller than the provider's (`--batch-size`); larger values are capped.
    public var batchSize: Int?
    /// The most batches in flight (`--concurrency`); the client's setting when `nil`.
    public var concurrency: Int?
    /// Edits a built-in provider's payload before it is sent (a Lua mapping's `payload`).
    public var payloadHook: PayloadHook?
    /// Credential values that take precedence over every other source, by key.
    public var credentials: [String: String]
    /// What the journal records about the run; without it, nothing is recorded.
    public var runInfo: RunInfo?
    /// Whether to continue the journal's last unfinished run instead of starting anew.
    public var resume: Bool

    /// Creates options.
    public init(
        region: String? = nil, endpoint: URL? = nil, providerOptions: [String: String] = [:],
        mapper: any RecordMapper = StandardColumnsMapper(),
        validators: [any ContactValidator] = [], batchSize: Int? = nil,
        concurrency: Int? = nil, payloadHook: PayloadHook? = nil,
        credentials: [String: String] = [:], runInfo: RunInfo? = nil, resume: Bool = false
    ) {
        self.region = region
        self.endpoint = endpoint
        self.providerOptions = providerOptions
        self.mapper = mapper
        self.validators = validators
        self.batchSize = batchSize
        self.concurrency = concurrency
        self.payloadHook = payloadHook
        self.credentials = credentials
        self.runInfo = runInfo
        self.resume = resume
    }
}

/// An array as an `AsyncSequence`, for the engine's array entry points.
struct ArraySequence<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]

    init(_ elements: [Element]) { self.elements = elements }

    func makeAsyncIterator() -> Iterator { Iterator(base: elements.makeIterator()) }

    struct Iterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[Element]>
        mutating func next() async -> Element? { base.next() }
    }
}
