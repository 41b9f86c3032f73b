import Contactor
import Foundation
import Synchronization

/// How results are printed.
enum OutputFormat: String, CaseIterable, Sendable {
    case table
    case json
    /// CSV, for `contactor list` only.
    case csv

    /// `table` when stdout is a terminal, `json` otherwise.
    static var automatic: OutputFormat { isatty(STDOUT_FILENO) != 0 ? .table : .json }
}

/// One line of output: the outcome of one input record.
struct OutputRow: Sendable {
    var line: Int?
    var phone: String?
    var status: String
    var id: String?
    var error: ContactError?

    /// The JSON Lines object of the contract, members in the contract's order:
    /// `{"line", "phone", "status", "id", "error": {"code", "message", "provider_code"}}`.
    func jsonText() -> String {
        let error: String =
            error.map { error in
                OrderedJSON.object([
                    ("code", .string(error.code.rawValue)),
                    ("message", .string(error.message)),
                    ("provider_code", error.providerCode.map(JSONValue.string) ?? .null),
                ])
            } ?? "null"
        return OrderedJSON.object(
            [
                ("line", line.map { .int(Int64($0)) } ?? .null),
                ("phone", phone.map(JSONValue.string) ?? .null),
                ("status", .string(status)),
                ("id", id.map(JSONValue.string) ?? .null),
            ], then: [("error", error)])
    }
}

/// JSON objects whose members keep a given order (`JSONValue` sorts them), so that the
/// output reads in the order the contract lists the members.
enum OrderedJSON {
    /// `{"name":value,...}` with `members` in order, then `raw` members whose values are
    /// already JSON text.
    static func object(
        _ members: [(String, JSONValue)], then raw: [(String, String)] = []
    )
        -> String
    {
        let parts =
            members.map { (name, value) in (name, value.jsonText) } + raw
        return "{"
            + parts.map { JSONValue.string($0.0).jsonText + ":" + $0.1 }.joined(separator: ",")
            + "}"
    }

    /// A dry-run line: `{"request": {"method", "url", "headers", "body"}}`, from the
    /// redacted request `Redaction.dryRunJSON` gives.
    static func dryRunLine(_ redacted: JSONValue) -> String {
        let request = redacted["request"] ?? redacted
        let members = ["method", "url", "headers", "body"].map { name in
            (name, request[name] ?? .null)
        }
        return "{\"request\":" + object(members) + "}"
    }
}

/// Writes rows to stdout as they arrive, in the chosen format, and keeps the counts.
final class OutputWriter {
    private let format: OutputFormat
    private var counts: [String: Int] = [:]
    private var tableHeaderPrinted = false
    /// How many national numbers could not be read for want of a region.
    private var regionNeeded = 0
    private let started = ContinuousClock.now
    private(set) var total = 0

    init(format: OutputFormat) {
        self.format = format
    }

    /// Counts an outcome without printing it (a contact a dry run would send).
    func count(_ outcome: RecordOutcome) {
        total += 1
        counts[outcome.result.status.rawValue, default: 0] += 1
    }

    /// Counts `row` and, when `shown`, prints it.
    func write(_ row: OutputRow, shown: Bool = true) {
        total += 1
        counts[row.status, default: 0] += 1
        if row.error?.detail == .regionNeeded { regionNeeded += 1 }
        guard shown else { return }
        switch format {
        case .json, .csv:
            RowOutput.line { row.writeJSON(to: &$0) }
        case .table:
            if !tableHeaderPrinted {
                tableHeaderPrinted = true
                Console.out(Self.tableLine("LINE", "PHONE", "STATUS", "ID", "DETAIL"))
            }
            RowOutput.line { row.writeTableRow(to: &$0) }
        }
    }

    /// On stderr, the command line's hint for national numbers read without a region (the
    /// summary is ``RunReport``'s).
    func finish() {
        if regionNeeded > 0 {
            Console.err(
                "contactor: \(regionNeeded) national number\(regionNeeded == 1 ? "" : "s") could not be read without a region: pass --region CC (an ISO 3166 code such as FR)"
            )
        }
    }

    /// How many outcomes had `status`.
    func count(of status: String) -> Int { counts[status] ?? 0 }

    /// Counts per status and the elapsed time: `4 contacts: 3 added, 1 rejected in 0.01s`.
    func summary() -> String {
        let elapsed = (ContinuousClock.now - started).seconds
        let order = [
            "added", "updated", "deleted", "skipped", "valid", "add", "update", "delete",
            "unchanged", "rejected", "failed",
        ]
        let parts = order.compactMap { status in counts[status].map { "\($0) \(status)" } }
        return "\(total) contact\(total == 1 ? "" : "s"): "
            + (parts.isEmpty ? "nothing done" : parts.joined(separator: ", "))
            + String(format: " in %.2fs", elapsed)
    }

    /// Prints a sync plan's line: `{"line", "phone", "action"}`, or a table row.
    func writePlanLine(line: Int?, phone: String?, action: String) {
        total += 1
        counts[action, default: 0] += 1
        switch format {
        case .json, .csv:
            Console.out(
                OrderedJSON.object([
                    ("line", line.map { .int(Int64($0)) } ?? .null),
                    ("phone", phone.map(JSONValue.string) ?? .null), ("action", .string(action)),
                ]))
        case .table:
            if !tableHeaderPrinted {
                tableHeaderPrinted = true
                Console.out(Self.tableLine("LINE", "PHONE", "ACTION", "", ""))
            }
            Console.out(Self.tableLine(line.map(String.init) ?? "-", phone ?? "-", action, "", ""))
        }
    }

    /// Whether anything was rejected or failed.
    var hasFailures: Bool { (counts["rejected"] ?? 0) + (counts["failed"] ?? 0) > 0 }

    private static func tableLine(
        _ line: String, _ phone: String, _ status: String, _ id: String, _ detail: String
    ) -> String {
        // Every cell may come from input or a server: control characters are escaped.
        func pad(_ raw: String, _ width: Int) -> String {
            let text = TerminalText.escaped(raw)
            return text.count >= width
                ? text : text + String(repeating: " ", count: width - text.count)
        }
        return pad(line, 6) + " " + pad(phone, 16) + " " + pad(status, 9) + " " + pad(id, 12) + " "
            + TerminalText.escaped(detail)
    }
}

/// Writing to stdout and stderr without interleaving partial lines.
enum Console {
    static func out(_ line: String) {
        RowOutput.flush()
        StandardStreams.writeOut(line + "\n")
    }

    static func err(_ line: String) {
        RowOutput.flush()
        StatusLine.writing { StandardStreams.writeErr(line + "\n") }
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

    /// `TERM=dumb`: no progress bar at all.
    static var isDumbTerminal: Bool { ProcessInfo.processInfo.environment["TERM"] == "dumb" }

    /// Whether escape sequences may be written: not with `NO_COLOR` (any non-empty value,
    /// see no-color.org) nor `TERM=dumb`.
    static var allowsEscapes: Bool {
        let environment = ProcessInfo.processInfo.environment
        return (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }
}

/// The progress bar's line on stderr, shared by everything that writes there: a bar on
/// screen is taken off before any other line goes to stderr (a message, a log line from
/// any task), so that the bar always has a line of its own.
enum StatusLine {
    /// The width of the bar on screen (0 when none), and whether it is cleared with spaces
    /// (`NO_COLOR`) rather than an escape sequence.
    private static let state = Mutex<(width: Int, plain: Bool)>((0, false))

    /// Whether a bar is on screen.
    static var isDrawn: Bool { state.withLock { $0.width > 0 } }

    /// Draws `text` over the bar on screen.
    static func draw(_ text: String, plain: Bool) {
        state.withLock { state in
            let padding = plain ? max(0, state.width - text.count) : 0
            StandardStreams.writeErr(
                (plain ? "\r" : "\r\u{1B}[2K") + text + String(repeating: " ", count: padding))
            state = (text.count, plain)
        }
    }

    /// Takes the bar off the screen; the next draw puts it back.
    static func clear() {
        state.withLock { clear(&$0) }
    }

    /// Runs `write` (which writes whole lines to stderr) with the bar off the screen.
    static func writing(_ write: () -> Void) {
        state.withLock { state in
            clear(&state)
            write()
        }
    }

    private static func clear(_ state: inout (width: Int, plain: Bool)) {
        guard state.width > 0 else { return }
        StandardStreams.writeErr(
            state.plain ? "\r" + String(repeating: " ", count: state.width) + "\r" : "\r\u{1B}[2K")
        state.width = 0
    }
}

/// A one-line progress bar on stderr (only when stderr is a terminal): the contacts done,
/// their rate, and, when the input's size is known, the share of its bytes read and an ETA.
final class ProgressBar {
    private let total: Int?
    private let position: () -> Int
    private var done = 0
    private let started = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let enabled: Bool
    /// No escape sequence (`NO_COLOR`): the line is cleared with spaces.
    private let plain: Bool

    /// A bar over `total` bytes of input, `position` telling how many were read; drawn
    /// only when `enabled` (by default: stderr is a terminal whose `TERM` is not `dumb`).
    init(
        total: Int?, position: @escaping () -> Int = { 0 },
        enabled: Bool = Console.stderrIsTerminal && !Console.isDumbTerminal
    ) {
        self.total = total
        self.position = position
        self.enabled = enabled
        plain = !Console.allowsEscapes
    }

    func advance() {
        done += 1
        guard enabled, !StatusLine.isDrawn || ContinuousClock.now - lastDraw > .milliseconds(100)
        else { return }
        lastDraw = .now
        draw()
    }

    /// Takes the bar off the screen (before a row or a message is printed, so that the
    /// bar always has its own line); the next ``advance()`` draws it again.
    func clear() {
        guard enabled else { return }
        StatusLine.clear()
    }

    private func draw() {
        let elapsed = max((ContinuousClock.now - started).seconds, 0.001)
        let rate = Double(done) / elapsed
        var text = ""
        if let total, total > 0 {
            let fraction = min(1, Double(position()) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            text +=
                "[" + String(repeating: "#", count: filled)
                + String(repeating: "-", count: width - filled) + "] "
            text += String(format: "%3.0f%%  %d done", fraction * 100, done)
            let remaining = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
            text += String(format: "  %.0f/s  ETA %ds", rate, Int(remaining))
        } else {
            text += "\(done) done" + String(format: "  %.0f/s", rate)
        }
        StatusLine.draw(text, plain: plain)
    }
}

extension OutputWriter {
    /// Prints one line of a sync's plan (`--dry-run`): the contact and what would be done
    /// to it; refused records as usual.
    func writePlan(_ outcome: RecordOutcome) {
        let action: String
        switch (outcome.result.status, outcome.operation) {
        case (.valid, let operation?): action = operation.rawValue
        case (.skipped, _) where outcome.duplicateOf == nil: action = "unchanged"
        default:
            write(
                OutputRow(
                    line: outcome.line, phone: outcome.phone,
                    status: outcome.result.status.rawValue, id: outcome.result.id,
                    error: outcome.result.error))
            return
        }
        writePlanLine(line: outcome.line, phone: outcome.phone, action: action)
    }
}

/// Writes a provider's list as CSV (a header, then one row per contact, re-importable) or
/// JSON Lines.
final class ListWriter {
    private let format: OutputFormat
    private let columns: [String]
    private let region: String?
    private var headerWritten = false

    init(format: OutputFormat, descriptor: ProviderDescriptor, region: String?) {
        self.format = format
        self.region = region ?? descriptor.defaultRegion
        columns =
            ["phone"]
            + Contact.standardFieldNames.dropFirst().filter {
                descriptor.standardFields.contains($0)
            } + descriptor.customFields
    }

    func write(_ draft: ContactDraft) {
        let phone =
            (try? PhoneNumber(parsing: draft.phone, defaultRegion: region))?.e164 ?? draft.phone
        let values: [String: String?] = [
            "phone": phone, "first_name": draft.firstName, "last_name": draft.lastName,
            "email": draft.email, "birthday": draft.birthday, "civility": draft.civility,
        ]
        switch format {
        case .json:
            var members: [(String, JSONValue)] = [("phone", .string(phone))]
            for name in Contact.standardFieldNames.dropFirst() {
                if let value = values[name] ?? nil { members.append((name, .string(value))) }
            }
            members.append(("fields", .object(draft.fields.mapValues(JSONValue.string))))
            members.append(("id", draft.providerID.map(JSONValue.string) ?? .null))
            Console.out(OrderedJSON.object(members))
        default:
            if !headerWritten {
                headerWritten = true
                Console.out(columns.map(Self.csvField).joined(separator: ","))
            }
            let row = columns.map { column in
                (values[column] ?? nil) ?? draft.fields[column] ?? ""
            }
            Console.out(row.map(Self.csvField).joined(separator: ","))
        }
    }

    func finish() {
        if format != .json, !headerWritten {
            Console.out(columns.map(Self.csvField).joined(separator: ","))
        }
    }

    /// A CSV field, quoted when it holds a separator, a quote or a line break.
    static func csvField(_ text: String) -> String {
        guard
            text.contains(where: {
                $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == ";"
            })
        else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
