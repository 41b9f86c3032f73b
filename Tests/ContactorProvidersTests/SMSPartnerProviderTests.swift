import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import Synchronization
import Testing

/// Golden tests for the SMS Partner adapter, built from the provider's documentation page
/// (`smspartner-contact-add.md`) and the documented list and delete endpoints.
@Suite struct SMSPartnerProviderTests {
    static let apiKey = "sp-api-key-4c1d8e"

    let provider = SMSPartnerProvider()

    func context(
        _ transport: MockTransport, endpoint: String = "http://api.smspartner.fr",
        credentials: [String: String]? = nil, hook: PayloadHook? = nil
    ) -> ProviderContext {
        ProviderContext(
            transport: transport,
            credentials: Credentials(
                provider: "smspartner", credentials ?? ["api_key": Self.apiKey]),
            endpoint: URL(string: endpoint)!, payloadHook: hook)
    }

    func contact(
        _ number: String, first: String? = nil, last: String? = nil, birthday: String? = nil,
        fields: [String: String] = [:]
    ) throws -> Contact {
        Contact(
            phone: try PhoneNumber(parsing: number, defaultRegion: "FR"), firstName: first,
            lastName: last, birthday: birthday.flatMap(CalendarDate.init), fields: fields)
    }

    func body(_ request: SentRequest) throws -> JSONValue {
        try JSONValue.decode(try #require(request.body))
    }

    func query(_ request: SentRequest) -> [String: String] {
        let items = URLComponents(url: request.url, resolvingAgainstBaseURL: false)?.queryItems
        return Dictionary(
            (items ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
    }

    static func reply(
        _ status: Int, _ json: JSONValue, headers: [String: String] = [:]
    )
        -> MockTransport
    {
        MockTransport { _ in MockResponse(status: status, headers: headers, body: json.encoded()) }
    }

    static func response(_ json: JSONValue, status: Int = 200) -> MockResponse {
        MockResponse(status: status, body: json.encoded())
    }

    // MARK: Add

    @Test func singleAddSendsTheDocumentedShapeAndReadsTheContactID() async throws {
        let transport = Self.reply(
            200,
            [
                "success": true, "code": 200,
                "contact": [
                    "phoneNumber": "+33612345678", "firstname": "Jean", "lastname": "Dupont",
                    "contactId": "c-7781",
                ],
            ])
        let jean = try contact(
            "06 12 34 56 78", first: "Jean", last: "Dupont", birthday: "1985-07-14",
            fields: [
                "url": "https://example.fr/j", "shortUrlPartnr": "http://sms.fr/x",
                "custom1": "c1", "custom2": "c2", "custom3": "c3", "custom4": "c4",
            ])

        let results = try await provider.add([jean], to: "G-12", context: context(transport))

        #expect(results == [.added(id: "c-7781")])
        #expect(transport.requests.count == 1)
        let request = transport.requests[0]
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "http://api.smspartner.fr/v1/contact/add")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Accept") == "application/json")
        let sent = try body(request)
        #expect(sent["apiKey"] == .string(Self.apiKey))
        #expect(sent["groupId"] == "G-12")
        #expect(sent["contactsList"] == nil)
        #expect(sent["phoneNumber"] == nil)
        let expected: JSONValue = [
            "phoneNumber": "+33612345678", "firstname": "Jean", "lastname": "Dupont",
            "date": "1985-07-14", "url": "https://example.fr/j",
            "shortUrlPartnr": "http://sms.fr/x", "custom1": "c1", "custom2": "c2",
            "custom3": "c3", "custom4": "c4",
        ]
        #expect(sent["contact"] == expected)
        #expect(sent.objectValue?.count == 3)
    }

    @Test func bulkAddSendsContactsListWithOnlyTheFieldsSet() async throws {
        let transport = Self.reply(
            200,
            [
                "groupe": ["id": "G-12"],
                "results": [
                    ["success": true, "code": 200, "phoneNumber": "+33612345678"],
                    ["success": true, "code": 200, "phoneNumber": "+33612345679"],
                ],
                "rapport": ["total": 2],
            ])
        let batch = [
            try contact("+33612345678", first: "Jean"), try contact("+33612345679"),
        ]

        let results = try await provider.add(batch, to: "G-12", context: context(transport))

        #expect(results == [.added(), .added()])
        let sent = try body(transport.requests[0])
        #expect(sent["contact"] == nil)
        #expect(sent["groupId"] == "G-12")
        #expect(
            sent["contactsList"] == [
                ["phoneNumber": "+33612345678", "firstname": "Jean"],
                ["phoneNumber": "+33612345679"],
            ])
    }

    @Test func bulkResultsAreMatchedByNumberWithCodes9And15MixedWithSuccesses() async throws {
        // Results out of order and in national form, one with an id, one contact missing.
        let transport = Self.reply(
            200,
            [
                "groupe": ["id": "G-12", "name": "Clients"],
                "results": [
                    [
                        "success": false, "code": 15, "phoneNumber": "0612345679",
                        "message": "Le numéro est déjà dans le groupe",
                    ],
                    [
                        "success": true, "code": 200, "phoneNumber": "0612345678",
                        "contactId": 991,
                    ],
                    [
                        "success": false, "code": 9, "phoneNumber": "+33612345680",
                        "message": "Numéro invalide",
                    ],
                    [
                        "success": false, "code": 77, "phoneNumber": "+33612345681",
                        "message": "Quota",
                    ],
                    ["success": true, "code": 200, "phoneNumber": "+33699999999"],
                ],
                "rapport": ["success": 1, "errors": 3],
            ])
        let batch = try [
            "+33612345678", "+33612345679", "+33612345680", "+33612345681", "+33612345682",
        ].map { try contact($0) }

        let results = try await provider.add(batch, to: "G-12", context: context(transport))

        #expect(results[0] == .added(id: "991"))
        #expect(results[1].status == .skipped)
        #expect(results[1].error?.code == .alreadyInList)
        #expect(results[1].error?.providerCode == "15")
        #expect(results[2].status == .rejected)
        #expect(results[2].error?.code == .invalidPhone)
        #expect(results[2].error?.providerCode == "9")
        #expect(results[2].error?.message.contains("Numéro invalide") == true)
        #expect(results[3].status == .rejected)
        #expect(results[3].error?.code == .providerError)
        #expect(results[3].error?.providerCode == "77")
        #expect(results[4].status == .failed)
        #expect(results[4].error?.code == .providerError)
        #expect(results[4].error?.message.contains("no result for +33612345682") == true)
    }

    struct CodeCase: Sendable, CustomStringConvertible {
        var code: Int
        var status: ContactResult.Status?  // nil: the batch throws
        var taxonomy: ContactError.Code
        var description: String { "code \(code) → \(taxonomy)" }
    }

    @Test(arguments: [
        CodeCase(code: 1, status: nil, taxonomy: .listNotFound),
        CodeCase(code: 2, status: .rejected, taxonomy: .missingField),
        CodeCase(code: 9, status: .rejected, taxonomy: .invalidPhone),
        CodeCase(code: 10, status: nil, taxonomy: .authFailed),
        CodeCase(code: 15, status: .skipped, taxonomy: .alreadyInList),
        CodeCase(code: 42, status: .rejected, taxonomy: .providerError),
    ])
    func documentedControlCodesMapToTheTaxonomy(_ test: CodeCase) async throws {
        let transport = Self.reply(
            200,
            [
                "success": false, "code": .int(Int64(test.code)),
                "message": .string("message for code \(test.code), key \(Self.apiKey)"),
            ])
        let jean = try contact("+33612345678")
        if let status = test.status {
            let results = try await provider.add([jean], to: "G-12", context: context(transport))
            #expect(results.count == 1)
            #expect(results[0].status == status)
            #expect(results[0].error?.code == test.taxonomy)
            #expect(results[0].error?.providerCode == String(test.code))
            #expect(results[0].error?.message.contains("message for code \(test.code)") == true)
            #expect(results[0].error?.description.contains(Self.apiKey) == false)
        } else {
            let error = try await #require(throws: ContactError.self) {
                try await provider.add([jean], to: "G-12", context: context(transport))
            }
            #expect(error.code == test.taxonomy)
            #expect(error.providerCode == String(test.code))
            #expect(!error.isTransient)
            #expect(!error.description.contains(Self.apiKey))
        }
    }

    @Test func aBatchLevelCodeInABulkAnswerFailsTheBatch() async throws {
        let transport = Self.reply(
            200, ["success": false, "code": 10, "message": "Clé API incorrecte"])
        let error = try await #require(throws: ContactError.self) {
            try await provider.add(
                [try contact("+33612345678"), try contact("+33612345679")], to: "G-12",
                context: context(transport))
        }
        #expect(error.code == .authFailed)
        #expect(error.providerCode == "10")
    }

    struct StatusCase: Sendable, CustomStringConvertible {
        var status: Int
        var headers: [String: String] = [:]
        var code: ContactError.Code
        var transient: Bool
        var retryAfter: Duration? = nil
        var description: String { "HTTP \(status) → \(code)" }
    }

    @Test(arguments: [
        StatusCase(status: 401, code: .authFailed, transient: false),
        StatusCase(
            status: 429, headers: ["Retry-After": "12"], code: .rateLimited, transient: true,
            retryAfter: .seconds(12)),
        StatusCase(status: 500, code: .providerError, transient: true),
        StatusCase(status: 502, code: .providerError, transient: true),
    ])
    func httpStatusesFailTheBatchWithTheRightCode(_ test: StatusCase) async throws {
        let transport = MockTransport.text(
            status: test.status, "<html>error for apiKey=\(Self.apiKey)</html>",
            headers: test.headers)
        let error = try await #require(throws: ContactError.self) {
            try await provider.add(
                [try contact("+33612345678")], to: "G-12", context: context(transport))
        }
        #expect(error.code == test.code)
        #expect(error.isTransient == test.transient)
        #expect(error.retryAfter == test.retryAfter)
        #expect(error.provider == "smspartner")
        #expect(error.message.contains("HTTP \(test.status)"))
        #expect(!error.description.contains(Self.apiKey))
    }

    // MARK: Delete

    /// A list of `pages` pages of 20 contacts (the last one shorter when `lastCount` is
    /// given), with `extra` contacts appended to the given page.
    static func listServer(
        pages: Int, lastCount: Int? = nil, total: Int? = nil,
        extra: [Int: [JSONValue]] = [:], deleteStatus: Int = 200
    ) -> MockTransport {
        MockTransport { request in
            let components = URLComponents(url: request.url, resolvingAgainstBaseURL: false)
            if request.url.path.hasSuffix("/v1/contact/delete") {
                if deleteStatus == 404 {
                    return response(["success": false, "code": 404], status: 404)
                }
                return response(["success": true, "code": 200])
            }
            let page = Int(components?.queryItems?.first { $0.name == "page" }?.value ?? "") ?? 0
            var datas: [JSONValue] = []
            if (1...pages).contains(page) {
                let count = page == pages ? (lastCount ?? 20) : 20
                for row in 0..<count {
                    let suffix = String(format: "%02d%02d", page, row)
                    datas.append(
                        [
                            "contactId": .string("id-\(page)-\(row)"),
                            "phone": .string("061100\(suffix)"), "firstname": "X",
                        ])
                }
                datas += extra[page] ?? []
            }
            return response([
                "success": true, "code": 200, "currentPage": .int(Int64(page)),
                "total": .int(Int64(total ?? (pages - 1) * 20 + (lastCount ?? 20))),
                "datas": .array(datas),
            ])
        }
    }

    @Test func deletePagesThroughTheListToFindANumberOnPageThree() async throws {
        let transport = Self.listServer(
            pages: 3, lastCount: 5, total: 46,
            extra: [3: [["contactId": "c-target", "phone": "06 98 76 54 32", "lastname": "Y"]]])
        let target = try contact("+33698765432")

        let results = try await provider.delete([target], from: "G-12", context: context(transport))

        #expect(results == [.deleted(id: "c-target")])
        let requests = transport.requests
        #expect(requests.count == 4)
        for (index, request) in requests.prefix(3).enumerated() {
            #expect(request.method == "GET")
            #expect(request.url.path == "/v1/contact/list")
            #expect(request.body == nil)
            #expect(
                query(request) == [
                    "apiKey": Self.apiKey, "groupId": "G-12", "page": String(index + 1),
                ])
        }
        let delete = requests[3]
        #expect(delete.method == "POST")
        #expect(delete.url.absoluteString == "http://api.smspartner.fr/v1/contact/delete")
        #expect(delete.url.query == nil)
        #expect(try body(delete) == ["apiKey": .string(Self.apiKey), "contactId": "c-target"])
    }

    @Test func deleteOfAnAbsentNumberIsSkippedAndSendsNoDelete() async throws {
        let transport = Self.listServer(pages: 2, lastCount: 7)
        let results = try await provider.delete(
            [try contact("+33698765432")], from: "G-12", context: context(transport))
        #expect(results.count == 1)
        #expect(results[0].status == .skipped)
        #expect(results[0].error?.code == .notInList)
        #expect(transport.requests.count == 2)
        #expect(transport.requests.allSatisfy { $0.method == "GET" })
    }

    @Test func deleteStopsScanningOnceTotalContactsWereSeen() async throws {
        // Two full pages and total 40: page 3 is never asked for.
        let transport = Self.listServer(pages: 2, total: 40)
        let results = try await provider.delete(
            [try contact("+33698765432")], from: "G-12", context: context(transport))
        #expect(results.map(\.status) == [.skipped])
        #expect(transport.requests.map { query($0)["page"] } == ["1", "2"])
    }

    @Test func deleteWithoutTotalReadsUntilAnEmptyPage() async throws {
        let transport = MockTransport { request in
            let page = URLComponents(url: request.url, resolvingAgainstBaseURL: false)?
                .queryItems?.first { $0.name == "page" }?.value
            let datas: [JSONValue] =
                page == "1"
                ? (0..<20).map {
                    ["contactId": .string("k\($0)"), "phone": .string("+336110003\(10 + $0)")]
                }
                : []
            return Self.response(["success": true, "code": 200, "datas": .array(datas)])
        }
        let results = try await provider.delete(
            [try contact("+33698765432")], from: "G-12", context: context(transport))
        #expect(results.map(\.status) == [.skipped])
        #expect(transport.requests.map { query($0)["page"] } == ["1", "2"])
    }

    @Test func deleteStopsScanningOnceEveryNumberIsFound() async throws {
        let transport = Self.listServer(pages: 50)
        // Both numbers are on page 1 (national 0611000103 and 0611000117).
        let batch = [try contact("+33611000103"), try contact("0611000117")]
        let results = try await provider.delete(batch, from: "G-12", context: context(transport))
        #expect(results == [.deleted(id: "id-1-3"), .deleted(id: "id-1-17")])
        #expect(transport.requests.filter { $0.method == "GET" }.count == 1)
        #expect(transport.requests.filter { $0.method == "POST" }.count == 2)
    }

    @Test func aDelete404IsSkippedNotInList() async throws {
        let transport = Self.listServer(pages: 1, lastCount: 3, deleteStatus: 404)
        let results = try await provider.delete(
            [try contact("+33611000102")], from: "G-12", context: context(transport))
        #expect(results.count == 1)
        #expect(results[0].status == .skipped)
        #expect(results[0].error?.code == .notInList)
    }

    @Test func aServerRepeatingTheSamePageEndsTheScan() async throws {
        let page: JSONValue = [
            "success": true, "code": 200, "currentPage": 1,
            "datas": .array(
                (0..<20).map { row in
                    ["contactId": .string("r\(row)"), "phone": .string("+336110002\(10 + row)")]
                }),
        ]
        let transport = Self.reply(200, page)
        let results = try await provider.delete(
            [try contact("+33698765432")], from: "G-12", context: context(transport))
        #expect(results.map(\.status) == [.skipped])
        #expect(transport.requests.count == 2)
    }

    @Test func theScanIsBoundedByMaxListPages() async throws {
        let bounded = SMSPartnerProvider(configuration: .init(maxListPages: 3))
        let transport = Self.listServer(pages: 1_000_000)
        let results = try await bounded.delete(
            [try contact("+33698765432")], from: "G-12", context: context(transport))
        #expect(transport.requests.count == 3)
        #expect(results[0].status == .failed)
        #expect(results[0].error?.code == .providerError)
        #expect(results[0].error?.message.contains("3 page(s)") == true)
    }

    @Test func anUnknownGroupWhileListingThrowsListNotFound() async throws {
        let transport = Self.reply(
            200, ["success": false, "code": 1, "message": "groupId est requis"])
        let error = try await #require(throws: ContactError.self) {
            try await provider.delete(
                [try contact("+33698765432")], from: "nope", context: context(transport))
        }
        #expect(error.code == .listNotFound)
        #expect(error.providerCode == "1")
        #expect(error.operation == ContactOperation.delete)
        #expect(transport.requests.count == 1)
    }

    @Test func aTransportErrorQuotingTheListURLNeverShowsTheKey() async throws {
        let transport = MockTransport { request in
            throw ContactError(
                .transportError, "could not reach \(request.url.absoluteString)",
                isTransient: true)
        }
        let error = try await #require(throws: ContactError.self) {
            try await provider.delete(
                [try contact("+33698765432")], from: "G-12", context: context(transport))
        }
        #expect(error.code == .transportError)
        #expect(error.isTransient)
        #expect(!error.description.contains(Self.apiKey))
        #expect(error.message.contains("apiKey=***"))
    }

    @Test func endpointPathPrefixIsKeptForGetAndPost() async throws {
        let transport = Self.listServer(
            pages: 1, lastCount: 1, extra: [1: [["contactId": "c9", "phone": "+33698765432"]]])
        _ = try await provider.delete(
            [try contact("+33698765432")], from: "G-12",
            context: context(transport, endpoint: "http://127.0.0.1:9000/smspartner"))
        #expect(transport.requests[0].url.path == "/smspartner/v1/contact/list")
        #expect(transport.requests[1].url.path == "/smspartner/v1/contact/delete")
    }

    // MARK: Descriptor and local rules

    @Test func descriptorDescribesTheProvider() {
        let descriptor = provider.descriptor
        #expect(descriptor.name == "smspartner")
        #expect(descriptor.credentialKeys == ["api_key"])
        // https, although the docs mix http and https: the API key travels in the body.
        #expect(descriptor.defaultEndpoint.absoluteString == "https://api.smspartner.fr")
        #expect(descriptor.defaultRegion == "FR")
        #expect(descriptor.operations == [.add, .delete, .update, .list])
        #expect(descriptor.batchSize(for: .add) == 500)
        #expect(descriptor.batchSize(for: .delete) == 100)
        #expect(descriptor.standardFields == ["first_name", "last_name", "birthday"])
        #expect(
            Set(descriptor.customFields)
                == ["custom1", "custom2", "custom3", "custom4", "url", "shortUrlPartnr"])
        #expect(descriptor.maxLengths == ["first_name": 32, "last_name": 32])
        let clamped = SMSPartnerProvider(configuration: .init(addBatchSize: 10_000))
        #expect(clamped.descriptor.batchSize(for: .add) == 500)
        // The descriptor is kept, and follows a change of the configuration.
        var changed = SMSPartnerProvider()
        changed.configuration.addBatchSize = 7
        #expect(changed.descriptor.batchSize(for: .add) == 7)
    }

    struct RuleCase: Sendable, CustomStringConvertible {
        var name: String
        var first: String? = nil
        var last: String? = nil
        var fields: [String: String] = [:]
        var code: ContactError.Code
        var field: String
        var description: String { name }
    }

    @Test(arguments: [
        RuleCase(
            name: "33-char first name", first: String(repeating: "é", count: 33),
            code: .fieldTooLong, field: "first_name"),
        RuleCase(
            name: "33-char last name", last: String(repeating: "b", count: 33),
            code: .fieldTooLong, field: "last_name"),
        RuleCase(name: "ftp url", fields: ["url": "ftp://x"], code: .invalidField, field: "url"),
        RuleCase(
            name: "bare short url", fields: ["shortUrlPartnr": "www.x.fr"], code: .invalidField,
            field: "shortUrlPartnr"),
        RuleCase(name: "custom5", fields: ["custom5": "v"], code: .invalidField, field: "custom5"),
    ])
    func localRuleViolationsAreRejectedAndNothingIsSent(_ test: RuleCase) async throws {
        let transport = MockTransport.unreachable
        let bad = try contact(
            "+33612345678", first: test.first, last: test.last, fields: test.fields)
        let error = try #require(provider.check(bad, for: .add))
        #expect(error.code == test.code)
        #expect(error.field == test.field)
        let results = try await SGASPTestEngine.add(
            [bad], to: "G-12", provider: provider, context: context(transport))
        #expect(results.map(\.status) == [.rejected])
        #expect(transport.requests.isEmpty)
    }

    @Test func valuesAtTheLimitsPassTheLocalChecks() throws {
        let good = try contact(
            "+33612345678", first: String(repeating: "é", count: 32),
            last: String(repeating: "b", count: 32),
            fields: ["url": "https://x.fr", "shortUrlPartnr": "http://y.fr", "custom4": "z"])
        #expect(provider.check(good, for: .add) == nil)
        #expect(provider.checkList("", options: [:], for: .add)?.code == .missingField)
        #expect(provider.checkList(" \t", options: [:], for: .delete)?.code == .missingField)
        #expect(provider.checkList("G-12", options: [:], for: .add) == nil)
    }

    // MARK: Payload hook

    @Test func payloadHookEditsTheContactObjectAndItsFailureFailsOnlyThatContact() async throws {
        let calls = Mutex(0)
        let hook: PayloadHook = { provider, contact, payload in
            calls.withLock { $0 += 1 }
            #expect(provider == "smspartner")
            if contact.phone.e164 == "+33612345679" {
                throw ContactError(.pluginError, "payload(): boom")
            }
            guard var object = payload.objectValue else { return payload }
            object["custom1"] = .string("hooked " + contact.phone.e164)
            return .object(object)
        }
        let transport = Self.reply(
            200,
            [
                "results": [
                    ["success": true, "code": 200, "phoneNumber": "+33612345678"],
                    ["success": true, "code": 200, "phoneNumber": "+33612345680"],
                ]
            ])
        let batch = try ["+33612345678", "+33612345679", "+33612345680"].map { try contact($0) }

        let results = try await provider.add(
            batch, to: "G-12", context: context(transport, hook: hook))

        #expect(calls.withLock { $0 } == 3)
        #expect(results[0] == .added())
        #expect(results[1].status == .failed)
        #expect(results[1].error?.code == .pluginError)
        #expect(results[2] == .added())
        let list = try #require(try body(transport.requests[0])["contactsList"]?.arrayValue)
        #expect(
            list == [
                ["phoneNumber": "+33612345678", "custom1": "hooked +33612345678"],
                ["phoneNumber": "+33612345680", "custom1": "hooked +33612345680"],
            ])
    }

    @Test func aMissingAPIKeyIsRefusedByTheClientAndNothingIsSent() async throws {
        let transport = MockTransport.unreachable
        let error = try #require(
            await ClientSupport.refusal(
                provider, transport, credentials: [:], operation: .delete, list: "G-12",
                contacts: [try contact("+33612345678")]))
        #expect(error.code == .missingCredential)
        #expect(error.credentialKey == "api_key")
        #expect(transport.requests.isEmpty)
    }
}
