import Foundation
import HTTPTypes
import Logging

/// A middleware that logs one line per request: method, path (never the query string),
/// status or error code, duration and the engine's attempt number.
///
/// ```
/// debug: POST /v1/contact/add -> 201 in 43 ms (attempt 2)
///   [provider: avosms, method: POST, path: /v1/contact/add, status: 201, duration_ms: 43, attempt: 2]
/// ```
///
/// The path and any error message pass through the run's ``Redactor`` first, so a secret
/// that found its way into a URL path is printed as `***`. Header values and bodies are
/// never logged. Lines go to the request's logger (``RequestContext/logger``), so a
/// service's per-request logger gets them.
public struct LoggingMiddleware: ClientMiddleware {
    /// The level of each line.
    public let level: Logger.Level
    private let now: @Sendable () -> ContinuousClock.Instant

    /// Creates the middleware, logging at `level` (`debug` by default).
    public init(level: Logger.Level = .debug) {
        self.level = level
        self.now = { ContinuousClock.now }
    }

    /// Sends the request on and logs its outcome.
    ///
    /// - Throws: Whatever the rest of the pipeline throws, unchanged.
    public func intercept(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        next: @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
    ) async throws -> (HTTPResponse, Data) {
        let logger = context.logger
        guard logger.logLevel <= level else { return try await next(request, body, context) }
        let start = now()
        let method = request.method.rawValue
        let fullPath = request.path ?? "/"
        let path = context.redactor.redact(
            String(fullPath.split(separator: "?", maxSplits: 1).first ?? "/"))
        var metadata: Logger.Metadata = [
            "provider": "\(context.provider)", "method": "\(method)", "path": "\(path)",
            "attempt": "\(context.attempt)",
        ]
        let suffix = context.attempt > 1 ? " (attempt \(context.attempt))" : ""
        do {
            let answer = try await next(request, body, context)
            let milliseconds = Self.milliseconds(start.duration(to: now()))
            metadata["status"] = "\(answer.0.status.code)"
            metadata["duration_ms"] = "\(milliseconds)"
            logger.log(
                level: level,
                "\(method) \(path) -> \(answer.0.status.code) in \(milliseconds) ms\(suffix)",
                metadata: metadata)
            return answer
        } catch {
            let milliseconds = Self.milliseconds(start.duration(to: now()))
            let reason: String
            if let error = error as? ContactError {
                reason = context.redactor.quote("\(error.code): \(error.message)")
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
