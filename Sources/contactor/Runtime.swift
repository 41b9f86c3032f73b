import Contactor
import ContactorCSV
import ContactorHTTP
import ContactorPostgres
import ContactorProviders
import ContactorSandbox
import ContactorStore
import ContactorTesting
import Foundation
import HTTPTypes
import Logging

/// Everything one command needs, assembled from flags, environment and config file: the
/// settings, the plugins, the providers, and the one client that runs the command.
///
/// The work itself is the library's (``ContactorClient``); this type only turns the
/// command line into a configuration and run options, and prints outcomes.
final class Runtime {
    let settings: Settings
    let global: GlobalOptions
    let providerOptions: ProviderOptions
    let environment: [String: String]
    let registry: ProviderRegistry
    let plugins: PluginSet
    let logger: Logger
    private var sandbox: SandboxServer?
    private var http: AsyncHTTPClientTransport?
    private var temporaryFiles: [URL] = []
    /// `--show` and `--max-rejects`, for the commands that take them.
    var reporting: ReportingOptions?
    /// `--rejects`, for the commands that take it.
    var rejectsPath: String?
    /// The log lines printed, so that the command line does not repeat one.
    private(set) var printedLog = PrintedLog()
    /// `--record`'s recorder, saved at shutdown.
    private var recorder: CassetteRecorder?

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

    /// Builds a runtime, runs `body` with it, and shuts it down (transport, sandbox)
    /// whatever `body` does.
    static func with<T>(
        provider: ProviderOptions, global: GlobalOptions, flags: Settings = Settings(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        _ body: (Runtime) async throws -> T
    ) async throws -> T {
        let runtime = try await make(
            provider: provider, global: global, flags: flags, environment: environment)
        do {
            let value = try await body(runtime)
            await runtime.shutdown()
            return value
        } catch {
            await runtime.shutdown()
            throw error
        }
    }

    /// Merges the settings and loads the plugins.
    private static func make(
        provider: ProviderOptions, global: GlobalOptions, flags: Settings,
        environment: [String: String]
    ) async throws -> Runtime {
        try global.validateRegion()
        try provider.cassette.check()
        if provider.dryRun, provider.cassette.record != nil || provider.cassette.replay != nil {
            throw CLIError.usage(
                "--dry-run sends nothing, so there is nothing to --record or --replay")
        }
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
        try ArgumentChecks.check(settings)
        let printed = PrintedLog()
        var logger = Logger(label: "contactor") { label in
            var handler = LogOnceHandler(label: label, printed: printed)
            handler.logLevel = .info
            return handler
        }
        logger.logLevel =
            global.logLevel?.level ?? (global.verbose ? .debug : global.quiet ? .error : .warning)
        if let file = settings.configFile, logger.logLevel <= .debug {
            Console.err(
                "contactor: read the config file \(file.path)"
                    + (file.profile.map { ", profile '\($0)'" } ?? " (no profile used)"))
        }
        let plugins = try await PluginSet.load(
            directories: global.plugins, environment: environment, logger: logger)
        var registry = ProviderRegistry(BuiltInProviders.all)
        for provider in plugins.providers { registry.register(provider) }
        let runtime = Runtime(
            settings: settings, global: global, providerOptions: provider,
            environment: environment, registry: registry, plugins: plugins, logger: logger)
        runtime.printedLog = printed
        return runtime
    }

    /// Stops the transport and the sandbox, if they were started.
    func shutdown() async {
        do {
            try providerOptions.cassette.save(recorder)
        } catch {
            Console.err("contactor: \(error)")
        }
        recorder = nil
        for file in temporaryFiles { try? FileManager.default.removeItem(at: file) }
        if let http { try? await http.shutdown() }
        await sandbox?.stop()
        http = nil
        sandbox = nil
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

    func isBuiltIn(_ provider: any ContactProvider) -> Bool {
        BuiltInProviders.names.contains(provider.descriptor.name)
    }

    /// Where the credentials of `provider` come from: `--credential`, then
    /// `CONTACTOR_<PROVIDER>_<KEY>`, then a private config file; with `--sandbox`, the
    /// emulators' demo credentials.
    private func credentialResolver(for provider: any ContactProvider) throws -> CredentialResolver
    {
        if providerOptions.sandbox, isBuiltIn(provider) {
            return CredentialResolver(
                explicit: SandboxDemo.standard.credentials(for: provider.descriptor.name))
        }
        var explicit = Dictionary(
            try parsePairs(providerOptions.credential, option: "--credential"),
            uniquingKeysWith: { _, last in last })
        for (key, value) in explicit.sorted(by: { $0.key < $1.key }) {
            try ArgumentChecks.credential(key: key, value: value, source: "--credential")
        }
        let name = provider.descriptor.name
        for key in provider.descriptor.credentialKeys {
            let variable = Credentials.environmentVariable(provider: name, key: key)
            if let value = environment[variable] {
                try ArgumentChecks.credential(key: key, value: value, source: variable)
            }
            if let value = settings.fileCredentials[name]?[key] {
                try ArgumentChecks.credential(key: key, value: value, source: "config file")
            }
        }
        if providerOptions.cassette.replay != nil {
            // A cassette holds no secret: a credential given nowhere is a placeholder.
            let descriptor = provider.descriptor
            let file = settings.fileCredentials[descriptor.name] ?? [:]
            for key in descriptor.credentialKeys
            where explicit[key] == nil && file[key] == nil
                && environment[
                    Credentials.environmentVariable(provider: descriptor.name, key: key)] == nil
            {
                explicit[key] = "replay-\(key)"
            }
        }
        return CredentialResolver(
            explicit: explicit, environment: environment, file: settings.fileCredentials)
    }

    private func endpoint(for provider: any ContactProvider) throws -> URL? {
        if let sandbox, isBuiltIn(provider) {
            return sandbox.url(for: provider.descriptor.name)
        }
        guard let text = settings.endpoint else { return nil }
        return try ArgumentChecks.endpoint(text)
    }

    // MARK: The client and the run

    /// The one client of the command, for `provider`. With `--sandbox`, the emulators are
    /// started here, once every usage check has passed.
    func client(
        for provider: any ContactProvider, journal: (any RunJournal)? = nil
    ) async throws
        -> ContactorClient
    {
        if providerOptions.sandbox {
            guard isBuiltIn(provider) else {
                throw CLIError.usage(
                    "--sandbox emulates the built-in providers only; point \(provider.descriptor.name) at a fake with --endpoint"
                )
            }
            if sandbox == nil { try await startSandbox() }
        }
        let (recorder, player) = try providerOptions.cassette.middlewares()
        self.recorder = recorder
        var transport: any HTTPTransport = NoNetworkTransport()
        if player == nil {
            let http = AsyncHTTPClientTransport(configuration: transportConfiguration())
            self.http = http
            transport = http
        }
        var middlewares: [any ClientMiddleware] = [LoggingMiddleware()]
        if let recorder { middlewares.append(recorder) }
        if let player { middlewares.append(player) }
        // A recording sends one batch at a time, so that the cassette is the same each run.
        let concurrency = recorder != nil ? 1 : settings.concurrency ?? 4
        return ContactorClient(
            configuration: .init(
                transport: transport, providers: registry, retry: .standard,
                concurrency: concurrency, logger: logger, journal: journal,
                credentials: try credentialResolver(for: provider),
                middlewares: middlewares,
                rateLimit: settings.rateLimit.map { .perSecond($0) } ?? .providerDefault))
    }

    /// The transport's settings: proxies from the environment, and with `--timeout T`
    /// every phase bounded by T (the whole request by T; the connection and each silence
    /// by their defaults, or T when shorter).
    func transportConfiguration() -> AsyncHTTPClientTransport.Configuration {
        var configuration = AsyncHTTPClientTransport.Configuration(
            proxy: ProxySettings.fromEnvironment(environment))
        if let seconds = providerOptions.timeout {
            let timeout = Duration.milliseconds(Int64((seconds * 1000).rounded()))
            configuration.requestTimeout = timeout
            configuration.connectTimeout = min(configuration.connectTimeout, timeout)
            configuration.readTimeout = min(configuration.readTimeout, timeout)
        }
        return configuration
    }

    private func startSandbox() async throws {
        let server = SandboxServer(configuration: SandboxConfiguration(port: 0))
        try await server.start()
        sandbox = server
        guard !global.quiet else { return }
        Console.err(
            "contactor: sandbox emulators running at \(server.baseURL.absoluteString) (demo credentials, nothing leaves this machine)"
        )
    }

    /// The run options the flags and settings give (after ``client(for:journal:)``, which
    /// starts the sandbox the endpoint may point at).
    func runOptions(for provider: any ContactProvider) async throws -> RunOptions {
        var options = RunOptions()
        options.mode = providerOptions.dryRun ? .dryRun : .send
        options.region = settings.region
        options.endpoint = try endpoint(for: provider)
        options.providerOptions = settings.options
        options.batchSize = settings.batchSize
        options.concurrency = providerOptions.cassette.record != nil ? 1 : settings.concurrency
        options.validators = try plugins.validators(named: settings.validators)
        if let mapping = settings.mapping {
            let loaded = try await plugins.mapping(at: mapping)
            options.mapper = loaded
            options.payloadHook = loaded.payloadHook
        }
        let quiet = global.quiet
        options.onNotice = { notice in
            if !quiet { Console.err("contactor: \(TerminalText.escaped(notice.description))") }
        }
        return options
    }

    /// The exit-2 error for a run the library refused before sending anything, with the
    /// command line's own hints.
    func refusal(_ error: ContactorError) -> CLIError {
        var message = error.message
        if error.code == .missingCredential, let key = error.credentialKey,
            let provider = error.provider
        {
            let variable = Credentials.environmentVariable(provider: provider, key: key)
            message +=
                ": set \(variable), pass --credential \(key)=..., or add it to the configuration file"
        } else if error.code == .cannotResume, message.hasPrefix("cannot resume without a journal")
        {
            message += " (use --journal)"
        } else if let reason = error.reason, error.code == .invalidList {
            message = reason.description
        }
        return CLIError.usage(message)
    }

    // MARK: Output

    func outputWriter() -> OutputWriter {
        OutputWriter(format: global.outputFormat())
    }

    /// The report of a run printing to `writer`.
    func report(
        what: String, writer: OutputWriter, tap: RecordTap? = nil, rejects: RejectsFile? = nil,
        progress: ProgressBar? = nil
    ) -> RunReport {
        RunReport(
            writer: writer, what: what, reporting: reporting, quiet: global.quiet,
            format: global.outputFormat(), tap: tap, rejects: rejects, progress: progress)
    }

    /// Prints one outcome: in a dry run, the requests its batch would send (JSON), or, in
    /// table output, counts them for the plan printed at the end; nothing for a contact
    /// that would be sent.
    func emit(_ outcome: RecordOutcome, report: RunReport) {
        report.record(outcome)
        if report.summarisesRequests, providerOptions.dryRun {
            report.plan(
                outcome,
                requests: outcome.requests.map { request in
                    let redacted = Redaction.dryRunJSON(request, redactor: .none)
                    let fields = redacted["request"] ?? redacted
                    return (
                        fields["method"]?.stringValue ?? request.method,
                        fields["url"]?.stringValue ?? ""
                    )
                })
        } else {
            for request in outcome.requests {
                Console.out(OrderedJSON.dryRunLine(Redaction.dryRunJSON(request, redactor: .none)))
            }
        }
        if providerOptions.dryRun, outcome.result.status == .valid {
            report.writer.count(outcome)
            return
        }
        report.write(
            OutputRow(
                line: outcome.line, phone: outcome.phone, status: outcome.result.status.rawValue,
                id: outcome.result.id, error: outcome.result.error),
            status: outcome.result.status)
    }

    /// A `--rejects` file for `tap`'s rows, when asked for.
    func rejectsFile(for tap: RecordTap) throws -> RejectsFile? {
        try rejectsPath.map { try RejectsFile(path: $0, header: tap.header) }
    }
}

extension Runtime {
    // MARK: import

    /// Runs `contactor import`; returns the exit status.
    func importFile(
        _ path: String, journalPath: String?, resume: Bool, ledgerPath: String?
    ) async throws -> Int32 {
        try await sendFile(
            path, operation: .add, journalPath: journalPath, resume: resume,
            ledgerPath: ledgerPath)
    }

    /// Runs `contactor delete FILE`; returns the exit status.
    func deleteFile(
        _ path: String, journalPath: String?, resume: Bool, ledgerPath: String?
    ) async throws -> Int32 {
        try await sendFile(
            path, operation: .delete, journalPath: journalPath, resume: resume,
            ledgerPath: ledgerPath)
    }

    /// Sends every row of a CSV file with `operation`; returns the exit status.
    private func sendFile(
        _ path: String, operation: ContactOperation, journalPath: String?, resume: Bool,
        ledgerPath: String?
    ) async throws -> Int32 {
        let provider = try selectedProvider()
        let list = try requireList()
        let input = try openCSV(path)
        try requirePhoneColumn(input)
        let tap = RecordTap(input, keep: rejectsPath != nil)
        var journal: SQLiteJournal?
        var runInfo: RunInfo?
        if let journalPath, !providerOptions.dryRun {
            do {
                journal = try SQLiteJournal(path: journalPath)
                // Known before the first record (a pipe is copied aside as it is hashed),
                // so that a resume of another input is refused before anything is sent.
                let digest = try input.digestWholeInput()
                runInfo = RunInfo(
                    operation: operation, provider: provider.descriptor.name, list: list,
                    inputPath: path, inputDigest: digest)
            } catch let error as CSVReadError {
                throw CLIError.usage(error.description)
            } catch {
                throw CLIError.usage(String(describing: error))
            }
        }
        let client = try await client(for: provider, journal: journal)
        var options = try await runOptions(for: provider)
        options.runInfo = runInfo
        options.resume = resume && runInfo != nil
        if !providerOptions.dryRun { options.ledger = try ledgerPath.map(openLedger) }
        let rejects = try rejectsFile(for: tap)
        let run: ImportRun
        do {
            let name = provider.descriptor.name
            run =
                tap.isNeeded
                ? try await client.importRecords(
                    tap, operation: operation, provider: name, list: list, options: options)
                : try await client.importRecords(
                    input, operation: operation, provider: name, list: list, options: options)
        } catch {
            throw refusal(error)
        }
        let progress = progressBar(for: input)
        let report = report(
            what: operation == .delete ? "delete" : "import", writer: outputWriter(), tap: tap,
            rejects: rejects, progress: progress)
        if let journalPath, !providerOptions.dryRun {
            report.details.append {
                "the journal \(journalPath)"
                    + (run.journalRunID.map { " (run \($0); --resume continues it if unfinished)" }
                        ?? "")
            }
        }
        let hint =
            journalPath != nil && !providerOptions.dryRun
            ? "contactor: interrupted: every outcome answered so far is in the journal \(journalPath!); run the same command again with --resume to continue"
            : "contactor: interrupted: the rows printed are done; without --journal this run cannot be resumed (importing the file again skips the contacts already in the list; pass --journal PATH to make a run resumable)"
        return await print(
            run, report: report, journalled: journalPath != nil && !providerOptions.dryRun,
            interruptHint: hint)
    }

    /// Prints every outcome of `run` and the summary; returns the exit status.
    func print(
        _ run: ImportRun, report: RunReport, journalled: Bool, plan: Bool = false,
        interruptHint: String
    ) async -> Int32 {
        let writer = report.writer
        let what = report.what
        let progress = report.progress ?? ProgressBar(total: nil, enabled: false)
        let interrupt = InterruptHint(hint: interruptHint)
        defer { interrupt.remove() }
        do {
            for try await outcome in run {
                if plan {
                    writer.writePlan(outcome)
                } else {
                    emit(outcome, report: report)
                }
                // Nobody reads the outcomes any more (`| head`): leaving the loop cancels
                // the run; what was answered is journalled already.
                if StandardStreams.stdoutClosed { break }
                progress.advance()
            }
        } catch {
            progress.clear()
            writer.finish()
            if let error = error as? ContactorError, error.code == .busy {
                Console.err("contactor: \(error.message)")
                return 2
            }
            report.printSummary(stopped: "an error")
            Console.err(
                "contactor: the \(what) stopped: \(TerminalText.escaped(String(describing: error)))"
            )
            if journalled {
                Console.err(
                    "contactor: every outcome printed above is in the journal; run again with --resume to continue"
                )
            }
            return 1
        }
        progress.clear()
        if StandardStreams.stdoutClosed {
            if journalled {
                Console.err(
                    "contactor: standard output was closed; the \(what) stopped. Run again with --resume to continue"
                )
            }
            return StandardStreams.brokenPipeExitStatus
        }
        writer.finish()
        report.printPlan()
        if let stop = run.stopReason {
            // The engine logs why it stopped (an error); said here only when that line was
            // not printed (`--log-level critical`).
            if !printedLog.contains(stop.description) {
                Console.err(
                    "contactor: stopped early, nothing more was sent: \(TerminalText.escaped(stop.description))"
                )
            }
            if stop.isTransient {
                Console.err(
                    journalled
                        ? "contactor: the contacts not sent are failed in the journal; once the provider answers again, run the same command with --resume to send them"
                        : "contactor: once the provider answers again, run the same command again (with --journal, a later --resume sends only what is left)"
                )
            }
            report.printSummary(stopped: "nothing more was sent")
            return 1
        }
        report.printSummary()
        return report.exitStatus
    }

    // MARK: sync

    /// Runs `contactor sync`; returns the exit status. With `store`, the sync is submitted
    /// to the store's workers against the store's ledger (a dry run plans it here).
    func syncFile(
        _ path: String, ledgerPath: String?, refresh: Bool, options sync: SyncOptions,
        store: PostgresStore.Configuration? = nil, detach: Bool = false
    ) async throws -> Int32 {
        let provider = try selectedProvider()
        let list = try requireList()
        // A sync may read its input twice (to count deletions before sending anything):
        // a regular file is read again from its path; anything else is copied aside first.
        let readable = try rereadablePath(path)
        let input = try openCSV(readable)
        try requirePhoneColumn(input)
        let records = CSVRecordReader(path: readable)
        let client = try await client(for: provider)
        var sync = sync
        sync.run = try await runOptions(for: provider)
        let target = SyncTarget(provider: provider.descriptor.name, list: list, client: client)
        guard let store else {
            let shown = ledgerPath ?? defaultLedgerPath()
            let ledger = try openLedger(shown)
            if refresh { try await refreshLedger(ledger, target, options: sync.run) }
            return try await syncHere(
                records, target, ledger: ledger, shown: "the ledger \(shown)", options: sync,
                progress: progressBar(for: input))
        }
        return try await PostgresStore.with(configuration: store, logger: logger) { store in
            if refresh { try await refreshLedger(store.ledger, target, options: sync.run) }
            if providerOptions.dryRun {
                return try await syncHere(
                    records, target, ledger: store.ledger, shown: "the store's ledger",
                    options: sync, progress: progressBar(for: input))
            }
            let run: Int64
            do {
                run = try await store.work.submitSync(
                    records, provider: target.provider, list: list, client: client, options: sync,
                    runInfo: RunInfo(
                        operation: ContactOperation(rawValue: "sync"), provider: target.provider,
                        list: list, inputPath: path, inputDigest: ""))
            } catch let error as ContactorError {
                throw syncRefusal(error)
            }
            return await sharedRunSubmitted(run, store: store, detach: detach)
        }
    }

    /// What a sync is of.
    struct SyncTarget {
        var provider: String
        var list: String
        var client: ContactorClient
    }

    /// Syncs `records` from this process, against `ledger`; returns the exit status.
    private func syncHere(
        _ records: CSVRecordReader, _ target: SyncTarget, ledger: any Ledger, shown: String,
        options: SyncOptions, progress: ProgressBar?
    ) async throws -> Int32 {
        let run: ImportRun
        do {
            run = try await target.client.sync(
                records, provider: target.provider, list: target.list, ledger: ledger,
                options: options)
        } catch let error as ContactorError {
            throw syncRefusal(error)
        }
        let report = report(what: "sync", writer: outputWriter(), progress: progress)
        report.details.append { shown }
        return await print(
            run, report: report, journalled: false, plan: providerOptions.dryRun,
            interruptHint:
                "contactor: interrupted: run the same sync again to finish it (the ledger records what was sent)"
        )
    }

    /// `--refresh`: brings `ledger` in step with the provider's list.
    private func refreshLedger(
        _ ledger: any Ledger, _ target: SyncTarget, options: RunOptions
    ) async throws {
        do {
            let counts = try await target.client.refresh(
                ledger, list: target.list, provider: target.provider, options: options)
            Console.err(
                "contactor: refreshed the ledger from \(target.provider)'s list: \(counts.found) found there, \(counts.forgotten) no longer there"
            )
        } catch let error as ContactorError {
            throw refusal(error)
        } catch let error as ContactError {
            throw CLIError(message: "--refresh: \(error.description)", exitCode: 1)
        }
    }

    /// A sync refused before anything was sent, as the user sees it.
    private func syncRefusal(_ error: ContactorError) -> CLIError {
        if error.code == .tooManyDeletes, let count = error.count {
            return CLIError.usage(
                "\(error.message): nothing was sent; pass --max-deletes \(count) to allow it")
        }
        return refusal(error)
    }

    /// A path that can be read more than once holding `path`'s bytes: `path` itself when it
    /// is a regular file, else a copy of the whole input (standard input, a pipe) in a
    /// temporary file removed at exit.
    private func rereadablePath(_ path: String) throws -> String {
        var status = stat()
        if path != "-", stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG {
            return path
        }
        let source: FileHandle
        if path == "-" || path == "/dev/stdin" {
            source = FileHandle.standardInput
        } else if let handle = FileHandle(forReadingAtPath: path) {
            source = handle
        } else {
            throw CLIError.usage("\(path): cannot be opened for reading")
        }
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-sync-\(UUID().uuidString).csv")
        guard
            FileManager.default.createFile(
                atPath: copy.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: copy.path)
        else { throw CLIError.usage("\(path): cannot copy the input aside to read it twice") }
        temporaryFiles.append(copy)
        defer { try? handle.close() }
        do {
            while let chunk = try source.read(upToCount: 1 << 16), !chunk.isEmpty {
                try handle.write(contentsOf: chunk)
            }
        } catch {
            throw CLIError.usage("\(path): cannot be read: \(error.localizedDescription)")
        }
        return copy.path
    }

    /// The ledger at `path`.
    func openLedger(_ path: String) throws -> SQLiteLedger {
        do {
            return try SQLiteLedger(path: path)
        } catch {
            throw CLIError.usage(error.description)
        }
    }

    /// `$CONTACTOR_STATE_DIR/ledger.sqlite`, else `$XDG_STATE_HOME/contactor/ledger.sqlite`,
    /// else `~/.local/state/contactor/ledger.sqlite`.
    func defaultLedgerPath() -> String {
        if let directory = environment["CONTACTOR_STATE_DIR"], !directory.isEmpty {
            return (directory as NSString).appendingPathComponent("ledger.sqlite")
        }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty {
            return (state as NSString).appendingPathComponent("contactor/ledger.sqlite")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".local/state/contactor/ledger.sqlite")
    }

    // MARK: list

    /// Runs `contactor list`; returns the exit status.
    func listContacts(format: OutputFormat) async throws -> Int32 {
        let provider = try selectedProvider()
        let list = try requireList()
        let client = try await client(for: provider)
        let options = try await runOptions(for: provider)
        let listing: ContactListing
        do {
            listing = try client.contacts(
                in: list, provider: provider.descriptor.name, options: options)
        } catch {
            throw refusal(error)
        }
        let writer = ListWriter(
            format: format, descriptor: provider.descriptor, region: options.region)
        do {
            for try await draft in listing {
                writer.write(draft)
                if StandardStreams.stdoutClosed { return StandardStreams.brokenPipeExitStatus }
            }
        } catch {
            writer.finish()
            Console.err(
                "contactor: listing stopped: \(TerminalText.escaped(String(describing: error)))")
            return 1
        }
        writer.finish()
        return 0
    }

    // MARK: validate

    /// Runs `contactor validate`; returns the exit status.
    func validateFile(_ path: String) async throws -> Int32 {
        let provider = try settings.provider.map { _ in try selectedProvider() }
        let input = try openCSV(path)
        try requirePhoneColumn(input)
        var options = RunOptions(region: settings.region)
        options.validators = try plugins.validators(named: settings.validators)
        if let mapping = settings.mapping {
            options.mapper = try await plugins.mapping(at: mapping)
        }
        let quiet = global.quiet
        options.onNotice = { notice in
            if !quiet { Console.err("contactor: \(TerminalText.escaped(notice.description))") }
        }
        let client = ContactorClient(
            configuration: .init(transport: UnusedTransport(), providers: registry, logger: logger))
        let tap = RecordTap(input, keep: rejectsPath != nil)
        let rejects = try rejectsFile(for: tap)
        let run =
            tap.isNeeded
            ? try await client.validate(tap, provider: provider?.descriptor.name, options: options)
            : try await client.validate(
                input, provider: provider?.descriptor.name, options: options)
        let progress = progressBar(for: input)
        let report = report(
            what: "validate", writer: outputWriter(), tap: tap, rejects: rejects,
            progress: progress)
        do {
            for try await outcome in run {
                report.record(outcome)
                report.write(
                    OutputRow(
                        line: outcome.line, phone: outcome.phone,
                        status: outcome.result.status.rawValue, error: outcome.result.error),
                    status: outcome.result.status)
                if StandardStreams.stdoutClosed { return StandardStreams.brokenPipeExitStatus }
                progress.advance()
            }
        } catch {
            progress.clear()
            throw CLIError(message: TerminalText.escaped(String(describing: error)), exitCode: 1)
        }
        progress.clear()
        report.writer.finish()
        report.printSummary()
        return report.exitStatus
    }

    // MARK: CSV

    /// Opens a CSV input once: a path, `-` or `/dev/stdin` for standard input, a FIFO or
    /// `/dev/fd/N`. Its header is read (and checked) here; the records follow from the same
    /// stream. An input that cannot be opened or read is a usage error.
    func openCSV(_ path: String) throws -> CSVInput {
        do {
            return try CSVInput.open(path: path)
        } catch {
            throw CLIError.usage(TerminalText.escaped(error.description))
        }
    }

    /// Refuses an input whose header has no phone column when the standard columns are
    /// read (no `--mapping`): every row would be rejected for it, so it is a usage error
    /// naming the columns found, before anything is read further or sent.
    func requirePhoneColumn(_ input: CSVInput) throws {
        guard settings.mapping == nil, !input.header.isEmpty else { return }
        let names = input.header.map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.contains(where: { $0.lowercased() == "phone" }) else { return }
        let found = names.map { "'\(TerminalText.escaped($0))'" }.joined(separator: ", ")
        throw CLIError.usage(
            "\(TerminalText.escaped(input.name)): the header has no phone column (columns found: \(found)); name the column of the numbers 'phone', or pass --mapping FILE.lua"
        )
    }

    /// A progress bar over `input`'s bytes (only on a terminal; a stream of unknown size
    /// shows counts and rate).
    func progressBar(for input: CSVInput) -> ProgressBar {
        ProgressBar(
            total: input.size, position: { input.bytesRead },
            enabled: Console.stderrIsTerminal && !Console.isDumbTerminal && !global.quiet)
    }
}

/// The transport of a client that never sends (`validate`).
struct UnusedTransport: HTTPTransport {
    func send(
        _ request: HTTPRequest, body: Data?, context: RequestContext
    ) async throws -> (HTTPResponse, Data) {
        throw ContactError(.transportError, "nothing is sent here")
    }
}
