import Contactor
import ContactorHTTP
import ContactorLua
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

/// plugins/providers/brevo.lua against a loopback fake of Brevo's API, over real HTTP.
@Suite struct BrevoPluginTests {
    static let credentials = Credentials(provider: "brevo", ["api_key": BrevoFake.apiKey])

    func provider() async throws -> LuaProvider {
        try #require(try await Repository.load().providers["brevo"])
    }

    func context(
        _ server: TestHTTPServer, _ transport: any HTTPTransport, options: [String: String] = [:]
    ) -> ProviderContext {
        ProviderContext(
            transport: transport, credentials: Self.credentials, endpoint: server.baseURL,
            options: options)
    }

    @Test(arguments: ProviderConformance.Check.allCases)
    func passesTheProviderConformanceSuite(_ check: ProviderConformance.Check) async throws {
        let fake = BrevoFake()
        let provider = try await provider()
        try await withFake(fake.handler) { server, transport in
            let target = ConformanceTarget(
                provider: provider, context: context(server, transport),
                badCredentials: Credentials(provider: "brevo", ["api_key": "xkeysib-wrong"]),
                list: "7", unknownList: "999", numbers: mobiles, invalidNumber: invalidNumber,
                contains: { list, e164 in fake.contains(list, e164) },
                // updateEnabled: adding a known number puts it in the list and updates it.
                duplicateAddStatuses: [.updated],
                storedValues: { list, e164 in fake.values(list, e164) })
            let report = try await ProviderConformance.report(check, on: target)
            #expect(report.passed, "\(report)")
        }
    }

    @Test func listReadsEveryPageByOffsetWithIds() async throws {
        let fake = BrevoFake()
        let first = (0..<600).map { fake.seed("+336123\(String(format: "%05d", $0))", lists: [7]) }[
            0]
        fake.seed("+33698765432", lists: [8])
        try await withFake(fake.handler) { server, transport in
            let page = try await provider().list(
                "7", cursor: nil, context: context(server, transport))
            #expect(page.next == nil)
            #expect(page.contacts.count == 600)
            #expect(
                page.contacts.first
                    == ContactDraft(phone: "+33612300000", providerID: String(first)))
            #expect(
                server.requests.map(\.uri) == [
                    "/v3/contacts/lists/7/contacts?limit=500&offset=0",
                    "/v3/contacts/lists/7/contacts?limit=500&offset=500",
                ])
            await #expect {
                _ = try await provider().list(
                    "999", cursor: nil, context: context(server, transport))
            } throws: { error in (error as? ContactError)?.code == .listNotFound }
        }
    }

    @Test func updatePutsTheAttributesByIdOrByNumber() async throws {
        let fake = BrevoFake()
        let id = fake.seed(mobiles[0].e164, lists: [7])
        try await withFake(fake.handler) { server, transport in
            var known = Contact(phone: mobiles[0], firstName: "Grace")
            known.providerID = String(id)
            let results = try await provider().update(
                [known, Contact(phone: mobiles[1], firstName: "X")], in: "7",
                context: context(server, transport))
            #expect(results.map(\.status) == [.updated, .skipped])
            #expect(results[1].error?.code == .notInList)
            #expect(fake.attributes(of: mobiles[0].e164)?["FIRSTNAME"] == "Grace")
            #expect(
                server.requests.map { "\($0.method) \($0.path)" } == [
                    "PUT /v3/contacts/\(id)", "PUT /v3/contacts/%2B33612345671",
                ])
        }
    }

    @Test func addPostsTheNumberAsTheSMSAttributeWithTheListIdAndReturnsTheId() async throws {
        let fake = BrevoFake()
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().add(
                [
                    Contact(
                        phone: mobiles[0], firstName: "Zoé", lastName: "Martin",
                        email: "zoe@example.com")
                ], to: "7", context: context(server, transport))
            #expect(results == [.added(id: "41")])
            let request = try #require(server.requests.first)
            #expect(request.method == "POST")
            #expect(request.path == "/v3/contacts")
            #expect(request.header("api-key") == BrevoFake.apiKey)
            #expect(
                body(request)
                    == [
                        "email": "zoe@example.com",
                        "attributes": [
                            "SMS": "+33612345670", "FIRSTNAME": "Zoé", "LASTNAME": "Martin",
                        ],
                        "listIds": [7], "updateEnabled": true,
                    ])
        }
    }

    @Test func anExistingContactIsPutInTheListAndUpdated() async throws {
        let fake = BrevoFake()
        fake.seed(mobiles[1].e164, lists: [8])
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().add(
                [Contact(phone: mobiles[1], firstName: "Ada")], to: "7",
                context: context(server, transport))
            #expect(results == [.updated()])
            #expect(fake.contains("7", mobiles[1].e164))
            #expect(fake.contains("8", mobiles[1].e164))
            #expect(fake.attributes(of: mobiles[1].e164)?["FIRSTNAME"] == "Ada")
        }
    }

    @Test func withUpdatesDisabledADuplicateParameterIsSkippedAsAlreadyInList() async throws {
        let fake = BrevoFake()
        fake.seed(mobiles[2].e164, lists: [7])
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().add(
                [Contact(phone: mobiles[2])], to: "7",
                context: context(server, transport, options: ["update_enabled": "false"]))
            #expect(results.first?.status == .skipped)
            #expect(results.first?.error?.code == .alreadyInList)
            #expect(results.first?.error?.providerCode == "duplicate_parameter")
            #expect(body(try #require(server.requests.first))["updateEnabled"] == false)
        }
    }

    @Test func deleteFindsTheContactBySMSAndRemovesItFromTheListOnly() async throws {
        let fake = BrevoFake()
        fake.seed(mobiles[3].e164, lists: [7, 8])
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().delete(
                [Contact(phone: mobiles[3])], from: "7", context: context(server, transport))
            #expect(results == [.deleted(id: "41")])
            #expect(!fake.contains("7", mobiles[3].e164))
            #expect(fake.contains("8", mobiles[3].e164))
            #expect(
                server.requests.map { "\($0.method) \($0.uri)" } == [
                    "GET /v3/contacts/%2B33612345673?identifierType=phone_id",
                    "POST /v3/contacts/lists/7/contacts/remove",
                ])
            #expect(body(server.requests[1]) == ["ids": [41]])
        }
    }

    @Test func deleteOfAnUnknownNumberOrOneOutsideTheListIsSkippedAsNotInList() async throws {
        let fake = BrevoFake()
        fake.seed(mobiles[4].e164, lists: [8])
        try await withFake(fake.handler) { server, transport in
            for number in [mobiles[4], mobiles[5]] {
                let results = try await provider().delete(
                    [Contact(phone: number)], from: "7", context: context(server, transport))
                #expect(results.first?.status == .skipped)
                #expect(results.first?.error?.code == .notInList)
            }
            #expect(fake.contains("8", mobiles[4].e164))
            #expect(server.requests.allSatisfy { $0.method == "GET" })
        }
    }

    @Test func aBadKeyFailsTheBatchWithAuthFailedAndNoSecretInTheMessage() async throws {
        let fake = BrevoFake()
        try await withFake(fake.handler) { server, transport in
            var context = context(server, transport)
            context.credentials = Credentials(provider: "brevo", ["api_key": "xkeysib-nope-42"])
            for operation in [ContactOperation.add, .delete] {
                let error = await #expect(throws: ContactError.self) {
                    operation == .add
                        ? try await provider().add(
                            [Contact(phone: mobiles[0])], to: "7", context: context)
                        : try await provider().delete(
                            [Contact(phone: mobiles[0])], from: "7", context: context)
                }
                #expect(error?.code == .authFailed)
                #expect(error?.providerCode == "unauthorized")
                #expect(error?.description.contains("xkeysib-nope-42") == false)
            }
        }
    }

    @Test func anUnknownListFailsTheBatchWithListNotFound() async throws {
        let fake = BrevoFake()
        fake.seed(mobiles[6].e164, lists: [7])
        try await withFake(fake.handler) { server, transport in
            let error = await #expect(throws: ContactError.self) {
                try await provider().add(
                    [Contact(phone: mobiles[0])], to: "999", context: context(server, transport))
            }
            #expect(error?.code == .listNotFound)
            #expect(error?.providerCode == "document_not_found")
            let nonNumeric = await #expect(throws: ContactError.self) {
                try await provider().delete(
                    [Contact(phone: mobiles[6])], from: "vip", context: context(server, transport))
            }
            #expect(nonNumeric?.code == .listNotFound)
            #expect(server.requests.count == 1)
        }
    }

    @Test func anSMSBrevoRefusesIsRejectedAsInvalidPhone() async throws {
        let fake = BrevoFake()
        try await withFake(fake.handler) { server, transport in
            let results = try await provider().add(
                [Contact(phone: invalidNumber)], to: "7", context: context(server, transport))
            #expect(results.first?.status == .rejected)
            #expect(results.first?.error?.code == .invalidPhone)
            #expect(results.first?.error?.providerCode == "invalid_parameter")
        }
    }
}
