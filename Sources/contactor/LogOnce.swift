import Foundation
import Logging
import Synchronization

/// The log lines printed so far, so that none is printed twice (concurrent batches that
/// stop a run for one reason each log it) and the command line does not repeat, in its
/// own words, an error the log already showed.
final class PrintedLog: Sendable {
    private let lines = Mutex<Set<String>>([])
    /// A bound on what is remembered (a verbose run logs a line per request).
    private static let capacity = 10_000

    /// Records `line`; `false` when it was printed already.
    func insert(_ line: String) -> Bool {
        lines.withLock { lines in
            if lines.count >= Self.capacity { lines.removeAll() }
            return lines.insert(line).inserted
        }
    }

    /// Whether a printed line holds `text`.
    func contains(_ text: String) -> Bool {
        lines.withLock { lines in lines.contains { $0.contains(text) } }
    }
}

/// A stderr log handler that prints each distinct message (level and text) once.
struct LogOnceHandler: LogHandler {
    private var inner: StreamLogHandler
    private let printed: PrintedLog

    init(label: String, printed: PrintedLog) {
        inner = StreamLogHandler.standardError(label: label)
        self.printed = printed
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard printed.insert("\(event.level) \(event.message)") else { return }
        // Never on the progress bar's line.
        StatusLine.writing { inner.log(event: event) }
    }
}
