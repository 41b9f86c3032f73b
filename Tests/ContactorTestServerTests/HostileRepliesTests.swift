import AsyncHTTPClient
import ContactorTestServer
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// Each failure shape the scripted server offers, seen from a plain TCP client (the exact
/// bytes) and, where it says more, from AsyncHTTPClient (what a real client makes of it).
@Suite("TestHTTPServer: hostile and unusual replies")
struct HostileRepliesTests {
    @Test func aTruncatedBodyDeclaresTheWholeLengthSendsPartThenCloses() async throws {
        let body = String(repeating: "0123456789", count: 10)
        try await TestHTTPServer.withServer(
            script: [.truncatedBody(body: body, sentBytes: 40)]
        ) { server in
            let (pieces, closed) = try await RawClient.get("/", port: server.port)
            let answer = try #require(RawAnswer(pieces.joined))
            #expect(answer.statusLine == "HTTP/1.1 200 OK")
            #expect(answer.field("Content-Length") == "100")
            #expect(answer.body == Array(body.utf8.prefix(40)))
            #expect(closed)
        }
    }

    @Test func aTruncatedBodyIsAnErrorForAnHTTPClientNotAShortSuccess() async throws {
        try await TestHTTPServer.withServer(
            script: [.truncatedBody(body: String(repeating: "x", count: 1000), sentBytes: 10)]
        ) { server in
            _ = await #expect(throws: (any Error).self) {
                let response = try await HTTPClient.shared.execute(
                    HTTPClientRequest(url: server.url("/").absoluteString), timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
            }
        }
    }

    @Test func anEndlessChunkedBodyKeepsSendingChunksAndNeverTheLastOne() async throws {
        try await TestHTTPServer.withServer(
            script: [.endlessChunkedBody(chunk: "tick", every: .milliseconds(5))]
        ) { server in
            let client = try await RawClient.connect(port: server.port)
            let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            // Read until the head and six chunks have arrived, then give up (close).
            let (pieces, closed) = try await client.exchange(Array(request.utf8)) { pieces in
                let text = String(decoding: pieces.joined, as: UTF8.self)
                return text.components(separatedBy: "4\r\ntick\r\n").count <= 6
            }
            #expect(!closed)
            let answer = try #require(RawAnswer(pieces.joined))
            #expect(answer.field("Transfer-Encoding") == "chunked")
            #expect(answer.field("Content-Length") == nil)
            let text = String(decoding: answer.body, as: UTF8.self)
            #expect(text.hasPrefix("4\r\ntick\r\n4\r\ntick\r\n"))
            #expect(!text.contains("0\r\n\r\n"))
        }
    }

    @Test func aLargeBodyArrivesWholeWithItsContentLength() async throws {
        let size = 17 * 1024 * 1024
        try await TestHTTPServer.withServer(script: [.largeBody(size: size)]) { server in
            let client = try await RawClient.connect(port: server.port)
            let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            // Counted, not kept: 17 MiB copied and compared byte by byte in a debug build
            // would cost seconds of CPU that suites running in parallel need.
            let (first, total, closed) = try await client.exchangeCounting(
                Array(request.utf8), keepingFirst: 4096)
            #expect(closed)
            let answer = try #require(RawAnswer(first))
            #expect(answer.field("Content-Length") == String(size))
            #expect(answer.body.allSatisfy { $0 == UInt8(ascii: "x") })
            let headLength = first.count - answer.body.count
            #expect(total - headLength == size)
        }
    }

    @Test func aLargeBodyTripsAClientsSizeLimit() async throws {
        try await TestHTTPServer.withServer(script: [.largeBody(size: 17 * 1024 * 1024)]) {
            server in
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: server.url("/").absoluteString), timeout: .seconds(60))
            await #expect(throws: NIOTooManyBytesError.self) {
                _ = try await response.body.collect(upTo: 16 * 1024 * 1024)
            }
        }
    }

    @Test func aSlowHeadArrivesInPiecesAndIntact() async throws {
        try await TestHTTPServer.withServer(
            script: [
                .slowHead(
                    headers: [("Content-Type", "text/plain")], body: "slow",
                    byteEvery: .milliseconds(20))
            ]
        ) { server in
            let (pieces, closed) = try await RawClient.get("/", port: server.port)
            #expect(closed)
            // The first piece is not the whole head: the head trickled in.
            let first = try #require(pieces.first)
            #expect(RawAnswer(first) == nil)
            #expect(pieces.count > 1)
            let answer = try #require(RawAnswer(pieces.joined))
            #expect(answer.statusLine == "HTTP/1.1 200 OK")
            #expect(answer.field("Content-Length") == "4")
            #expect(answer.body == Array("slow".utf8))
        }
    }

    @Test func neverAnswerRecordsTheRequestAndSendsNothing() async throws {
        try await TestHTTPServer.withServer(script: [.neverAnswer]) { server in
            var request = HTTPClientRequest(url: server.url("/wait").absoluteString)
            request.method = .GET
            await #expect {
                _ = try await HTTPClient.shared.execute(request, timeout: .milliseconds(300))
            } throws: { error in
                (error as? HTTPClientError) == .deadlineExceeded
            }
            #expect(server.requests.map(\.path) == ["/wait"])
        }
    }

    @Test func rawBytesAreTheWholeAnswerThenTheConnectionCloses() async throws {
        let garbage = Data([0x00, 0xFF, 0x13, 0x37] + Array("not http\r\n".utf8))
        try await TestHTTPServer.withServer(script: [.raw(garbage)]) { server in
            let (pieces, closed) = try await RawClient.get("/", port: server.port)
            #expect(pieces.joined == Array(garbage))
            #expect(closed)
        }
    }

    @Test func rawBytesCanBeAHandMadeResponseOnAKeptAliveConnection() async throws {
        let handMade = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Hand: made\r\n\r\nhi"
        try await TestHTTPServer.withServer(
            script: [.raw(handMade, thenClose: false)], otherwise: .status(200, body: "next")
        ) { server in
            let first = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: server.url("/1").absoluteString), timeout: .seconds(30))
            #expect(first.headers.first(name: "X-Hand") == "made")
            #expect(String(buffer: try await first.body.collect(upTo: 1024)) == "hi")
            let second = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: server.url("/2").absoluteString), timeout: .seconds(30))
            #expect(String(buffer: try await second.body.collect(upTo: 1024)) == "next")
            #expect(server.requests.map(\.connection) == [1, 1])
        }
    }

    @Test func garbageInsteadOfHTTPIsAnErrorForAnHTTPClient() async throws {
        try await TestHTTPServer.withServer(script: [.raw("SSH-2.0-OpenSSH_9.2\r\n")]) { server in
            _ = await #expect(throws: (any Error).self) {
                _ = try await HTTPClient.shared.execute(
                    HTTPClientRequest(url: server.url("/").absoluteString), timeout: .seconds(30))
            }
        }
    }

    @Test func aTLSClientHelloIsAnsweredAtOnceWithPlainHTTPBytes() async throws {
        // The start of a TLS 1.2 ClientHello record: not an HTTP request.
        let clientHello: [UInt8] =
            [0x16, 0x03, 0x01, 0x00, 0x2F, 0x01, 0x00, 0x00, 0x2B, 0x03, 0x03]
            + Array(repeating: 0x42, count: 32) + [0x00, 0x00, 0x02, 0x00, 0x2F, 0x01, 0x00]
        try await TestHTTPServer.withServer(script: []) { server in
            let client = try await RawClient.connect(port: server.port)
            let (pieces, closed) = try await client.exchange(clientHello)
            let answer = try #require(RawAnswer(pieces.joined))
            #expect(answer.statusLine == "HTTP/1.1 400 Bad Request")
            #expect(closed)
            #expect(server.malformedRequestCount == 1)
            #expect(server.requests.isEmpty)
        }
    }

    @Test func aTLSClientFailsItsHandshakeOnTheFirstAnswer() async throws {
        try await TestHTTPServer.withServer(script: []) { server in
            let context = try NIOSSLContext(configuration: .makeClientConfiguration())
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: server.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: nil))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel)
                    }
                }
            // The handshake fails on the server's first (plain HTTP) bytes: one connection,
            // one TLS error, no waiting for a timeout.
            await #expect {
                try await withDeadline(.seconds(60)) {
                    try await channel.executeThenClose { inbound, _ in
                        for try await _ in inbound {}
                    }
                }
            } throws: { error in
                error is NIOSSLError
            }
            #expect(server.malformedRequestCount == 1)
            #expect(server.connectionCount == 1)
        }
    }
}

/// What ``withDeadline(_:_:)`` throws when its body runs out of time.
struct DeadlineExceeded: Error {}

/// Runs `body`, failing with `DeadlineExceeded` if it has not finished after `limit` (a
/// guard against a hang, never a measurement).
func withDeadline<T: Sendable>(
    _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

@Suite("TestHTTPServer: well-formed helpers")
struct WellFormedRepliesTests {
    @Test func redirectSendsTheStatusAndLocationWithAnEmptyBody() async throws {
        try await TestHTTPServer.withServer(
            script: [.redirect(to: "https://elsewhere.test/v1"), .redirect(301, to: "/moved")]
        ) { server in
            let found = try #require(
                RawAnswer(try await RawClient.get("/", port: server.port).pieces.joined))
            #expect(found.statusLine == "HTTP/1.1 302 Found")
            #expect(found.field("Location") == "https://elsewhere.test/v1")
            #expect(found.field("Content-Length") == "0")
            #expect(found.body.isEmpty)
            let moved = try #require(
                RawAnswer(try await RawClient.get("/", port: server.port).pieces.joined))
            #expect(moved.statusLine == "HTTP/1.1 301 Moved Permanently")
            #expect(moved.field("Location") == "/moved")
        }
    }

    @Test func noContentHasNeitherBodyNorContentLength() async throws {
        try await TestHTTPServer.withServer(
            script: [.noContent(), .status(204, body: "dropped")]
        ) { server in
            for _ in 0..<2 {
                let (pieces, closed) = try await RawClient.get("/", port: server.port)
                let answer = try #require(RawAnswer(pieces.joined))
                #expect(answer.statusLine == "HTTP/1.1 204 No Content")
                #expect(answer.field("Content-Length") == nil)
                #expect(answer.field("Transfer-Encoding") == nil)
                #expect(answer.body.isEmpty)
                #expect(closed)
            }
        }
    }

    @Test func htmlSendsAnHTMLContentType() async throws {
        let page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
        try await TestHTTPServer.withServer(script: [.html(502, page)]) { server in
            let answer = try #require(
                RawAnswer(try await RawClient.get("/", port: server.port).pieces.joined))
            #expect(answer.statusLine == "HTTP/1.1 502 Bad Gateway")
            #expect(answer.field("Content-Type") == "text/html; charset=utf-8")
            #expect(answer.body == Array(page.utf8))
        }
    }

    @Test func anAnswerToHEADKeepsItsContentLengthButHasNoBody() async throws {
        try await TestHTTPServer.withServer(script: [.status(200, body: "twelve bytes")]) {
            server in
            let (pieces, _) = try await RawClient.get("/", port: server.port, method: "HEAD")
            let answer = try #require(RawAnswer(pieces.joined))
            #expect(answer.field("Content-Length") == "12")
            #expect(answer.body.isEmpty)
        }
    }

    @Test func aStatusKeepsItsHeadersAndAddsTheContentLength() async throws {
        try await TestHTTPServer.withServer(
            script: [.status(429, headers: [("Retry-After", "3")], body: "slow down")]
        ) { server in
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: server.url("/").absoluteString), timeout: .seconds(30))
            #expect(response.status.code == 429)
            #expect(response.headers.first(name: "Retry-After") == "3")
            #expect(response.headers.first(name: "Content-Length") == "9")
            #expect(String(buffer: try await response.body.collect(upTo: 1024)) == "slow down")
        }
    }
}
