import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import Testing

/// The exact requests of `update` and `list` per built-in provider, and what each
/// documented answer becomes.
@Suite struct UpdateAndListTests {
    static func phone(_ text: String) throws -> PhoneNumber {
        try PhoneNumber(parsing: text, defaultRegion: "FR")
    }

    static func context(
        _ transport: MockTransport, provider: String, credentials: [String: String],
        options: [String: String] = [:]
    ) -> ProviderContext {
        ProviderContext(
            transport: transport, credentials: Credentials(provider: provider, credentials),
            endpoint: URL(string: "https://api.example.test")!, options: options)
    }

    static let avosms = ["id": "owner@example.org", "key": "avosms-KEY-9c1e77"]
    static let octopush = ["api_login": "login@example.org", "api_key": "octo-KEY-5e8a31"]
    static let gateway = ["client_id": "client-7", "client_secret": "gw-SECRET-77aa"]
    static let partner = ["api_key": "sp-api-key-4c1d8e"]

    static func form(_ request: SentRequest) -> [String: String] {
        Dictionary(
            FormEncoding.decode(String(decoding: request.body ?? Data(), as: UTF8.self)),
            uniquingKeysWith: { $1 })
    }

    static func json(_ request: SentRequest) throws -> JSONValue {
        try JSONValue.decode(try #require(request.body))
    }

    // MARK: Descriptors

    @Test func descriptorsListTheOperationsEachAdapterSupports() {
        #expect(AvosmsProvider().descriptor.operations == [.add, .delete, .update, .list])
        #expect(AvosmsProvider().descriptor.batchSize(for: .update) == 1)
        #expect(OctopushProvider().descriptor.operations == [.add, .delete, .update])
        #expect(OctopushProvider().descriptor.batchSize(for: .update) == 200)
        #expect(SMSGatewayAPIProvider().descriptor.operations == [.add, .update])
        #expect(SMSGatewayAPIProvider().descriptor.batchSize(for: .update) == 100)
        #expect(SMSPartnerProvider().descriptor.operations == [.add, .delete, .update, .list])
    }

    // MARK: Avosms

    @Test func avosmsUpdatePostsEveryFieldToContactUpdateAndReadsOK() async throws {
        let transport = MockTransport { _ in .json(200, ["status": "success", "code": "OK"]) }
        let contact = Contact(
            phone: try Self.phone("0612345678"), firstName: "Grace", lastName: "Hopper",
            email: "grace@example.org", birthday: CalendarDate("1906-12-09"), civility: "Mme",
            fields: ["other": "vip"])
        let results = try await AvosmsProvider().update(
            [contact], in: "1002",
            context: Self.context(transport, provider: "avosms", credentials: Self.avosms))
        #expect(results == [.updated()])
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.path == "/v1/contact/update")
        #expect(
            Self.form(request) == [
                "id": "owner@example.org", "key": "avosms-KEY-9c1e77", "listContactId": "1002",
                "contactTelephoneNumber": "+33612345678", "contactCivility": "Mme",
                "contactName": "Hopper", "contactFirstName": "Grace",
                "contactEmail": "grace@example.org", "contactBirthday": "1906-12-09",
                "contactOther": "vip",
            ])
    }

    @Test func avosmsUpdateOfANumberNotInTheListIsSkippedNotInList() async throws {
        let transport = MockTransport { _ in .json(200, ["status": "error", "code": "ERR_104"]) }
        let results = try await AvosmsProvider().update(
            [Contact(phone: try Self.phone("0612345678"))], in: "1002",
            context: Self.context(transport, provider: "avosms", credentials: Self.avosms))
        #expect(results.map(\.status) == [.skipped])
        #expect(results.first?.error?.code == .notInList)
        #expect(results.first?.error?.providerCode == "ERR_104")
    }

    @Test func avosmsListReadsEveryDocumentedFieldBackInOnePage() async throws {
        let transport = MockTransport { _ in
            .json(
                200,
                [
                    "status": "success", "code": "OK",
                    "list": ["listContactId": "1002", "listContactCountryCode": "FR"],
                    "contacts": [
                        [
                            "contactTelephoneNumber": "+33612345678", "contactFirstName": "Ada",
                            "contactName": "Lovelace", "contactEmail": "ada@example.org",
                            "contactBirthday": "1815-12-10", "contactCivility": "Mme",
                            "contactOther": "vip",
                        ],
                        ["contactTelephoneNumber": "+33698765432"],
                    ],
                ])
        }
        let page = try await AvosmsProvider().list(
            "1002", cursor: nil,
            context: Self.context(transport, provider: "avosms", credentials: Self.avosms))
        #expect(page.next == nil)
        #expect(
            page.contacts == [
                ContactDraft(
                    phone: "+33612345678", firstName: "Ada", lastName: "Lovelace",
                    email: "ada@example.org", birthday: "1815-12-10", civility: "Mme",
                    fields: ["other": "vip"]),
                ContactDraft(phone: "+33698765432"),
            ])
        let request = try #require(transport.requests.first)
        #expect(request.url.path == "/v1/contact/list/information")
        #expect(
            Self.form(request) == [
                "id": "owner@example.org", "key": "avosms-KEY-9c1e77", "listContactId": "1002",
            ])
    }

    @Test(
        "Avosms list errors: ERR_103 is list_not_found, ERR_100 auth_failed, HTML provider_error",
        arguments: [
            (MockResponse.json(200, ["status": "error", "code": "ERR_103"]), "list_not_found"),
            (MockResponse.json(200, ["status": "error", "code": "ERR_100"]), "auth_failed"),
            (
                MockResponse(
                    status: 200, headers: ["Content-Type": "text/html"],
                    body: Data("<html>x</html>".utf8)),
                "provider_error"
            ),
        ])
    func avosmsListErrors(_ response: MockResponse, _ code: String) async throws {
        let transport = MockTransport { _ in response }
        await #expect {
            _ = try await AvosmsProvider().list(
                "1002", cursor: nil,
                context: Self.context(transport, provider: "avosms", credentials: Self.avosms))
        } throws: { error in
            (error as? ContactError)?.code.rawValue == code
        }
    }

    @Test func avosmsOKOnARedirectIsNotSuccess() async throws {
        let transport = MockTransport { _ in
            MockResponse(
                status: 302, headers: ["Location": "https://elsewhere.test/"],
                body: Data(#"{"status":"success","code":"OK"}"#.utf8))
        }
        let results = try await AvosmsProvider().add(
            [Contact(phone: try Self.phone("0612345678"))], to: "1002",
            context: Self.context(transport, provider: "avosms", credentials: Self.avosms))
        #expect(results.map(\.status) == [.failed])
        #expect(results.first?.error?.code == .providerError)
        #expect(results.first?.error?.isTransient == false)
        #expect(results.first?.error?.message.contains("redirect") == true)
    }

    // MARK: Octopush

    @Test func octopushUpdateOverwritesEvenWhenTheRunSaysDoNotOverwrite() async throws {
        let transport = MockTransport { _ in
            .json(
                201,
                [
                    "items": [
                        ["phone_number": "+33612345678", "status": "updated"],
                        ["phone_number": "+33698765432", "status": "added"],
                    ]
                ])
        }
        let results = try await OctopushProvider().update(
            [
                Contact(phone: try Self.phone("0612345678"), firstName: "Grace"),
                Contact(phone: try Self.phone("0698765432")),
            ], in: "demo",
            context: Self.context(
                transport, provider: "octopush", credentials: Self.octopush,
                options: ["do_not_overwrite": "true"]))
        #expect(results == [.updated(), .added()])
        let body = try Self.json(try #require(transport.requests.first))
        #expect(transport.requests.first?.url.path == "/v1/public/contact/create")
        #expect(body["do_not_overwrite"] == .bool(false))
        #expect(body["contacts"]?.arrayValue?.first?["first_name"] == "Grace")
    }

    @Test func octopushHasNoList() async throws {
        let transport = MockTransport.unreachable
        await #expect {
            _ = try await OctopushProvider().list(
                "demo", cursor: nil,
                context: Self.context(transport, provider: "octopush", credentials: Self.octopush))
        } throws: { error in
            (error as? ContactError)?.code == .unsupportedOperation
        }
        #expect(transport.requests.isEmpty)
    }

    // MARK: SMS Gateway API

    @Test func smsGatewayAPIUpdatePatchesAnArrayOfIDsAndReads204() async throws {
        let transport = MockTransport { _ in MockResponse(status: 204) }
        var first = Contact(phone: try Self.phone("+436501234567"), firstName: "Grace")
        first.providerID = "1001"
        var second = Contact(phone: try Self.phone("+436501234568"), fields: ["extra1": "x"])
        second.providerID = "a7"
        let results = try await SMSGatewayAPIProvider().update(
            [first, second], in: "100",
            context: Self.context(transport, provider: "smsgatewayapi", credentials: Self.gateway))
        #expect(results == [.updated(id: "1001"), .updated(id: "a7")])
        let request = try #require(transport.requests.first)
        #expect(request.method == "PATCH")
        #expect(request.url.path == "/v1/contact")
        #expect(request.header("X-Client-Secret") == "gw-SECRET-77aa")
        #expect(
            try Self.json(request) == [
                ["ID": 1001, "phone": "436501234567", "firstname": "Grace"],
                ["ID": "a7", "phone": "436501234568", "extra1": "x"],
            ])
    }

    @Test func aClientUpdateCarriesEachDraftsProviderIDToTheAdapter() async throws {
        let transport = MockTransport { _ in MockResponse(status: 204) }
        let client = ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([SMSGatewayAPIProvider()]),
                credentials: CredentialResolver(explicit: Self.gateway), clock: ImmediateClock()))
        let outcomes = try await client.update(
            [
                ContactDraft(phone: "+436501234567", firstName: "Grace", providerID: "1001"),
                ContactDraft(phone: "+436501234568"),
            ], provider: "smsgatewayapi", list: "100")
        #expect(outcomes.map(\.result.status) == [.updated, .rejected])
        let request = try #require(transport.requests.first)
        #expect(
            try Self.json(request) == [["ID": 1001, "phone": "436501234567", "firstname": "Grace"]])
    }

    @Test func smsGatewayAPIUpdateWithoutAnIDIsRejectedAndNotSent() async throws {
        let transport = MockTransport { _ in MockResponse(status: 204) }
        var known = Contact(phone: try Self.phone("+436501234567"))
        known.providerID = "5"
        let results = try await SMSGatewayAPIProvider().update(
            [Contact(phone: try Self.phone("+436501234568")), known], in: "100",
            context: Self.context(transport, provider: "smsgatewayapi", credentials: Self.gateway))
        #expect(results.map(\.status) == [.rejected, .updated])
        #expect(results.first?.error?.code == .missingField)
        #expect(results.first?.error?.message.contains("needs the contact's ID") == true)
        #expect(try Self.json(try #require(transport.requests.first)).arrayValue?.count == 1)
    }

    @Test func smsGatewayAPIUpdate404IsNotInListForOneAndASplitForMore() async throws {
        let transport = MockTransport { _ in
            .json(404, ["error": 404, "errorMsg": "Contact 9 not found"])
        }
        let context = Self.context(
            transport, provider: "smsgatewayapi", credentials: Self.gateway)
        var one = Contact(phone: try Self.phone("+436501234567"))
        one.providerID = "9"
        var two = Contact(phone: try Self.phone("+436501234568"))
        two.providerID = "10"
        let alone = try await SMSGatewayAPIProvider().update([one], in: "100", context: context)
        #expect(alone.map(\.status) == [.skipped])
        #expect(alone.first?.error?.code == .notInList)
        await #expect {
            _ = try await SMSGatewayAPIProvider().update([one, two], in: "100", context: context)
        } throws: { error in
            guard let error = error as? ContactError else { return false }
            return error.code == .providerError && !error.isTransient
        }
    }

    // MARK: SMS Partner

    @Test func smsPartnerUpdateIsRefusedWithoutTheReplaceOption() async throws {
        let provider = SMSPartnerProvider()
        #expect(
            provider.checkList("5001", options: [:], for: .update)?.code == .unsupportedOperation)
        #expect(provider.checkList("5001", options: ["update": "replace"], for: .update) == nil)
        #expect(
            provider.checkList("5001", options: ["update": "merge"], for: .update)?.code
                == .invalidField)
        let transport = MockTransport.unreachable
        await #expect {
            _ = try await provider.update(
                [Contact(phone: try Self.phone("0612345678"))], in: "5001",
                context: Self.context(transport, provider: "smspartner", credentials: Self.partner))
        } throws: { error in
            (error as? ContactError)?.code == .unsupportedOperation
        }
        #expect(transport.requests.isEmpty)
    }

    @Test func smsPartnerReplaceDeletesByKnownIDThenAddsAndReportsTheNewID() async throws {
        let transport = MockTransport { request in
            switch request.url.path {
            case "/v1/contact/delete": .json(200, ["success": true, "code": 200])
            default:
                .json(
                    200, ["success": true, "code": 200, "contact": ["contactId": 777]])
            }
        }
        var contact = Contact(phone: try Self.phone("0612345678"), firstName: "Grace")
        contact.providerID = "41"
        let results = try await SMSPartnerProvider().update(
            [contact], in: "5001",
            context: Self.context(
                transport, provider: "smspartner", credentials: Self.partner,
                options: ["update": "replace"]))
        #expect(results == [.updated(id: "777")])
        #expect(transport.requests.map(\.url.path) == ["/v1/contact/delete", "/v1/contact/add"])
        #expect(try Self.json(transport.requests[0])["contactId"] == "41")
        #expect(try Self.json(transport.requests[1])["contact"]?["firstname"] == "Grace")
    }

    @Test func smsPartnerReplaceOfANumberNotInTheGroupIsSkippedAndAddsNothing() async throws {
        let transport = MockTransport { _ in
            .json(200, ["success": true, "code": 200, "currentPage": 1, "total": 0, "datas": []])
        }
        let results = try await SMSPartnerProvider().update(
            [Contact(phone: try Self.phone("0612345678"))], in: "5001",
            context: Self.context(
                transport, provider: "smspartner", credentials: Self.partner,
                options: ["update": "replace"]))
        #expect(results.map(\.status) == [.skipped])
        #expect(results.first?.error?.code == .notInList)
        #expect(transport.requests.map(\.url.path) == ["/v1/contact/list"])
    }

    @Test func smsPartnerReplaceThatCannotAddAgainSaysTheContactIsGone() async throws {
        let transport = MockTransport { request in
            switch request.url.path {
            case "/v1/contact/delete": .json(200, ["success": true, "code": 200])
            default: .json(200, ["success": false, "code": 9, "message": "Numéro invalide"])
            }
        }
        var contact = Contact(phone: try Self.phone("0612345678"))
        contact.providerID = "41"
        let results = try await SMSPartnerProvider().update(
            [contact], in: "5001",
            context: Self.context(
                transport, provider: "smspartner", credentials: Self.partner,
                options: ["update": "replace"]))
        #expect(results.map(\.status) == [.rejected])
        #expect(results.first?.error?.message.contains("no longer in the group") == true)
    }

    static func partnerPage(_ page: Int, count: Int, total: Int) -> MockResponse {
        .json(
            200,
            [
                "success": true, "code": 200, "currentPage": .int(Int64(page)),
                "total": .int(Int64(total)),
                "datas": .array(
                    (0..<count).map { index in
                        [
                            "contactId": .int(Int64(page * 100 + index)),
                            "phone": .string("06123400\(String(format: "%02d", index))"),
                            "firstname": "Ada", "lastname": "Lovelace", "date": "1815-12-10",
                            "custom1": "c1", "url": "https://example.org",
                        ]
                    }),
            ])
    }

    @Test func smsPartnerListPagesByNumberUntilAShortPageOrTheTotal() async throws {
        let transport = MockTransport { request in
            let page = URLComponents(url: request.url, resolvingAgainstBaseURL: false)?
                .queryItems?.first { $0.name == "page" }?.value
            return page == "1"
                ? Self.partnerPage(1, count: 20, total: 25)
                : Self.partnerPage(2, count: 5, total: 25)
        }
        let context = Self.context(transport, provider: "smspartner", credentials: Self.partner)
        let first = try await SMSPartnerProvider().list("5001", cursor: nil, context: context)
        #expect(first.contacts.count == 20)
        #expect(first.next == "2")
        #expect(
            first.contacts.first
                == ContactDraft(
                    phone: "0612340000", firstName: "Ada", lastName: "Lovelace",
                    birthday: "1815-12-10",
                    fields: ["custom1": "c1", "url": "https://example.org"],
                    providerID: "100"))
        let second = try await SMSPartnerProvider().list("5001", cursor: "2", context: context)
        #expect(second.contacts.count == 5)
        #expect(second.next == nil)
        let query =
            URLComponents(url: transport.requests[0].url, resolvingAgainstBaseURL: false)?
            .queryItems ?? []
        #expect(
            Set(query.map { "\($0.name)=\($0.value ?? "")" })
                == ["apiKey=sp-api-key-4c1d8e", "groupId=5001", "page=1"])
    }

    @Test func smsPartnerListEndsWhenTheTotalIsReachedOnAFullPage() async throws {
        let transport = MockTransport { _ in Self.partnerPage(1, count: 20, total: 20) }
        let page = try await SMSPartnerProvider().list(
            "5001", cursor: nil,
            context: Self.context(transport, provider: "smspartner", credentials: Self.partner))
        #expect(page.next == nil)
    }

    @Test func smsPartnerListRefusesACursorThatIsNotAPageNumber() async throws {
        await #expect {
            _ = try await SMSPartnerProvider().list(
                "5001", cursor: "abc",
                context: Self.context(
                    .unreachable, provider: "smspartner", credentials: Self.partner))
        } throws: { error in
            (error as? ContactError)?.code == .invalidField
        }
    }

    @Test func smsPartnerDeleteByKnownIDSkipsTheListLookup() async throws {
        let transport = MockTransport { _ in .json(200, ["success": true, "code": 200]) }
        var contact = Contact(phone: try Self.phone("0612345678"))
        contact.providerID = "41"
        let results = try await SMSPartnerProvider().delete(
            [contact], from: "5001",
            context: Self.context(transport, provider: "smspartner", credentials: Self.partner))
        #expect(results == [.deleted(id: "41")])
        #expect(transport.requests.map(\.url.path) == ["/v1/contact/delete"])
    }
}
