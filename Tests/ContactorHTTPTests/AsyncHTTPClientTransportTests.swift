import Contactor
import ContactorHTTP
import ContactorTestServer
import Foundation
import HTTPTypes
import Testing

@Suite("AsyncHTTPClientTransport against a loopback server")
struct AsyncHTTPClientTransportTests {
    struct BodyCase: Sendable, CustomTestStringConvertible {
        var method: HTTPRequest.Method
        var contentType: String
        var body: String
        var testDescription: String { "\(method) with \(contentType)" }
    }

    @Test(
        "a request's method, path, query, headers and body arrive exactly, with a User-Agent",
        arguments: [
            BodyCase(
                method: .post, contentType: "application/json",
                body: #"{"contacts":[{"phone_number":"+33612345678"}],"list_name":"Clients"}"#),
            BodyCase(
                method: .post, contentType: "application/x-www-form-urlencoded",
                body: "listContactId=12&contactTelephoneNumber=%2B33612345678"),
            BodyCase(
                method: .delete, contentType: "application/json",
                body: #"{"phone_numbers":["+33612345678"],"list_name":"Clients"}"#),
            BodyCase(method: .patch, contentType: "application/json", body: #"[{"ID":7}]"#),
            BodyCase(method: .put, contentType: "text/plain", body: "héllo\nworld"),
        ])
    func roundTrip(_ testCase: BodyCase) async throws {
        try await TestHTTPServer.withServer(
            script: [.json(201, #"{"ok":true}"#)]
        ) { server in
            try await withTestTransport { transport in
                let request = TestRequest(
                    method: testCase.method, url: server.url("/v1/contact?page=2&group=a%20b"),
                    headers: ["Content-Type": testCase.contentType, "X-Custom": "value 1"],
                    body: Data(testCase.body.utf8))
                let response = try await transport.send(request)

                #expect(response.status == 201)
                #expect(response.text == #"{"ok":true}"#)
                #expect(response.header("content-type") == "application/json")
                let received = try #require(server.requests.first)
                #expect(server.requests.count == 1)
                #expect(received.method == testCase.method.rawValue)
                #expect(received.path == "/v1/contact")
                #expect(received.query == "page=2&group=a%20b")
                #expect(received.text == testCase.body)
                #expect(received.header("Content-Type") == testCase.contentType)
                #expect(received.header("X-Custom") == "value 1")
                #expect(received.header("Content-Length") == String(testCase.body.utf8.count))
                #expect(received.header("User-Agent") == ContactorVersion.userAgent)
            }
        }
    }

    @Test("a GET without a body arrives without one, and the User-Agent names Contactor's version")
    func getWithoutBody() async throws {
        try await TestHTTPServer.withServer(script: [.status(200, body: "pong")]) { server in
            try await withTestTransport { transport in
                let response = try await transport.send(
                    TestRequest(method: .get, url: server.url("/v1/contact/list?apiKey=k")))
                #expect(response.text == "pong")
                let received = try #require(server.requests.first)
                #expect(received.method == "GET")
                #expect(received.body.isEmpty)
                #expect(
                    received.header("User-Agent")?.hasPrefix(
                        "Contactor/\(ContactorVersion.current) ") == true)
            }
        }
    }

    @Test("a request's own User-Agent is kept")
    func ownUserAgentKept() async throws {
        try await TestHTTPServer.withServer(script: []) { server in
            try await withTestTransport { transport in
                _ = try await transport.send(
                    TestRequest(
                        method: .get, url: server.url("/"), headers: ["User-Agent": "Mine/1"]))
                #expect(server.requests.first?.header("User-Agent") == "Mine/1")
                #expect(
                    server.requests.first?.headers.filter { $0.name.lowercased() == "user-agent" }
                        .count == 1)
            }
        }
    }

    @Test(
        "error statuses are responses, not errors", arguments: [301, 400, 401, 404, 429, 500, 503])
    func statusPassedThrough(status: Int) async throws {
        try await TestHTTPServer.withServer(
            script: [
                .status(status, headers: [("Location", "http://127.0.0.1:1/elsewhere")], body: "no")
            ]
        ) { server in
            try await withTestTransport { transport in
                let response = try await transport.send(
                    TestRequest(method: .post, url: server.url("/v1/x"), body: Data("{}".utf8)))
                #expect(response.status == status)
                #expect(response.text == "no")
                #expect(server.requests.count == 1)
            }
        }
    }

    @Test("successive requests reuse one kept-alive connection")
    func connectionReused() async throws {
        try await TestHTTPServer.withServer(script: []) { server in
            try await withTestTransport { transport in
                for _ in 0..<3 {
                    _ = try await transport.send(
                        TestRequest(method: .get, url: server.url("/ping")))
                }
                #expect(server.requests.map(\.connection) == [1, 1, 1])
                #expect(server.connectionCount == 1)
            }
        }
    }

    @Test("a refused connection is a transient transport_error without query or headers")
    func connectionRefused() async throws {
        try await TestHTTPServer.withClosedPort { port in
            try await withTestTransport { transport in
                let request = TestRequest(
                    method: .post,
                    url: URL(string: "http://127.0.0.1:\(port)/v1/contact/add?apiKey=QSECRET")!,
                    headers: ["api-key": "HSECRET"], body: Data("key=BSECRET".utf8))
                let error = try #require(await contactError(transport, request))
                #expect(error.code == .transportError)
                #expect(error.isTransient)
                #expect(error.message.contains("connection refused"))
                #expect(error.message.contains("POST 127.0.0.1:\(port)/v1/contact/add"))
                assertNoLeak(error)
            }
        }
    }

    @Test(
        "a connection dropped before the answer is a transient transport_error",
        arguments: [ScriptedReply.reset, .close])
    func connectionDropped(reply: ScriptedReply) async throws {
        try await TestHTTPServer.withServer(script: [reply]) { server in
            try await withTestTransport { transport in
                let request = TestRequest(
                    method: .post, url: server.url("/v1/contact/add?apiKey=QSECRET"),
                    headers: ["X-Client-Secret": "HSECRET"], body: Data("BSECRET".utf8))
                let error = try #require(await contactError(transport, request))
                #expect(error.code == .transportError)
                #expect(error.isTransient)
                #expect(server.requests.count == 1)
                assertNoLeak(error)
            }
        }
    }

    @Test("a slow answer past the request's timeout is a transient timeout")
    func requestTimeout() async throws {
        try await TestHTTPServer.withServer(
            script: [ScriptedReply.status(200).delayed(by: .seconds(300))]
        ) { server in
            try await withTestTransport { transport in
                let request = TestRequest(
                    method: .get, url: server.url("/slow?apiKey=QSECRET"),
                    headers: ["Authorization": "Bearer HSECRET"], timeout: .milliseconds(300))
                // The answer would take five minutes: failing with `timeout` at all shows the
                // request's own timeout applied.
                let error = try #require(await contactError(transport, request))
                #expect(error.code == .timeout)
                #expect(error.isTransient)
                assertNoLeak(error)
            }
        }
    }

    @Test("the configured default timeout applies when the request sets none")
    func defaultTimeout() async throws {
        try await TestHTTPServer.withServer(
            script: [ScriptedReply.status(200).delayed(by: .seconds(300))]
        ) { server in
            try await withTestTransport(testConfiguration(requestTimeout: .milliseconds(300))) {
                transport in
                let error = try #require(
                    await contactError(
                        transport, TestRequest(method: .get, url: server.url("/slow"))))
                #expect(error.code == .timeout)
            }
        }
    }

    @Test("a request's own timeout overrides a shorter default")
    func requestTimeoutOverridesDefault() async throws {
        try await TestHTTPServer.withServer(
            script: [ScriptedReply.status(200, body: "late").delayed(by: .milliseconds(400))]
        ) { server in
            try await withTestTransport(testConfiguration(requestTimeout: .milliseconds(100))) {
                transport in
                let response = try await transport.send(
                    TestRequest(method: .get, url: server.url("/slow"), timeout: .seconds(120)))
                #expect(response.text == "late")
            }
        }
    }

    @Test("a TLS handshake with a server that does not speak TLS is a permanent transport_error")
    func tlsFailure() async throws {
        try await TestHTTPServer.withServer(script: []) { server in
            try await withTestTransport { transport in
                let request = TestRequest(
                    method: .get,
                    url: URL(string: "https://127.0.0.1:\(server.port)/v1?apiKey=QSECRET")!)
                let error = try #require(await contactError(transport, request))
                #expect(error.code == .transportError)
                #expect(!error.isTransient)
                #expect(
                    error.message.hasPrefix(
                        "GET 127.0.0.1:\(server.port)/v1: TLS handshake failed: "))
                #expect(!error.message.contains(".swift"))
                #expect(!error.message.contains(".cc"))
                assertNoLeak(error)
            }
        }
    }

    @Test("requests go through the proxy from the settings; NO_PROXY hosts go direct")
    func httpProxy() async throws {
        // The "proxy" refuses every tunnel: enough to see that AsyncHTTPClient asked it for one.
        try await TestHTTPServer.withServer(script: [], otherwise: .status(403)) { proxy in
            try await TestHTTPServer.withServer(script: [.status(200, body: "direct")]) { origin in
                var configuration = testConfiguration()
                configuration.proxy = ProxySettings.fromEnvironment([
                    "HTTP_PROXY": "http://127.0.0.1:\(proxy.port)"
                ])
                try await withTestTransport(configuration) { transport in
                    let error = try #require(
                        await contactError(
                            transport,
                            TestRequest(
                                method: .get,
                                url: URL(string: "http://contactor.invalid/v1/contact?x=1")!)
                        ))
                    #expect(error.code == .transportError)
                    #expect(error.message.contains("proxy"))
                }
                #expect(proxy.requests.first?.method == "CONNECT")
                #expect(proxy.requests.first?.uri == "contactor.invalid:80")

                configuration.proxy = ProxySettings.fromEnvironment([
                    "HTTP_PROXY": "http://127.0.0.1:\(proxy.port)",
                    "NO_PROXY": "localhost,127.0.0.1",
                ])
                try await withTestTransport(configuration) { transport in
                    let response = try await transport.send(
                        TestRequest(method: .get, url: origin.url("/v1/contact")))
                    #expect(response.text == "direct")
                }
                #expect(proxy.requests.count == 1)
                #expect(origin.requests.count == 1)
            }
        }
    }

    private func assertNoLeak(
        _ error: ContactError, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let text = "\(error) \(error.message)"
        for secret in ["QSECRET", "HSECRET", "BSECRET", "apiKey", "?"] {
            #expect(
                !text.contains(secret), "error mentions \(secret): \(text)",
                sourceLocation: sourceLocation)
        }
    }
}
