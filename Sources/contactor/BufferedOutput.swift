import Contactor
import Dispatch
import Foundation
import Synchronization

/// Standard output for the rows of a run: written into one buffer without a `JSONEncoder`
/// or a `String` per row, and handed to the system in large writes.
///
/// - On a terminal every row is written at once, as before.
/// - Otherwise rows collect in a buffer that is written when it holds 64 KiB, 50 ms after
///   its first unwritten row at the latest (a pipe reader sees rows while the run goes on),
///   before anything else goes to stdout or stderr (so `2>&1` keeps the order), and at exit.
///
/// The bytes are exactly those the rows' `String` forms would have written.
enum RowOutput {
    private struct State {
        var writer = JSONTextWriter(capacity: RowOutput.limit + 4_096)
        var flushScheduled = false
        var exitHookInstalled = false
    }

    private static let limit = 64 * 1_024
    private static let state = Mutex(State())
    private static let isTerminal = isatty(STDOUT_FILENO) != 0

    /// Appends one line, built by `body`, followed by a line break.
    static func line(_ body: (inout JSONTextWriter) -> Void) {
        // Bytes are written while the lock is held, so that a flush from the timer and
        // one from a full buffer can never swap their order.
        state.withLock { state in
            body(&state.writer)
            state.writer.bytes.append(UInt8(ascii: "\n"))
            if isTerminal || state.writer.bytes.count >= limit {
                writeOut(&state)
                return
            }
            if !state.exitHookInstalled {
                state.exitHookInstalled = true
                atexit { RowOutput.flush() }
            }
            if !state.flushScheduled {
                state.flushScheduled = true
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) {
                    RowOutput.flush()
                }
            }
        }
    }

    /// Writes out the rows not written yet.
    static func flush() {
        state.withLock { writeOut(&$0) }
    }

    private static func writeOut(_ state: inout State) {
        state.flushScheduled = false
        guard !state.writer.bytes.isEmpty else { return }
        StandardStreams.writeOut(bytes: state.writer.bytes)
        state.writer.bytes.removeAll(keepingCapacity: true)
    }
}

extension OutputRow {
    /// Appends the JSON Lines object of ``jsonText()`` — the same bytes — to `writer`.
    func writeJSON(to writer: inout JSONTextWriter) {
        writer.raw("{\"line\":")
        if let line { writer.int(Int64(line)) } else { writer.null() }
        writer.raw(",\"phone\":")
        if let phone { writer.string(phone) } else { writer.null() }
        writer.raw(",\"status\":")
        writer.string(status)
        writer.raw(",\"id\":")
        if let id { writer.string(id) } else { writer.null() }
        writer.raw(",\"error\":")
        if let error {
            writer.raw("{\"code\":")
            writer.string(error.code.rawValue)
            writer.raw(",\"message\":")
            writer.string(error.message)
            writer.raw(",\"provider_code\":")
            if let code = error.providerCode { writer.string(code) } else { writer.null() }
            writer.raw("}")
        } else {
            writer.null()
        }
        writer.raw("}")
    }

    /// Appends the table row `OutputWriter` prints for this row: `LINE PHONE STATUS ID
    /// DETAIL`, padded as `OutputWriter.tableLine` pads them.
    func writeTableRow(to writer: inout JSONTextWriter) {
        // Every cell may come from input or a server: control characters are escaped
        // (rare, so the check comes first and the common row takes the fast path).
        func cell(_ text: String) -> String {
            TerminalText.hasControlCharacter(text) ? TerminalText.escaped(text) : text
        }
        var lineText = ""
        if let line { lineText = String(line) }
        TableCells.pad(line == nil ? "-" : lineText, 6, &writer)
        writer.raw(" ")
        TableCells.pad(cell(phone ?? "-"), 16, &writer)
        writer.raw(" ")
        TableCells.pad(cell(status), 9, &writer)
        writer.raw(" ")
        TableCells.pad(cell(id ?? "-"), 12, &writer)
        writer.raw(" ")
        if let error {
            writer.raw(error.code.rawValue)
            writer.raw(": ")
            writer.raw(cell(error.message))
            if let code = error.providerCode {
                writer.raw(" [")
                writer.raw(cell(code))
                writer.raw("]")
            }
        }
    }
}

/// Table cells padded with spaces to a width counted in characters, as `String.count`
/// counts them.
enum TableCells {
    /// Appends `text` and the spaces that bring it to `width` characters.
    static func pad(_ text: String, _ width: Int, _ writer: inout JSONTextWriter) {
        writer.raw(text)
        let count = characterCount(text)
        if count < width {
            writer.bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - count))
        }
    }

    /// `text.count`: on printable ASCII, where each byte is one character, the byte
    /// count; otherwise `String.count` itself.
    static func characterCount(_ text: String) -> Int {
        let utf8 = text.utf8
        if utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return utf8.count }
        return text.count
    }
}
