import ArgumentParser
import Contactor
import ContactorPostgres
import Foundation
import Logging
import ServiceLifecycle

/// The PostgreSQL store of a shared run (`--store`).
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A PostgreSQL store shared by workers (postgres://user@host/db[?schema=name]).",
            valueName: "url"))
    var store: String?

    /// The store's configuration, or `nil` without `--store`; `CONTACTOR_STORE` is read when
    /// the flag is absent.
    func configuration(environment: [String: String]) throws -> PostgresStore.Configuration? {
        guard let text = store ?? environment["CONTACTOR_STORE"], !text.isEmpty else {
            return nil
        }
        do {
            return try PostgresStore.Configuration(url: text)
        } catch {
            throw CLIError.usage("--store: \(error.message)")
        }
    }
}

/// `contactor worker --store URL --provider NAME`.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Send the chunks of runs shared through a PostgreSQL store, until stopped.",
        discussion: """
            Claims chunks of the runs submitted to the store for --provider (and the account \
            of this worker's credentials), sends them, and records every outcome in the \
            store. Run as many workers as you like, on as many machines: they share one rate \
            limit per account, and a worker that dies has its chunk taken over once its lease \
            expires (--lease), its in-flight batches sent again. SIGTERM or SIGINT lets the \
            chunk being sent finish, then the worker exits 0. See docs/scaling.md.

            Example:
              contactor worker --store postgres://contactor@db/contactor \\
                --provider octopush
            """)

    @OptionGroup var storeOptions: StoreOptions
    // A run carries its list, endpoint and provider options; nothing is printed but logs.
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var setup: SetupOptions
    @OptionGroup var logging: LoggingOptions

    @Option(
        name: .long, help: ArgumentHelp("Requests in flight at once (default 4).", valueName: "n"))
    var concurrency: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds a claim holds without renewal; a dead worker's chunk is taken over after it (default 30).",
            valueName: "seconds"))
    var lease: Double = 30

    @Option(
        name: .long,
        help: ArgumentHelp("This worker's name in the store (default host:pid).", valueName: "name")
    )
    var name: String?

    @Flag(name: .long, help: "Exit once no chunk is left to claim, instead of waiting for more.")
    var once = false

    func validate() throws {
        if let concurrency, concurrency < 1 {
            throw ValidationError("--concurrency must be at least 1")
        }
        guard lease >= 1, lease <= 3600 else {
            throw ValidationError("--lease must be between 1 and 3600 seconds")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let store = try storeOptions.configuration(environment: environment) else {
            throw CLIError.usage("worker needs --store postgres://... (or CONTACTOR_STORE)")
        }
        var flags = Settings()
        flags.concurrency = concurrency
        try await Runtime.with(
            provider: .with(connection: connection),
            global: .with(setup: setup, logging: logging), flags: flags
        ) { runtime in
            let chosen = try runtime.selectedProvider()
            let client = try await runtime.client(for: chosen)
            var configuration = client.configuration
            configuration.providers = ProviderRegistry([chosen])
            let options = PostgresWorker.Options(
                name: name, leaseDuration: .milliseconds(Int(lease * 1000)))
            try await Self.work(
                store: store, configuration: configuration, options: options, once: once,
                logger: runtime.logger)
        }
    }

    private static func work(
        store configuration: PostgresStore.Configuration,
        configuration client: ContactorClient.Configuration, options: PostgresWorker.Options,
        once: Bool, logger: Logger
    ) async throws {
        try await PostgresStore.with(configuration: configuration, logger: logger) { store in
            let worker = PostgresWorker(store: store, configuration: client, options: options)
            if once {
                let chunks = try await worker.runUntilIdle()
                logger.notice("no chunk left to claim; \(chunks) sent")
                return
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: [.init(service: worker)],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
