import Contactor
import ContactorHTTP
import ContactorTestServer
import Foundation
import Testing

/// Answers that break mid-way, never come, or are not HTTP: each must be a transient
/// failure (the engine retries it, then reports the contacts `failed`, resumable), never a
/// permanent one that makes the engine split the batch; and each phase of a request is
/// bounded by its own timeout.
@Suite("AsyncHTTPClientTransport against hostile answers")
struct HostileAnswerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var reply: ScriptedReply
        var code: ContactError.Code
        /// Whether only the total timeout can end this answer (endless or trickled).
        var endless = false
        var testDescription: String { name }
    }

    static let cutAnswers: [Case] = [
        Case(
            name: "a 200 whose body is cut (Content-Length longer than the body)",
            reply: .truncatedBody(
                200, headers: [("Content-Type", "application/json")],
                body: #"{"success": true, "code": 200, "contact": {"contactId": 1}}"#,
                sentBytes: 12),
            code: .transportError),
        Case(
            name: "a hand-made head announcing 100 bytes, then 5 and a close",
            reply: .raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"),
            code: .transportError),
        Case(
            name: "a body over the 16 MiB limit", reply: .largeBody(200, size: 17 << 20),
            code: .transportError),
        Case(
            name: "bytes that are not HTTP", reply: .raw("garbage\r\n\r\nmore garbage"),
            code: .transportError),
        Case(
            name: "a chunked body that never ends",
            reply: .endlessChunkedBody(200, every: .milliseconds(50)), code: .timeout,
            endless: true),
        Case(
            name: "a head trickled one byte at a time",
            reply: .slowHead(200, body: "late", byteEvery: .milliseconds(100)), code: .timeout,
            endless: true),
    ]

    @Test(
        "an answer cut, endless, too large or not HTTP is a transient error naming only the place",
        arguments: cutAnswers)
    func cutAnswerIsTransient(_ testCase: Case) async throws {
        try await TestHTTPServer.withServer(script: [testCase.reply]) { server in
            // A short total timeout ends the endless and trickled answers; the others fail
            // on their own, so they get a timeout that a loaded machine never reaches.
            let timeout: Duration = testCase.endless ? .seconds(2) : .seconds(120)
            try await withTestTransport(testConfiguration(requestTimeout: timeout)) {
                transport in
                let request = TestRequest(
                    method: .post, url: server.url("/v1/contact/add?apiKey=QSECRET"),
                    headers: ["X-Client-Secret": "HSECRET"], body: Data("BSECRET".utf8))
                let error = try #require(await contactError(transport, request))
                #expect(error.code == testCase.code, "\(error)")
                #expect(error.isTransient, "\(error)")
                #expect(!error.message.contains("HTTPParserError"), "\(error)")
                #expect(error.message.hasPrefix("POST 127.0.0.1:\(server.port)/v1/contact/add"))
                for secret in ["QSECRET", "HSECRET", "BSECRET", "?"] {
                    #expect(!error.message.contains(secret), "\(error)")
                }
            }
        }
    }

    @Test("a body over the limit names the limit")
    func largeBodyNamesTheLimit() async throws {
        try await TestHTTPServer.withServer(script: [.largeBody(200, size: 2 << 20)]) { server in
            var configuration = testConfiguration()
            configuration.maxResponseBodySize = 1 << 20
            try await withTestTransport(configuration) { transport in
                let error = try #require(
                    await contactError(transport, TestRequest(method: .get, url: server.url("/"))))
                #expect(error.code == .transportError)
                #expect(error.isTransient)
                #expect(error.message.contains("larger than \(1 << 20) bytes"), "\(error)")
            }
        }
    }

    @Test("a server that never answers is a transient timeout once the read timeout passes")
    func readTimeoutBoundsTheWaitForTheFirstByte() async throws {
        try await TestHTTPServer.withServer(script: [.neverAnswer]) { server in
            // The request timeout is far away: only the read timeout can end this.
            var configuration = testConfiguration(requestTimeout: .seconds(600))
            configuration.readTimeout = .milliseconds(300)
            try await withTestTransport(configuration) { transport in
                let error = try #require(
                    await contactError(
                        transport, TestRequest(method: .get, url: server.url("/silent"))))
                #expect(error.code == .timeout, "\(error)")
                #expect(error.isTransient)
                #expect(server.requests.count == 1)
            }
        }
    }

    @Test("the default configuration bounds every phase and documents its values")
    func defaultTimeouts() {
        let configuration = AsyncHTTPClientTransport.Configuration(proxy: nil)
        #expect(configuration.connectTimeout == .seconds(10))
        #expect(configuration.readTimeout == .seconds(20))
        #expect(configuration.requestTimeout == .seconds(30))
        #expect(configuration.maxResponseBodySize == 16 << 20)
    }

    @Test(
        "https:// to a plain-HTTP server fails at the first handshake, not transient, saying why"
    )
    func tlsToPlainHTTPFailsAtOnce() async throws {
        try await TestHTTPServer.withServer(script: []) { server in
            try await withTestTransport { transport in
                let request = TestRequest(
                    method: .post,
                    url: URL(string: "https://127.0.0.1:\(server.port)/v1/contact?apiKey=QSECRET")!,
                    body: Data("{}".utf8))
                let error = try #require(await contactError(transport, request))
                #expect(error.code == .transportError)
                #expect(!error.isTransient)
                #expect(error.message.contains("TLS handshake failed"), "\(error)")
                #expect(error.message.contains("does not speak TLS"), "\(error)")
                #expect(!error.message.contains("QSECRET"))
            }
            // One ClientHello reached the server: the handshake was not tried again.
            #expect(server.malformedRequestCount == 1)
            #expect(server.requests.isEmpty)
        }
    }
}
