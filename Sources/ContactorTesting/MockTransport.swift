import Contactor
import Foundation
import Synchronization

/// A closure-backed ``HTTPTransport`` that records every request, for tests.
///
/// ```swift
/// let transport = MockTransport.json(status: 201, ["items": []])
/// let results = try await provider.add(contacts, to: "my_list", context: context(transport))
/// #expect(transport.requests.count == 1)
/// ```
public final class MockTransport: HTTPTransport {
    /// Answers one request.
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse

    private let handler: Handler
    private let recorded = Mutex<[HTTPRequest]>([])

    /// Creates a transport that answers every request with `handler`.
    public init(_ handler: @escaping Handler) { self.handler = handler }

    /// Every request sent so far, in order.
    public var requests: [HTTPRequest] { recorded.withLock { $0 } }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        recorded.withLock { $0.append(request) }
        return try await handler(request)
    }
}

extension MockTransport {
    /// Answers every request with `status` and `body` as JSON.
    public static func json(status: Int = 200, _ body: JSONValue) -> MockTransport {
        MockTransport { _ in
            HTTPResponse(
                status: status, headers: ["Content-Type": "application/json"], body: body.encoded())
        }
    }

    /// Answers every request with `status` and a raw text body.
    public static func text(
        status: Int, _ body: String = "", headers: HTTPHeaders = [:]
    )
        -> MockTransport
    {
        MockTransport { _ in HTTPResponse(status: status, headers: headers, body: Data(body.utf8)) }
    }

    /// Answers the requests in turn with `responses`; fails the test run's request with a
    /// `transport_error` once they run out.
    public static func sequence(_ responses: [HTTPResponse]) -> MockTransport {
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
