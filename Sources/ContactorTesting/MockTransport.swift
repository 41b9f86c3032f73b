import Contactor
import Foundation
import HTTPTypes
import Synchronization

/// A canned answer of a ``MockTransport``.
public struct MockResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The header fields.
    public var headers: HTTPFields
    /// The body.
    public var body: Data

    /// Creates an answer with `headers` given as name–value pairs.
    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = HTTPFields(pairs: headers.sorted { $0.key < $1.key })
        self.body = body
    }

    /// An answer with `body` as JSON (`Content-Type: application/json`).
    public static func json(
        _ status: Int, _ body: JSONValue, headers: [String: String] = [:]
    ) -> MockResponse {
        var all = headers
        all["Content-Type"] = "application/json"
        return MockResponse(status: status, headers: all, body: body.encoded())
    }

    /// The answer as the transport seam returns it.
    public var pair: (HTTPResponse, Data) {
        (HTTPResponse(status: .init(code: status), headerFields: headers), body)
    }
}

/// A closure-backed ``HTTPTransport`` that records every request, for tests.
///
/// ```swift
/// let transport = MockTransport.json(status: 201, ["items": []])
/// let results = try await provider.add(contacts, to: "my_list", context: context(transport))
/// #expect(transport.requests.count == 1)
/// ```
public final class MockTransport: HTTPTransport {
    /// Answers one request.
    public typealias Handler = @Sendable (SentRequest) async throws -> MockResponse

    private let handler: Handler
    private let recorded = Mutex<[SentRequest]>([])
    private let contexts = Mutex<[RequestContext]>([])

    /// Creates a transport that answers every request with `handler`.
    public init(_ handler: @escaping Handler) { self.handler = handler }

    /// Every request sent so far, in order.
    public var requests: [SentRequest] { recorded.withLock { $0 } }

    /// The request context of every request sent so far, in order.
    public var requestContexts: [RequestContext] { contexts.withLock { $0 } }

    public func send(
        _ request: HTTPRequest, body: Data?, context: RequestContext
    ) async throws
        -> (HTTPResponse, Data)
    {
        let sent = SentRequest(head: request, body: body)
        recorded.withLock { $0.append(sent) }
        contexts.withLock { $0.append(context) }
        return try await handler(sent).pair
    }
}

extension MockTransport {
    /// Answers every request with `status` and `body` as JSON.
    public static func json(status: Int = 200, _ body: JSONValue) -> MockTransport {
        MockTransport { _ in .json(status, body) }
    }

    /// Answers every request with `status` and a raw text body.
    public static func text(
        status: Int, _ body: String = "", headers: [String: String] = [:]
    )
        -> MockTransport
    {
        MockTransport { _ in MockResponse(status: status, headers: headers, body: Data(body.utf8)) }
    }

    /// Answers the requests in turn with `responses`; fails the test run's request with a
    /// `transport_error` once they run out.
    public static func sequence(_ responses: [MockResponse]) -> MockTransport {
        let queue = Mutex(responses[...])
        return MockTransport { _ in
            guard let next = queue.withLock({ $0.popFirst() }) else {
                throw ContactError(.transportError, "MockTransport: no response left")
            }
            return next
        }
    }

    /// Fails every request with `error` (a refused connection by default).
    public static func failing(
        _ error: ContactError = ContactError(
            .transportError, "connection refused", isTransient: true)
    ) -> MockTransport {
        MockTransport { _ in throw error }
    }

    /// Fails the test if called: for proving that nothing was sent.
    public static var unreachable: MockTransport {
        MockTransport { request in
            throw ContactError(
                .transportError,
                "MockTransport.unreachable got \(request.method) \(request.url.path)")
        }
    }
}
