import Contactor
import ContactorHTTP
import Foundation
import HTTPTypes
import Logging
import Synchronization

/// A transport configuration for tests: no proxy from the environment, and timeouts long
/// enough that a suite running beside all the others on a small machine never meets them
/// unless a test means to.
func testConfiguration(
    requestTimeout: Duration = .seconds(120), connectTimeout: Duration = .seconds(60)
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

/// A request as these tests write it: method, URL, headers, body and timeout in one value.
struct TestRequest: Sendable {
    var method: HTTPRequest.Method
    var url: URL
    var headers: [String: String] = [:]
    var body: Data?
    var timeout: Duration?

    init(
        method: HTTPRequest.Method, url: URL, headers: [String: String] = [:], body: Data? = nil,
        timeout: Duration? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// The request as a dry run or a recorder keeps it.
    var sent: SentRequest { SentRequest(head: head, body: body) }

    /// The head, headers sorted by name.
    var head: HTTPRequest {
        HTTPRequest(
            method: method, url: url,
            headerFields: HTTPFields(pairs: headers.sorted { $0.key < $1.key }))
    }
}

/// A response as these tests read it.
struct TestResponse: Sendable {
    var status: Int
    var fields: HTTPFields
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The first value of header `name`, or `nil`.
    func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { fields[$0] } }
}

extension HTTPTransport {
    /// Sends a test request with a context carrying its timeout.
    func send(_ request: TestRequest) async throws -> TestResponse {
        let (head, body) = try await send(
            request.head, body: request.body, context: RequestContext(timeout: request.timeout))
        return TestResponse(status: head.status.code, fields: head.headerFields, body: body)
    }
}

extension RequestPipeline {
    /// Sends a test request through the middlewares and the transport with `context`
    /// (its timeout set from the request).
    func send(_ request: TestRequest, context: RequestContext) async throws -> TestResponse {
        var context = context
        context.timeout = request.timeout
        let (head, body) = try await send(request.head, body: request.body, context: context)
        return TestResponse(status: head.status.code, fields: head.headerFields, body: body)
    }
}

/// Sends `request` and returns the ContactError it failed with, or `nil` when it did not
/// fail with one.
func contactError(
    _ transport: some HTTPTransport, _ request: TestRequest
) async -> ContactError? {
    do {
        _ = try await transport.send(request)
        return nil
    } catch {
        return error as? ContactError
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
