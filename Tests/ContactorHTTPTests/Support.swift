import Contactor
import ContactorHTTP
import Foundation
import Logging
import Synchronization

/// A transport configuration for tests: no proxy from the environment, short timeouts.
func testConfiguration(
    requestTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5)
) -> AsyncHTTPClientTransport.Configuration {
    AsyncHTTPClientTransport.Configuration(
        connectTimeout: connectTimeout, requestTimeout: requestTimeout, proxy: nil)
}

/// Runs `body` with a real transport that is shut down afterwards.
func withTestTransport<Result: Sendable>(
    _ configuration: AsyncHTTPClientTransport.Configuration = testConfiguration(),
    _ body: (AsyncHTTPClientTransport) async throws -> Result
) async throws -> Result {
    try await AsyncHTTPClientTransport.withTransport(configuration: configuration, body)
}

/// Sends `request` and returns the ContactError it failed with, or `nil` when it did not
/// fail with one.
func contactError(
    _ transport: some HTTPTransport, _ request: HTTPRequest
) async -> ContactError? {
    do {
        _ = try await transport.send(request)
        return nil
    } catch {
        return error as? ContactError
    }
}

/// One captured log record.
struct LogRecord: Sendable {
    var level: Logger.Level
    var message: String
    var metadata: [String: String]
}

/// Collects log records in memory, for asserting what was logged.
final class LogCapture: Sendable {
    private let storage = Mutex<[LogRecord]>([])

    /// Every record so far.
    var records: [LogRecord] { storage.withLock { $0 } }

    /// A logger that writes here, at `trace` level and above.
    func logger(label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = .trace
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

/// A value shared by concurrent closures in a test.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value { mutex.withLock { $0 } }

    @discardableResult
    func withLock<Result: Sendable>(_ body: (inout sending Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
