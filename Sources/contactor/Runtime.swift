import Contactor
import ContactorCSV
import ContactorHTTP
import ContactorProviders
import ContactorSandbox
import ContactorStore
import Foundation
import Logging

/// Everything one command needs, assembled from flags, environment and config file.
final class Runtime {
    let settings: Settings
    let global: GlobalOptions
    let providerOptions: ProviderOptions
    let environment: [String: String]
    let registry: ProviderRegistry
    let plugins: PluginSet
    let logger: Logger
    private(set) var sandbox: SandboxServer?
    private var transports: [AsyncHTTPClientTransport] = []
    private(set) var redactor = Redactor(secrets: [])

    private init(
        settings: Settings, global: GlobalOptions, providerOptions: ProviderOptions,
        environment: [String: String], registry: ProviderRegistry, plugins: PluginSet,
        logger: Logger
    ) {
        self.settings = settings
        self.global = global
        self.providerOptions = providerOptions
        self.environment = environment
        self.registry = registry
        self.plugins = plugins
        self.logger = logger
    }

    /// Merges the settings, loads the plugins and, with `--sandbox`, starts the emulators.
    static func make(
        provider: ProviderOptions, global: GlobalOptions, flags: Settings = Settings(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> Runtime {
        try global.validateRegion()
        var flags = flags
        flags.provider = provider.provider
        flags.list = provider.list
        flags.region = global.region
        flags.endpoint = provider.endpoint
        for (key, value) in try parsePairs(provider.option, option: "--option") {
            flags.options[key] = value
        }
        let settings = try await SettingsLoader.load(
            flags: flags, configPath: global.config, profile: global.profile,
            environment: environment)
        var logger = Logger(label: "contactor") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        logger.logLevel = global.verbose ? .debug : .warning
        let plugins = try await PluginSet.load(
            directories: global.plugins, environment: environment, logger: logger)
        var registry = ProviderRegistry(BuiltInProviders.all)
        for provider in plugins.providers { registry.register(provider) }
        let runtime = Runtime(
            settings: settings, global: global, providerOptions: provider,
            environment: environment, registry: registry, plugins: plugins, logger: logger)
        return runtime
    }

    func shutdown() {
        let transports = self.transports
        let sandbox = self.sandbox
        guard !transports.isEmpty || sandbox != nil else { return }
        let done = DispatchSemaphore(value: 0)
        Task {
            for transport in transports { try? await transport.shutdown() }
            await sandbox?.stop()
            done.signal()
        }
        done.wait()
    }

    // MARK: Provider, list, credentials

    func selectedProvider() throws -> any ContactProvider {
        guard let name = settings.provider else {
            throw CLIError.usage(
                "no provider: pass --provider NAME (one of \(registry.names.joined(separator: ", ")))"
            )
        }
        guard let provider = registry.provider(named: name) else {
            throw CLIError.usage(
                "unknown provider '\(name)' (known: \(registry.names.joined(separator: ", ")))")
        }
        return provider
    }

    func requireList() throws -> String {
        guard let list = settings.list, !list.isEmpty else {
            throw CLIError.usage("no list: pass --list LIST")
        }
        return list
    }

    /// Where the credentials of `provider` come from: `--credential`, then
    /// `CONTACTOR_<PROVIDER>_<KEY>`, then a private config file; with `--sandbox`, the
    /// emulators' demo credentials.
    func credentialResolver(for provider: any ContactProvider) throws -> CredentialResolver {
        if providerOptions.sandbox, isBuiltIn(provider) {
            return CredentialResolver(
                explicit: SandboxDemo.standard.credentials(for: provider.descriptor.name),
                environment: [:], file: [:])
        }
        let explicit = Dictionary(
            try parsePairs(providerOptions.credential, option: "--credential"),
            uniquingKeysWith: { _, last in last })
        return CredentialResolver(
            explicit: explicit, environment: environment, file: settings.fileCredentials)
    }

    func isBuiltIn(_ provider: any ContactProvider) -> Bool {
        BuiltInProviders.names.contains(provider.descriptor.name)
    }

    // MARK: Sandbox

    private func startSandbox() async throws {
        let server = SandboxServer(configuration: SandboxConfiguration(port: 0))
        try await server.start()
        sandbox = server
        Console.err(
            "contactor: sandbox emulators running at \(server.baseURL.absoluteString) (demo credentials, nothing leaves this machine)"
        )
    }

    func endpoint(for provider: any ContactProvider) throws -> URL? {
        if let sandbox, isBuiltIn(provider) {
            return sandbox.url(for: provider.descriptor.name)
        }
        guard let text = settings.endpoint else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme,
            ["http", "https"].contains(scheme), url.host != nil
        else {
            throw CLIError.usage("--endpoint must be an http:// or https:// URL, not '\(text)'")
        }
        return url
    }
}

extension Runtime {
    // MARK: Client

    /// A client whose transport stack suits `provider`: AsyncHTTPClient → logging (secrets
    /// redacted) → rate limit → (for Lua providers) HTTP-level retries; or, with
    /// `--dry-run`, a transport that prints each request and sends nothing.
    func client(for provider: any ContactProvider) async throws -> ContactorClient {
        if providerOptions.sandbox {
            guard isBuiltIn(provider) else {
                throw CLIError.usage(
                    "--sandbox emulates the built-in providers only; point \(provider.descriptor.name) at a fake with --endpoint"
                )
            }
            // Started only now, once every usage check has passed.
            if sandbox == nil { try await startSandbox() }
        }
        let resolver = try credentialResolver(for: provider)
        let credentials: Credentials
        do {
            credentials = try resolver.resolve(for: provider.descriptor)
        } catch {
            throw CLIError.usage(error.message)
        }
        redactor = Redactor(secrets: credentials.secrets)
        let redactor = self.redactor
        var transport: any HTTPTransport
        if providerOptions.dryRun {
            transport = DryRunTransport(observer: { request in
                // dryRunJSON is already {"request": {...}}: print it once, in the
                // contract's member order.
                Console.out(
                    OrderedJSON.dryRunLine(Redaction.dryRunJSON(request, redactor: redactor)))
            })
        } else {
            let http = AsyncHTTPClientTransport(
                configuration: .init(proxy: ProxySettings.fromEnvironment(environment)))
            transports.append(http)
            transport = http.logging(to: logger, redactor: redactor)
            let rate = settings.rateLimit ?? provider.descriptor.defaultRateLimit
            if let rate {
                transport = transport.rateLimited(by: TokenBucket(rate: rate, burst: 1))
            }
            if !isBuiltIn(provider) {
                // Built-in adapters report 429/5xx as transient errors, which the engine
                // retries; a Lua script only sees responses, so its requests are retried
                // here, once, instead.
                transport = transport.retrying(policy: .standard)
            }
        }
        return ContactorClient(
            configuration: .init(
                transport: transport, providers: registry, retry: .standard,
                concurrency: settings.concurrency ?? 4, logger: logger, journal: nil,
                credentials: resolver))
    }

    func runOptions(for provider: any ContactProvider) async throws -> RunOptions {
        var options = RunOptions()
        options.region = settings.region
        options.endpoint = try endpoint(for: provider)
        options.providerOptions = settings.options
        options.batchSize = settings.batchSize
        options.concurrency = settings.concurrency
        options.validators = try plugins.validators(named: settings.validators)
        if let mapping = settings.mapping {
            let loaded = try await plugins.mapping(at: mapping)
            options.mapper = loaded
            options.payloadHook = loaded.payloadHook
        }
        return options
    }

    // MARK: Output

    func outputWriter() -> OutputWriter {
        OutputWriter(format: global.outputFormat(), redactor: redactor)
    }

    /// Prints one outcome, except the contacts a dry run would have sent (their request
    /// was printed instead).
    func emit(_ outcome: RecordOutcome, to writer: OutputWriter) {
        if let error = outcome.result.error, error.code == .notSent { return }
        writer.write(
            OutputRow(
                line: outcome.line, phone: outcome.phone, status: outcome.result.status.rawValue,
                id: outcome.result.id, error: outcome.result.error))
    }
}

extension Runtime {
    // MARK: import

    /// Runs `contactor import`; returns the exit status.
    func importFile(_ path: String, journalPath: String?, resume: Bool) async throws -> Int32 {
        let provider = try selectedProvider()
        let list = try requireList()
        let reader = try openCSV(path)
        var unsent: [String] = []
        if settings.mapping == nil {
            unsent = announceUnsentColumns(header: reader.header, provider: provider)
        }
        let client = try await client(for: provider)
        var options = try await runOptions(for: provider)
        if !unsent.isEmpty {
            options.mapper = UnsentColumnsMapper(
                unsent: Set(unsent.map { $0.trimmingCharacters(in: .whitespaces) }))
        }
        var journal: SQLiteJournal?
        if let journalPath {
            do {
                journal = try SQLiteJournal(path: journalPath)
                options.runInfo = RunInfo(
                    operation: .add, provider: provider.descriptor.name, list: list,
                    inputPath: path, inputDigest: try InputDigest.sha256(ofFileAt: path))
            } catch {
                throw CLIError.usage(error.description)
            }
            options.resume = resume
        }
        var configuration = client.configuration
        configuration.journal = journal
        let run: ImportRun
        do {
            run = try await ContactorClient(configuration: configuration).importRecords(
                reader.records, operation: .add, provider: provider.descriptor.name, list: list,
                options: options)
        } catch let error as ContactError {
            throw CLIError.usage(redactor.redact(error.description))
        }
        let writer = outputWriter()
        let progress = ProgressBar(total: reader.estimatedRecords)
        do {
            for try await outcome in run {
                emit(outcome, to: writer)
                progress.advance()
            }
        } catch {
            progress.clear()
            writer.finish()
            Console.err(
                "contactor: the import stopped: \(redactor.redact(String(describing: error)))")
            if journalPath != nil {
                Console.err(
                    "contactor: every outcome printed above is in the journal; run again with --resume to continue"
                )
            }
            return 1
        }
        progress.clear()
        writer.finish()
        if let stop = run.stopReason {
            Console.err(
                "contactor: stopped early, nothing more was sent: \(redactor.redact(stop.description))"
            )
        }
        return writer.hasFailures ? 1 : 0
    }

    /// Names, once on stderr, the columns the provider has no place for, and returns them.
    @discardableResult
    func announceUnsentColumns(header: [String], provider: any ContactProvider) -> [String] {
        let descriptor = provider.descriptor
        let unsent = header.filter { column in
            let name = column.trimmingCharacters(in: .whitespaces)
            let lower = name.lowercased()
            if lower == "phone" { return false }
            if Contact.standardFieldNames.contains(lower) {
                return !descriptor.standardFields.contains(lower)
            }
            return !descriptor.customFields.contains(name)
        }
        if !unsent.isEmpty {
            Console.err(
                "contactor: \(descriptor.name) has no place for column\(unsent.count == 1 ? "" : "s") \(unsent.joined(separator: ", ")): not sent"
            )
        }
        return unsent
    }

    // MARK: validate

    /// Runs `contactor validate`; returns the exit status.
    func validateFile(_ path: String) async throws -> Int32 {
        let provider = try settings.provider.map { _ in try selectedProvider() }
        let reader = try openCSV(path)
        var mapper: any RecordMapper = StandardColumnsMapper()
        if let mapping = settings.mapping {
            mapper = try await plugins.mapping(at: mapping)
        } else if let provider {
            // As import does: columns the provider has no place for are named, not sent.
            let unsent = announceUnsentColumns(header: reader.header, provider: provider)
            if !unsent.isEmpty {
                mapper = UnsentColumnsMapper(
                    unsent: Set(unsent.map { $0.trimmingCharacters(in: .whitespaces) }))
            }
        }
        let preparer = RecordPreparer(
            mapper: mapper, region: settings.region ?? provider?.descriptor.defaultRegion,
            provider: provider, operation: .add,
            validators: try plugins.validators(named: settings.validators))
        let writer = outputWriter()
        do {
            for try await record in reader.records {
                switch await preparer.prepare(record) {
                case .ready(let contact):
                    writer.write(
                        OutputRow(line: record.line, phone: contact.phone.e164, status: "valid"))
                case .refused(let phone, let result):
                    writer.write(
                        OutputRow(
                            line: record.line, phone: phone,
                            status: result.status == .failed ? "failed" : "rejected",
                            error: result.error))
                }
            }
        } catch {
            throw CLIError(message: String(describing: error), exitCode: 1)
        }
        writer.finish()
        return writer.hasFailures ? 1 : 0
    }

    // MARK: CSV

    struct OpenedCSV {
        var header: [String]
        var records: CSVRecordReader
        var estimatedRecords: Int?
    }

    func openCSV(_ path: String) throws -> OpenedCSV {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError.usage("\(path): no such file")
        }
        let reader = CSVRecordReader(path: path)
        let header: [String]
        do {
            header = try reader.makeCursor().header
        } catch {
            throw CLIError.usage(error.description)
        }
        return OpenedCSV(
            header: header, records: reader,
            estimatedRecords: Console.stderrIsTerminal
                ? Self.countLines(path).map { max(0, $0 - 1) } : nil)
    }

    /// Counts newlines (an estimate of the records, for the progress bar's ETA).
    static func countLines(_ path: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var count = 0
        while let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty {
            count += chunk.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        }
        return count
    }
}

/// The CSV contract's mapping without the columns the provider has no place for: they
/// were named once on stderr as not sent, and the rows go on without them (instead of
/// each row being rejected for a field the provider cannot take).
struct UnsentColumnsMapper: RecordMapper {
    /// The header names (trimmed) of the columns not to send.
    var unsent: Set<String>

    func map(_ record: InputRecord) throws -> ContactDraft {
        var draft = try StandardColumnsMapper().map(record)
        for name in unsent {
            switch name.lowercased() {
            case "first_name": draft.firstName = nil
            case "last_name": draft.lastName = nil
            case "email": draft.email = nil
            case "birthday": draft.birthday = nil
            case "civility": draft.civility = nil
            default: draft.fields[name] = nil
            }
        }
        return draft
    }
}
