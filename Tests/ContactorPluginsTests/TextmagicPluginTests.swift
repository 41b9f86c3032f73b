import Contactor
import ContactorHTTP
import ContactorLua
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

/// plugins/providers/textmagic.lua against a loopback fake of Textmagic's API, over real
/// HTTP.
@Suite struct TextmagicPluginTests {
    static let credentials = Credentials(
        provider: "textmagic",
        ["username": TextmagicFake.username, "api_key": TextmagicFake.apiKey])

    func provider() async throws -> LuaProvider {
        try #require(try await Repository.load().providers["textmagic"])
    }

    func context(_ server: TestHTTPServer, _ transport: any HTTPTransport) -> ProviderContext {
        ProviderContext(
            transport: transport, credentials: Self.credentials, endpoint: server.baseURL)
    }

    @Test(arguments: ProviderConformance.Check.allCases)
    func passesTheProviderConformanceSuite(_ check: ProviderConformance.Check) async throws {
        let fake = TextmagicFake()
        let provider = try await provider()
        try await withFake(fake.handler) { server, transport in
            let target = ConformanceTarget(
                provider: provider, context: context(server, transport),
                badCredentials: Credentials(
                    provider: "textmagic",
                    ["username": TextmagicFake.username, "api_key": "wrong-key"]),
                list: "100", unknownList: "999", numbers: mobiles, invalidNumber: invalidNumber,
                contains: { list, e164 in fake.contains(list, e164) },
                storedValues: { list, e164 in fake.values(list, e164) })
            let report = try await ProviderConformance.report(check, on: target)
            #expect(report.passed, "\(report)")
        }
    }

    @Test func listReadsEveryPageOfTheListWithIds() async throws {
        let fake = TextmagicFake()
        let ids = (0..<150).map { index in
            fake.seed("+336123\(String(format: "%05d", index))", lists: [100])
        }
        fake.seed("+33698765432", lists: [200])
        let provider = try await provider()
        try await withFake(fake.handler) { server, transport in
            let page = try await provider.list(
                "100", cursor: nil, context: context(server, transport))
            #expect(page.next == nil)
            #expect(page.contacts.count == 150)
            #expect(
                page.contacts.first
                    == ContactDraft(phone: "+33612300000", providerID: String(ids[0])))
            #expect(
                server.requests.map(\.uri) == [
                    "/api/v2/lists/100/contacts?limit=100&page=1",
                    "/api/v2/lists/100/contacts?limit=100&page=2",
                ])
            await #expect {
                _ = try await provider.list("999", cursor: nil, context: context(server, transport))
            } throws: { error in (error as? ContactError)?.code == .listNotFound }
        }
    }

    @Test func updatePutsTheContactByItsIdAndSkipsOneNotInTheList() async throws {
        let fake = TextmagicFake()
        let id = fake.seed(mobiles[0].e164, lists: [100])
        fake.seed(mobiles[1].e164, lists: [200])
        let provider = try await provider()
        try await withFake(fake.handler) { server, transport in
            var known = Contact(phone: mobiles[0], firstName: "Grace", lastName: "Hopper")
            known.providerID = String(id)
            let results = try await provider.update(
                [known, Contact(phone: mobiles[1], firstName: "X")], in: "100",
                context: context(server, transport))
            #expect(results.map(\.status) == [.updated, .skipped])
            #expect(results[0].id == String(id))
            #expect(results[1].error?.code == .notInList)
            #expect(fake.values("100", mobiles[0].e164) == ["Grace", "Hopper"])
            #expect(
                server.requests.map { "\($0.method) \($0.path)" } == [
                    "PUT /api/v2/contacts/\(id)", "GET /api/v2/contacts/phone/33612345671",
                ])
        }
    }

    @Test func addPostsTheDocumentedContactWithAuthHeadersAndReturnsTheId() async throws {
        let fake = TextmagicFake()
        let provider = try await provider()
        try await withFake(fake.handler) { server, transport in
            let results = try await provider.add(
                [
                    Contact(
                        phone: mobiles[0], firstName: "Zoé", lastName: "Martin",
                        email: "zoe@example.com")
                ], to: "100", context: context(server, transport))
            #expect(results == [.added(id: "5001")])
            let request = try #require(server.requests.first)
            #expect(request.method == "POST")
            #expect(request.path == "/api/v2/contacts")
            #expect(request.header("X-TM-Username") == TextmagicFake.username)
            #expect(request.header("X-TM-Key") == TextmagicFake.apiKey)
            #expect(
                body(request)
                    == [
                        "phone": "33612345670", "firstName": "Zoé", "lastName": "Martin",
                        "email": "zoe@example.com", "lists": "100",
                    ])
        }
    }

    @Test func aDuplicateAlreadyInTheListIsSkippedWithItsId() async throws {
        let fake = TextmagicFake()
        let id = fake.seed(mobiles[1].e164, lists: [100])
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().add(
                [Contact(phone: mobiles[1])], to: "100", context: context(server, transport))
            #expect(results.first?.status == .skipped)
            #expect(results.first?.error?.code == .alreadyInList)
            #expect(results.first?.id == String(id))
            #expect(server.requests.map(\.method) == ["POST", "GET"])
        }
    }

    @Test func aContactKnownFromAnotherListIsAssignedToThisOneAndUpdated() async throws {
        let fake = TextmagicFake()
        let id = fake.seed(mobiles[2].e164, lists: [200])
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().add(
                [Contact(phone: mobiles[2])], to: "100", context: context(server, transport))
            #expect(results == [.updated(id: String(id))])
            #expect(fake.contains("100", mobiles[2].e164))
            #expect(fake.contains("200", mobiles[2].e164))
            let assign = try #require(server.requests.last)
            #expect(assign.method == "PUT")
            #expect(assign.path == "/api/v2/lists/100/contacts")
            #expect(body(assign) == ["contacts": .string(String(id))])
        }
    }

    @Test func deleteFindsTheIdByPhoneThenDeletesTheContact() async throws {
        let fake = TextmagicFake()
        let id = fake.seed(mobiles[3].e164, lists: [100])
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().delete(
                [Contact(phone: mobiles[3])], from: "100", context: context(server, transport))
            #expect(results == [.deleted(id: String(id))])
            #expect(
                server.requests.map { "\($0.method) \($0.path)" } == [
                    "GET /api/v2/contacts/phone/33612345673", "DELETE /api/v2/contacts/\(id)",
                ])
            #expect(fake.state.withLock { $0.contacts.isEmpty })
        }
    }

    @Test func deleteOfAContactInOtherListsTooOnlyUnassignsItFromThisList() async throws {
        let fake = TextmagicFake()
        let id = fake.seed(mobiles[4].e164, lists: [100, 200])
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().delete(
                [Contact(phone: mobiles[4])], from: "100", context: context(server, transport))
            #expect(results == [.deleted(id: String(id))])
            #expect(!fake.contains("100", mobiles[4].e164))
            #expect(fake.contains("200", mobiles[4].e164))
            #expect(server.requests.last?.path == "/api/v2/lists/100/contacts")
        }
    }

    @Test func deleteOfANumberInAnotherListOnlyIsSkippedAsNotInList() async throws {
        let fake = TextmagicFake()
        fake.seed(mobiles[5].e164, lists: [200])
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().delete(
                [Contact(phone: mobiles[5])], from: "100", context: context(server, transport))
            #expect(results.first?.status == .skipped)
            #expect(results.first?.error?.code == .notInList)
            #expect(fake.contains("200", mobiles[5].e164))
            #expect(server.requests.count == 1)
        }
    }

    @Test func badCredentialsFailTheBatchWithAuthFailedAndNoSecretInTheMessage() async throws {
        let fake = TextmagicFake()
        try await withFake(fake.handler) { server, transport in
            var context = context(server, transport)
            context.credentials = Credentials(
                provider: "textmagic",
                ["username": TextmagicFake.username, "api_key": "not-the-key-123"])
            let error = await #expect(throws: ContactError.self) {
                try await provider().add([Contact(phone: mobiles[0])], to: "100", context: context)
            }
            #expect(error?.code == .authFailed)
            #expect(error?.providerCode == "401")
            #expect(error?.description.contains("not-the-key-123") == false)
        }
    }

    @Test func anUnknownOrNonNumericListFailsTheBatchWithListNotFound() async throws {
        let fake = TextmagicFake()
        try await withFake(fake.handler) { server, transport in
            for list in ["999", "vip"] {
                let error = await #expect(throws: ContactError.self) {
                    try await provider().add(
                        [Contact(phone: mobiles[0])], to: list, context: context(server, transport))
                }
                #expect(error?.code == .listNotFound, "\(list)")
                #expect(error?.message.contains(list) == true)
            }
            // A non-numeric list is refused before anything is sent.
            #expect(server.requests.count == 1)
        }
    }

    @Test func aNumberTextmagicRefusesIsRejectedWithItsMessage() async throws {
        let fake = TextmagicFake()
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().add(
                [Contact(phone: invalidNumber)], to: "100", context: context(server, transport))
            #expect(results.first?.status == .rejected)
            #expect(results.first?.error?.code == .invalidPhone)
            #expect(results.first?.error?.providerCode == "400")
            #expect(results.first?.error?.message == "Phone number is not valid.")
        }
    }
}
