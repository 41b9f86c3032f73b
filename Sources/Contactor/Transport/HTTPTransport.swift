import Foundation
import HTTPTypes
import Logging
import ServiceContextModule

/// What the pipeline knows about one request besides its head and body: who sends it,
/// for which operation and account, which attempt it is, how long it may take, which
/// secrets it holds, where to log.
///
/// The engine makes one per attempt and hands it down the middlewares to the transport,
/// so that no layer needs a task-local to learn about another.
public struct RequestContext: Sendable {
    /// The provider sending the request (`octopush`).
    public var provider: String
    /// The operation the request belongs to.
    public var operation: ContactOperation
    /// The account, a stable non-secret identity (``Credentials/account``): rate limits
    /// are kept per provider and account.
    public var account: String
    /// The engine's 1-based attempt for the batch this request belongs to.
    public var attempt: Int
    /// How long to wait for the whole response; `nil` for the transport's default.
    public var timeout: Duration?
    /// The rate this request's account keeps to, if any (read by ``RateLimitMiddleware``).
    public var rateLimit: RateLimit?
    /// The run's secrets, to keep them out of whatever a middleware logs or records.
    public var redactor: Redactor
    /// Where to log.
    public var logger: Logger
    /// The trace context of the run the request belongs to: a request's span is its child.
    public var serviceContext: ServiceContext
    /// The client's metrics and tracer.
    var instruments: Instruments?

    /// Creates a context.
    public init(
        provider: String = "", operation: ContactOperation = .add, account: String = "",
        attempt: Int = 1, timeout: Duration? = nil, rateLimit: RateLimit? = nil,
        redactor: Redactor = .none, logger: Logger = Logger(label: "contactor"),
        serviceContext: ServiceContext = .topLevel
    ) {
        self.provider = provider
        self.operation = operation
        self.account = account
        self.attempt = attempt
        self.timeout = timeout
        self.rateLimit = rateLimit
        self.redactor = redactor
        self.logger = logger
        self.serviceContext = serviceContext
    }
}

/// The one seam through which providers reach the network: a request head
/// (swift-http-types' `HTTPRequest`) and its whole body in, a response head and its whole
/// body out.
///
/// ## Implementation requirements
/// - Send the request as given: method, URL, header fields and body, a body on `DELETE`
///   included, and return whatever status the server answered (4xx and 5xx are responses,
///   not errors).
/// - Throw a ``ContactError`` with code `transport_error` (or `timeout`) when no complete
///   response could be had, with `isTransient` set when sending again may help (a refused
///   connection, a reset, an answer cut short), and never put a header value, a body or a
///   query string in the error's message.
/// - Never retry: retries are the engine's, so that attempts never multiply.
/// - Be safe to call from many tasks at once.
public protocol HTTPTransport: Sendable {
    /// Sends one request and returns the response's head and whole body.
    func send(
        _ request: HTTPRequest, body: Data?, context: RequestContext
    ) async throws -> (
        HTTPResponse, Data
    )
}

/// Work done around every request, in the shape of swift-openapi-runtime's
/// `ClientMiddleware`: logging, rate limiting, recording.
///
/// Middlewares run in the order of ``ContactorClient/Configuration/middlewares``, the
/// first outermost; each calls `next` to pass the request on (or answers itself, as a
/// recorder replaying a cassette does).
///
/// ## Implementation requirements
/// - Be safe to call from many tasks at once.
/// - Never print a header value or a body without passing it through
///   `context.redactor` (or ``Redaction``).
public protocol ClientMiddleware: Sendable {
    /// Handles one request, usually by calling `next`.
    func intercept(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        next: @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
    ) async throws -> (HTTPResponse, Data)
}

/// A transport with middlewares in front of it: what a provider's requests go through.
public struct RequestPipeline: Sendable {
    /// The transport at the end.
    public var transport: any HTTPTransport
    /// The middlewares, outermost first.
    public var middlewares: [any ClientMiddleware]

    /// Creates a pipeline.
    public init(transport: any HTTPTransport, middlewares: [any ClientMiddleware] = []) {
        self.transport = transport
        self.middlewares = middlewares
    }

    /// Sends `request` through every middleware, then the transport.
    public func send(
        _ request: HTTPRequest, body: Data?, context: RequestContext
    ) async throws
        -> (HTTPResponse, Data)
    {
        try await send(request, body: body, context: context, from: middlewares[...])
    }

    private func send(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        from middlewares: ArraySlice<any ClientMiddleware>
    ) async throws -> (HTTPResponse, Data) {
        guard let first = middlewares.first else {
            return try await transport.send(request, body: body, context: context)
        }
        let rest = middlewares.dropFirst()
        return try await first.intercept(request, body: body, context: context) {
            request, body, context in
            try await self.send(request, body: body, context: context, from: rest)
        }
    }
}

/// A request as it was handed to the transport (or would have been, in a dry run): its
/// head and its body. Dry runs, recorders and test transports keep these.
public struct SentRequest: Sendable, Hashable {
    /// The head: method, URL parts and header fields.
    public var head: HTTPRequest
    /// The body, if any.
    public var body: Data?

    /// Creates a value.
    public init(head: HTTPRequest, body: Data? = nil) {
        self.head = head
        self.body = body
    }

    /// The method's name (`POST`).
    public var method: String { head.method.rawValue }

    /// The absolute URL (query included).
    public var url: URL { head.url ?? URL(string: "invalid:")! }

    /// The first value of header `name` (case-insensitive), or `nil`.
    public func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { head.headerFields[$0] }
    }

    /// The body as UTF-8 text (empty when there is none).
    public var text: String { String(decoding: body ?? Data(), as: UTF8.self) }
}

extension HTTPResponse {
    /// The first value of header `name` (case-insensitive), or `nil`.
    public func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headerFields[$0] }
    }
}

extension HTTPFields {
    /// Header fields from name–value pairs, in order; a name that is not a valid field
    /// name is skipped.
    public init(pairs: [(String, String)]) {
        self.init()
        for (name, value) in pairs {
            if let name = HTTPField.Name(name) { append(HTTPField(name: name, value: value)) }
        }
    }
}
