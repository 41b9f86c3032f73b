import ArgumentParser
import Contactor
import ContactorStore
import Foundation

/// `contactor runs`: the runs a journal recorded, and one run's problems.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs a journal recorded, or show one (counts, problems, resumable).",
        discussion: """

            Examples:
              contactor runs --journal run.sqlite
              contactor runs show 3 --journal run.sqlite
            """,
        subcommands: [RunsListCommand.self, RunsShowCommand.self],
        defaultSubcommand: RunsListCommand.self)
}

/// Options of the `runs` commands.
struct RunsOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The journal (the file given to import or delete --journal).", valueName: "path"),
        completion: .file())
    var journal: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Output format: table (default on a terminal) or json (JSON Lines).",
            valueName: "table|json"))
    var output: OutputFormat?

    var format: OutputFormat { output ?? .automatic }

    func validate() throws {
        if output == .csv { throw ValidationError("--output csv is for contactor list") }
    }

    /// The journal, which must exist (it is never created here).
    func open() throws -> SQLiteJournal {
        guard FileManager.default.fileExists(atPath: journal) else {
            throw CLIError.usage("\(Limits.escaped(journal)): no such journal")
        }
        do {
            return try SQLiteJournal(path: journal)
        } catch {
            throw CLIError.usage(error.description)
        }
    }
}

/// `contactor runs [list]`.
struct RunsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the journal's runs, oldest first (the default).")

    @OptionGroup var options: RunsOptions

    func run() async throws {
        let journal = try options.open()
        let runs: [SQLiteJournal.RunRecord]
        do {
            runs = try await journal.runs()
        } catch {
            throw CLIError.usage(String(describing: error))
        }
        switch options.format {
        case .table:
            Console.out(
                RunsText.row("RUN", "STARTED", "OPERATION", "PROVIDER", "LIST", "STATE", "COUNTS"))
            for run in runs {
                Console.out(
                    RunsText.row(
                        String(run.id), RunsText.date(run.info.startedAt),
                        run.info.operation.rawValue, run.info.provider, run.info.list,
                        RunsText.state(run), RunsText.counts(run)))
            }
            if runs.isEmpty { Console.err("contactor: \(options.journal) records no run") }
        default:
            for run in runs { Console.out(RunsText.json(run)) }
        }
    }
}

/// `contactor runs show N`.
struct RunsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract:
            "Show one run: its counts, its rejected and failed contacts, whether --resume continues it.",
        discussion: """

            Example:
              contactor runs show 3 --journal run.sqlite
            """)

    @Argument(help: ArgumentHelp("The run's number (from contactor runs).", valueName: "n"))
    var id: Int64

    @OptionGroup var options: RunsOptions

    func run() async throws {
        let journal = try options.open()
        let run: SQLiteJournal.RunRecord
        let problems: [JournalEntry]
        do {
            run = try await journal.run(id)
            problems = try await journal.entries(run: id).filter {
                $0.result.status == .rejected || $0.result.status == .failed
            }
        } catch let error as JournalError {
            throw CLIError.usage(error.description)
        }
        switch options.format {
        case .table:
            Console.out(
                "run \(run.id): \(run.info.operation.rawValue) of \(TerminalText.escaped(run.info.inputPath)) to \(run.info.provider) list \(TerminalText.escaped(run.info.list)), started \(RunsText.date(run.info.startedAt))"
            )
            Console.out("state: \(RunsText.state(run))")
            Console.out("counts: \(RunsText.counts(run))")
            if run.isResumable {
                Console.out(
                    "resume: contactor \(run.info.operation == .delete ? "delete" : "import") \(TerminalText.escaped(run.info.inputPath)) --provider \(run.info.provider) --list \(TerminalText.escaped(run.info.list)) --journal \(TerminalText.escaped(options.journal)) --resume"
                )
            }
            if !problems.isEmpty {
                Console.out("")
                let writer = OutputWriter(format: .table)
                for entry in problems {
                    writer.write(
                        OutputRow(
                            line: entry.line, phone: entry.phone,
                            status: entry.result.status.rawValue, id: entry.result.id,
                            error: entry.result.error))
                }
            }
        default:
            Console.out(RunsText.json(run))
            for entry in problems {
                Console.out(
                    OutputRow(
                        line: entry.line, phone: entry.phone, status: entry.result.status.rawValue,
                        id: entry.result.id, error: entry.result.error
                    ).jsonText())
            }
        }
    }
}

/// How runs are written.
enum RunsText {
    static func date(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func state(_ run: SQLiteJournal.RunRecord) -> String {
        if run.finishedAt != nil { return "finished" }
        return run.isResumable ? "unfinished (--resume continues it)" : "unfinished (superseded)"
    }

    static let order: [ContactResult.Status] = [
        .added, .updated, .deleted, .skipped, .valid, .rejected, .failed,
    ]

    static func counts(_ run: SQLiteJournal.RunRecord) -> String {
        let parts = order.compactMap { status in
            run.counts[status].map { "\($0) \(status.rawValue)" }
        }
        return parts.isEmpty ? "nothing recorded" : parts.joined(separator: ", ")
    }

    static func json(_ run: SQLiteJournal.RunRecord) -> String {
        OrderedJSON.object([
            ("run", .int(run.id)), ("operation", .string(run.info.operation.rawValue)),
            ("provider", .string(run.info.provider)), ("list", .string(run.info.list)),
            ("input", .string(run.info.inputPath)),
            ("started_at", .string(date(run.info.startedAt))),
            ("finished_at", run.finishedAt.map { .string(date($0)) } ?? .null),
            ("resumable", .bool(run.isResumable)),
            (
                "counts",
                .object(
                    Dictionary(
                        uniqueKeysWithValues: run.counts.map {
                            ($0.key.rawValue, JSONValue.int(Int64($0.value)))
                        }))
            ),
        ])
    }

    static func row(
        _ id: String, _ started: String, _ operation: String, _ provider: String, _ list: String,
        _ state: String, _ counts: String
    ) -> String {
        func pad(_ raw: String, _ width: Int) -> String {
            let text = TerminalText.escaped(raw)
            return text.count >= width
                ? text : text + String(repeating: " ", count: width - text.count)
        }
        return pad(id, 4) + " " + pad(started, 20) + " " + pad(operation, 9) + " "
            + pad(provider, 13) + " " + pad(list, 10) + " " + pad(state, 34) + " " + counts
    }
}
