import Foundation
import Synchronization

/// An ``HTTPTransport`` that sends nothing: it records each request, hands it to an
/// optional observer (the CLI's `--dry-run` prints it with
/// ``Redaction/dryRunJSON(_:redactor:)``), and answers with a canned reply.
///
/// ## The reply
/// A dry run has no real answer to give, and a made-up success would make a provider
/// report contacts as added that were not. By default every request therefore fails with
/// a `not_sent` error saying so (``notSentError(for:)``), so
/// a provider returns `failed` results and nothing retries; the caller that chose a dry run
/// is expected to report those contacts as "would be sent" rather than as failures (see
/// ``isNotSent(_:)``). Pass `reply` to answer something else (a scripted response for a
/// provider that must read an answer before its next request).
///
/// The requests are kept whole (secrets included) in ``requests``; print them only through
/// ``Redaction``.
public final class DryRunTransport: HTTPTransport {
    /// Produces the reply to a request that was not sent.
    public typealias Reply = @Sendable (HTTPRequest) async throws -> HTTPResponse

    /// The message that marks a ``notSentError(for:)``.
    public static let notSentMessagePrefix = "dry run: not sent"

    private let recorded = Mutex<[HTTPRequest]>([])
    private let observer: (@Sendable (HTTPRequest) async -> Void)?
    private let reply: Reply

    /// Creates a dry-run transport.
    ///
    /// - Parameters:
    ///   - observer: Called with each request, in the order they come, before the reply.
    ///   - reply: The answer to each request; by default it throws ``notSentError(for:)``.
    public init(
        observer: (@Sendable (HTTPRequest) async -> Void)? = nil,
        reply: @escaping Reply = { throw DryRunTransport.notSentError(for: $0) }
    ) {
        self.observer = observer
        self.reply = reply
    }

    /// Every request received so far, in order.
    public var requests: [HTTPRequest] { recorded.withLock { $0 } }

    /// Records `request`, passes it to the observer and returns the reply; never touches
    /// the network.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        recorded.withLock { $0.append(request) }
        await observer?(request)
        return try await reply(request)
    }

    /// The error a dry run answers by default: code `not_sent` (never retried, never
    /// split by the engine), naming the method and path (never the query string).
    public static func notSentError(for request: HTTPRequest) -> ContactError {
        ContactError(
            .notSent,
            "\(notSentMessagePrefix): \(request.method) \(request.url.path)")
    }

    /// Whether `error` is the default dry-run answer rather than a real failure.
    public static func isNotSent(_ error: ContactError) -> Bool {
        error.code == .notSent
    }
}
