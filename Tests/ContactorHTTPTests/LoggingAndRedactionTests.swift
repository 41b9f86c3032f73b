import Contactor
import ContactorHTTP
import ContactorTestServer
import ContactorTesting
import Foundation
import HTTPTypes
import Logging
import Testing

@Suite("LoggingMiddleware")
struct LoggingMiddlewareTests {
    static let redactor = Redactor(secrets: ["s3cr3t-key", "me@example.com"])

    static func secretRequest(_ url: URL) -> TestRequest {
        TestRequest(
            method: .post, url: url,
            headers: [
                "api-key": "s3cr3t-key", "Content-Type": "application/x-www-form-urlencoded",
            ],
            body: Data("id=me%40example.com&key=s3cr3t-key".utf8))
    }

    static func context(_ capture: LogCapture, attempt: Int = 1) -> RequestContext {
        RequestContext(
            provider: "avosms", attempt: attempt, redactor: redactor, logger: capture.logger())
    }

    @Test("one debug line per request with method, path, status and duration, and no secret")
    func oneLinePerRequest() async throws {
        try await TestHTTPServer.withServer(script: [.status(201), .status(404)]) { server in
            try await withTestTransport { transport in
                let capture = LogCapture()
                let pipeline = RequestPipeline(
                    transport: transport, middlewares: [LoggingMiddleware()])
                let url = server.url("/v1/contact/add?apiKey=s3cr3t-key&x=q")
                _ = try await pipeline.send(Self.secretRequest(url), context: Self.context(capture))
                _ = try await pipeline.send(Self.secretRequest(url), context: Self.context(capture))

                let records = capture.records
                #expect(records.count == 2)
                #expect(records.allSatisfy { $0.level == .debug })
                #expect(records[0].message.hasPrefix("POST /v1/contact/add -> 201 in "))
                #expect(records[1].message.hasPrefix("POST /v1/contact/add -> 404 in "))
                #expect(records[0].metadata["status"] == "201")
                #expect(records[0].metadata["method"] == "POST")
                #expect(records[0].metadata["path"] == "/v1/contact/add")
                #expect(records[0].metadata["provider"] == "avosms")
                #expect(records[0].metadata["duration_ms"].flatMap(Int.init) != nil)
                for record in records {
                    let text = record.message + " " + record.metadata.description
                    #expect(!text.contains("s3cr3t"))
                    #expect(!text.contains("example.com"))
                    #expect(!text.contains("apiKey"))
                }
            }
        }
    }

    @Test("the engine's attempt number is logged from the request context, without a task-local")
    func attemptNumbers() async throws {
        let capture = LogCapture()
        let pipeline = RequestPipeline(
            transport: MockTransport.text(status: 503), middlewares: [LoggingMiddleware()])
        let request = TestRequest(method: .get, url: URL(string: "http://h/v1/x")!)
        _ = try await pipeline.send(request, context: Self.context(capture, attempt: 1))
        _ = try await pipeline.send(request, context: Self.context(capture, attempt: 2))
        #expect(capture.records.map(\.metadata["attempt"]) == ["1", "2"])
        #expect(!capture.records[0].message.contains("attempt"))
        #expect(capture.records[1].message.hasSuffix("(attempt 2)"))
    }

    @Test("a failed request is one line with the error code and no secret")
    func failureLine() async throws {
        let capture = LogCapture()
        let pipeline = RequestPipeline(
            transport: MockTransport.failing(
                ContactError(.transportError, "refused while sending s3cr3t-key", isTransient: true)
            ),
            middlewares: [LoggingMiddleware()])
        do {
            _ = try await pipeline.send(
                Self.secretRequest(URL(string: "http://h/v1/x?key=s3cr3t-key")!),
                context: Self.context(capture))
            Issue.record("the request did not fail")
        } catch {}
        let record = try #require(capture.records.first)
        #expect(capture.records.count == 1)
        #expect(record.metadata["error"] == "transport_error")
        #expect(record.message.contains("POST /v1/x failed"))
        #expect(!record.message.contains("s3cr3t"))
    }

    @Test("nothing is logged above the logger's level")
    func respectsLevel() async throws {
        let capture = LogCapture()
        var context = Self.context(capture)
        context.logger.logLevel = .info
        let pipeline = RequestPipeline(
            transport: MockTransport.text(status: 200), middlewares: [LoggingMiddleware()])
        _ = try await pipeline.send(
            TestRequest(method: .get, url: URL(string: "http://h/")!), context: context)
        #expect(capture.records.isEmpty)
    }
}

@Suite("Redaction")
struct RedactionTests {
    static let redactor = Redactor(secrets: ["k3y-value", "client-s3cret", "me@example.com"])

    @Test(
        "secret headers are hidden by name or by value",
        arguments: [
            ("Authorization", "Bearer abc.def"), ("api-key", "anything"), ("API-KEY", "anything"),
            ("X-Client-Secret", "anything"), ("X-TM-Key", "anything"),
            ("X-Custom", "client-s3cret"), ("api-login", "me@example.com"),
        ])
    func headers(name: String, value: String) {
        let redacted = Redaction.redact(
            headers: HTTPFields(pairs: [(name, value), ("Accept", "application/json")]),
            redactor: Self.redactor)
        #expect(redacted[HTTPField.Name(name)!] == "***")
        #expect(redacted[.accept] == "application/json")
    }

    @Test("a form body keeps its ordinary fields and hides secret ones")
    func formBody() {
        let request = TestRequest(
            method: .post, url: URL(string: "https://api.avosms.com/v1/contact/add")!,
            headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Data(
                "id=me%40example.com&key=k3y-value&listContactId=12&contactName=Le+Gall".utf8))
        let redacted = Redaction.redact(request.sent, redactor: Self.redactor)
        #expect(
            redacted.body.map { String(decoding: $0, as: UTF8.self) }
                == "id=***&key=***&listContactId=12&contactName=Le+Gall")
    }

    @Test("a secret-named form field is hidden even when its value is unknown")
    func formFieldByName() {
        let text = Redaction.redact(
            body: Data("password=hunter2&list=3".utf8),
            contentType: "application/x-www-form-urlencoded", redactor: Redactor(secrets: []))
        #expect(text == "password=***&list=3")
    }

    @Test("a JSON body hides secret members at any depth and known secrets in any string")
    func jsonBody() throws {
        let body =
            #"{"apiKey":"unknown-key","groupId":5,"contact":{"phoneNumber":"+33612345678","note":"k3y-value"},"list":[{"token":"t"}]}"#
        let text = Redaction.redact(
            body: Data(body.utf8), contentType: "application/json", redactor: Self.redactor)
        let value = try JSONValue.decode(Data(text.utf8))
        #expect(value["apiKey"] == "***")
        #expect(value["groupId"] == 5)
        #expect(value["contact"]?["phoneNumber"] == "+33612345678")
        #expect(value["contact"]?["note"] == "***")
        #expect(value["list"]?.arrayValue?.first?["token"] == "***")
    }

    @Test("a URL's secret query values and user password are hidden, the rest kept")
    func url() {
        let url = URL(
            string:
                "http://user:pw@api.smspartner.fr/v1/contact/list?apiKey=zzz&groupId=5&page=2&q=k3y-value"
        )!
        let redacted = Redaction.redact(url: url, redactor: Self.redactor).absoluteString
        #expect(
            redacted
                == "http://user:***@api.smspartner.fr/v1/contact/list?apiKey=***&groupId=5&page=2&q=***"
        )
    }

    @Test("a secret in a URL path is hidden")
    func urlPath() {
        let url = URL(string: "https://api.example.com/v1/k3y-value/contacts")!
        #expect(
            Redaction.redact(url: url, redactor: Self.redactor).absoluteString
                == "https://api.example.com/v1/***/contacts")
    }

    @Test("the dry-run JSON has method, url, headers and body, secrets as ***")
    func dryRunJSON() {
        let request = TestRequest(
            method: .post, url: URL(string: "https://api.octopush.com/v1/public/contact/create")!,
            headers: [
                "api-login": "me@example.com", "api-key": "k3y-value",
                "Content-Type": "application/json",
            ],
            body: Data(
                #"{"contacts":[{"phone_number":"+33612345678"}],"list_name":"Clients"}"#.utf8))
        let json = Redaction.dryRunJSON(request.sent, redactor: Self.redactor)
        #expect(
            json == [
                "request": [
                    "method": "POST",
                    "url": "https://api.octopush.com/v1/public/contact/create",
                    "headers": [
                        "api-login": "***", "api-key": "***", "Content-Type": "application/json",
                    ],
                    "body": [
                        "contacts": [["phone_number": "+33612345678"]], "list_name": "Clients",
                    ],
                ]
            ])
        #expect(!json.jsonText.contains("k3y-value"))
        #expect(!json.jsonText.contains("example.com"))
    }

    @Test("a form body is printed as its encoded text; no body is null")
    func dryRunJSONFormAndEmpty() {
        let form = TestRequest(
            method: .post, url: URL(string: "https://api.avosms.com/v1/contact/delete")!,
            headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Data("id=me%40example.com&key=k3y-value&listContactId=1".utf8))
        #expect(
            Redaction.dryRunJSON(form.sent, redactor: Self.redactor)["request"]?["body"]
                == "id=***&key=***&listContactId=1")
        let get = TestRequest(method: .get, url: URL(string: "http://h/v1?apiKey=k3y-value")!)
        let json = Redaction.dryRunJSON(get.sent, redactor: Self.redactor)
        #expect(json["request"]?["body"] == .null)
        #expect(json["request"]?["url"] == "http://h/v1?apiKey=***")
    }
}

@Suite("Retry-After and HTTP dates")
struct RetryAfterTests {
    static let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT

    @Test(
        "each HTTP date form parses",
        arguments: [
            "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ])
    func dateForms(text: String) {
        #expect(HTTPDate.parse(text) == Self.now)
    }

    @Test("formatting gives an IMF-fixdate that parses back")
    func formatRoundTrip() {
        #expect(HTTPDate.format(Self.now) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse(HTTPDate.format(Self.now)) == Self.now)
    }

    @Test(
        "Retry-After values",
        arguments: [
            ("120", Duration.seconds(120)), (" 0 ", .zero),
            ("Sun, 06 Nov 1994 08:50:07 GMT", .seconds(30)),
            ("Sun, 06 Nov 1994 08:00:00 GMT", .zero),
        ])
    func retryAfter(value: String, expected: Duration) {
        #expect(RetryAfter.parse(value, now: Self.now) == expected)
    }

    @Test(
        "unreadable Retry-After values are ignored",
        arguments: ["-5", "soon", "", "1.5", "Sun, 32 Nov 1994 08:49:37 GMT"])
    func unreadable(value: String) {
        #expect(RetryAfter.parse(value, now: Self.now) == nil)
    }
}
