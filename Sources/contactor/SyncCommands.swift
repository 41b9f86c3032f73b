import ArgumentParser
import Contactor
import Foundation

/// How records become contacts: a mapping and validators (import, sync, delete FILE).
struct RecordOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A Lua mapping plugin that turns each row into a contact.", valueName: "file.lua"),
        completion: .file(extensions: ["lua"]))
    var mapping: String?

    @Option(
        name: .long,
        help: ArgumentHelp("A validator plugin by name (repeatable).", valueName: "name"))
    var validator: [String] = []

    /// `base` with these flags.
    func settings(_ base: Settings = Settings()) -> Settings {
        var settings = base
        settings.mapping = mapping
        settings.validators = validator
        return settings
    }
}

/// How contacts are sent: batch size, concurrency, rate (import, sync, delete FILE).
struct SendingOptions: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Contacts per request (\(Limits.batchSize.lowerBound) to \(Limits.batchSize.upperBound); at most the provider's batch size).",
            valueName: "n"),
        transform: { try Limits.integer($0, option: "--batch-size", in: Limits.batchSize) })
    var batchSize: Int?

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Requests in flight at once (\(Limits.concurrency.lowerBound) to \(Limits.concurrency.upperBound), default 4).",
            valueName: "n"),
        transform: { try Limits.integer($0, option: "--concurrency", in: Limits.concurrency) })
    var concurrency: Int?

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "The most requests per second to the provider (\(Limits.format(Limits.rateLimit.lowerBound)) to \(Limits.format(Limits.rateLimit.upperBound))).",
            valueName: "req_per_s"),
        transform: {
            try Limits.number(
                $0, option: "--rate-limit", unit: "requests per second", in: Limits.rateLimit)
        })
    var rateLimit: Double?

    /// `base` with these flags.
    func settings(_ base: Settings = Settings()) -> Settings {
        var settings = base
        settings.batchSize = batchSize
        settings.concurrency = concurrency
        settings.rateLimit = rateLimit
        return settings
    }
}

/// The journal of a file's run, and a ledger to keep up to date (import, delete).
struct JournalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Record the run in this SQLite journal (created if absent).", valueName: "path"),
        completion: .file())
    var journal: String?

    @Flag(
        name: .long,
        help:
            "Continue the journal's last unfinished run, sending only lines without a final outcome."
    )
    var resume = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also record what is added or deleted in this sync ledger, so that a later sync knows.",
            valueName: "path"), completion: .file())
    var ledger: String?

    func check() throws {
        if resume && journal == nil {
            throw ValidationError(
                "--resume needs --journal PATH: the journal of the run to continue")
        }
    }
}

/// `contactor sync`: makes a list hold what a CSV file says, sending only the difference.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Make a list hold what a CSV file says, sending only the difference.",
        discussion: """
            The ledger records what Contactor put in each list. Each valid row is added when \
            the ledger does not hold its phone, updated when its fields changed, and not sent \
            when unchanged. With --delete-missing, the contacts the ledger says Contactor \
            added and the file no longer holds are deleted — nothing else, and never more \
            than --max-deletes (default \(SyncOptions.defaultMaxDeletes)): more is refused \
            before anything is sent. --dry-run prints the plan. The ledger defaults to \
            $CONTACTOR_STATE_DIR/ledger.sqlite, else $XDG_STATE_HOME/contactor/ledger.sqlite, \
            else ~/.local/state/contactor/ledger.sqlite. Running the same sync again after a \
            crash finishes it.

            Examples:
              contactor sync customers.csv --provider octopush --list customers
              contactor sync customers.csv --provider octopush --list customers \\
                --delete-missing --dry-run
              contactor sync customers.csv --provider avosms --list 1001 \\
                --delete-missing --max-deletes 500
            """)

    @Argument(
        help: ArgumentHelp("The CSV file.", valueName: "file.csv"),
        completion: .file(extensions: ["csv"]))
    var file: String

    @OptionGroup var provider: ProviderOptions
    @OptionGroup var global: GlobalOptions

    @Flag(
        name: .long,
        help: "Delete the contacts Contactor added to the list that the file no longer holds.")
    var deleteMissing = false

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "The most contacts --delete-missing may delete (default \(SyncOptions.defaultMaxDeletes)).",
            valueName: "n"),
        transform: { try Limits.integer($0, option: "--max-deletes", in: Limits.maxDeletes) })
    var maxDeletes: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("The sync ledger (SQLite, created if absent).", valueName: "path"),
        completion: .file())
    var ledger: String?

    @Flag(
        name: .long,
        help:
            "First bring the ledger in step with the provider's list (where the provider can list)."
    )
    var refresh = false

    @OptionGroup var records: RecordOptions
    @OptionGroup var sending: SendingOptions
    @OptionGroup var reporting: ReportingOptions
    @OptionGroup var submitting: SubmitOptions

    func validate() throws {
        if maxDeletes != nil, !deleteMissing {
            throw ValidationError("--max-deletes limits --delete-missing; pass both")
        }
        try submitting.checkDetach()
        if submitting.store.store != nil, ledger != nil {
            throw ValidationError(
                "--store keeps the ledger in the store: --ledger has no use with it")
        }
        try global.validateRegion()
        try global.validateOutput()
    }

    func run() async throws {
        let flags = records.settings(sending.settings())
        let options = SyncOptions(
            deleteMissing: deleteMissing, maxDeletes: maxDeletes ?? SyncOptions.defaultMaxDeletes)
        let exitCode = try await Runtime.with(provider: provider, global: global, flags: flags) {
            $0.reporting = reporting
            return try await $0.syncFile(
                file, ledgerPath: ledger, refresh: refresh, options: options,
                store: try submitting.storeConfiguration(), detach: submitting.detach)
        }
        throw ExitCode(exitCode)
    }
}

/// `contactor list`: exports a provider's list.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Export a list from the provider, as CSV (re-importable) or JSON Lines.",
        discussion: """
            For providers that document a way to read a list (Avosms, SMS Partner, and Lua \
            providers that define list); the others answer unsupported_operation. \
            --output csv (the default) writes a header and one row per contact, which \
            `contactor import` reads back; --output json writes one object per contact, \
            with the provider's id.

            Example:
              contactor list --provider smspartner --list 5001 --output csv > list.csv
            """)

    // A listing sends nothing that a dry run could show instead.
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var target: TargetOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let exitCode = try await Runtime.with(
            provider: .with(connection: connection, target: target), global: global
        ) {
            try await $0.listContacts(format: global.output == .json ? .json : .csv)
        }
        throw ExitCode(exitCode)
    }
}
