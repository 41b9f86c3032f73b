import ArgumentParser
import Contactor
import ContactorProviders
import Foundation

/// `contactor add`: adds one contact.
struct AddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add one contact to a list.",
        discussion: """

            Example:
              contactor add --provider octopush --list customers \\
                --phone "06 12 34 56 78" \\
                --first-name Ada --last-name Lovelace --field param1=vip
            Credentials come from --credential, then CONTACTOR_<PROVIDER>_<KEY> \
            (e.g. CONTACTOR_OCTOPUSH_API_KEY), then a private config file.
            """)

    @OptionGroup var provider: ProviderOptions
    @OptionGroup var global: GlobalOptions

    @Option(
        name: .long,
        help: "The phone number, as typed (national numbers use --region or the provider's region)."
    )
    var phone: String

    @Option(name: .long, help: "First name.") var firstName: String?
    @Option(name: .long, help: "Last name.") var lastName: String?
    @Option(name: .long, help: "E-mail address.") var email: String?
    @Option(name: .long, help: ArgumentHelp("Birthday.", valueName: "YYYY-MM-DD")) var birthday:
        String?
    @Option(name: .long, help: "Civility (M, Mme, ...).") var civility: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A custom field the provider has a place for (repeatable), e.g. param1=vip.",
            valueName: "key=value"))
    var field: [String] = []

    func validate() throws {
        try global.validateRegion()
        try global.validateOutput()
    }

    func run() async throws {
        let draft = ContactDraft(
            phone: phone, firstName: firstName, lastName: lastName, email: email,
            birthday: birthday, civility: civility,
            fields: Dictionary(
                try parsePairs(field, option: "--field"), uniquingKeysWith: { _, last in last }))
        try await SingleOperation(provider: provider, global: global)
            .run(.add, drafts: [draft], fieldFlags: field.isEmpty ? [] : Array(draft.fields.keys))
    }
}

/// `contactor delete`: deletes the contacts given by `--phone` (repeatable) or a CSV file.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete contacts from a list: --phone (repeatable) or every row of a CSV file.",
        discussion: """
            A file is deleted like an import is added: batched to the provider's delete batch \
            size, concurrent, retried, journalled (--journal, --resume), same output.

            Examples:
              contactor delete --provider smspartner --list 5001 --phone +33612345678
              contactor delete --provider octopush --list customers \\
                --phone 0612345678 --phone 0712345678
              contactor delete gone.csv --provider octopush --list customers \\
                --journal gone.sqlite
            """)

    @Argument(
        help: ArgumentHelp("A CSV file of the contacts to delete.", valueName: "file.csv"),
        completion: .file(extensions: ["csv"]))
    var file: String?

    @OptionGroup var provider: ProviderOptions
    @OptionGroup var global: GlobalOptions

    @Option(
        name: .long,
        help: "A phone number to delete, as typed (repeatable; every one is deleted).")
    var phone: [String] = []

    @OptionGroup var records: RecordOptions
    @OptionGroup var sending: SendingOptions
    @OptionGroup var journaling: JournalOptions
    @OptionGroup var reporting: ReportingOptions
    @OptionGroup var rejects: RejectsOption
    @OptionGroup var submitting: SubmitOptions

    func validate() throws {
        switch (file, phone.isEmpty) {
        case (nil, true):
            throw ValidationError(
                "give the contacts to delete: --phone N (repeatable) or a CSV file")
        case (.some, false):
            throw ValidationError("give either --phone or a CSV file, not both")
        default: break
        }
        if file == nil, journaling.journal != nil {
            throw ValidationError("--journal records a file's deletion; it has no use with --phone")
        }
        if file == nil, rejects.rejects != nil {
            throw ValidationError("--rejects copies a file's rows; it has no use with --phone")
        }
        if file == nil, submitting.store.store != nil {
            throw ValidationError(
                "--store shares a file's deletion with workers; it has no use with --phone")
        }
        try journaling.check()
        try submitting.check(journaling)
        try global.validateRegion()
        try global.validateOutput()
    }

    func run() async throws {
        if let file {
            let flags = records.settings(sending.settings())
            let exitCode = try await Runtime.with(provider: provider, global: global, flags: flags)
            {
                $0.reporting = reporting
                $0.rejectsPath = rejects.rejects
                if let store = try submitting.storeConfiguration() {
                    return try await $0.submitFile(
                        file, operation: .delete, store: store, detach: submitting.detach)
                }
                return try await $0.deleteFile(
                    file, journalPath: journaling.journal, resume: journaling.resume,
                    ledgerPath: journaling.ledger)
            }
            throw ExitCode(exitCode)
        }
        try await SingleOperation(
            provider: provider, global: global, ledgerPath: journaling.ledger,
            reporting: reporting
        )
        .run(.delete, drafts: phone.map { ContactDraft(phone: $0) }, fieldFlags: [])
    }
}

/// What `add` and `delete --phone` share.
struct SingleOperation {
    var provider: ProviderOptions
    var global: GlobalOptions
    var ledgerPath: String? = nil
    var reporting: ReportingOptions? = nil

    func run(
        _ operation: ContactOperation, drafts: [ContactDraft], fieldFlags: [String]
    ) async throws {
        let status = try await Runtime.with(provider: provider, global: global) { runtime in
            runtime.reporting = reporting
            let selected = try runtime.selectedProvider()
            let list = try runtime.requireList()
            let descriptor = selected.descriptor
            for field in fieldFlags.sorted()
            where !descriptor.acceptsAnyCustomField && !descriptor.customFields.contains(field) {
                throw CLIError.usage(
                    "--field \(field): \(descriptor.name) has no field '\(field)'"
                        + (descriptor.customFields.isEmpty
                            ? " (it takes no custom fields)"
                            : " (its custom fields: \(descriptor.customFields.joined(separator: ", ")))")
                )
            }
            let client = try await runtime.client(for: selected)
            // Created before sending, so that the summary's elapsed time covers the request.
            let report = runtime.report(
                what: operation == .add ? "add" : "delete", writer: runtime.outputWriter())
            var options = try await runtime.runOptions(for: selected)
            options.ledger = try ledgerPath.map(runtime.openLedger)
            let outcomes: [RecordOutcome]
            do {
                outcomes =
                    operation == .add
                    ? try await client.add(
                        drafts, provider: descriptor.name, list: list, options: options)
                    : try await client.delete(
                        drafts, provider: descriptor.name, list: list, options: options)
            } catch let error as ContactorError {
                throw runtime.refusal(error)
            }
            for outcome in outcomes { runtime.emit(outcome, report: report) }
            report.writer.finish()
            report.printPlan()
            report.printSummary()
            return report.exitStatus
        }
        throw ExitCode(status)
    }
}

/// `contactor import`: adds every row of a CSV file.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add every row of a CSV file to a list: batched, concurrent, retried, resumable.",
        discussion: """
            The CSV has a header row; columns phone, first_name, last_name, email, birthday, \
            civility; any other column is a custom field of that name. UTF-8 with or without \
            BOM, ',' or ';' (detected), quoted fields may hold newlines.

            Examples:
              contactor import examples/contacts.csv --provider avosms --list 1001 \\
                --sandbox
              contactor import crm.csv --provider octopush --list customers \\
                --mapping plugins/mappings/crm_export.lua --validator eu_mobiles \\
                --journal run.sqlite --rate-limit 10
              contactor import crm.csv --provider octopush --list customers \\
                --journal run.sqlite --resume
            """)

    @Argument(
        help: ArgumentHelp("The CSV file.", valueName: "file.csv"),
        completion: .file(extensions: ["csv"]))
    var file: String

    @OptionGroup var provider: ProviderOptions
    @OptionGroup var global: GlobalOptions
    @OptionGroup var records: RecordOptions
    @OptionGroup var sending: SendingOptions
    @OptionGroup var journaling: JournalOptions
    @OptionGroup var reporting: ReportingOptions
    @OptionGroup var rejects: RejectsOption
    @OptionGroup var submitting: SubmitOptions

    func validate() throws {
        try journaling.check()
        try submitting.check(journaling)
        try global.validateRegion()
        try global.validateOutput()
    }

    func run() async throws {
        let flags = records.settings(sending.settings())
        let exitCode = try await Runtime.with(provider: provider, global: global, flags: flags) {
            $0.reporting = reporting
            $0.rejectsPath = rejects.rejects
            if let store = try submitting.storeConfiguration() {
                return try await $0.submitFile(
                    file, operation: .add, store: store, detach: submitting.detach)
            }
            return try await $0.importFile(
                file, journalPath: journaling.journal, resume: journaling.resume,
                ledgerPath: journaling.ledger)
        }
        throw ExitCode(exitCode)
    }
}

/// `contactor validate`: checks a CSV file without sending anything.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract:
            "Check every row of a CSV file (mapping, phone numbers, validators); send nothing.",
        discussion: """
            With --provider, the provider's own field rules are checked too.

            Example:
              contactor validate examples/contacts.csv --region FR --output json
            """)

    @Argument(
        help: ArgumentHelp("The CSV file.", valueName: "file.csv"),
        completion: .file(extensions: ["csv"]))
    var file: String

    @OptionGroup var global: GlobalOptions

    @Option(
        name: .long, help: "Also check the rules of this provider.",
        completion: .list(BuiltInProviders.names))
    var provider: String?

    @Option(
        name: .long, help: ArgumentHelp("A Lua mapping plugin.", valueName: "file.lua"),
        completion: .file(extensions: ["lua"]))
    var mapping: String?

    @Option(
        name: .long,
        help: ArgumentHelp("A validator plugin by name (repeatable).", valueName: "name"))
    var validator: [String] = []

    @OptionGroup var reporting: ReportingOptions
    @OptionGroup var rejects: RejectsOption

    func validate() throws {
        try global.validateRegion()
        try global.validateOutput()
    }

    func run() async throws {
        var options = ProviderOptions.none
        options.provider = provider
        var flags = Settings()
        flags.mapping = mapping
        flags.validators = validator
        let exitCode = try await Runtime.with(provider: options, global: global, flags: flags) {
            $0.reporting = reporting
            $0.rejectsPath = rejects.rejects
            return try await $0.validateFile(file)
        }
        throw ExitCode(exitCode)
    }
}
