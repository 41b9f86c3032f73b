import Logging
import Synchronization

/// One captured log record.
public struct LogRecord: Sendable {
    /// Its level.
    public var level: Logger.Level
    /// Its message.
    public var message: String
    /// The logger's and the record's metadata, the record's winning, as text.
    public var metadata: [String: String]
    /// When it was logged.
    public var time: ContinuousClock.Instant = .now
}

/// Collects log records in memory, for asserting what was logged.
public final class LogCapture: Sendable {
    private let storage = Mutex<[LogRecord]>([])

    /// Creates an empty capture.
    public init() {}

    /// Every record so far.
    public var records: [LogRecord] { storage.withLock { $0 } }

    /// A logger that writes here, at `level` and above.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ record: LogRecord) { storage.withLock { $0.append(record) } }
}

private struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        all.merge(event.metadata ?? [:]) { _, new in new }
        capture.append(
            LogRecord(
                level: event.level, message: event.message.description,
                metadata: all.mapValues { "\($0)" }))
    }
}
