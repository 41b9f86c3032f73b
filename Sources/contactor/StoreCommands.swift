import ArgumentParser
import Contactor
import ContactorPostgres
import Foundation
import Logging

/// `--store` and `--detach` on import and delete: the run goes to the PostgreSQL store's
/// workers instead of being sent by this process.
struct SubmitOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions

    @Flag(
        name: .long,
        help:
            "With --store: print the run's id and exit once it is submitted, instead of waiting for its outcomes."
    )
    var detach = false

    /// The store of `--store`; `CONTACTOR_STORE` is not read here, so that a variable set
    /// for workers never turns a local import into a shared one.
    func storeConfiguration() throws -> PostgresStore.Configuration? {
        try store.store == nil ? nil : store.configuration(environment: [:])
    }

    func check(_ journaling: JournalOptions) throws {
        try checkDetach()
        if store.store != nil,
            journaling.journal != nil || journaling.resume || journaling.ledger != nil
        {
            throw ValidationError(
                "--store keeps the run's journal in the store: --journal, --resume and --ledger have no use with it"
            )
        }
    }

    /// Refuses `--detach` without `--store`.
    func checkDetach() throws {
        if detach, store.store == nil {
            throw ValidationError("--detach needs --store")
        }
    }
}

extension Runtime {
    /// Submits every row of a CSV file to the store's workers, then (unless `detach`)
    /// prints the outcomes in input order as they come; returns the exit status.
    func submitFile(
        _ path: String, operation: ContactOperation, store: PostgresStore.Configuration,
        detach: Bool
    ) async throws -> Int32 {
        guard !providerOptions.dryRun else {
            throw CLIError.usage("--dry-run sends nothing: run it without --store")
        }
        let provider = try selectedProvider()
        let list = try requireList()
        let input = try openCSV(path)
        let client = try await client(for: provider)
        let options = try await runOptions(for: provider)
        return try await PostgresStore.with(configuration: store, logger: logger) { store in
            let run: Int64
            do {
                run = try await store.work.submit(
                    input, operation: operation, provider: provider.descriptor.name, list: list,
                    client: client, options: options,
                    runInfo: RunInfo(
                        operation: operation, provider: provider.descriptor.name, list: list,
                        inputPath: path, inputDigest: ""))
            } catch let error as ContactorError {
                throw refusal(error)
            }
            return await sharedRunSubmitted(run, store: store, detach: detach)
        }
    }

    /// Says that `run` was submitted; then prints its id (`detach`) or its outcomes as they
    /// come. Returns the exit status.
    func sharedRunSubmitted(_ run: Int64, store: PostgresStore, detach: Bool) async -> Int32 {
        Console.err("contactor: submitted run \(run) to the store's workers")
        if detach {
            Console.out("\(run)")
            return 0
        }
        return await printShared(run: run, store: store)
    }

    /// Prints the outcomes of a shared run in input order until its last, and the summary;
    /// returns the exit status (as for a local run: 1 when a contact failed or was
    /// rejected, unless `--max-rejects` allows it).
    func printShared(run: Int64, store: PostgresStore) async -> Int32 {
        let report = report(what: "run \(run)", writer: outputWriter())
        report.details.append {
            "the store's journal (run \(run); contactor results \(run) reads it again)"
        }
        do {
            for try await outcome in store.work.outcomes(run: run) {
                emit(outcome, report: report)
                if StandardStreams.stdoutClosed { return StandardStreams.brokenPipeExitStatus }
            }
        } catch {
            report.writer.finish()
            report.printSummary(stopped: "an error")
            Console.err(
                "contactor: reading run \(run) stopped: \(TerminalText.escaped(String(describing: error)))"
            )
            Console.err(
                "contactor: the workers go on; read its outcomes with: contactor results \(run) --store URL"
            )
            return 1
        }
        report.writer.finish()
        report.printSummary()
        return report.exitStatus
    }
}

/// `contactor results RUN --store URL`: the outcomes of a run shared through a store.
struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Print the outcomes of a run submitted to a PostgreSQL store, in input order.",
        usage: "contactor results <run> [<options>]",
        discussion: """
            Waits for the workers to finish the run, printing each outcome as soon as every \
            line before it has one (as import does). With --retry-failed, the run's failed \
            contacts are put back in the queue first, for the workers to send again.

            Examples:
              contactor results 12 --store postgres://contactor@db/contactor
              contactor results 12 --store postgres://contactor@db/contactor \\
                --retry-failed
            """)

    @Argument(help: ArgumentHelp("The run's id, as submitting printed it.", valueName: "run"))
    var run: Int64

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var outputOption: OutputOption
    @OptionGroup var logging: LoggingOptions

    @Flag(name: .long, help: "Queue the run's failed contacts again before reading.")
    var retryFailed = false

    private var global: GlobalOptions { .with(output: outputOption, logging: logging) }

    func validate() throws {
        try global.validateOutput()
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let store = try storeOptions.configuration(environment: environment) else {
            throw CLIError.usage("results needs --store postgres://... (or CONTACTOR_STORE)")
        }
        let status = try await Runtime.with(
            provider: .none, global: global, flags: Settings()
        ) { runtime in
            try await PostgresStore.with(configuration: store, logger: runtime.logger) { store in
                do {
                    _ = try await store.work.progress(run: run)
                    if retryFailed {
                        let chunks = try await store.work.retryFailed(run: run)
                        Console.err("contactor: \(chunks) chunks of run \(run) queued again")
                    }
                } catch let error as ContactorError {
                    throw CLIError.usage(error.message)
                }
                return await runtime.printShared(run: run, store: store)
            }
        }
        throw ExitCode(status)
    }
}
