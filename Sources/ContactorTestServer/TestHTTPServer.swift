import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A request as the ``TestHTTPServer`` received it.
public struct RecordedRequest: Sendable {
    /// The method (`POST`).
    public var method: String
    /// The request target as sent: path and query (`/v1/contact?apiKey=x`).
    public var uri: String
    /// The header fields, in order.
    public var headers: [(name: String, value: String)]
    /// The body (empty when there was none).
    public var body: Data
    /// When the whole request had arrived, on the continuous clock.
    public var receivedAt: ContinuousClock.Instant
    /// The 1-based number of the connection it came on (the same number means the
    /// connection was kept alive and reused).
    public var connection: Int

    /// The path, without the query (`/v1/contact`).
    public var path: String {
        String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }

    /// The query string without the `?`, or `nil` when there is none.
    public var query: String? {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count > 1 ? String(parts[1]) : nil
    }

    /// The first value of header `name` (case-insensitive), or `nil`.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What the ``TestHTTPServer`` does with one request.
public struct ScriptedReply: Sendable {
    /// The action, after the delay.
    public enum Action: Sendable {
        /// Answers with a status, header fields and a body.
        case respond(status: Int, headers: [(String, String)], body: Data)
        /// Closes the connection without answering (an orderly close, FIN).
        case close
        /// Resets the connection without answering (RST: `SO_LINGER` 0, then close).
        case reset
    }

    /// The action.
    public var action: Action
    /// How long to wait before acting.
    public var delay: Duration

    /// Creates a reply.
    public init(_ action: Action, delay: Duration = .zero) {
        self.action = action
        self.delay = delay
    }

    /// Answers `status` with `headers` and a text `body`.
    public static func status(
        _ status: Int, headers: [(String, String)] = [], body: String = ""
    ) -> ScriptedReply {
        ScriptedReply(.respond(status: status, headers: headers, body: Data(body.utf8)))
    }

    /// Answers `status` with a JSON `body` and `Content-Type: application/json`.
    public static func json(_ status: Int, _ body: String) -> ScriptedReply {
        .status(status, headers: [("Content-Type", "application/json")], body: body)
    }

    /// Closes the connection without answering.
    public static let close = ScriptedReply(.close)

    /// Resets the connection without answering.
    public static let reset = ScriptedReply(.reset)

    /// The same reply, given after `delay`.
    public func delayed(by delay: Duration) -> ScriptedReply {
        ScriptedReply(action, delay: delay)
    }
}

/// A small scripted HTTP/1.1 server on 127.0.0.1 at a random port, for tests that cross
/// the network.
///
/// It records every request it gets (method, target, headers, body, arrival time) and
/// answers each with a ``ScriptedReply``: a status with headers and body, a closed or reset
/// connection, optionally after a delay. Connections are kept alive as HTTP/1.1 allows.
///
/// ```swift
/// try await TestHTTPServer.withServer(script: [.status(503), .json(200, "{}")]) { server in
///     let url = server.url("/v1/contact")
///     ...
///     #expect(server.requests.count == 2)
/// }
/// ```
public final class TestHTTPServer: Sendable {
    /// Chooses the reply to a request.
    public typealias Handler = @Sendable (RecordedRequest) async -> ScriptedReply

    /// The port it listens on, on 127.0.0.1.
    public let port: Int

    private struct State {
        var requests: [RecordedRequest] = []
        var connections = 0
    }

    /// The recorded state, shared by the server and its connection tasks.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared: Shared
    private let serverChannel: any Channel
    private let acceptTask: Task<Void, Never>

    private init(
        port: Int, shared: Shared, serverChannel: any Channel, acceptTask: Task<Void, Never>
    ) {
        self.port = port
        self.shared = shared
        self.serverChannel = serverChannel
        self.acceptTask = acceptTask
    }

    /// `http://127.0.0.1:PORT`.
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// The URL of `pathAndQuery` (`/v1/contact?x=1`) on this server.
    public func url(_ pathAndQuery: String) -> URL {
        URL(string: "http://127.0.0.1:\(port)\(pathAndQuery)")!
    }

    /// Every request received so far, in order of arrival.
    public var requests: [RecordedRequest] { shared.state.withLock { $0.requests } }

    /// How many connections have been accepted so far.
    public var connectionCount: Int { shared.state.withLock { $0.connections } }

    /// Starts a server that answers every request with `handler`.
    ///
    /// - Throws: When 127.0.0.1 cannot be bound.
    public static func start(handler: @escaping Handler) async throws -> TestHTTPServer {
        let shared = Shared()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let port = channel.channel.localAddress?.port ?? 0
        let task = Task {
            await withDiscardingTaskGroup { group in
                do {
                    try await channel.executeThenClose { connections in
                        for try await connection in connections {
                            let number = shared.state.withLock { state in
                                state.connections += 1
                                return state.connections
                            }
                            group.addTask {
                                await serve(
                                    connection, number: number, shared: shared, handler: handler)
                            }
                        }
                    }
                } catch {
                    // The listening socket closed: the server is shutting down.
                }
                group.cancelAll()
            }
        }
        return TestHTTPServer(
            port: port, shared: shared, serverChannel: channel.channel, acceptTask: task)
    }

    /// Starts a server that answers the requests in turn with `script`, then every
    /// further one with `otherwise`.
    ///
    /// - Throws: When 127.0.0.1 cannot be bound.
    public static func start(
        script: [ScriptedReply], otherwise: ScriptedReply = .status(200)
    ) async throws -> TestHTTPServer {
        let queue = Mutex(script[...])
        return try await start { _ in queue.withLock { $0.popFirst() } ?? otherwise }
    }

    /// Runs `body` with a server answering with `handler`, and shuts it down afterwards.
    public static func withServer<Result: Sendable>(
        handler: @escaping Handler, _ body: (TestHTTPServer) async throws -> Result
    ) async throws -> Result {
        let server = try await start(handler: handler)
        do {
            let result = try await body(server)
            await server.shutdown()
            return result
        } catch {
            await server.shutdown()
            throw error
        }
    }

    /// Runs `body` with a server answering with `script` then `otherwise`, and shuts it
    /// down afterwards.
    public static func withServer<Result: Sendable>(
        script: [ScriptedReply], otherwise: ScriptedReply = .status(200),
        _ body: (TestHTTPServer) async throws -> Result
    ) async throws -> Result {
        let queue = Mutex(script[...])
        return try await withServer(
            handler: { _ in queue.withLock { $0.popFirst() } ?? otherwise }, body)
    }

    /// Stops listening, drops every open connection and waits until all is closed.
    public func shutdown() async {
        try? await serverChannel.close()
        acceptTask.cancel()
        await acceptTask.value
    }

    /// Runs `body` with a port on 127.0.0.1 that refuses connections, for testing refused
    /// connections.
    ///
    /// The port is held by a socket that is bound but never listens, for as long as `body`
    /// runs: a connection to it is refused, and no other server in the process can be
    /// given the same port meanwhile (a port that was merely bound and closed again can be
    /// reused at once by a test running in parallel).
    /// - Throws: When 127.0.0.1 cannot be bound, or what `body` throws.
    public static func withClosedPort<Result>(
        _ body: (Int) async throws -> Result
    )
        async throws -> Result
    {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(descriptor, $0, &length)
            }
        }
        guard named == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return try await body(Int(UInt16(bigEndian: address.sin_port)))
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        number: Int, shared: Shared, handler: Handler
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let received):
                    head = received
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let received = head else { continue }
                    let request = RecordedRequest(
                        method: received.method.rawValue, uri: received.uri,
                        headers: received.headers.map { ($0.name, $0.value) },
                        body: Data(body.readableBytesView), receivedAt: .now, connection: number)
                    shared.state.withLock { $0.requests.append(request) }
                    let reply = await handler(request)
                    if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
                    switch reply.action {
                    case .respond(let status, let headers, let data):
                        var fields = NIOHTTP1.HTTPHeaders(headers)
                        if !fields.contains(name: "Content-Length") {
                            fields.add(name: "Content-Length", value: String(data.count))
                        }
                        if !received.isKeepAlive {
                            fields.replaceOrAdd(name: "Connection", value: "close")
                        }
                        try await outbound.write(
                            .head(
                                HTTPResponseHead(
                                    version: .http1_1,
                                    status: HTTPResponseStatus(statusCode: status),
                                    headers: fields)))
                        if !data.isEmpty {
                            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: data))))
                        }
                        try await outbound.write(.end(nil))
                        if !received.isKeepAlive { return }
                    case .close:
                        return
                    case .reset:
                        if let provider = connection.channel as? any SocketOptionProvider {
                            try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
                        }
                        return
                    }
                    head = nil
                }
            }
        }
    }
}
