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
///
/// Besides well-formed answers (``status(_:headers:body:)``, ``json(_:_:)``,
/// ``html(_:_:)``, ``redirect(_:to:)``, ``noContent(headers:)``), it scripts the failure
/// shapes a client meets in the wild: a closed or reset connection, a body cut short of its
/// `Content-Length` (``truncatedBody(_:headers:body:sentBytes:)``), a chunked body that
/// never ends (``endlessChunkedBody(_:headers:chunk:every:)``), a body larger than a
/// client should accept (``largeBody(_:headers:size:)``), a head sent one byte at a time
/// (``slowHead(_:headers:body:byteEvery:)``), no answer at all (``neverAnswer``) and any
/// bytes at all instead of HTTP (``raw(_:thenClose:)``).
public struct ScriptedReply: Sendable {
    /// The action, after the delay.
    ///
    /// A value with static constructors, not an enum, so that new kinds of replies can be
    /// added without breaking code that uses the existing ones.
    public struct Action: Sendable {
        enum Kind: Sendable {
            case respond(status: Int, headers: [(String, String)], body: Data)
            case close
            case reset
            case truncated(status: Int, headers: [(String, String)], body: Data, sentBytes: Int)
            case endlessChunks(
                status: Int, headers: [(String, String)], chunk: Data, interval: Duration)
            case largeBody(status: Int, headers: [(String, String)], size: Int)
            case slowHead(
                status: Int, headers: [(String, String)], body: Data, interval: Duration)
            case neverAnswer
            case raw(Data, close: Bool)
        }

        let kind: Kind

        /// Answers with a status, header fields and a body.
        ///
        /// A `Content-Length` is added when `headers` has none (and any
        /// `Transfer-Encoding` dropped); a status that has no body (1xx, 204, 304) is sent
        /// with neither and no body; an answer to `HEAD` carries no body.
        public static func respond(
            status: Int, headers: [(String, String)], body: Data
        ) -> Action {
            Action(kind: .respond(status: status, headers: headers, body: body))
        }

        /// Closes the connection without answering (an orderly close, FIN).
        public static let close = Action(kind: .close)

        /// Resets the connection without answering (RST: `SO_LINGER` 0, then close).
        public static let reset = Action(kind: .reset)

        /// Sends the head, with a `Content-Length` of the whole `body`, and only the first
        /// `sentBytes` bytes of it, then closes the connection.
        public static func truncated(
            status: Int, headers: [(String, String)], body: Data, sentBytes: Int
        ) -> Action {
            Action(
                kind: .truncated(
                    status: status, headers: headers, body: body,
                    sentBytes: max(0, min(sentBytes, body.count))))
        }

        /// Sends a chunked head, then `chunk` as one chunk every `interval`, never the last
        /// chunk: until the client closes the connection or the server shuts down.
        public static func endlessChunks(
            status: Int, headers: [(String, String)], chunk: Data, interval: Duration
        ) -> Action {
            Action(
                kind: .endlessChunks(
                    status: status, headers: headers, chunk: chunk.isEmpty ? Data("x".utf8) : chunk,
                    interval: interval))
        }

        /// Sends a body of `size` bytes (`x`), with its `Content-Length`, as fast as the
        /// client reads it.
        public static func largeBody(status: Int, headers: [(String, String)], size: Int) -> Action
        {
            Action(kind: .largeBody(status: status, headers: headers, size: max(0, size)))
        }

        /// Sends the head one byte every `interval`, then the body at once.
        public static func slowHead(
            status: Int, headers: [(String, String)], body: Data, interval: Duration
        ) -> Action {
            Action(
                kind: .slowHead(status: status, headers: headers, body: body, interval: interval))
        }

        /// Never answers: the request is read and recorded, and the connection stays open,
        /// silent, until the client closes it or the server shuts down.
        public static let neverAnswer = Action(kind: .neverAnswer)

        /// Writes `bytes` as the whole answer, then closes the connection (or, with
        /// `close: false`, goes on reading requests on it).
        public static func raw(_ bytes: Data, close: Bool) -> Action {
            Action(kind: .raw(bytes, close: close))
        }
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

    /// Answers `status` with `headers` and a `body` of any bytes.
    public static func status(
        _ status: Int, headers: [(String, String)] = [], bytes: Data
    ) -> ScriptedReply {
        ScriptedReply(.respond(status: status, headers: headers, body: bytes))
    }

    /// Answers `status` with a JSON `body` and `Content-Type: application/json`.
    public static func json(_ status: Int, _ body: String) -> ScriptedReply {
        .status(status, headers: [("Content-Type", "application/json")], body: body)
    }

    /// Answers `status` with an HTML `body` and `Content-Type: text/html; charset=utf-8`:
    /// what a proxy, a captive portal or a provider's error page sends where an API
    /// answer was expected.
    public static func html(_ status: Int, _ body: String) -> ScriptedReply {
        .status(status, headers: [("Content-Type", "text/html; charset=utf-8")], body: body)
    }

    /// Answers a redirect, `302 Found` by default, to `location` (the `Location` header),
    /// with no body.
    public static func redirect(_ status: Int = 302, to location: String) -> ScriptedReply {
        .status(status, headers: [("Location", location)])
    }

    /// Answers `204 No Content`: no body and no `Content-Length`.
    public static func noContent(headers: [(String, String)] = []) -> ScriptedReply {
        .status(204, headers: headers)
    }

    /// Answers `status` with a `Content-Length` of the whole `body` but sends only its first
    /// `sentBytes` bytes, then closes the connection: a body cut mid-way.
    public static func truncatedBody(
        _ status: Int = 200, headers: [(String, String)] = [], body: String, sentBytes: Int
    ) -> ScriptedReply {
        ScriptedReply(
            .truncated(
                status: status, headers: headers, body: Data(body.utf8), sentBytes: sentBytes)
        )
    }

    /// Answers `status` with a chunked body that never ends: one `chunk` every `interval`
    /// until the client gives up (closes the connection) or the server shuts down.
    public static func endlessChunkedBody(
        _ status: Int = 200, headers: [(String, String)] = [], chunk: String = "x",
        every interval: Duration
    ) -> ScriptedReply {
        ScriptedReply(
            .endlessChunks(
                status: status, headers: headers, chunk: Data(chunk.utf8), interval: interval))
    }

    /// Answers `status` with a body of `size` bytes sent as fast as the client reads (for
    /// example 17 MiB, to exceed a client's 16 MiB limit).
    public static func largeBody(
        _ status: Int = 200, headers: [(String, String)] = [], size: Int
    ) -> ScriptedReply {
        ScriptedReply(.largeBody(status: status, headers: headers, size: size))
    }

    /// Answers `status` with `headers` and `body`, the head sent one byte every `interval`
    /// (a server that trickles its headers), the body at once after it.
    public static func slowHead(
        _ status: Int = 200, headers: [(String, String)] = [], body: String = "",
        byteEvery interval: Duration
    ) -> ScriptedReply {
        ScriptedReply(
            .slowHead(status: status, headers: headers, body: Data(body.utf8), interval: interval))
    }

    /// Accepts the request and never answers (until the client closes or the server shuts
    /// down).
    public static let neverAnswer = ScriptedReply(.neverAnswer)

    /// Writes `bytes` as the whole answer (garbage, a non-HTTP protocol, a hand-made
    /// response), then closes the connection unless `thenClose` is `false`.
    public static func raw(_ bytes: Data, thenClose: Bool = true) -> ScriptedReply {
        ScriptedReply(.raw(bytes, close: thenClose))
    }

    /// Writes the UTF-8 `text` as the whole answer, then closes the connection unless
    /// `thenClose` is `false`.
    public static func raw(_ text: String, thenClose: Bool = true) -> ScriptedReply {
        .raw(Data(text.utf8), thenClose: thenClose)
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
/// connection, a broken or hostile answer, optionally after a delay. Connections are kept
/// alive as HTTP/1.1 allows. Bytes that are not an HTTP request (a TLS ClientHello sent to
/// this plain-HTTP server, say) are answered at once with `400 Bad Request` and a closed
/// connection, as a real HTTP server does, and counted in ``malformedRequestCount``: a
/// client that speaks TLS to it fails its handshake at once instead of hanging.
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
        var malformed = 0
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

    /// How many connections sent bytes that are not an HTTP request (answered `400`).
    public var malformedRequestCount: Int { shared.state.withLock { $0.malformed } }

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
                    // Requests are parsed by NIO; answers are written as bytes, so that a
                    // reply can break HTTP at will.
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    return try NIOAsyncChannel<HTTPServerRequestPart, ByteBuffer>(
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

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, ByteBuffer>

    private static func serve(
        _ connection: Connection, number: Int, shared: Shared, handler: Handler
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var parts = inbound.makeAsyncIterator()
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            while true {
                let part: HTTPServerRequestPart?
                do {
                    part = try await parts.next()
                } catch is HTTPParserError {
                    // Not HTTP: answer as NIO's own HTTP server does, then close.
                    shared.state.withLock { $0.malformed += 1 }
                    try await outbound.write(
                        ByteBuffer(
                            string: "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                                + "Content-Length: 0\r\n\r\n"))
                    await finishWriting(connection)
                    return
                }
                guard let part else { return }
                switch part {
                case .head(let received):
                    head = received
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let received = head else { continue }
                    head = nil
                    let request = RecordedRequest(
                        method: received.method.rawValue, uri: received.uri,
                        headers: received.headers.map { ($0.name, $0.value) },
                        body: Data(body.readableBytesView), receivedAt: .now, connection: number)
                    shared.state.withLock { $0.requests.append(request) }
                    let reply = await handler(request)
                    if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
                    let keepOpen = try await perform(
                        reply.action.kind, for: received, on: connection, outbound: outbound,
                        parts: &parts)
                    if !keepOpen {
                        if case .reset = reply.action.kind { return }
                        await finishWriting(connection)
                        return
                    }
                }
            }
        }
    }

    /// Waits until every byte written has gone to the socket, then half-closes it (FIN).
    ///
    /// Closing the channel at once would drop the writes NIO still holds (a large body
    /// the client has not read yet): closing the output first waits for them. A server
    /// shutting down does not wait: the channel is closed at once.
    private static func finishWriting(_ connection: Connection) async {
        let channel = connection.channel
        await withTaskCancellationHandler {
            try? await channel.close(mode: .output).get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Carries out one reply; returns whether the connection goes on.
    private static func perform(
        _ kind: ScriptedReply.Action.Kind, for request: HTTPRequestHead, on connection: Connection,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    ) async throws -> Bool {
        let sendsBody = request.method != .HEAD
        switch kind {
        case .respond(let status, let headers, let body):
            let (head, hasBody) = responseHead(
                status: status, headers: headers, contentLength: body.count, request: request)
            var buffer = ByteBuffer(string: head)
            if hasBody && sendsBody { buffer.writeBytes(body) }
            try await outbound.write(buffer)
            return request.isKeepAlive
        case .close:
            return false
        case .reset:
            if let provider = connection.channel as? any SocketOptionProvider {
                try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
            }
            return false
        case .truncated(let status, let headers, let body, let sentBytes):
            let (head, _) = responseHead(
                status: status, headers: headers, contentLength: body.count, request: request)
            var buffer = ByteBuffer(string: head)
            buffer.writeBytes(body.prefix(sentBytes))
            try await outbound.write(buffer)
            return false
        case .endlessChunks(let status, let headers, let chunk, let interval):
            var fields = NIOHTTP1.HTTPHeaders(headers)
            fields.remove(name: "Content-Length")
            fields.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
            try await outbound.write(ByteBuffer(string: headText(status: status, fields: fields)))
            var frame = ByteBuffer(string: String(chunk.count, radix: 16) + "\r\n")
            frame.writeBytes(chunk)
            frame.writeString("\r\n")
            // Ends when a write fails (the client closed) or the server shuts down.
            while true {
                try await outbound.write(frame)
                try await Task.sleep(for: interval)
            }
        case .largeBody(let status, let headers, let size):
            let (head, _) = responseHead(
                status: status, headers: headers, contentLength: size, request: request)
            try await outbound.write(ByteBuffer(string: head))
            guard sendsBody else { return request.isKeepAlive }
            let piece = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
            var left = size
            while left > 0 {
                let count = min(left, piece.readableBytes)
                try await outbound.write(piece.getSlice(at: piece.readerIndex, length: count)!)
                left -= count
            }
            return request.isKeepAlive
        case .slowHead(let status, let headers, let body, let interval):
            let (head, hasBody) = responseHead(
                status: status, headers: headers, contentLength: body.count, request: request)
            for byte in head.utf8 {
                try await outbound.write(ByteBuffer(bytes: [byte]))
                try await Task.sleep(for: interval)
            }
            if hasBody && sendsBody && !body.isEmpty {
                try await outbound.write(ByteBuffer(bytes: body))
            }
            return request.isKeepAlive
        case .neverAnswer:
            // Read on (and ignore) until the client closes or the server shuts down.
            while try await parts.next() != nil {}
            return false
        case .raw(let bytes, let close):
            try await outbound.write(ByteBuffer(bytes: bytes))
            return !close
        }
    }

    /// The head of an answer, framed as NIO's HTTP/1.1 encoder frames it, and whether the
    /// status may have a body.
    ///
    /// A status without a body (1xx, 204, 304) gets neither `Content-Length` nor
    /// `Transfer-Encoding`; any other gets `Content-Length: contentLength` unless `headers`
    /// sets one (a `Transfer-Encoding` is then dropped); `Connection: close` answers a
    /// request that does not keep the connection alive.
    private static func responseHead(
        status: Int, headers: [(String, String)], contentLength: Int, request: HTTPRequestHead
    ) -> (String, Bool) {
        var fields = NIOHTTP1.HTTPHeaders(headers)
        let hasBody = HTTPResponseStatus(statusCode: status).mayHaveResponseBody
        if hasBody {
            if !fields.contains(name: "Content-Length") {
                fields.add(name: "Content-Length", value: String(contentLength))
            }
            fields.remove(name: "Transfer-Encoding")
        } else {
            fields.remove(name: "Content-Length")
            fields.remove(name: "Transfer-Encoding")
        }
        if !request.isKeepAlive { fields.replaceOrAdd(name: "Connection", value: "close") }
        return (headText(status: status, fields: fields), hasBody)
    }

    /// `HTTP/1.1 200 OK`, the fields, and the blank line.
    private static func headText(status: Int, fields: NIOHTTP1.HTTPHeaders) -> String {
        var text = "HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n"
        for (name, value) in fields { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }
}
