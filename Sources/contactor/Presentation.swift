import ArgumentParser
import Contactor
import ContactorCSV
import Foundation
import Synchronization

/// Which outcomes a run prints on stdout.
enum ShowMode: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// Every outcome.
    case all
    /// Only the rejected and failed ones.
    case problems
    /// None: the summary on stderr says what happened.
    case none

    /// With no `--show`: when stdout is a terminal, every outcome of the first
    /// ``automaticAllRows`` rows, then only the problems; elsewhere (a pipe, a file) every
    /// outcome, as programs read them.
    static let automaticAllRows = 100
}

/// How a run reports itself: which rows it prints and when it may exit 0 (import,
/// delete FILE, sync, validate).
struct ReportingOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Which outcomes to print: all, problems (rejected and failed) or none. Default: all when stdout is not a terminal; on a terminal, all for the first \(ShowMode.automaticAllRows) rows, then problems.",
            valueName: "all|problems|none"))
    var show: ShowMode?

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Exit 0 when at most N contacts were rejected and none failed (default 0: any rejection exits 1).",
            valueName: "n"),
        transform: { try Limits.integer($0, option: "--max-rejects", in: Limits.maxRejects) })
    var maxRejects: Int?
}

/// `--rejects FILE.csv` (import, delete FILE, validate).
struct RejectsOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write the rows that did not go through (rejected or failed) to this CSV file: rejected_line, rejected_code, rejected_message, then the original columns.",
            valueName: "file.csv"),
        completion: .file(extensions: ["csv"]))
    var rejects: String?
}

/// Says how to resume when the run is interrupted (SIGINT, SIGTERM), then ends the
/// process with 128 + the signal's number, as a shell expects.
final class InterruptHint: Sendable {
    private let sources = Mutex<[any DispatchSourceSignal]>([])

    /// Installs the handlers; `hint` is printed on stderr when a signal arrives.
    init(hint: String) {
        sources.withLock { sources in
            let queue = DispatchQueue(label: "contactor.interrupt")
            sources = [SIGINT, SIGTERM].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    // Off the bar's line, then the hint.
                    Console.err("")
                    Console.err(hint)
                    exit(128 + number)
                }
                source.resume()
                return source
            }
        }
    }

    /// Restores the default handling.
    func remove() {
        sources.withLock { sources in
            for source in sources { source.cancel() }
            sources = []
        }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// The names of the columns a `--rejects` file adds; an input holding them (a rejects file
/// imported again after a fix) has them dropped, so they never become custom fields.
enum RejectsColumns {
    static let line = "rejected_line"
    static let code = "rejected_code"
    static let message = "rejected_message"
    static let all: Set<String> = [line, code, message]
}

/// An input's records as they go to the engine: the `--rejects` file's own columns
/// dropped, and, for `--rejects`, each record kept until its outcome is printed.
final class RecordTap: AsyncSequence, Sendable {
    typealias Element = InputRecord

    let input: CSVInput
    /// The header without the dropped columns.
    let header: [String]
    private let drops: Bool
    private let keeps: Bool
    private let kept = Mutex<[Int: [String]]>([:])

    /// A tap over `input`, keeping records when `keep` is true.
    init(_ input: CSVInput, keep: Bool) {
        self.input = input
        drops = input.header.contains { RejectsColumns.all.contains(Self.normalized($0)) }
        header = input.header.filter { !RejectsColumns.all.contains(Self.normalized($0)) }
        keeps = keep
    }

    /// Whether the tap changes anything: otherwise the input can go to the engine as is.
    var isNeeded: Bool { drops || keeps }

    /// The kept values of the record at `line` (in ``header``'s order), forgetting it and
    /// every earlier line (outcomes arrive in input order).
    func take(line: Int) -> [String]? {
        kept.withLock { kept in
            let values = kept.removeValue(forKey: line)
            if kept.count > 64 { kept = kept.filter { $0.key > line } }
            return values
        }
    }

    private static func normalized(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespaces).lowercased()
    }

    func makeAsyncIterator() -> Iterator { Iterator(base: input.makeAsyncIterator(), tap: self) }

    struct Iterator: AsyncIteratorProtocol {
        var base: CSVInput.AsyncIterator
        let tap: RecordTap

        mutating func next() async throws -> InputRecord? {
            guard var record = try await base.next() else { return nil }
            if tap.drops {
                record.columns.removeAll {
                    RejectsColumns.all.contains(RecordTap.normalized($0.name))
                }
            }
            if tap.keeps {
                let values = record.columns.map(\.value)
                tap.kept.withLock { $0[record.line] = values }
            }
            return record
        }
    }
}

/// The `--rejects` file: a CSV of the rows that did not go through, their line, code and
/// message first, then their original columns, so that a person can fix them and import
/// the file again (the three columns are then dropped).
final class RejectsFile {
    let path: String
    private let handle: FileHandle
    private let width: Int
    private(set) var count = 0
    private var failure: String?

    /// Creates (or truncates) `path`, private to the user (it holds personal data), and
    /// writes the header.
    init(path: String, header: [String]) throws {
        self.path = path
        guard
            FileManager.default.createFile(
                atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw CLIError.usage("--rejects \(Limits.escaped(path)): cannot be created")
        }
        self.handle = handle
        width = header.count
        write([RejectsColumns.line, RejectsColumns.code, RejectsColumns.message] + header)
    }

    /// Writes one row: the outcome's line, code and message, then the record's values.
    func write(line: Int, error: ContactError?, values: [String]) {
        count += 1
        let padded = values + Array(repeating: "", count: max(0, width - values.count))
        write(
            [String(line), error?.code.rawValue ?? "", error?.message ?? ""] + padded)
    }

    /// The problem met while writing, if any (reported once, at the end).
    var problem: String? { failure }

    func close() { try? handle.close() }

    private func write(_ fields: [String]) {
        guard failure == nil else { return }
        let text = fields.map(ListWriter.csvField).joined(separator: ",") + "\n"
        do {
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            failure = "--rejects \(path): \(error.localizedDescription)"
        }
    }
}

/// What a person sees of one run besides its rows: which rows are printed, the rejects
/// file, a dry run's requests, the summary on stderr and the exit status.
final class RunReport {
    let writer: OutputWriter
    let what: String
    private let show: ShowMode?
    private let stdoutIsTerminal: Bool
    private let quiet: Bool
    private let maxRejects: Int
    private let table: Bool
    private let tap: RecordTap?
    private let rejects: RejectsFile?
    /// The progress bar, taken off the screen before each printed row.
    let progress: ProgressBar?
    private var narrowed = false
    /// A dry run's requests (table output): per operation, requests, contacts and where.
    private var planned: [String: (requests: Int, contacts: Int, targets: [String])] = [:]
    private var plannedOrder: [String] = []
    /// Where more is to be found (journal, ledger), for the summary; read when it is
    /// printed (a journal's run number is known once the run started).
    var details: [() -> String] = []

    init(
        writer: OutputWriter, what: String, reporting: ReportingOptions?, quiet: Bool,
        format: OutputFormat, tap: RecordTap? = nil, rejects: RejectsFile? = nil,
        progress: ProgressBar? = nil
    ) {
        self.progress = progress
        self.writer = writer
        self.what = what
        show = reporting?.show
        maxRejects = reporting?.maxRejects ?? 0
        stdoutIsTerminal = isatty(STDOUT_FILENO) != 0
        self.quiet = quiet
        table = format == .table
        self.tap = tap
        self.rejects = rejects
    }

    /// Whether an outcome of `status` is printed.
    func shows(_ status: ContactResult.Status) -> Bool {
        let problem = status == .rejected || status == .failed
        switch show {
        case .some(.all): return true
        case .some(.problems): return problem
        case .some(.none): return false
        case nil:
            guard stdoutIsTerminal, writer.total >= ShowMode.automaticAllRows else { return true }
            if !narrowed, !quiet {
                narrowed = true
                Console.err(
                    "contactor: more than \(ShowMode.automaticAllRows) rows: from here on only rejected and failed ones are shown (--show all shows every row)"
                )
            }
            return problem
        }
    }

    /// Counts `row` and prints it when its status is shown, the progress bar taken off a
    /// terminal first.
    func write(_ row: OutputRow, status: ContactResult.Status) {
        let shown = shows(status)
        if shown, stdoutIsTerminal { progress?.clear() }
        writer.write(row, shown: shown)
    }

    /// Records `outcome` for the rejects file.
    func record(_ outcome: RecordOutcome) {
        guard let tap, let line = outcome.line else { return }
        let values = tap.take(line: line)
        guard let rejects, outcome.result.status == .rejected || outcome.result.status == .failed,
            let values
        else { return }
        rejects.write(line: line, error: outcome.result.error, values: values)
    }

    /// Whether a dry run's requests are summed up instead of printed (table output).
    var summarisesRequests: Bool { table }

    /// Counts a dry run's requests and contacts (table output).
    func plan(_ outcome: RecordOutcome, requests: [(method: String, url: String)]) {
        let operation = outcome.operation?.rawValue ?? "add"
        if planned[operation] == nil {
            planned[operation] = (0, 0, [])
            plannedOrder.append(operation)
        }
        planned[operation]!.requests += requests.count
        if outcome.result.status == .valid { planned[operation]!.contacts += 1 }
        for request in requests {
            let target =
                request.method + " "
                + (request.url.split(separator: "?").first.map(String.init) ?? request.url)
            if !planned[operation]!.targets.contains(target) {
                planned[operation]!.targets.append(target)
            }
        }
    }

    /// Prints a dry run's plan (table output), on stdout: it is the run's result.
    func printPlan() {
        guard table, !plannedOrder.isEmpty else { return }
        let requests = planned.values.reduce(0) { $0 + $1.requests }
        let contacts = planned.values.reduce(0) { $0 + $1.contacts }
        Console.out(
            "Dry run, nothing was sent. It would send \(requests) request\(requests == 1 ? "" : "s") for \(contacts) contact\(contacts == 1 ? "" : "s"):"
        )
        for operation in plannedOrder {
            let entry = planned[operation]!
            Console.out(
                "  \(operation): \(entry.requests) request\(entry.requests == 1 ? "" : "s"), \(entry.contacts) contact\(entry.contacts == 1 ? "" : "s")"
                    + (entry.targets.isEmpty
                        ? ""
                        : " — " + entry.targets.map(TerminalText.escaped).joined(separator: ", ")))
        }
        Console.out("(--output json prints each request, secrets as ***)")
    }

    /// The exit status: 0 when nothing failed and at most `--max-rejects` were rejected.
    var exitStatus: Int32 {
        writer.count(of: "failed") == 0 && writer.count(of: "rejected") <= maxRejects ? 0 : 1
    }

    /// The summary on stderr (unless `--quiet`): counts per status, time, the exit status
    /// and why, and where the details are.
    func printSummary(stopped: String? = nil) {
        rejects?.close()
        if let problem = rejects?.problem { Console.err("contactor: \(problem)") }
        guard !quiet else { return }
        var line = "contactor: \(what): " + writer.summary()
        let rejected = writer.count(of: "rejected")
        let failed = writer.count(of: "failed")
        if let stopped {
            line += " (stopped: \(stopped))"
        } else if exitStatus == 1 {
            var reasons: [String] = []
            if failed > 0 { reasons.append("\(failed) failed") }
            if rejected > maxRejects {
                reasons.append(
                    "\(rejected) rejected"
                        + (maxRejects > 0 ? ", more than --max-rejects \(maxRejects)" : ""))
            }
            line += "; exit 1: " + reasons.joined(separator: ", ")
        } else if rejected > 0 {
            line += "; exit 0: \(rejected) rejected, within --max-rejects \(maxRejects)"
        }
        Console.err(line)
        var places = details.map { $0() }
        let shown: String
        switch show {
        case .some(.all): shown = "every row on stdout"
        case .some(.problems): shown = "the rejected and failed rows on stdout"
        case .some(.none): shown = "no row printed (--show none)"
        case nil:
            shown =
                narrowed
                ? "the first \(ShowMode.automaticAllRows) rows and every problem on stdout"
                : "every row on stdout"
        }
        places.insert(shown, at: 0)
        if let rejects {
            places.append(
                "\(rejects.count) row\(rejects.count == 1 ? "" : "s") that did not go through in \(rejects.path)"
            )
        }
        Console.err("contactor: details: " + places.joined(separator: "; "))
    }
}
