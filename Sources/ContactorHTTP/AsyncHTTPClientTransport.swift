import AsyncHTTPClient
import Contactor
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The real ``HTTPTransport``, on AsyncHTTPClient.
///
/// One pooled `HTTPClient` per route (direct, and one per configured proxy) is created at
/// init and shared by every request, so connections are kept alive and reused; they run on
/// AsyncHTTPClient's shared event loop group, as it recommends. Call ``shutdown()`` when
/// done (or use ``withTransport(configuration:_:)``): AsyncHTTPClient requires it.
///
/// - Every method may carry a body, `DELETE` included; the status is passed through
///   whatever it is (a 404 or a 500 is a response, not an error), and redirects are not
///   followed (a 3xx is returned as it is, so credentials never travel to another host).
/// - TLS certificates are always verified.
/// - A `User-Agent` naming Contactor and its version is added unless the request has one.
/// - Every phase is bounded: ``Configuration/connectTimeout`` bounds the TCP connection,
///   the proxy tunnel and the TLS handshake; ``Configuration/readTimeout`` bounds the wait
///   for the answer's first byte and every silence after it; ``Configuration/requestTimeout``
///   (or the request's own timeout) bounds the whole exchange, body included.
/// - Failures are thrown as ``ContactError``: a refused, reset or closed connection, and an
///   answer cut or unreadable (a body shorter than its `Content-Length`, one over
///   ``Configuration/maxResponseBodySize``, bytes that are not HTTP) are transient
///   `transport_error`s; a timeout is a transient `timeout`; a TLS failure (certificate,
///   protocol, a server that does not speak TLS) is a `transport_error` that is not
///   transient, and fails at the first handshake. Messages name the method, host and path,
///   never the query string, a header or a body.
/// - It never retries by itself (connection establishment included): the engine retries.
///
/// In a service, the transport is a ServiceLifecycle `Service`: add it to the
/// `ServiceGroup`, and its pools are shut down when the group shuts down. A service that
/// already owns an `HTTPClient` (`HTTPClient.shared`, Vapor's `app.http.client.shared`)
/// passes it to ``init(client:configuration:)`` instead of opening a second pool.
public final class AsyncHTTPClientTransport: HTTPTransport, Service {
    /// How the transport connects and how long it waits.
    public struct Configuration: Sendable {
        /// The longest time to establish a connection: the TCP connection, a proxy's
        /// `CONNECT` tunnel and the TLS handshake together.
        public var connectTimeout: Duration
        /// The longest silence while waiting for the answer, once the request is sent:
        /// before its first byte, and between any two reads after it (a head or a body that
        /// stops coming). A server that trickles bytes is bounded by ``requestTimeout``.
        public var readTimeout: Duration
        /// The longest time for a whole request, connection and body included, when the
        /// request does not set its own (`RequestContext.timeout`): the single "request
        /// timeout" a command line sets.
        public var requestTimeout: Duration
        /// The most connections kept open to one host.
        public var maxConnectionsPerHost: Int
        /// How long an unused connection stays in the pool.
        public var idleTimeout: Duration
        /// The largest response body accepted, in bytes; a larger one is a
        /// `transport_error`.
        public var maxResponseBodySize: Int
        /// The `User-Agent` sent when a request has none.
        public var userAgent: String
        /// The proxies to use, or `nil` to connect directly.
        public var proxy: ProxySettings?

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - connectTimeout: The longest time to establish a connection, TLS included
        ///     (10 s).
        ///   - readTimeout: The longest silence while waiting for the answer (20 s).
        ///   - requestTimeout: The default longest time for a whole request (30 s).
        ///   - maxConnectionsPerHost: The most connections open to one host (8).
        ///   - idleTimeout: How long an unused connection stays open (60 s).
        ///   - maxResponseBodySize: The largest response body accepted (16 MiB).
        ///   - userAgent: The `User-Agent` to send (``ContactorVersion/userAgent``).
        ///   - proxy: The proxies; by default read from `HTTPS_PROXY`, `HTTP_PROXY` and
        ///     `NO_PROXY` (see ``ProxySettings``).
        public init(
            connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(20),
            requestTimeout: Duration = .seconds(30), maxConnectionsPerHost: Int = 8,
            idleTimeout: Duration = .seconds(60),
            maxResponseBodySize: Int = 16 << 20, userAgent: String = ContactorVersion.userAgent,
            proxy: ProxySettings? = ProxySettings.fromEnvironment()
        ) {
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.requestTimeout = requestTimeout
            self.maxConnectionsPerHost = max(1, maxConnectionsPerHost)
            self.idleTimeout = idleTimeout
            self.maxResponseBodySize = max(0, maxResponseBodySize)
            self.userAgent = userAgent
            self.proxy = proxy
        }
    }

    /// The configuration in force.
    public let configuration: Configuration
    private let direct: HTTPClient
    private let proxied: [ProxySettings.Server: HTTPClient]
    /// The pools this transport created and must shut down; empty once shut down, and
    /// always for a wrapped client.
    private let owned: Mutex<[HTTPClient]>

    /// Creates a transport and its connection pools.
    ///
    /// - Parameter configuration: Timeouts, pool size, proxies.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.direct = Self.makeClient(configuration, proxy: nil)
        var proxied: [ProxySettings.Server: HTTPClient] = [:]
        for server in [configuration.proxy?.http, configuration.proxy?.https].compactMap({ $0 })
        where proxied[server] == nil {
            proxied[server] = Self.makeClient(configuration, proxy: server)
        }
        self.proxied = proxied
        self.owned = Mutex([direct] + Array(proxied.values))
    }

    /// Creates a transport that sends through `client`, an `HTTPClient` the caller owns
    /// and shuts down (``shutdown()`` leaves it open).
    ///
    /// The client's own configuration then decides TLS, proxies, redirects, connection
    /// timeouts and pool size; of `configuration`, only ``Configuration/requestTimeout``
    /// (the deadline of each request), ``Configuration/maxResponseBodySize`` and
    /// ``Configuration/userAgent`` apply. Note that `HTTPClient.shared` follows redirects:
    /// give a client whose `redirectConfiguration` is `.disallow` to keep credentials from
    /// travelling to another host, as a transport made with ``init(configuration:)`` does.
    public init(client: HTTPClient, configuration: Configuration = Configuration(proxy: nil)) {
        var configuration = configuration
        configuration.proxy = nil
        self.configuration = configuration
        self.direct = client
        self.proxied = [:]
        self.owned = Mutex([])
    }

    /// Runs until the service group shuts down gracefully (or the task is cancelled), then
    /// shuts the transport's own pools down.
    public func run() async throws {
        // Returns at graceful shutdown, throws on cancellation: either way, the end.
        try? await gracefulShutdown()
        try await shutdown()
    }

    /// Runs `body` with a new transport and shuts the transport down afterwards, whether
    /// `body` returned or threw.
    public static func withTransport<Result: Sendable>(
        configuration: Configuration = Configuration(),
        _ body: (AsyncHTTPClientTransport) async throws -> Result
    ) async throws -> Result {
        let transport = AsyncHTTPClientTransport(configuration: configuration)
        let result: Result
        do {
            result = try await body(transport)
        } catch {
            try? await transport.shutdown()
            throw error
        }
        try await transport.shutdown()
        return result
    }

    /// Closes every connection and releases the pools the transport created; the
    /// transport cannot send after. Calling it again does nothing; a client passed to
    /// ``init(client:configuration:)`` is left to its owner.
    ///
    /// - Throws: When a pool fails to shut down cleanly.
    public func shutdown() async throws {
        var firstError: (any Error)?
        let clients = owned.withLock { clients in
            defer { clients.removeAll() }
            return clients
        }
        for client in clients {
            do { try await client.shutdown() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    /// Sends `request` and returns its response, whatever its status.
    ///
    /// - Throws: ``ContactError`` `transport_error` or `timeout` when no response could be
    ///   had (see the type's documentation), or `CancellationError` when cancelled.
    public func send(
        _ request: HTTPRequest, body: Data?, context: RequestContext
    ) async throws -> (HTTPResponse, Data) {
        let timeout = context.timeout ?? configuration.requestTimeout
        guard let url = request.url else {
            throw ContactError(.transportError, "the request has no absolute URL")
        }
        let client = client(for: url)
        var outgoing = HTTPClientRequest(url: url.absoluteString)
        outgoing.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headerFields {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        if request.headerFields[.userAgent] == nil {
            outgoing.headers.add(name: "User-Agent", value: configuration.userAgent)
        }
        if let body {
            outgoing.body = .bytes(ByteBuffer(bytes: body))
        }
        let limit = configuration.maxResponseBodySize
        let request0 = outgoing
        let method = request.method.rawValue
        do {
            return try await Self.withTimeout(timeout) {
                let response = try await client.execute(
                    request0, deadline: .now() + Self.timeAmount(timeout))
                let body: ByteBuffer
                do {
                    body = try await response.body.collect(upTo: limit)
                } catch {
                    // The head arrived; what failed is the body: cut, too large, unreadable.
                    throw Self.bodyError(
                        for: error, method: method, url: url, timeout: timeout, bodyLimit: limit)
                }
                var fields = HTTPFields()
                for header in response.headers {
                    if let name = HTTPField.Name(header.name) {
                        fields.append(HTTPField(name: name, value: header.value))
                    }
                }
                return (
                    HTTPResponse(
                        status: .init(code: Int(response.status.code)), headerFields: fields),
                    Data(body.readableBytesView)
                )
            }
        } catch {
            throw Self.contactError(
                for: error, method: method, url: url, timeout: timeout, bodyLimit: limit)
        }
    }

    private func client(for url: URL) -> HTTPClient {
        guard let server = configuration.proxy?.proxy(for: url), let client = proxied[server] else {
            return direct
        }
        return client
    }

    private static func makeClient(
        _ configuration: Configuration, proxy: ProxySettings.Server?
    )
        -> HTTPClient
    {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        var pool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: timeAmount(configuration.idleTimeout),
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnectionsPerHost)
        // Retries belong to RetryingTransport, which knows the policy and the budget; a
        // refused connection must fail now, not after the connect timeout.
        pool.retryConnectionEstablishment = false
        var ahcProxy: HTTPClient.Configuration.Proxy?
        if let proxy {
            var authorization: HTTPClient.Authorization?
            if let user = proxy.username {
                authorization = .basic(username: user, password: proxy.password ?? "")
            }
            ahcProxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
        }
        let clientConfiguration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(
                connect: timeAmount(configuration.connectTimeout),
                read: timeAmount(configuration.readTimeout)),
            connectionPool: pool, proxy: ahcProxy, decompression: .disabled)
        return HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(min(duration.seconds * 1e9, Double(Int64.max / 2))))
    }

    /// Thrown when the whole request, body included, outlasted its timeout.
    private struct TimedOut: Error {}

    /// A failure while reading the body of an answer whose head had arrived: never the
    /// request's contents, so always worth sending again later (transient), unless it is a
    /// timeout or a cancellation, which keep their own meaning.
    static func bodyError(
        for error: any Error, method: String, url: URL, timeout: Duration, bodyLimit: Int
    ) -> any Error {
        if error is CancellationError || error is TimedOut { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .cancelled: return error
            default: break
            }
        }
        let what: String
        switch error {
        case is NIOTooManyBytesError:
            what =
                "the response body is larger than \(bodyLimit) bytes (the limit); not read further"
        case is HTTPParserError:
            what = "the response body could not be read (cut short or malformed)"
        default:
            what = "the connection closed before the whole response body arrived"
        }
        return ContactError(
            .transportError, "\(place(method, url)): \(what)", isTransient: true)
    }

    /// `POST host:port/path`: where a request went, without its query.
    static func place(_ method: String, _ url: URL) -> String {
        var target = url.host ?? "?"
        if let port = url.port { target += ":\(port)" }
        return "\(method) \(target)\(url.path)"
    }

    private static func withTimeout<T: Sendable>(
        _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw TimedOut() }
            return value
        }
    }

    /// Maps whatever AsyncHTTPClient or NIO threw to a ``ContactError`` whose message names
    /// the method, host and path only.
    static func contactError(
        for error: any Error, method: String, url: URL, timeout: Duration, bodyLimit: Int
    ) -> any Error {
        if error is CancellationError { return error }
        if Task.isCancelled, let error = error as? HTTPClientError, error == .cancelled {
            return CancellationError()
        }
        let place = place(method, url)
        func transient(_ what: String) -> ContactError {
            ContactError(.transportError, "\(place): \(what)", isTransient: true)
        }
        func permanent(_ what: String) -> ContactError {
            ContactError(.transportError, "\(place): \(what)", isTransient: false)
        }
        func timedOut(_ what: String) -> ContactError {
            ContactError(.timeout, "\(place): \(what)", isTransient: true)
        }
        let seconds = timeout.secondsText

        switch error {
        case is TimedOut:
            return timedOut("no complete response within \(seconds)")
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return timedOut("no complete response within \(seconds)")
            case .connectTimeout, .getConnectionFromPoolTimeout:
                return timedOut("could not connect in time")
            case .tlsHandshakeTimeout, .httpProxyHandshakeTimeout, .socksHandshakeTimeout:
                return timedOut("handshake timed out")
            case .remoteConnectionClosed:
                return transient("connection closed by the server before a complete response")
            case .invalidURL, .emptyHost, .emptyScheme:
                return permanent("invalid URL")
            case .invalidProxyResponse, .proxyAuthenticationRequired:
                return permanent("the proxy refused the connection")
            case .uncleanShutdown:
                return transient("connection closed uncleanly by the server")
            case .cancelled:
                return transient("request cancelled")
            default:
                // HTTPClientError's description may quote invalid header names or values.
                let description = error.description
                if description.contains("invalidHeader") {
                    return permanent("invalid header field (not shown)")
                }
                return permanent("HTTP client error \(description)")
            }
        case let error as NIOConnectionError:
            if let failure = error.connectionErrors.first?.error {
                return contactError(
                    for: failure, method: method, url: url, timeout: timeout, bodyLimit: bodyLimit)
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return transient("could not resolve host")
            }
            return transient("could not connect")
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return transient("connection refused")
            case ECONNRESET: return transient("connection reset by peer")
            case EPIPE: return transient("connection closed (broken pipe)")
            case ETIMEDOUT: return timedOut("connection timed out")
            case ENETUNREACH, EHOSTUNREACH, ENETDOWN, EHOSTDOWN:
                return transient("host unreachable")
            default: return transient("I/O error (errno \(error.errnoCode))")
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout: return timedOut("could not connect in time")
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed:
                return transient("connection closed before a complete response")
            default: return transient("connection failed")
            }
        case let error as NIOSSLError:
            if case .uncleanShutdown = error {
                return transient("connection closed uncleanly by the server")
            }
            if isNotTLS(error) {
                return permanent(
                    "TLS handshake failed: the server does not speak TLS (an http:// "
                        + "endpoint given as https://)")
            }
            return permanent("TLS failure: \(tlsReason(error))")
        case let error as NIOSSLExtraError:
            return permanent("TLS failure: \(error)")
        case let error as BoringSSLError:
            if isNotTLS(error) {
                return permanent(
                    "TLS handshake failed: the server does not speak TLS (an http:// "
                        + "endpoint given as https://)")
            }
            return permanent("TLS failure: \(tlsReason(error))")
        case is NIOTooManyBytesError:
            return transient(
                "the response body is larger than \(bodyLimit) bytes (the limit); not read further")
        case is HTTPParserError:
            // Bytes that are not an HTTP answer (garbage, another protocol, a cut head): the
            // request may well have been fine, so this is not a refusal.
            return transient("the answer is not readable HTTP")
        case let error as ContactError:
            return error
        default:
            // An unknown error's description is not known to be free of secrets. Not knowing
            // what failed, it is not taken for a refusal of the request's contents.
            return transient("unexpected error (\(type(of: error)))")
        }
    }

    /// Whether a TLS error says the peer answered with something that is not TLS
    /// (BoringSSL's `WRONG_VERSION_NUMBER`, `HTTP_REQUEST`, `PACKET_LENGTH_TOO_LONG`...).
    static func isNotTLS(_ error: any Error) -> Bool {
        let text = "\(error)"
        return ["WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "UNKNOWN_PROTOCOL"]
            .contains { text.contains($0) }
    }

    /// The short reasons BoringSSL gives (`CERTIFICATE_VERIFY_FAILED`), without its source
    /// paths; the error's own description when it has none.
    static func tlsReason(_ error: any Error) -> String {
        let text = "\(error)"
        let marker = "OPENSSL_internal:"
        var reasons: [String] = []
        var rest = text[...]
        while let range = rest.range(of: marker) {
            let reason = rest[range.upperBound...].prefix {
                $0.isLetter || $0.isNumber || $0 == "_"
            }
            if !reason.isEmpty, !reasons.contains(String(reason)) { reasons.append(String(reason)) }
            rest = rest[range.upperBound...]
        }
        guard !reasons.isEmpty else { return text }
        let kind: String
        if let error = error as? NIOSSLError, case .handshakeFailed = error {
            kind = "handshake failed"
        } else {
            kind = "error"
        }
        return "\(kind) (\(reasons.joined(separator: ", ")))"
    }
}
