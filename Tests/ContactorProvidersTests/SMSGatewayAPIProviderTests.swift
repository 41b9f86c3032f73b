import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import Synchronization
import Testing

/// Golden tests for the SMS Gateway API adapter, built from the provider's documentation
/// page (`smsgatewayapi-contact-add.txt`).
@Suite struct SMSGatewayAPIProviderTests {
    static let clientID = "sga-client-id-7f3a9"
    static let clientSecret = "sga-client-secret-Q8zK2"
    static let numbers = [
        "436501234567", "436501234568", "436501234569", "436501234570", "436501234571",
    ]

    let provider = SMSGatewayAPIProvider()

    func context(
        _ transport: MockTransport, endpoint: String = "https://api.smsgatewayapi.com",
        credentials: [String: String]? = nil, hook: PayloadHook? = nil
    ) -> ProviderContext {
        ProviderContext(
            transport: transport,
            credentials: Credentials(
                provider: "smsgatewayapi",
                credentials ?? ["client_id": Self.clientID, "client_secret": Self.clientSecret]),
            endpoint: URL(string: endpoint)!, payloadHook: hook)
    }

    func contact(
        _ digits: String, first: String? = nil, last: String? = nil, birthday: String? = nil,
        fields: [String: String] = [:]
    ) throws -> Contact {
        Contact(
            phone: try PhoneNumber(parsing: "+" + digits), firstName: first, lastName: last,
            birthday: birthday.flatMap(CalendarDate.init), fields: fields)
    }

    func body(_ request: SentRequest) throws -> JSONValue {
        try JSONValue.decode(try #require(request.body))
    }

    static func reply(
        _ status: Int, _ json: JSONValue, headers: [String: String] = [:]
    )
        -> MockTransport
    {
        MockTransport { _ in MockResponse(status: status, headers: headers, body: json.encoded()) }
    }

    // MARK: Requests

    @Test func singleAddSendsTheDocumentedObjectWithHeaders() async throws {
        let transport = Self.reply(200, ["ID": [1001]])
        let john = try contact(
            Self.numbers[0], first: "John", last: "Doe", birthday: "1997-03-23",
            fields: ["extra1": "Marketing"])

        let results = try await provider.add([john], to: "4711", context: context(transport))

        #expect(results == [.added(id: "1001")])
        let request = try #require(transport.requests.first)
        #expect(transport.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://api.smsgatewayapi.com/v1/contact")
        #expect(request.header("X-Client-Id") == Self.clientID)
        #expect(request.header("X-Client-Secret") == Self.clientSecret)
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Accept") == "application/json")
        let sent = try body(request)
        #expect(sent["phone"] == "436501234567")
        #expect(sent["groupid"] == "4711")
        #expect(sent["firstname"] == "John")
        #expect(sent["lastname"] == "Doe")
        #expect(sent["extra1"] == "Marketing")
        #expect(sent["birthday"] == "1997-03-23")
        #expect(sent.objectValue?.count == 6)
    }

    @Test func multipleAddSendsTheDocumentedArrayAndKeepsIDsAsText() async throws {
        let transport = Self.reply(200, ["IDs": [11, "12"]])
        let john = try contact(
            Self.numbers[0], first: "John", last: "Doe", birthday: "2000-01-01",
            fields: ["extra1": "Marketing"])
        let jane = try contact(
            Self.numbers[1], first: "Jane", last: "Doe", birthday: "2000-01-01",
            fields: ["extra1": "Marketing"])

        let results = try await provider.add([john, jane], to: "4711", context: context(transport))

        #expect(results == [.added(id: "11"), .added(id: "12")])
        let sent = try body(try #require(transport.requests.first))
        let expected: JSONValue = [
            [
                "phone": "436501234567", "groupid": "4711", "firstname": "John",
                "lastname": "Doe", "extra1": "Marketing", "birthday": "2000-01-01",
            ],
            [
                "phone": "436501234568", "groupid": "4711", "firstname": "Jane",
                "lastname": "Doe", "extra1": "Marketing", "birthday": "2000-01-01",
            ],
        ]
        #expect(sent == expected)
    }

    @Test func nilFieldsAreLeftOutAndExtrasAndUnsubscribedAreSent() async throws {
        let transport = Self.reply(200, ["ID": ["a1"]])
        let bare = try contact(Self.numbers[0])
        _ = try await provider.add([bare], to: "9", context: context(transport))
        #expect(try body(transport.requests[0]) == ["phone": "436501234567", "groupid": "9"])

        let extras = try contact(
            Self.numbers[1], fields: ["extra3": "x3", "extra8": "x8", "unsubscribed": "TRUE"])
        _ = try await provider.add([extras], to: "9", context: context(transport))
        #expect(
            try body(transport.requests[1]) == [
                "phone": "436501234568", "groupid": "9", "extra3": "x3", "extra8": "x8",
                "unsubscribed": 1,
            ])
    }

    @Test func endpointPathPrefixIsKept() async throws {
        let transport = Self.reply(200, ["ID": [1]])
        _ = try await provider.add(
            [try contact(Self.numbers[0])], to: "1",
            context: context(transport, endpoint: "http://127.0.0.1:8080/sga/"))
        #expect(transport.requests[0].url.absoluteString == "http://127.0.0.1:8080/sga/v1/contact")
    }

    @Test func theConfiguredTimeoutIsSetOnTheRequest() async throws {
        let transport = Self.reply(200, ["ID": [1]])
        let slow = SMSGatewayAPIProvider(configuration: .init(requestTimeout: .seconds(9)))
        _ = try await slow.add([try contact(Self.numbers[0])], to: "1", context: context(transport))
        #expect(transport.requestContexts[0].timeout == .seconds(9))
    }

    // MARK: Answers

    @Test func partialBatchMatchesErrorsByNumberAndGivesIDsInOrderToTheOthers() async throws {
        let transport = Self.reply(
            200,
            [
                "IDs": [501, 503, 505],
                "errors": [
                    ["error": 103, "errorMsg": "Phone number +436501234568 is not valid"],
                    ["error": 103, "errorMsg": "Phone number 436501234570 is not valid"],
                ],
            ])
        let batch = try Self.numbers.map { try contact($0) }

        let results = try await provider.add(batch, to: "4711", context: context(transport))

        #expect(results.count == 5)
        #expect(results[0] == .added(id: "501"))
        #expect(results[2] == .added(id: "503"))
        #expect(results[4] == .added(id: "505"))
        for (index, number) in [(1, "436501234568"), (3, "436501234570")] {
            #expect(results[index].status == .rejected)
            #expect(results[index].error?.code == .invalidPhone)
            #expect(results[index].error?.providerCode == "103")
            #expect(results[index].error?.message.contains("Phone number") == true)
            #expect(results[index].error?.message.contains(number) == true)
        }
    }

    @Test func otherErrorNumbersAreProviderErrorsWithTheirCode() async throws {
        let transport = Self.reply(
            200,
            [
                "IDs": [1],
                "errors": [["error": 117, "errorMsg": "Phone number 436501234568 is blocked"]],
            ])
        let results = try await provider.add(
            [try contact(Self.numbers[0]), try contact(Self.numbers[1])], to: "1",
            context: context(transport))
        #expect(results[0] == .added(id: "1"))
        #expect(results[1].status == .rejected)
        #expect(results[1].error?.code == .providerError)
        #expect(results[1].error?.providerCode == "117")
    }

    @Test func answersThatDoNotAddUpFailTheUnmatchedContactsInsteadOfGuessing() async throws {
        // Three contacts, one error matched, but a single id for the two others.
        let transport = Self.reply(
            200,
            [
                "IDs": [900],
                "errors": [["error": 103, "errorMsg": "Phone number 436501234568 is not valid"]],
            ])
        let batch = try Self.numbers.prefix(3).map { try contact($0) }

        let results = try await provider.add(batch, to: "1", context: context(transport))

        #expect(results[1].status == .rejected)
        #expect(results[1].error?.code == .invalidPhone)
        for index in [0, 2] {
            #expect(results[index].status == .failed)
            #expect(results[index].id == nil)
            #expect(results[index].error?.code == .providerError)
            #expect(results[index].error?.message.contains("do not match up") == true)
        }
    }

    @Test func anErrorNamingAnUnsentNumberMakesTheAnswerUntrusted() async throws {
        let transport = Self.reply(
            200,
            [
                "IDs": [1, 2],
                "errors": [["error": 103, "errorMsg": "Phone number 999999999 is not valid"]],
            ])
        let results = try await provider.add(
            [try contact(Self.numbers[0]), try contact(Self.numbers[1])], to: "1",
            context: context(transport))
        #expect(results.allSatisfy { $0.status == .failed && $0.error?.code == .providerError })
    }

    @Test func aSuccessAnswerWithoutIDsOrErrorsFailsEachContact() async throws {
        let transport = MockTransport.text(status: 200, "OK")
        let results = try await provider.add(
            [try contact(Self.numbers[0]), try contact(Self.numbers[1])], to: "1",
            context: context(transport))
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.status == .failed && $0.error?.code == .providerError })
    }

    @Test func aRefusedSingleContactWithTheDocumentedErrorIsRejectedNotThrown() async throws {
        let transport = Self.reply(
            400, ["errors": [["error": 103, "errorMsg": "Phone number 436501234567 is not valid"]]])
        let results = try await provider.add(
            [try contact(Self.numbers[0])], to: "1", context: context(transport))
        #expect(results.count == 1)
        #expect(results[0].status == .rejected)
        #expect(results[0].error?.code == .invalidPhone)
        #expect(results[0].error?.providerCode == "103")
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
        StatusCase(status: 403, code: .authFailed, transient: false),
        StatusCase(status: 404, code: .listNotFound, transient: false),
        StatusCase(
            status: 429, headers: ["Retry-After": "7"], code: .rateLimited, transient: true,
            retryAfter: .seconds(7)),
        StatusCase(status: 500, code: .providerError, transient: true),
        StatusCase(status: 503, code: .providerError, transient: true),
        StatusCase(status: 400, code: .providerError, transient: false),
        StatusCase(status: 422, code: .providerError, transient: false),
    ])
    func httpStatusesFailTheBatchWithTheRightCode(_ test: StatusCase) async throws {
        // The body echoes the secret, as a careless server might: it must not leak.
        let transport = Self.reply(
            test.status, ["message": .string("refused \(Self.clientSecret) for \(Self.clientID)")],
            headers: test.headers)
        let error = try await #require(throws: ContactError.self) {
            try await provider.add(
                [try contact(Self.numbers[0])], to: "4711", context: context(transport))
        }
        #expect(error.code == test.code)
        #expect(error.isTransient == test.transient)
        #expect(error.retryAfter == test.retryAfter)
        #expect(error.provider == "smsgatewayapi")
        #expect(error.operation == ContactOperation.add)
        #expect(error.message.contains("HTTP \(test.status)"))
        #expect(error.message.contains("refused"))
        for secret in [Self.clientID, Self.clientSecret] {
            #expect(!error.message.contains(secret))
            #expect(!error.description.contains(secret))
        }
    }

    @Test func aTransportFailureQuotingSecretsIsRedacted() async throws {
        let transport = MockTransport.failing(
            ContactError(
                .transportError,
                "connection reset while sending X-Client-Secret: \(Self.clientSecret)",
                isTransient: true))
        let error = try await #require(throws: ContactError.self) {
            try await provider.add(
                [try contact(Self.numbers[0])], to: "1", context: context(transport))
        }
        #expect(error.code == .transportError)
        #expect(error.isTransient)
        #expect(error.provider == "smsgatewayapi")
        #expect(!error.description.contains(Self.clientSecret))
    }

    @Test func aMissingCredentialIsRefusedByTheClientNamingItAndNothingIsSent() async throws {
        let transport = MockTransport.unreachable
        let error = try #require(
            await ClientSupport.refusal(
                provider, transport, credentials: ["client_id": Self.clientID], list: "1",
                contacts: [try contact(Self.numbers[0])]))
        #expect(error.code == .missingCredential)
        #expect(error.credentialKey == "client_secret")
        #expect(transport.requests.isEmpty)
    }

    // MARK: Delete

    @Test func deleteIsReportedAsUnsupportedAndSendsNothing() async throws {
        let transport = MockTransport.unreachable
        let error = try await #require(throws: ContactError.self) {
            try await provider.delete(
                [try contact(Self.numbers[0])], from: "1", context: context(transport))
        }
        #expect(error.code == .unsupportedOperation)
        #expect(error.message == "delete is not supported by smsgatewayapi")
        #expect(error.operation == ContactOperation.delete)
        #expect(transport.requests.isEmpty)
        #expect(!provider.descriptor.supports(.delete))
    }

    // MARK: Descriptor and local rules

    @Test func descriptorDescribesTheProvider() {
        let descriptor = provider.descriptor
        #expect(descriptor.name == "smsgatewayapi")
        #expect(descriptor.credentialKeys == ["client_id", "client_secret"])
        #expect(descriptor.defaultEndpoint.absoluteString == "https://api.smsgatewayapi.com")
        #expect(descriptor.defaultRegion == nil)
        #expect(descriptor.operations == [.add, .update])
        #expect(descriptor.batchSize(for: .add) == 100)
        // The descriptor is kept, and follows a change of the configuration.
        var changed = SMSGatewayAPIProvider()
        changed.configuration.addBatchSize = 7
        #expect(changed.descriptor.batchSize(for: .add) == 7)
        #expect(descriptor.standardFields == ["first_name", "last_name", "birthday"])
        #expect(
            descriptor.customFields == [
                "extra1", "extra2", "extra3", "extra4", "extra5", "extra6", "extra7", "extra8",
                "unsubscribed",
            ])
        let small = SMSGatewayAPIProvider(configuration: .init(addBatchSize: 0))
        #expect(small.descriptor.batchSize(for: .add) == 1)
    }

    @Test(arguments: [
        ("param1", "1", ContactError.Code.invalidField),
        ("extra9", "x", ContactError.Code.invalidField),
        ("unsubscribed", "maybe", ContactError.Code.invalidField),
    ])
    func fieldsTheProviderHasNoPlaceForAreRejectedLocallyAndNothingIsSent(
        field: String, value: String, code: ContactError.Code
    ) async throws {
        let transport = MockTransport.unreachable
        let bad = try contact(Self.numbers[0], fields: [field: value])
        let error = try #require(provider.check(bad, for: .add))
        #expect(error.code == code)
        #expect(error.field == field)
        let results = try await SGASPTestEngine.add(
            [bad], to: "1", provider: provider, context: context(transport))
        #expect(results.map(\.status) == [.rejected])
        #expect(transport.requests.isEmpty)
    }

    @Test func acceptedFieldsPassTheLocalChecks() throws {
        let good = try contact(
            Self.numbers[0], first: String(repeating: "a", count: 200),
            fields: ["extra1": "x", "extra8": "y", "unsubscribed": "no"])
        #expect(provider.check(good, for: .add) == nil)
        #expect(provider.checkList("  ", options: [:], for: .add)?.code == .missingField)
        #expect(provider.checkList("4711", options: [:], for: .add) == nil)
    }

    // MARK: Payload hook

    @Test func payloadHookEditsEachContactOnceAndItsFailureFailsOnlyThatContact() async throws {
        let calls = Mutex<[String]>([])
        let hook: PayloadHook = { provider, contact, payload in
            calls.withLock { $0.append("\(provider) \(contact.phone.e164)") }
            if contact.phone.e164 == "+436501234568" {
                throw ContactError(.pluginError, "payload(): attempt to index a nil value")
            }
            guard var object = payload.objectValue else { return payload }
            object["extra2"] = "from-hook"
            return .object(object)
        }
        let transport = Self.reply(200, ["IDs": [71, 73]])
        let batch = try Self.numbers.prefix(3).map { try contact($0) }

        let results = try await provider.add(
            batch, to: "4711", context: context(transport, hook: hook))

        #expect(
            calls.withLock { $0 } == [
                "smsgatewayapi +436501234567", "smsgatewayapi +436501234568",
                "smsgatewayapi +436501234569",
            ])
        #expect(results[0] == .added(id: "71"))
        #expect(results[1].status == .failed)
        #expect(results[1].error?.code == .pluginError)
        #expect(results[2] == .added(id: "73"))
        let sent = try #require(try body(transport.requests[0]).arrayValue)
        #expect(sent.map { $0["phone"] } == ["436501234567", "436501234569"])
        #expect(sent.allSatisfy { $0["extra2"] == "from-hook" })
    }

    @Test func aHookThatFailsEveryContactSendsNothing() async throws {
        let transport = MockTransport.unreachable
        let hook: PayloadHook = { _, _, _ in "not an object" }
        let results = try await provider.add(
            [try contact(Self.numbers[0])], to: "1", context: context(transport, hook: hook))
        #expect(results.map(\.status) == [.failed])
        #expect(results[0].error?.code == .pluginError)
        #expect(transport.requests.isEmpty)
    }
}

/// What the engine does before calling a provider, reduced to its rules: the list and
/// each contact are checked locally, and only contacts that pass reach `add`.
enum SGASPTestEngine {
    static func add(
        _ contacts: [Contact], to list: String, provider: some ContactProvider,
        context: ProviderContext
    ) async throws -> [ContactResult] {
        if let error = provider.checkList(list, options: [:], for: .add) {
            return contacts.map { _ in .rejected(error) }
        }
        var results = [ContactResult?](repeating: nil, count: contacts.count)
        var passing: [Int] = []
        for (index, contact) in contacts.enumerated() {
            if let error = provider.check(contact, for: .add) {
                results[index] = .rejected(error)
            } else {
                passing.append(index)
            }
        }
        if !passing.isEmpty {
            let sent = try await provider.add(
                passing.map { contacts[$0] }, to: list, context: context)
            for (index, result) in zip(passing, sent) { results[index] = result }
        }
        return results.map { $0! }
    }
}
