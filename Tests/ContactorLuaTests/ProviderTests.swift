import Contactor
import ContactorTesting
import Foundation
import Testing

@testable import ContactorLua

@Suite struct ProviderTests {
    func wire() async throws -> LuaProvider {
        try #require(try await Fixtures.loader(["http"]).load().providers["wire"])
    }

    func context(
        _ transport: MockTransport, endpoint: String = "https://api.wire.test"
    )
        -> ProviderContext
    {
        ProviderContext(
            transport: transport, credentials: Credentials(provider: "wire", [:]),
            endpoint: URL(string: endpoint)!)
    }

    func contact(_ fields: [String: String]) -> Contact {
        Contact(phone: phone(), firstName: "Zoé", fields: fields)
    }

    @Test func theDescriptorComesFromThePluginTable() async throws {
        let plugins = try await Fixtures.loader(["good"]).load()
        let echo = try #require(plugins.providers["echo"])
        #expect(echo.descriptor.name == "echo")
        #expect(echo.descriptor.credentialKeys == ["api_key"])
        #expect(echo.descriptor.defaultEndpoint.absoluteString == "https://api.echo.test")
        #expect(echo.descriptor.defaultRegion == "FR")
        #expect(echo.descriptor.batchSize(for: .add) == 10)
        #expect(echo.descriptor.batchSize(for: .delete) == 5)
        #expect(echo.descriptor.operations == [.add, .delete])
        let wire = try await wire()
        #expect(wire.descriptor.operations == [.add, .delete])
        #expect(wire.descriptor.batchSize(for: .add) == 50)
        #expect(wire.extraOrigins == ["https://auth.wire.test:8443"])
    }

    @Test func addSendsJSONWithCredentialsAndReadsIdsFromTheAnswer() async throws {
        let plugins = try await Fixtures.loader(["good"]).load()
        let echo = try #require(plugins.providers["echo"])
        let transport = MockTransport { request in
            let body = try JSONValue.decode(request.body ?? Data())
            if body["phone"] == "+33612345678" {
                return MockResponse(status: 201, body: Data(#"{"id": 77}"#.utf8))
            }
            return MockResponse(status: 400, body: Data("bad number".utf8))
        }
        let context = ProviderContext(
            transport: transport, credentials: Credentials(provider: "echo", ["api_key": "s3cret"]),
            endpoint: URL(string: "https://api.echo.test/")!)
        let results = try await echo.add(
            [
                Contact(phone: phone(), firstName: "Zoé", lastName: "Martin"),
                Contact(phone: phone("+33698765432")),
            ], to: "vip", context: context)
        #expect(results.count == 2)
        #expect(results[0] == .added(id: "77"))
        #expect(results[1].status == .rejected)
        #expect(results[1].error?.code == .invalidPhone)
        #expect(results[1].error?.providerCode == "400")
        #expect(results[1].error?.message == "bad number")
        let first = try #require(transport.requests.first)
        #expect(first.method == "POST")
        #expect(first.url.absoluteString == "https://api.echo.test/lists/vip/contacts")
        #expect(first.header("X-Key") == "s3cret")
        #expect(first.header("Content-Type") == "application/json")
        #expect(
            try JSONValue.decode(first.body ?? Data())
                == ["phone": "+33612345678", "name": "Zoé Martin"])
    }

    @Test func aMissingCredentialIsRefusedByTheClientNamingTheKey() async throws {
        let echo = try #require(try await Fixtures.loader(["good"]).load().providers["echo"])
        let client = ContactorClient(
            configuration: .init(
                transport: MockTransport.unreachable, providers: ProviderRegistry([echo])))
        let error = await #expect(throws: ContactorError.self) {
            _ = try await client.add([Contact(phone: phone())], provider: "echo", list: "vip")
        }
        #expect(error?.code == .missingCredential)
        #expect(error?.credentialKey == "api_key")
    }

    @Test func a503FailsTheCallTransientlySoTheEngineRetriesTheBatchAsItDoesABuiltIns()
        async throws
    {
        let transport = MockTransport.sequence([
            MockResponse(status: 503, headers: ["Retry-After": "3"]), .json(200, ["id": "9"]),
        ])
        let clock = ImmediateClock()
        let client = ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([try await wire()]),
                clock: clock))
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678", fields: ["method": "POST"])], provider: "wire",
            list: "vip")
        #expect(outcomes.map(\.result.status) == [.added])
        #expect(outcomes.first?.result.id == "200:9")
        #expect(transport.requests.count == 2)
        #expect(clock.sleeps == [.seconds(3)])
    }

    @Test func aRequestWithRetryFalseHandsThe503ToTheScriptAndIsSentOnce() async throws {
        let transport = MockTransport.text(status: 503)
        let client = ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([try await wire()]),
                clock: ImmediateClock()))
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678", fields: ["method": "POST", "retry": "false"])],
            provider: "wire", list: "vip")
        #expect(outcomes.map(\.result.status) == [.added])
        #expect(outcomes.first?.result.id == "503:nil")
        #expect(transport.requests.count == 1)
    }

    @Test func queryHeadersAndMethodReachTheTransport() async throws {
        let transport = MockTransport.json(status: 200, ["id": "9"])
        let results = try await wire().add(
            [contact(["method": "PUT", "query": "1"])], to: "list 1", context: context(transport))
        #expect(results == [.added(id: "200:9")])
        let request = try #require(transport.requests.first)
        #expect(request.method == "PUT")
        #expect(request.url.absoluteString == "https://api.wire.test/contacts?a=%C3%A9%26&b=2+3")
        #expect(request.header("X-List") == "list 1")
        #expect(request.body == nil)
    }

    @Test func jsonFormAndRawBodiesAreEncoded() async throws {
        let transport = MockTransport.text(status: 204)
        let provider = try await wire()
        _ = try await provider.add(
            [contact(["method": "POST", "body_kind": "json"])], to: "l", context: context(transport)
        )
        _ = try await provider.add(
            [contact(["method": "POST", "body_kind": "form"])], to: "l", context: context(transport)
        )
        _ = try await provider.add(
            [contact(["method": "PATCH", "body_kind": "raw"])], to: "l", context: context(transport)
        )
        let requests = transport.requests
        #expect(requests.count == 3)
        #expect(
            String(decoding: requests[0].body ?? Data(), as: UTF8.self)
                == #"{"phone":"+33612345678","tags":[]}"#)
        #expect(requests[0].header("Content-Type") == "application/json")
        #expect(
            String(decoding: requests[1].body ?? Data(), as: UTF8.self)
                == "a=true&phone=%2B33612345678&z=1")
        #expect(requests[1].header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(requests[2].method == "PATCH")
        #expect(
            requests[2].body == Data([0x72, 0x61, 0x77, 0, 0x62, 0x79, 0x74, 0x65, 0x73, 0xFF]))
    }

    @Test func deleteCanCarryABody() async throws {
        let transport = MockTransport.text(status: 200)
        let results = try await wire().delete(
            [contact([:])], from: "vip", context: context(transport))
        #expect(results == [.deleted()])
        let request = try #require(transport.requests.first)
        #expect(request.method == "DELETE")
        #expect(request.url.absoluteString == "https://api.wire.test/lists/vip")
        #expect(
            String(decoding: request.body ?? Data(), as: UTF8.self)
                == #"{"phones":["+33612345678"]}"#)
    }

    @Test(arguments: [
        ("https://evil.test/steal", true),
        ("http://api.wire.test/contacts", true),
        ("https://api.wire.test:444/contacts", true),
        ("https://auth.wire.test:8443/token", false),
        ("https://auth.wire.test/token", true),
    ])
    func onlyTheEndpointAndHostsOriginsMayBeReached(url: String, refused: Bool) async throws {
        let transport = MockTransport.json(status: 200, ["id": "1"])
        let results = try await wire().add(
            [contact(["method": "GET", "url": url])], to: "l", context: context(transport))
        if refused {
            #expect(transport.requests.isEmpty)
            #expect(results.first?.status == .failed)
            #expect(results.first?.error?.code == .pluginError)
            #expect(results.first?.error?.message.contains("is not allowed") == true)
            #expect(results.first?.error?.message.contains("wire.lua:") == true)
        } else {
            #expect(results == [.added(id: "200:1")])
        }
    }

    @Test func theEndpointOverrideMovesTheAllowedOrigin() async throws {
        let transport = MockTransport.json(status: 200, ["id": "1"])
        let results = try await wire().add(
            [contact(["method": "GET"])], to: "l",
            context: context(transport, endpoint: "http://127.0.0.1:8080/wire"))
        #expect(results == [.added(id: "200:1")])
        #expect(
            transport.requests.first?.url.absoluteString == "http://127.0.0.1:8080/wire/contacts")
    }

    @Test func aTransportErrorFailsTheBatchWithTheTransportError() async throws {
        let transport = MockTransport.failing()
        await #expect {
            _ = try await wire().add(
                [contact(["method": "GET"])], to: "l", context: context(transport))
        } throws: { error in
            (error as? ContactError)?.code == .transportError
                && (error as? ContactError)?.isTransient == true
        }
    }

    @Test func fiftyConcurrentAddsEachGetTheirOwnState() async throws {
        let provider = try await wire()
        let transport = MockTransport { request in
            MockResponse(
                status: 200, body: Data(#"{"id": "\#(request.header("X-List") ?? "")"}"#.utf8))
        }
        let results = try await withThrowingTaskGroup(of: (Int, [ContactResult]).self) { group in
            for index in 0..<50 {
                group.addTask {
                    let results = try await provider.add(
                        [self.contact(["method": "POST", "body_kind": "json"])], to: "list\(index)",
                        context: self.context(transport))
                    return (index, results)
                }
            }
            var all: [Int: [ContactResult]] = [:]
            for try await (index, results) in group { all[index] = results }
            return all
        }
        #expect(results.count == 50)
        for index in 0..<50 {
            #expect(results[index] == [.added(id: "200:list\(index)")])
        }
        #expect(transport.requests.count == 50)
    }
}

@Suite struct ProviderResultTests {
    func provider(returning body: String, batch: Int = 2) async throws -> LuaProvider {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("contactor-lua-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("shape.lua")
        try Data(
            """
            return { kind = "provider", name = "shape", endpoint = "https://x.test", batch_size = \(batch),
              add = function(ctx, list, contacts) \(body) end }
            """.utf8
        ).write(to: file)
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = try await PluginLoader(
            configuration: .init(pluginDirectories: [directory], environment: [:])
        ).load()
        return try #require(plugins.providers["shape"])
    }

    func run(_ body: String) async throws -> [ContactResult] {
        let context = ProviderContext(
            transport: MockTransport.unreachable, credentials: Credentials([:]),
            endpoint: URL(string: "https://x.test")!)
        return try await provider(returning: body).add(
            [Contact(phone: phone()), Contact(phone: phone("+33698765432"))], to: "l",
            context: context)
    }

    @Test(arguments: [
        ("return { { status = 'added' } }", "returned 1 result for 2 contacts"),
        ("return 'ok'", "must return a list of results"),
        ("return { { status = 'added' }, { status = 'done' } }", "has status \"done\""),
        (
            "return { { status = 'added' }, { status = 'rejected', error = 'bad' } }",
            "not one of Contactor's error codes"
        ),
        ("return { { status = 'added' }, { status = 'failed' } }", "has no error code"),
        ("return { { status = 'added', id = {} }, { status = 'added' } }", "id that is not"),
        ("return { 1, 2 }", "must be a table"),
        ("error('kaput')", "shape.lua:2: kaput"),
    ])
    func malformedResultsFailTheWholeBatchWithAPluginError(
        body: String, expected: String
    )
        async throws
    {
        let results = try await run(body)
        #expect(results.count == 2)
        for result in results {
            #expect(result.status == .failed)
            #expect(result.error?.code == .pluginError)
            #expect(
                result.error?.message.contains(expected) == true, "\(result.error?.message ?? "")")
            #expect(result.error?.message.contains("shape.lua") == true)
        }
    }

    @Test func wellFormedResultsMapToContactResults() async throws {
        let results = try await run(
            """
            return { { status = "updated", id = 12 },
              { status = "rejected", error = "invalid_phone", message = "no", provider_code = 9 } }
            """)
        #expect(results[0] == .updated(id: "12"))
        #expect(results[1].status == .rejected)
        #expect(results[1].error?.code == .invalidPhone)
        #expect(results[1].error?.message == "no")
        #expect(results[1].error?.providerCode == "9")
    }

    @Test func aStructuredErrorFailsTheBatchWithItsCode() async throws {
        await #expect {
            _ = try await run(
                "error({ code = 'auth_failed', message = 'bad key', provider_code = '401' })")
        } throws: { error in
            let error = error as? ContactError
            return error?.code == .authFailed && error?.providerCode == "401"
                && error?.provider == "shape"
        }
    }
}
