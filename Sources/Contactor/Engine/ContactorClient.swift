import Foundation
import Logging
import ServiceContextModule
import Tracing

/// The library's front door: the one value an embedding program creates and keeps.
///
/// A client owns the whole send pipeline. For each run it resolves the provider and its
/// credentials once, has the provider check the list once, then streams the records
/// through: map, normalise, validate (the provider's local rules, then the validators —
/// once per record), batch, send through the middlewares and the transport, retry with
/// its clock, journal, and yield the outcomes in input order. Adapters only build requests
/// and read responses.
///
/// It has no global state: two clients in one process share nothing but what you give
/// both.
///
/// ```swift
/// var providers = ProviderRegistry()
/// providers.register(myProvider)
/// let client = ContactorClient(
///     configuration: .init(transport: myTransport, providers: providers))
/// let outcomes = try await client.add(
///     [ContactDraft(phone: "06 12 34 56 78", firstName: "Ada")],
///     provider: "octopush", list: "newsletter",
///     options: RunOptions(credentials: ["api_login": login, "api_key": key]))
/// ```
public struct ContactorClient: Sendable {
    /// Everything a client needs, set once.
    public struct Configuration: Sendable {
        /// The only way to the network (a real HTTP client, a mock).
        public var transport: any HTTPTransport
        /// The providers, by name.
        public var providers: ProviderRegistry
        /// When to send a failed request again: the pipeline's one retry layer.
        public var retry: RetryPolicy
        /// The most batches in flight at once, per run (at least 1).
        public var concurrency: Int
        /// How many chunks of records are prepared at once (at least 1; one per core by
        /// default).
        public var preparationConcurrency: Int
        /// Where to log; credentials are never logged.
        public var logger: Logger
        /// Where import runs are recorded for `resume`, if anywhere.
        public var journal: (any RunJournal)?
        /// Where credentials come from.
        public var credentials: CredentialResolver
        /// Work done around every request, outermost first (logging, recording, ...). A
        /// ``RateLimitMiddleware`` for ``rateLimit`` always runs innermost, so that every
        /// request a middleware lets through is counted.
        public var middlewares: [any ClientMiddleware]
        /// How fast each provider account is sent to.
        public var rateLimit: RateLimitPolicy
        /// Where metrics and traces go (the process's bootstrapped backends by default).
        public var observability: Observability {
            didSet { instruments = Instruments(observability) }
        }
        /// Where the rate limits are kept: the client's own token buckets by default; a
        /// store shared by several processes keeps one limit per account across them.
        public var rateLimiter: any RateLimitStore
        let clock: EngineClock
        private(set) var instruments: Instruments

        /// Creates a configuration.
        /// - Parameters:
        ///   - transport: The only way to the network.
        ///   - providers: The providers, by name.
        ///   - retry: When to send a failed request again.
        ///   - concurrency: The most batches in flight at once.
        ///   - preparationConcurrency: How many chunks of records are prepared at once;
        ///     the number of cores when `nil`.
        ///   - logger: Where to log.
        ///   - journal: Where import runs are recorded, if anywhere.
        ///   - credentials: Where credentials come from (nothing but the run's own values
        ///     by default; the process environment is read only if you pass it).
        ///   - middlewares: Work around every request, outermost first.
        ///   - rateLimit: How fast each provider account is sent to.
        ///   - observability: Where metrics and traces go.
        ///   - clock: The clock the retries and rate limits wait on; tests pass one whose
        ///     waits return at once.
        public init<C: Clock>(
            transport: any HTTPTransport, providers: ProviderRegistry,
            retry: RetryPolicy = .standard, concurrency: Int = 4,
            preparationConcurrency: Int? = nil, logger: Logger = Logger(label: "contactor"),
            journal: (any RunJournal)? = nil,
            credentials: CredentialResolver = CredentialResolver(),
            middlewares: [any ClientMiddleware] = [], rateLimit: RateLimitPolicy = .providerDefault,
            observability: Observability = Observability(), clock: C
        ) where C.Duration == Duration {
            self.transport = transport
            self.providers = providers
            self.retry = retry
            self.concurrency = max(1, concurrency)
            self.preparationConcurrency = max(
                1, preparationConcurrency ?? ProcessInfo.processInfo.activeProcessorCount)
            self.logger = logger
            self.journal = journal
            self.credentials = credentials
            self.middlewares = middlewares
            self.rateLimit = rateLimit
            self.observability = observability
            self.instruments = Instruments(observability)
            self.clock = EngineClock(clock)
            self.rateLimiter = RateLimiter(clock: clock)
        }

        /// Creates a configuration whose retries and rate limits wait on the system's
        /// continuous clock (see the other initialiser for the parameters).
        public init(
            transport: any HTTPTransport, providers: ProviderRegistry,
            retry: RetryPolicy = .standard, concurrency: Int = 4,
            preparationConcurrency: Int? = nil, logger: Logger = Logger(label: "contactor"),
            journal: (any RunJournal)? = nil,
            credentials: CredentialResolver = CredentialResolver(),
            middlewares: [any ClientMiddleware] = [], rateLimit: RateLimitPolicy = .providerDefault,
            observability: Observability = Observability()
        ) {
            self.init(
                transport: transport, providers: providers, retry: retry,
                concurrency: concurrency, preparationConcurrency: preparationConcurrency,
                logger: logger, journal: journal, credentials: credentials,
                middlewares: middlewares, rateLimit: rateLimit, observability: observability,
                clock: ContinuousClock())
        }
    }

    /// The configuration the client was created with.
    public let configuration: Configuration

    /// Creates a client.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The provider named `name`.
    /// - Throws: ``ContactorError`` `unknown_provider` naming the known providers.
    public func provider(named name: String) throws(ContactorError) -> any ContactProvider {
        try configuration.providers.resolve(name)
    }

    // MARK: Runs

    /// Runs `records` (CSV rows, typically) through the pipeline and returns their outcomes,
    /// in input order, as they come.
    ///
    /// Everything that can refuse the run as a whole is checked before this returns, and
    /// then nothing has been sent: an unknown provider or an operation it does not support
    /// (`unknown_provider`, `unsupported_operation`), a list or options it refuses
    /// (`invalid_list`, see ``ContactProvider/checkList(_:options:for:)``), a missing
    /// credential (`missing_credential`), a journal run that cannot be resumed
    /// (`cannot_resume`).
    ///
    /// With a journal configured and ``RunOptions/runInfo`` set, the run is recorded: each
    /// batch's outcomes are durable in the journal as soon as the provider answered, and
    /// every outcome before it is yielded. With ``RunOptions/resume``, the last unfinished
    /// run continues: its lines with a final outcome are not sent again, and their
    /// recorded outcomes are yielded again (``RecordOutcome/isReplayed``) so the output
    /// stays complete. A run is marked finished only when it went through the whole input,
    /// did not stop early, and left no record `failed`; otherwise a later `resume` sends
    /// its failed and missing lines.
    ///
    /// - Parameters:
    ///   - records: The input; read lazily, never all at once.
    ///   - operation: `add`, `update` or `delete`.
    ///   - provider: The provider's name.
    ///   - list: The list at the provider.
    ///   - options: Everything else.
    /// - Returns: The run, a sequence of one ``RecordOutcome`` per record.
    /// - Throws: ``ContactorError`` when the run is refused before anything is sent.
    public func importRecords<Records: AsyncSequence & Sendable>(
        _ records: Records, operation: ContactOperation = .add, provider: String,
        list: String, options: RunOptions = RunOptions()
    ) async throws(ContactorError) -> ImportRun where Records.Element == InputRecord {
        let engine = try makeEngine(
            operation: operation, provider: provider, list: list, options: options)
        return try await start(engine, options: options) { engine, emit in
            try await engine.run(
                records, source: { EngineSource(line: $0.line, payload: .record($0)) },
                emit: emit)
        }
    }

    /// Maps, normalises and checks `records` without sending anything: each outcome is
    /// `valid`, `rejected` (or `failed` when a plugin broke), or `skipped` for a phone met
    /// earlier in the input.
    ///
    /// - Parameters:
    ///   - records: The input.
    ///   - provider: A provider whose local rules apply too (field limits, custom fields
    ///     it has a place for), and whose region reads national numbers; `nil` for none.
    ///   - options: The region, mapper, validators and field policy; the rest is unused.
    /// - Throws: ``ContactorError`` `unknown_provider`.
    public func validate<Records: AsyncSequence & Sendable>(
        _ records: Records, provider: String? = nil, options: RunOptions = RunOptions()
    ) async throws(ContactorError) -> ImportRun where Records.Element == InputRecord {
        try await prepareOnly(
            records, operation: .add, provider: provider, options: options, keepsContacts: false)
    }

    /// Does all of a run's local work on `records` (mapping, normalisation, the provider's
    /// and the validators' checks, duplicates) and sends nothing: each `valid` outcome
    /// carries the contact as it would be sent (``RecordOutcome/contact``), for a service
    /// that sends it elsewhere, later or from another process (ContactorPostgres's work
    /// queue), with ``send(_:operation:provider:list:options:)``.
    ///
    /// - Throws: ``ContactorError`` `unknown_provider`, `unsupported_operation` or
    ///   `invalid_list` (what the provider refuses before anything is sent; no credential
    ///   is needed).
    public func prepare<Records: AsyncSequence & Sendable>(
        _ records: Records, operation: ContactOperation, provider: String, list: String,
        options: RunOptions = RunOptions()
    ) async throws(ContactorError) -> ImportRun where Records.Element == InputRecord {
        try check(
            try self.provider(named: provider), operation: operation, list: list,
            options: options)
        return try await prepareOnly(
            records, operation: operation, provider: provider, options: options,
            keepsContacts: true)
    }

    private func prepareOnly<Records: AsyncSequence & Sendable>(
        _ records: Records, operation: ContactOperation, provider: String?, options: RunOptions,
        keepsContacts: Bool
    ) async throws(ContactorError) -> ImportRun where Records.Element == InputRecord {
        let resolved = try provider.map { name throws(ContactorError) in
            try self.provider(named: name)
        }
        let logger = options.logger ?? configuration.logger
        var engine = Engine(
            provider: resolved, operation: operation, list: "", mode: .validate,
            context: ProviderContext(
                transport: configuration.transport, credentials: Credentials([:]),
                endpoint: URL(string: "about:blank")!, logger: logger),
            preparer: preparer(for: resolved, operation: operation, options: options),
            batchSizes: [operation: 1], concurrency: 1,
            workers: configuration.preparationConcurrency,
            retry: configuration.retry, clock: configuration.clock, logger: logger,
            detectsDuplicates: options.detectsDuplicates, journal: nil, ledger: nil, replay: nil,
            state: RunState())
        engine.keepsContacts = keepsContacts
        var plain = options
        plain.runInfo = nil
        plain.resume = false
        return try await start(engine, options: plain) { engine, emit in
            try await engine.run(
                records, source: { EngineSource(line: $0.line, payload: .record($0)) },
                emit: emit)
        }
    }

    /// Sends contacts already prepared (by ``prepare(_:operation:provider:list:options:)``,
    /// perhaps in another process), each under the input line it came from: outcomes
    /// carry those lines, and a journaled run (``RunOptions/runInfo``) records them under
    /// those lines. The provider still checks each contact; the mapping, validators and
    /// duplicate detection of `options` are not applied again.
    ///
    /// - Returns: The run, one outcome per contact, in the order given.
    /// - Throws: ``ContactorError`` when the run is refused before anything is sent (see
    ///   ``importRecords(_:operation:provider:list:options:)``).
    public func send(
        _ contacts: [PreparedContact], operation: ContactOperation, provider: String,
        list: String, options: RunOptions = RunOptions()
    ) async throws(ContactorError) -> ImportRun {
        try await send(
            contacts, operation: operation, provider: provider, list: list, options: options,
            ledger: nil)
    }

    /// Sends contacts prepared elsewhere for one part of a run shared by several processes
    /// (ContactorPostgres's workers), keeping `ledger` up to date without taking its lease:
    /// the shared run holds it. With `routes`, each contact's operation comes from the
    /// ledger as in ``sync(_:provider:list:ledger:options:)`` (add, update, or nothing when
    /// unchanged); otherwise every contact is sent with `operation`.
    package func send(
        _ contacts: [PreparedContact], operation: ContactOperation, provider: String,
        list: String, options: RunOptions, sharedLedger ledger: any Ledger, routes: Bool
    ) async throws(ContactorError) -> ImportRun {
        try await send(
            contacts, operation: operation, provider: provider, list: list, options: options,
            ledger: LedgerRequest(
                ledger: ledger, routes: routes, deletesMissing: false, maxDeletes: nil))
    }

    private func send(
        _ contacts: [PreparedContact], operation: ContactOperation, provider: String,
        list: String, options: RunOptions, ledger: LedgerRequest?
    ) async throws(ContactorError) -> ImportRun {
        var options = options
        options.validators = []
        options.detectsDuplicates = false
        let engine = try makeEngine(
            operation: operation, provider: provider, list: list, options: options,
            ledger: ledger)
        let sources = contacts.map { EngineSource(line: $0.line, payload: .contact($0.contact)) }
        return try await start(engine, options: options, lease: ledger.map { _ in HeldElsewhere() })
        {
            engine, emit in
            try await engine.run(sources.async, source: { $0 }, emit: emit)
        }
    }

    // MARK: Single operations

    /// Adds contacts given as drafts (phones as typed) to `list`.
    ///
    /// The drafts are normalised and checked like imported records; each outcome's
    /// ``RecordOutcome/line`` is the draft's 1-based position.
    /// - Returns: One outcome per draft, in order.
    /// - Throws: ``ContactorError`` when the run is refused before anything is sent (see
    ///   ``importRecords(_:operation:provider:list:options:)``); `CancellationError` when
    ///   the calling task is cancelled (then some contacts may have been sent).
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
    /// - Throws: ``ContactorError`` when the run is refused before anything is sent.
    public func add(
        _ contacts: [Contact], provider: String, list: String,
        options: RunOptions = RunOptions()
    ) async throws -> [RecordOutcome] {
        try await collect(
            contacts.enumerated().map { .init(line: $0 + 1, payload: .contact($1)) },
            operation: .add, provider: provider, list: list, options: options)
    }

    /// Changes the fields of contacts already in `list` (drafts, phones as typed).
    /// - Returns: One outcome per draft, in order.
    /// - Throws: ``ContactorError`` when the run is refused before anything is sent.
    public func update(
        _ drafts: [ContactDraft], provider: String, list: String,
        options: RunOptions = RunOptions()
    ) async throws -> [RecordOutcome] {
        try await collect(
            drafts.enumerated().map { .init(line: $0 + 1, payload: .draft($1)) },
            operation: .update, provider: provider, list: list, options: options)
    }

    /// Deletes contacts given as drafts (only the phone matters to most providers) from
    /// `list`.
    /// - Returns: One outcome per draft, in order.
    /// - Throws: ``ContactorError`` when the run is refused before anything is sent.
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
    /// - Throws: ``ContactorError`` when the run is refused before anything is sent.
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
    /// - Throws: ``ContactorError`` when the run is refused before anything is sent.
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
        var options = options
        options.runInfo = nil
        options.resume = false
        let engine = try makeEngine(
            operation: operation, provider: provider, list: list, options: options)
        let run = try await start(engine, options: options) { engine, emit in
            try await engine.run(sources.async, source: { $0 }, emit: emit)
        }
        var outcomes: [RecordOutcome] = []
        outcomes.reserveCapacity(sources.count)
        for try await outcome in run { outcomes.append(outcome) }
        // A cancelled caller gets no partial answer that looks complete.
        try Task.checkCancellation()
        return outcomes
    }

    private func preparer(
        for provider: (any ContactProvider)?, operation: ContactOperation, options: RunOptions
    ) -> RecordPreparer {
        var onDropped: (@Sendable ([String]) -> Void)?
        if let notice = options.onNotice {
            let name = provider?.descriptor.name ?? ""
            onDropped = { fields in
                notice(RunNotice(kind: .fieldsNotSent, provider: name, fields: fields))
            }
        }
        return RecordPreparer(
            mapper: options.mapper, region: options.region, provider: provider,
            operation: operation, validators: options.validators,
            unsupportedFields: options.unsupportedFields, onDroppedFields: onDropped)
    }

    /// Refuses a run `provider` cannot do: an operation it does not support, a list it
    /// refuses (before any credential is needed).
    private func check(
        _ provider: any ContactProvider, operation: ContactOperation, list: String,
        options: RunOptions
    ) throws(ContactorError) {
        let descriptor = provider.descriptor
        guard descriptor.supports(operation) else {
            throw ContactorError(
                .unsupportedOperation, "\(operation) is not supported by \(descriptor.name)",
                provider: descriptor.name,
                reason: provider.unsupported(operation))
        }
        if let error = provider.checkList(list, options: options.providerOptions, for: operation) {
            throw ContactorError(
                .invalidList, error.message, provider: descriptor.name,
                reason: error.attributed(to: descriptor.name, operation: operation))
        }
    }

    /// Everything that can refuse a run, checked once, and the engine that will run it.
    func makeEngine(
        operation: ContactOperation, provider name: String, list: String, options: RunOptions,
        ledger: LedgerRequest? = nil
    ) throws(ContactorError) -> Engine {
        let provider = try configuration.providers.resolve(name)
        let descriptor = provider.descriptor
        try check(provider, operation: operation, list: list, options: options)
        if ledger?.routes == true, descriptor.supports(.update),
            let error = provider.checkList(list, options: options.providerOptions, for: .update),
            error.code != .unsupportedOperation
        {
            throw ContactorError(
                .invalidList, error.message, provider: descriptor.name,
                reason: error.attributed(to: descriptor.name, operation: .update))
        }
        let credentials = try configuration.credentials.resolve(
            for: descriptor, overrides: options.credentials)
        var logger = options.logger ?? configuration.logger
        logger[metadataKey: "provider"] = "\(descriptor.name)"
        let rateLimit = (options.rateLimit ?? configuration.rateLimit).limit(for: descriptor)
        var middlewares = configuration.middlewares
        if rateLimit != nil, options.mode == .send {
            middlewares.append(RateLimitMiddleware(limiter: configuration.rateLimiter))
        }
        middlewares.append(ObservabilityMiddleware())
        let redactor = credentials.redactor
        var request = RequestContext(
            provider: descriptor.name, operation: operation, account: credentials.account,
            rateLimit: rateLimit, redactor: redactor, logger: logger)
        request.instruments = configuration.instruments
        let context = ProviderContext(
            pipeline: RequestPipeline(transport: configuration.transport, middlewares: middlewares),
            request: request,
            credentials: credentials, endpoint: options.endpoint ?? descriptor.defaultEndpoint,
            options: options.providerOptions, logger: logger, payloadHook: options.payloadHook,
            isDryRun: options.mode == .dryRun)
        let journal = options.mode == .send ? configuration.journal : nil
        let ledger =
            ledger
            ?? options.ledger.map {
                LedgerRequest(ledger: $0, routes: false, deletesMissing: false, maxDeletes: nil)
            }
        return Engine(
            provider: provider, operation: operation, list: list,
            mode: options.mode == .dryRun ? .dryRun : .send, context: context,
            preparer: preparer(for: provider, operation: operation, options: options),
            batchSizes: Dictionary(
                uniqueKeysWithValues: Set([operation, .add, .update, .delete]).filter {
                    $0 == operation
                        || ledger?.routes == true && descriptor.supports($0)
                            && provider.checkList(list, options: options.providerOptions, for: $0)
                                == nil
                }.map {
                    ($0, min(descriptor.batchSize(for: $0), max(1, options.batchSize ?? .max)))
                }),
            concurrency: max(1, options.concurrency ?? configuration.concurrency),
            workers: configuration.preparationConcurrency, retry: configuration.retry,
            clock: configuration.clock, logger: logger,
            detectsDuplicates: options.detectsDuplicates || ledger?.routes == true,
            journal: options.runInfo == nil ? nil : journal,
            ledger: ledger.map {
                LedgerUse(
                    ledger: $0.ledger,
                    scope: LedgerScope(
                        provider: descriptor.name, account: credentials.account, list: list),
                    routes: $0.routes, deletesMissing: $0.deletesMissing,
                    maxDeletes: $0.maxDeletes,
                    updateRefusal: $0.routes
                        ? Self.updateRefusal(provider, list: list, options: options) : nil)
            }, replay: nil, state: RunState())
    }

    /// Why a sync through `provider` cannot send the changed contacts of `list` as updates.
    private static func updateRefusal(
        _ provider: any ContactProvider, list: String, options: RunOptions
    ) -> ContactError? {
        let name = provider.descriptor.name
        guard provider.descriptor.supports(.update) else {
            return ContactError(
                .unsupportedOperation,
                "\(name) cannot update a contact, so the changed fields were not sent",
                provider: name, operation: .update)
        }
        guard let error = provider.checkList(list, options: options.providerOptions, for: .update)
        else { return nil }
        return ContactError(
            .unsupportedOperation,
            "the changed fields were not sent: \(error.message)", provider: name,
            operation: .update)
    }

    typealias Body =
        @Sendable (Engine, ([RecordOutcome]) async throws -> Void) async throws -> Void

    /// Starts `engine`: the journal plan, the ledger's lease (taken here unless the caller
    /// took it), and the producer of the run's outcomes.
    func start(
        _ engine: Engine, options: RunOptions, lease: (any StoreLease)? = nil,
        body: @escaping Body
    ) async throws(ContactorError) -> ImportRun {
        var engine = engine
        var lease = lease
        if lease == nil, let use = engine.ledger, engine.mode == .send {
            do {
                lease = try await acquire(use.ledger, scope: use.scope)
            } catch {
                throw Engine.ledgerError(error)
            }
        }
        let plan: JournalPlan
        do {
            plan = try await journalPlan(for: engine, options: options)
        } catch {
            await lease?.release()
            throw error
        }
        if let journal = plan.journal {
            do {
                if let journalLease = try await journal.lock(holder: Self.holder) {
                    lease = CombinedLease(leases: [lease, journalLease].compactMap { $0 })
                }
            } catch {
                await lease?.release()
                throw (error as? ContactorError)
                    ?? ContactorError(.journalFailed, "the journal could not be locked: \(error)")
            }
        }
        if case .resume(let journal, let id) = plan {
            let finished: IndexSet
            do {
                finished = try await journal.finishedLines(run: id)
            } catch {
                await lease?.release()
                throw Self.journalError(error)
            }
            engine.replay = ReplayWindow(journal: journal, run: id, finished: finished)
            engine.logger.info("resuming journal run \(id): \(finished.count) lines already done")
        }
        let parent = ServiceContext.current ?? .topLevel
        let producer: ImportRun.Producer = { [engine, lease] channel in
            await Self.produce(
                engine: engine, plan: plan, parent: parent, lease: lease, channel: channel,
                body: body)
        }
        return ImportRun(
            provider: engine.provider?.descriptor.name ?? "", operation: engine.operation,
            list: engine.list, state: engine.state, producer: producer)
    }

    enum JournalPlan: Sendable {
        case none
        case start(any RunJournal, RunInfo)
        case resume(any RunJournal, Int64)

        /// The journal the run writes, if any.
        var journal: (any RunJournal)? {
            switch self {
            case .none: nil
            case .start(let journal, _), .resume(let journal, _): journal
            }
        }
    }

    /// Who this process is, in the message a second run on the same store gets.
    static var holder: String { "pid \(ProcessInfo.processInfo.processIdentifier)" }

    private func journalPlan(
        for engine: Engine, options: RunOptions
    ) async throws(ContactorError) -> JournalPlan {
        guard let journal = engine.journal, let info = options.runInfo else {
            if options.resume {
                throw ContactorError(
                    .cannotResume,
                    configuration.journal == nil
                        ? "cannot resume without a journal"
                        : "cannot resume without the run's input information (runInfo)")
            }
            return .none
        }
        guard options.resume else { return .start(journal, info) }
        let last: (id: Int64, info: RunInfo)?
        do {
            last = try await journal.lastUnfinishedRun()
        } catch {
            throw Self.journalError(error)
        }
        guard let (id, recorded) = last else {
            throw ContactorError(.cannotResume, "the journal has no unfinished run to resume")
        }
        let provider = engine.provider?.descriptor.name ?? ""
        var differences: [String] = []
        if recorded.inputDigest != info.inputDigest {
            differences.append(
                "the input's content differs from the one recorded (\(recorded.inputPath))")
        }
        if recorded.provider.lowercased() != provider.lowercased() {
            differences.append("it was sent to \(recorded.provider), not \(provider)")
        }
        if recorded.list != engine.list { differences.append("its list was '\(recorded.list)'") }
        if recorded.operation != engine.operation {
            differences.append("it was a \(recorded.operation) run, not \(engine.operation)")
        }
        guard differences.isEmpty else {
            throw ContactorError(
                .cannotResume,
                "cannot resume journal run \(id): \(differences.joined(separator: "; "))",
                provider: provider)
        }
        return .resume(journal, id)
    }

    private static func journalError(_ error: any Error) -> ContactorError {
        if let error = error as? ContactorError { return error }
        return ContactorError(.journalFailed, "the journal failed: \(error)")
    }

    /// Runs `body` and ends the run's outcomes: the lease is released and the span ended
    /// before the consumer sees the end, so a run started once the last one's outcomes are
    /// read finds the ledger free.
    private static func produce(
        engine: Engine, plan: JournalPlan, parent: ServiceContext, lease: (any StoreLease)?,
        channel: ImportRun.Channel, body: Body
    ) async {
        var engine = engine
        let instruments = engine.context.request.instruments
        let name =
            engine.ledger?.routes == true
            ? "sync" : engine.mode == .validate ? "validate" : engine.operation.rawValue
        let span = instruments?.tracer.startSpan("contactor.\(name)", context: parent)
        let provider = engine.provider?.descriptor.name ?? ""
        if let span {
            span.attributes["contactor.provider"] = provider
            span.attributes["contactor.list"] = engine.list
            engine.context.request.serviceContext = span.context
        }
        do {
            var journal: (any RunJournal)?
            var runID: Int64?
            do {
                switch plan {
                case .none: break
                case .start(let store, let info):
                    journal = store
                    runID = try await store.startRun(info)
                case .resume(let store, let id):
                    journal = store
                    runID = id
                }
            } catch {
                throw journalError(error)
            }
            engine.state.runID = runID
            var sawFailure = false
            try await body(engine) { chunk in
                if chunk.contains(where: { $0.result.status == .failed }) { sawFailure = true }
                instruments?.count(chunk, provider: provider, operation: engine.operation)
                await channel.send(chunk)
                try Task.checkCancellation()
            }
            if let journal, let runID, !sawFailure, engine.state.stopReason == nil {
                do {
                    try await journal.finishRun(runID)
                } catch {
                    throw journalError(error)
                }
            }
            await lease?.release()
            span?.end()
            channel.finish()
        } catch {
            await lease?.release()
            span?.recordError(error)
            span?.setStatus(SpanStatus(code: .error))
            span?.end()
            channel.fail(error)
        }
    }
}

extension Array where Element: Sendable {
    /// The array as an `AsyncSequence`, for the engine's array entry points.
    fileprivate var async: ArraySequence<Element> { ArraySequence(elements: self) }
}

/// An array as an `AsyncSequence`.
struct ArraySequence<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]

    func makeAsyncIterator() -> Iterator { Iterator(base: elements.makeIterator()) }

    struct Iterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[Element]>
        mutating func next() async -> Element? { base.next() }
    }
}

/// Several leases released as one, the last taken first.
/// The lease of a ledger held by someone else for this run (a shared run's job).
struct HeldElsewhere: StoreLease {
    func release() async {}
}

struct CombinedLease: StoreLease {
    let leases: [any StoreLease]

    func release() async {
        for lease in leases.reversed() { await lease.release() }
    }
}
