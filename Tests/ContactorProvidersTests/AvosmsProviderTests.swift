import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import Testing

private typealias Support = AvosmsOctopushTestSupport

/// One documented (or undocumented) Avosms answer code and the result it must give.
struct AvosmsCodeCase: Sendable, CustomTestStringConvertible {
    var operation: ContactOperation
    var code: String
    var status: ContactResult.Status
    var error: ContactError.Code?
    var transient = false

    var testDescription: String { "\(operation) \(code) → \(status) \(error?.rawValue ?? "")" }
}

@Suite("Avosms adapter")
struct AvosmsProviderTests {
    /// The test credentials as a client takes them.
    static let credentialValues = ["id": Support.avosmsID, "key": Support.avosmsKey]

    let provider = AvosmsProvider()

    func context(
        _ transport: MockTransport, endpoint: String = "https://api.avosms.com",
        hook: PayloadHook? = nil, credentials: Credentials = Support.avosmsCredentials
    ) -> ProviderContext {
        Support.context(transport, credentials: credentials, endpoint: endpoint, hook: hook)
    }

    func fullContact() throws -> Contact {
        Contact(
            phone: try Support.phone("06 12 34 56 78"), firstName: "Axelle", lastName: "Durand",
            email: "axelle@example.org", birthday: CalendarDate("1990-04-23"), civility: "Mme",
            fields: ["other": "VIP client"])
    }

    static let ok: JSONValue = ["status": "success", "code": "OK"]

    // MARK: - Descriptor

    @Test func descriptorDescribesAvosms() {
        let descriptor = provider.descriptor
        #expect(descriptor.name == "avosms")
        #expect(descriptor.credentialKeys == ["id", "key"])
        #expect(descriptor.defaultEndpoint.absoluteString == "https://api.avosms.com")
        #expect(descriptor.defaultRegion == "FR")
        #expect(descriptor.batchSize(for: .add) == 1)
        #expect(descriptor.batchSize(for: .delete) == 1)
        #expect(descriptor.operations == [.add, .delete, .update, .list])
        #expect(
            Set(descriptor.standardFields)
                == ["first_name", "last_name", "email", "birthday", "civility"])
        #expect(descriptor.customFields == ["other"])
    }

    // MARK: - Golden requests

    @Test func addSendsTheDocumentedFormFields() async throws {
        let transport = MockTransport.json(Self.ok)
        let results = try await provider.add(
            [try fullContact()], to: "4242", context: context(transport))

        #expect(results == [.added()])
        let request = try #require(transport.requests.first)
        #expect(transport.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://api.avosms.com/v1/contact/add")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(request.header("Accept") == "application/json")
        #expect(
            Support.form(request) == [
                "id=\(Support.avosmsID)", "key=\(Support.avosmsKey)", "listContactId=4242",
                "contactTelephoneNumber=+33612345678", "contactCivility=Mme",
                "contactName=Durand", "contactFirstName=Axelle",
                "contactEmail=axelle@example.org", "contactBirthday=1990-04-23",
                "contactOther=VIP client",
            ])
        // Percent-encoded on the wire: `+` of the number and `@` of the id are escaped.
        let raw = String(decoding: request.body ?? Data(), as: UTF8.self)
        #expect(raw.contains("contactTelephoneNumber=%2B33612345678"))
        #expect(raw.contains("contactOther=VIP+client"))
    }

    @Test func addLeavesOutOptionalFieldsTheContactDoesNotHave() async throws {
        let transport = MockTransport.json(Self.ok)
        _ = try await provider.add(
            [Contact(phone: try Support.phone("+33612345678"), firstName: "Jo")], to: "7",
            context: context(transport))

        #expect(
            Support.form(try #require(transport.requests.first)) == [
                "id=\(Support.avosmsID)", "key=\(Support.avosmsKey)", "listContactId=7",
                "contactTelephoneNumber=+33612345678", "contactFirstName=Jo",
            ])
    }

    @Test func deleteSendsListAndNumberOnly() async throws {
        let transport = MockTransport.json(Self.ok)
        let results = try await provider.delete(
            [try fullContact()], from: "4242", context: context(transport))

        #expect(results == [.deleted()])
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://api.avosms.com/v1/contact/delete")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(request.header("Accept") == "application/json")
        #expect(
            Support.form(request) == [
                "id=\(Support.avosmsID)", "key=\(Support.avosmsKey)", "listContactId=4242",
                "contactTelephoneNumber=+33612345678",
            ])
    }

    @Test func endpointPathPrefixIsKept() async throws {
        let transport = MockTransport.json(Self.ok)
        _ = try await provider.add(
            [try fullContact()], to: "1",
            context: context(transport, endpoint: "http://127.0.0.1:8080/avosms/"))
        #expect(
            transport.requests.first?.url.absoluteString
                == "http://127.0.0.1:8080/avosms/v1/contact/add")
    }

    @Test func eachContactOfALargerBatchGetsItsOwnRequest() async throws {
        let transport = MockTransport.sequence([
            Support.response(200, Self.ok),
            Support.response(200, ["status": "error", "code": "ERR_104"]),
        ])
        let results = try await provider.add(
            [
                Contact(phone: try Support.phone("+33612345678")),
                Contact(phone: try Support.phone("+33698765432")),
            ], to: "1", context: context(transport))
        #expect(results.map(\.status) == [.added, .skipped])
        #expect(
            transport.requests.map { Support.form($0)[3] } == [
                "contactTelephoneNumber=+33612345678", "contactTelephoneNumber=+33698765432",
            ])
    }

    // MARK: - Answer codes

    static let codeCases: [AvosmsCodeCase] = [
        .init(operation: .add, code: "OK", status: .added),
        .init(operation: .add, code: " OK ", status: .added),
        .init(operation: .delete, code: "OK", status: .deleted),
        .init(operation: .add, code: "ERR_101", status: .rejected, error: .missingField),
        .init(operation: .delete, code: "ERR_101", status: .rejected, error: .missingField),
        .init(operation: .add, code: "ERR_102", status: .rejected, error: .missingField),
        .init(operation: .delete, code: "ERR_102", status: .rejected, error: .missingField),
        .init(operation: .add, code: "ERR_104", status: .skipped, error: .alreadyInList),
        .init(operation: .delete, code: "ERR_104", status: .skipped, error: .notInList),
        .init(operation: .add, code: "ERR_105", status: .rejected, error: .invalidPhone),
        .init(operation: .add, code: "ERR_106", status: .rejected, error: .wrongCountry),
        .init(operation: .add, code: "ERR_107", status: .rejected, error: .numberTypeNotAllowed),
        .init(
            operation: .add, code: "ERR_901", status: .failed, error: .providerError,
            transient: true),
        .init(
            operation: .add, code: "ERR_999", status: .failed, error: .providerError,
            transient: true),
        .init(
            operation: .delete, code: "ERR_950", status: .failed, error: .providerError,
            transient: true),
        .init(
            operation: .add, code: "ERR_9001", status: .failed, error: .providerError,
            transient: true),
        .init(operation: .add, code: "ERR_9XX", status: .failed, error: .providerError),
        .init(operation: .add, code: "ERR_108", status: .failed, error: .providerError),
        .init(operation: .add, code: "WHATEVER", status: .failed, error: .providerError),
    ]

    @Test(arguments: codeCases)
    func answerCodeGivesTheDocumentedResult(_ testCase: AvosmsCodeCase) async throws {
        let transport = MockTransport.json(["status": "x", "code": .string(testCase.code)])
        let contact = try fullContact()
        let results =
            testCase.operation == .add
            ? try await provider.add([contact], to: "4242", context: context(transport))
            : try await provider.delete([contact], from: "4242", context: context(transport))

        let result = try #require(results.first)
        #expect(results.count == 1)
        #expect(result.status == testCase.status)
        #expect(result.error?.code == testCase.error)
        if let error = result.error {
            let trimmed = testCase.code.trimmingCharacters(in: .whitespaces)
            #expect(error.providerCode == trimmed)
            #expect(error.isTransient == testCase.transient)
            #expect(error.provider == "avosms")
            #expect(error.operation == testCase.operation)
        }
    }

    @Test func numberTypeMessageNamesTheLineTypeAndWrongCountryTheRegion() async throws {
        let fixedLine = Contact(phone: try Support.phone("01 42 68 53 00"))
        let type = try await provider.add(
            [fixedLine], to: "9",
            context: context(MockTransport.json(["status": "error", "code": "ERR_107"])))
        #expect(type.first?.error?.message.contains("fixed_line") == true)
        #expect(type.first?.error?.message.contains("+33142685300") == true)

        let belgian = Contact(phone: try Support.phone("+32470123456"))
        let country = try await provider.add(
            [belgian], to: "9",
            context: context(MockTransport.json(["status": "error", "code": "ERR_106"])))
        #expect(country.first?.error?.message.contains("(BE)") == true)
        #expect(country.first?.error?.message.contains("list '9'") == true)
    }

    @Test(arguments: [ContactOperation.add, .delete])
    func err100ThrowsAuthFailedForTheBatch(_ operation: ContactOperation) async throws {
        let transport = MockTransport.json(["status": "error", "code": "ERR_100"])
        let error = await #expect(throws: ContactError.self) {
            try await perform(operation, context: context(transport))
        }
        #expect(error?.code == .authFailed)
        #expect(error?.providerCode == "ERR_100")
        #expect(error?.isTransient == false)
        #expect(error?.provider == "avosms")
    }

    @Test(arguments: [ContactOperation.add, .delete])
    func err103ThrowsListNotFoundNamingTheList(_ operation: ContactOperation) async throws {
        let transport = MockTransport.json(["status": "error", "code": "ERR_103"])
        let error = await #expect(throws: ContactError.self) {
            try await perform(operation, context: context(transport))
        }
        #expect(error?.code == .listNotFound)
        #expect(error?.providerCode == "ERR_103")
        #expect(error?.message.contains("'4242'") == true)
    }

    func perform(
        _ operation: ContactOperation, context: ProviderContext
    ) async throws
        -> [ContactResult]
    {
        let contact = try fullContact()
        return operation == .add
            ? try await provider.add([contact], to: "4242", context: context)
            : try await provider.delete([contact], from: "4242", context: context)
    }

    // MARK: - Unexpected answers and HTTP failures

    @Test(arguments: [
        MockResponse(status: 200, body: Data("<html>Gateway</html>".utf8)),
        MockResponse(status: 200, body: Data(#"{"status":"success"}"#.utf8)),
        MockResponse(status: 200, body: Data("[1,2,3]".utf8)),
        MockResponse(status: 200, body: Data(#"{"code":{"nested":true}}"#.utf8)),
        MockResponse(status: 200),
        MockResponse(status: 404, body: Data("Not Found".utf8)),
    ])
    func unexpectedAnswerFailsTheContactWithProviderError(_ response: MockResponse) async throws {
        let results = try await provider.add(
            [try fullContact()], to: "1", context: context(MockTransport { _ in response }))
        let error = try #require(results.first?.error)
        #expect(results.first?.status == .failed)
        #expect(error.code == .providerError)
        #expect(error.isTransient == false)
        #expect(error.message.contains("HTTP \(response.status)"))
    }

    @Test func http429ThrowsTransientRateLimitedHonouringRetryAfter() async throws {
        let transport = MockTransport.text(
            status: 429, "Too many requests", headers: ["Retry-After": "7"])
        let error = await #expect(throws: ContactError.self) {
            try await provider.add([try fullContact()], to: "1", context: context(transport))
        }
        #expect(error?.code == .rateLimited)
        #expect(error?.isTransient == true)
        #expect(error?.retryAfter == .seconds(7))
        #expect(error?.message.contains("Too many requests") == true)
    }

    @Test(arguments: [500, 502, 503])
    func http5xxThrowsTransientProviderError(_ status: Int) async throws {
        let transport = MockTransport.text(
            status: status, "upstream down", headers: ["Retry-After": "2"])
        let error = await #expect(throws: ContactError.self) {
            try await provider.delete([try fullContact()], from: "1", context: context(transport))
        }
        #expect(error?.code == .providerError)
        #expect(error?.isTransient == true)
        #expect(error?.retryAfter == .seconds(2))
        #expect(error?.message.contains("HTTP \(status)") == true)
    }

    @Test func http5xxWithAnErr9CodeIsReadByItsCode() async throws {
        let results = try await provider.add(
            [try fullContact()], to: "1",
            context: context(
                MockTransport.json(status: 500, ["status": "error", "code": "ERR_902"])))
        #expect(results.first?.status == .failed)
        #expect(results.first?.error?.providerCode == "ERR_902")
        #expect(results.first?.error?.isTransient == true)
    }

    @Test(arguments: [401, 403])
    func http401Or403WithoutCodeThrowsAuthFailed(_ status: Int) async throws {
        let error = await #expect(throws: ContactError.self) {
            try await provider.add(
                [try fullContact()], to: "1",
                context: context(MockTransport.text(status: status, "denied")))
        }
        #expect(error?.code == .authFailed)
    }

    @Test func transportErrorIsAttributedToAvosms() async throws {
        let error = await #expect(throws: ContactError.self) {
            try await provider.add(
                [try fullContact()], to: "1", context: context(MockTransport.failing()))
        }
        #expect(error?.code == .transportError)
        #expect(error?.provider == "avosms")
        #expect(error?.operation == .add)
        #expect(error?.isTransient == true)
    }

    // MARK: - Local checks

    @Test(arguments: ["", "  "])
    func emptyListIdIsRefusedBeforeSending(_ list: String) async throws {
        #expect(provider.checkList(list, options: [:], for: .add)?.code == .missingField)
        #expect(provider.checkList("12", options: [:], for: .add) == nil)
        let transport = MockTransport.unreachable
        let error = await ClientSupport.refusal(
            provider, transport, credentials: Self.credentialValues, list: list,
            contacts: [try fullContact()])
        #expect(error?.code == .invalidList)
        #expect(error?.reason?.code == .missingField)
        #expect(error?.reason?.field == "list")
        #expect(transport.requests.isEmpty)
    }

    @Test(arguments: ["param1", "extra1", "contactOther"])
    func customFieldOtherThanOtherIsRefusedAndNotSent(_ field: String) async throws {
        let contact = Contact(phone: try Support.phone("+33612345678"), fields: [field: "x"])
        let checked = try #require(provider.check(contact, for: .add))
        #expect(checked.code == .invalidField)
        #expect(checked.field == field)
        #expect(checked.message.contains("'\(field)'"))

        let transport = MockTransport.unreachable
        let outcomes = try await ClientSupport.run(
            provider, transport, credentials: Self.credentialValues, list: "1",
            contacts: [contact], options: RunOptions(unsupportedFields: .reject))
        #expect(outcomes.map(\.result.status) == [.rejected])
        #expect(outcomes.first?.result.error?.code == .invalidField)
        #expect(transport.requests.isEmpty)
    }

    @Test func aMissingCredentialIsRefusedByTheClientNamingItAndNothingIsSent() async throws {
        let transport = MockTransport.unreachable
        let error = await ClientSupport.refusal(
            provider, transport, credentials: ["id": Support.avosmsID], list: "1",
            contacts: [try fullContact()])
        #expect(error?.code == .missingCredential)
        #expect(error?.credentialKey == "key")
        #expect(error?.provider == "avosms")
        #expect(transport.requests.isEmpty)
    }

    // MARK: - Payload hook

    @Test func payloadHookEditsTheFormFieldsSent() async throws {
        let transport = MockTransport.json(Self.ok)
        let hook: PayloadHook = { provider, contact, payload in
            #expect(provider == "avosms")
            #expect(payload["id"] == nil && payload["key"] == nil)
            #expect(payload["contactName"] == "Durand")
            guard var fields = payload.objectValue else { return payload }
            fields["contactName"] = .string((contact.lastName ?? "").uppercased())
            fields.removeValue(forKey: "contactEmail")
            fields["contactOther"] = .null
            fields["contactCivility"] = 3
            return .object(fields)
        }
        let results = try await provider.add(
            [try fullContact()], to: "4242", context: context(transport, hook: hook))

        #expect(results == [.added()])
        #expect(
            Support.form(try #require(transport.requests.first)) == [
                "id=\(Support.avosmsID)", "key=\(Support.avosmsKey)", "listContactId=4242",
                "contactTelephoneNumber=+33612345678", "contactCivility=3",
                "contactName=DURAND", "contactFirstName=Axelle", "contactBirthday=1990-04-23",
            ])
    }

    @Test func payloadHookFailureFailsThatContactOnly() async throws {
        struct Boom: Error {}
        let transport = MockTransport.json(Self.ok)
        let hook: PayloadHook = { _, contact, payload in
            if contact.firstName == "Bad" { throw Boom() }
            return payload
        }
        let results = try await provider.add(
            [
                Contact(phone: try Support.phone("+33612345678"), firstName: "Bad"),
                Contact(phone: try Support.phone("+33698765432"), firstName: "Good"),
            ], to: "1", context: context(transport, hook: hook))

        #expect(results.map(\.status) == [.failed, .added])
        #expect(results.first?.error?.code == .pluginError)
        #expect(transport.requests.count == 1)
        #expect(Support.form(transport.requests[0]).contains("contactFirstName=Good"))
    }

    @Test(arguments: [
        JSONValue.string("nope"), ["id": "someone-else@example.org"], ["key": "other"],
        ["contactName": ["a", "b"]],
    ])
    func payloadHookReturningAnUnusablePayloadIsAPluginError(
        _ returned: JSONValue
    )
        async throws
    {
        let transport = MockTransport.unreachable
        let hook: PayloadHook = { _, _, _ in returned }
        let results = try await provider.add(
            [try fullContact()], to: "1", context: context(transport, hook: hook))
        #expect(results.first?.status == .failed)
        #expect(results.first?.error?.code == .pluginError)
        #expect(transport.requests.isEmpty)
    }

    @Test func payloadHookIsNotCalledOnDelete() async throws {
        let transport = MockTransport.json(Self.ok)
        let hook: PayloadHook = { _, _, _ in
            Issue.record("the payload hook was called on delete")
            return [:]
        }
        let results = try await provider.delete(
            [try fullContact()], from: "1", context: context(transport, hook: hook))
        #expect(results == [.deleted()])
    }

    // MARK: - Secrets

    @Test func noErrorShowsTheIdOrKey() async throws {
        let secrets = [
            Support.avosmsID, Support.avosmsKey,
            Support.avosmsID.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
        ]
        let echo = "bad id \(Support.avosmsID) / key \(Support.avosmsKey)"
        let responses: [MockResponse] = [
            Support.response(200, ["status": .string(echo), "code": "ERR_100"]),
            Support.response(200, ["status": .string(echo), "code": "ERR_103"]),
            Support.response(200, ["message": .string(echo), "code": .string(echo)]),
            Support.response(401, ["message": .string(echo)]),
            Support.response(429, ["message": .string(echo)]),
            Support.response(500, ["message": .string(echo)]),
            MockResponse(status: 200, body: Data(echo.utf8)),
        ]
        var seen: [ContactError] = []
        for response in responses {
            do {
                let results = try await provider.add(
                    [try fullContact()], to: "1",
                    context: context(MockTransport { _ in response }))
                seen += results.compactMap(\.error)
            } catch let error as ContactError {
                seen.append(error)
            }
        }
        let failing = MockTransport.failing(ContactError(.transportError, "refused: \(echo)"))
        let transportError = await #expect(throws: ContactError.self) {
            try await provider.add([try fullContact()], to: "1", context: context(failing))
        }
        seen.append(try #require(transportError))
        #expect(seen.count == responses.count + 1)
        for error in seen {
            #expect(!Support.leaks(error.description, secrets), "\(error)")
            #expect(!Support.leaks(error.providerCode ?? "", secrets), "\(error)")
        }
        #expect(!Support.leaks(String(describing: Support.avosmsCredentials), secrets))
    }
}
