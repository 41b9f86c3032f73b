import Foundation
import Logging

/// An ``HTTPTransport`` that logs one line per request: method, path (never the query
/// string), status or error code, duration, and the attempt number when an enclosing
/// ``RetryingTransport`` is retrying.
///
/// ```
/// debug: POST /v1/contact/add -> 201 in 43 ms (attempt 2)
///   [method: POST, path: /v1/contact/add, status: 201, duration_ms: 43, attempt: 2]
/// ```
///
/// The path and any error message pass through the ``Redactor`` first, so a secret that
/// found its way into a URL path is printed as `***`. Headers and bodies are never logged.
/// Put it innermost (directly around the real transport) to see every attempt.
public struct LoggingTransport: HTTPTransport {
    /// The transport that sends the requests.
    public let base: any HTTPTransport
    /// Where the lines go.
    public let logger: Logger
    /// The secrets to hide.
    public let redactor: Redactor
    /// The level of each line (`debug` by default).
    public let level: Logger.Level

    /// Creates a logging transport.
    ///
    /// - Parameters:
    ///   - base: The transport that sends the requests.
    ///   - logger: Where the lines go.
    ///   - redactor: The secrets to hide (usually the provider's credentials' redactor).
    ///   - level: The level of each line.
    public init(
        wrapping base: any HTTPTransport, logger: Logger, redactor: Redactor,
        level: Logger.Level = .debug
    ) {
        self.base = base
        self.logger = logger
        self.redactor = redactor
        self.level = level
    }

    /// Sends `request` and logs the outcome.
    ///
    /// - Throws: Whatever the base transport throws, unchanged.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let clock = ContinuousClock()
        let start = clock.now
        let method = request.method.rawValue
        let path = redactor.redact(request.url.path.isEmpty ? "/" : request.url.path)
        let attempt = RetryingTransport.currentAttempt
        var metadata: Logger.Metadata = ["method": "\(method)", "path": "\(path)"]
        if let attempt { metadata["attempt"] = "\(attempt)" }
        let suffix = attempt.map { " (attempt \($0))" } ?? ""
        do {
            let response = try await base.send(request)
            let milliseconds = Self.milliseconds(start.duration(to: clock.now))
            metadata["status"] = "\(response.status)"
            metadata["duration_ms"] = "\(milliseconds)"
            logger.log(
                level: level,
                "\(method) \(path) -> \(response.status) in \(milliseconds) ms\(suffix)",
                metadata: metadata)
            return response
        } catch {
            let milliseconds = Self.milliseconds(start.duration(to: clock.now))
            let reason: String
            if let error = error as? ContactError {
                reason = redactor.redact("\(error.code): \(error.message)")
                metadata["error"] = "\(error.code)"
            } else if error is CancellationError {
                reason = "cancelled"
                metadata["error"] = "cancelled"
            } else {
                // Not a ContactError: its description is not known to be free of secrets,
                // so only its type is printed.
                reason = "\(type(of: error))"
                metadata["error"] = "\(type(of: error))"
            }
            metadata["duration_ms"] = "\(milliseconds)"
            logger.log(
                level: level, "\(method) \(path) failed in \(milliseconds) ms\(suffix): \(reason)",
                metadata: metadata)
            throw error
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        Int64((duration.seconds * 1000).rounded())
    }
}
