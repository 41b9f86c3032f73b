import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import Testing

private typealias Support = AvosmsOctopushTestSupport

/// One HTTP failure of Octopush and the error it must throw.
struct OctopushHTTPCase: Sendable, CustomTestStringConvertible {
    var status: Int
    var code: ContactError.Code
    var transient: Bool
    var retryAfter: Duration?

    var testDescription: String { "HTTP \(status) → \(code)\(transient ? " (transient)" : "")" }
}

@Suite("Octopush adapter")
struct OctopushProviderTests {
    /// The test credentials as a client takes them.
    static let credentialValues = [
        "api_login": Support.octopushLogin, "api_key": Support.octopushKey,
    ]

    let provider = OctopushProvider()

    func context(
        _ transport: MockTransport, endpoint: String = "https://api.octopush.com",
        options: [String: String] = [:], hook: PayloadHook? = nil,
        credentials: Credentials = Support.octopushCredentials
    ) -> ProviderContext {
        Support.context(
            transport, credentials: credentials, endpoint: endpoint, options: options, hook: hook)
    }

    /// The two contacts of the "Add a contact" page's curl example, with valid numbers.
    func docContacts() throws -> [Contact] {
        [
            Contact(
                phone: try Support.phone("+33612345678"), firstName: "Axelle",
                lastName: "Durand", fields: ["param3": "Mme"]),
            Contact(
                phone: try Support.phone("+447911123456"), firstName: "John", lastName: "Smith",
                fields: ["param3": "M"]),
        ]
    }

    func items(_ pairs: [(String, String)]) -> JSONValue {
        [
            "items": .array(
                pairs.map {
                    ["phone_number": .string($0.0), "email": nil, "status": .string($0.1)]
                })
        ]
    }

    // MARK: - Descriptor

    @Test func descriptorDescribesOctopush() {
        let descriptor = provider.descriptor
        #expect(descriptor.name == "octopush")
        #expect(descriptor.credentialKeys == ["api_login", "api_key"])
        #expect(descriptor.defaultEndpoint.absoluteString == "https://api.octopush.com")
        #expect(descriptor.defaultRegion == "FR")
        #expect(descriptor.batchSize(for: .add) == 200)
        #expect(descriptor.batchSize(for: .delete) == 200)
        #expect(descriptor.operations == [.add, .delete, .update])
        #expect(descriptor.standardFields == ["first_name", "last_name"])
        #expect(descriptor.customFields == ["param1", "param2", "param3", "param4", "param5"])
    }

    // MARK: - Golden requests

    @Test func addReproducesTheDocsCurlExample() async throws {
        let transport = MockTransport.json(
            status: 201, items([("+33612345678", "added"), ("+447911123456", "added")]))
        let results = try await provider.add(
            try docContacts(), to: "my_list",
            context: context(transport, options: ["tag_name": "vip"]))

        #expect(results == [.added(), .added()])
        #expect(transport.requests.count == 1)
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://api.octopush.com/v1/public/contact/create")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Accept") == "application/json")
        #expect(request.header("api-login") == Support.octopushLogin)
        #expect(request.header("api-key") == Support.octopushKey)
        let body = try Support.json(request)
        let expected: JSONValue = [
            "contacts": [
                [
                    "phone_number": "+33612345678", "first_name": "Axelle",
                    "last_name": "Durand", "param3": "Mme",
                ],
                [
                    "phone_number": "+447911123456", "first_name": "John", "last_name": "Smith",
                    "param3": "M",
                ],
            ],
            "list_name": "my_list",
            "tag_name": "vip",
        ]
        #expect(body["contacts"] == expected["contacts"])
        #expect(body["list_name"] == "my_list")
        #expect(body["tag_name"] == "vip")
        #expect(body == expected)
    }

    @Test func onlyFirstAndLastNameAndParamsAreSent() async throws {
        let transport = MockTransport.json(status: 201, items([("+33612345678", "added")]))
        let contact = Contact(
            phone: try Support.phone("06 12 34 56 78"), email: "a@example.org",
            birthday: CalendarDate("1990-01-02"), civility: "Mme",
            fields: ["param1": "a", "param5": "e"])
        _ = try await provider.add([contact], to: "l", context: context(transport))
        let body = try Support.json(try #require(transport.requests.first))
        #expect(
            body["contacts"] == [["phone_number": "+33612345678", "param1": "a", "param5": "e"]])
        #expect(body["tag_name"] == nil)
        #expect(body["do_not_overwrite"] == nil)
        #expect(body["auto_remove_blacklisted_numbers"] == nil)
    }

    @Test func configurationAndOptionsFillTheOptionalMembers() async throws {
        let configured = OctopushProvider(
            configuration: .init(tagName: "base", doNotOverwrite: false))
        let transport = MockTransport.json(status: 201, items([("+33612345678", "added")]))
        let contact = Contact(phone: try Support.phone("+33612345678"))

        _ = try await configured.add([contact], to: "l", context: context(transport))
        _ = try await configured.add(
            [contact], to: "l",
            context: context(
                transport,
                options: [
                    "tag_name": "vip", "do_not_overwrite": "true",
                    "auto_remove_blacklisted_numbers": " FALSE ",
                ]))
        _ = try await configured.add(
            [contact], to: "l", context: context(transport, options: ["tag_name": ""]))

        let bodies = try transport.requests.map { try Support.json($0) }
        #expect(bodies[0]["tag_name"] == "base")
        #expect(bodies[0]["do_not_overwrite"] == false)
        #expect(bodies[0]["auto_remove_blacklisted_numbers"] == nil)
        #expect(bodies[1]["tag_name"] == "vip")
        #expect(bodies[1]["do_not_overwrite"] == true)
        #expect(bodies[1]["auto_remove_blacklisted_numbers"] == false)
        #expect(bodies[2]["tag_name"] == nil)
    }

    @Test func endpointPathPrefixIsKept() async throws {
        let transport = MockTransport.text(status: 204)
        _ = try await provider.delete(
            try docContacts(), from: "my_list",
            context: context(transport, endpoint: "http://127.0.0.1:9000/octopush"))
        #expect(
            transport.requests.first?.url.absoluteString
                == "http://127.0.0.1:9000/octopush/v1/public/contact/delete")
    }

    @Test func deleteSendsItsJSONBodyOnADelete() async throws {
        let transport = MockTransport.text(status: 204)
        let results = try await provider.delete(
            try docContacts(), from: "my_list", context: context(transport))

        #expect(results == [.deleted(), .deleted()])
        let request = try #require(transport.requests.first)
        #expect(transport.requests.count == 1)
        #expect(request.method == "DELETE")
        #expect(request.url.absoluteString == "https://api.octopush.com/v1/public/contact/delete")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Accept") == "application/json")
        #expect(request.header("api-login") == Support.octopushLogin)
        #expect(request.header("api-key") == Support.octopushKey)
        #expect(
            try Support.json(request) == [
                "phone_numbers": ["+33612345678", "+447911123456"], "list_name": "my_list",
            ])
    }

    @Test func deleteSendsEachNumberOnceAndAtMost200PerRequest() async throws {
        let transport = MockTransport.text(status: 204)
        var batch = try (0..<250).map { index in
            Contact(phone: try Support.phone("+336" + String(12_340_000 + index)))
        }
        batch.append(batch[0])
        let results = try await provider.delete(batch, from: "l", context: context(transport))

        #expect(results.count == 251)
        #expect(results.allSatisfy { $0.status == .deleted })
        let sizes = try transport.requests.map {
            try Support.json($0)["phone_numbers"]?.arrayValue?.count
        }
        #expect(sizes == [200, 50])
        let sent = try transport.requests.flatMap {
            try Support.json($0)["phone_numbers"]?.arrayValue ?? []
        }
        #expect(Set(sent).count == 250)
    }

    // MARK: - Answers

    @Test func docsExampleAnswerMapsAddedUpdatedSkipped() async throws {
        // The page's example answer, verbatim; its numbers are not valid, so the contacts
        // are built without parsing.
        let answer = """
            {
                "items": [
                    {"phone_number": "+3735555555560", "email": "[email protected]", "status": "added"},
                    {"phone_number": "+3735555555561", "email": "[email protected]", "status": "updated"},
                    {"phone_number": "+3735555555562", "email": "[email protected]", "status": "skipped"}
                ]
            }
            """
        let contacts = (0...2).map {
            Contact(
                phone: PhoneNumber(
                    e164: "+373555555556\($0)", region: "MD", countryCode: 373, type: .unknown))
        }
        let results = try await provider.add(
            contacts, to: "my_list", context: context(MockTransport.text(status: 201, answer)))

        #expect(results.map(\.status) == [.added, .updated, .skipped])
        let skipped = try #require(results[2].error)
        #expect(skipped.code == .alreadyInList)
        #expect(skipped.providerCode == "skipped")
        #expect(skipped.message.contains("+3735555555562"))
        #expect(skipped.message.contains("'my_list'"))
    }

    @Test func partialBatchIsMatchedByNumberNotPosition() async throws {
        let numbers = ["+33612345678", "+33698765432", "+33611111111", "+33622222222"]
        let contacts = try numbers.map { Contact(phone: try Support.phone($0)) }
        let answer = items([
            ("+33622222222", "skipped"),
            ("+33 6 98 76 54 32", "added"),
            ("+33699999999", "added"),
            ("+33612345678", "updated"),
        ])
        let results = try await provider.add(
            contacts, to: "l", context: context(MockTransport.json(status: 201, answer)))

        #expect(results.map(\.status) == [.updated, .added, .failed, .skipped])
        let missing = try #require(results[2].error)
        #expect(missing.code == .providerError)
        #expect(missing.message.contains("did not report +33611111111"))
        #expect(results[3].error?.code == .alreadyInList)
    }

    @Test func duplicateNumbersInABatchGoInSeparateRequests() async throws {
        let a = try Support.phone("+33612345678")
        let b = try Support.phone("+447911123456")
        let transport = MockTransport.sequence([
            Support.response(201, items([("+447911123456", "added"), ("+33612345678", "added")])),
            Support.response(201, items([("+33612345678", "updated")])),
        ])
        let results = try await provider.add(
            [
                Contact(phone: a, firstName: "First"), Contact(phone: b),
                Contact(phone: a, firstName: "Second"),
            ], to: "l", context: context(transport))

        #expect(results.map(\.status) == [.added, .added, .updated])
        let bodies = try transport.requests.map { try Support.json($0) }
        #expect(bodies.count == 2)
        #expect(
            bodies[0]["contacts"] == [
                ["phone_number": "+33612345678", "first_name": "First"],
                ["phone_number": "+447911123456"],
            ])
        #expect(
            bodies[1]["contacts"] == [["phone_number": "+33612345678", "first_name": "Second"]])
    }

    @Test(arguments: [
        Data("created".utf8), Data(), Data(#"{"items": "none"}"#.utf8), Data("[]".utf8),
    ])
    func successWithoutItemsFailsEveryContact(_ body: Data) async throws {
        let results = try await provider.add(
            try docContacts(), to: "l",
            context: context(MockTransport { _ in MockResponse(status: 201, body: body) }))
        #expect(results.map(\.status) == [.failed, .failed])
        #expect(results.allSatisfy { $0.error?.code == .providerError })
        #expect(results[0].error?.message.contains("cannot read") == true)
        #expect(results[0].error?.isTransient == false)
    }

    @Test func unknownItemStatusFailsThatContact() async throws {
        let answer: JSONValue = [
            "items": [
                ["phone_number": "+33612345678", "status": "blacklisted"],
                ["phone_number": "+447911123456", "status": "ADDED"],
                "garbage", ["status": "added"],
            ]
        ]
        let results = try await provider.add(
            try docContacts(), to: "l", context: context(MockTransport.json(status: 201, answer)))
        #expect(results.map(\.status) == [.failed, .added])
        #expect(results[0].error?.code == .providerError)
        #expect(results[0].error?.providerCode == "blacklisted")
    }

    // MARK: - HTTP failures

    static let httpCases: [OctopushHTTPCase] = [
        .init(status: 401, code: .authFailed, transient: false),
        .init(status: 403, code: .authFailed, transient: false),
        .init(status: 404, code: .listNotFound, transient: false),
        .init(status: 400, code: .providerError, transient: false),
        .init(status: 422, code: .providerError, transient: false),
        .init(status: 429, code: .rateLimited, transient: true, retryAfter: .seconds(5)),
        .init(status: 500, code: .providerError, transient: true, retryAfter: .seconds(5)),
        .init(status: 503, code: .providerError, transient: true, retryAfter: .seconds(5)),
    ]

    @Test(
        "An undocumented status (409, 418, a redirect) proves nothing: every contact failed, not thrown",
        arguments: [409, 418, 302], [ContactOperation.add, .delete])
    func undocumentedStatusFailsEveryContact(
        _ status: Int, operation: ContactOperation
    )
        async throws
    {
        let transport = MockTransport { _ in
            .json(status, ["message": "Octopush says no", "code": 1234])
        }
        let contacts = try docContacts()
        let results =
            operation == .add
            ? try await provider.add(contacts, to: "my_list", context: context(transport))
            : try await provider.delete(contacts, from: "my_list", context: context(transport))
        #expect(results.map(\.status) == [.failed, .failed])
        #expect(
            results.allSatisfy {
                $0.error?.code == .providerError && $0.error?.isTransient == false
            })
        #expect(results[0].error?.message.contains("Octopush says no") == true)
        #expect(results[0].error?.providerCode == "1234")
        #expect(transport.requests.count == 1)
    }

    @Test(arguments: httpCases, [ContactOperation.add, .delete])
    func httpFailureThrowsForTheBatch(
        _ testCase: OctopushHTTPCase, operation: ContactOperation
    )
        async throws
    {
        let transportWithRetry = MockTransport { _ in
            .json(
                testCase.status, ["message": "Octopush says no", "code": 1234],
                headers: ["Retry-After": "5"])
        }
        let contacts = try docContacts()
        let error = await #expect(throws: ContactError.self) {
            if operation == .add {
                _ = try await provider.add(
                    contacts, to: "my_list", context: context(transportWithRetry))
            } else {
                _ = try await provider.delete(
                    contacts, from: "my_list", context: context(transportWithRetry))
            }
        }
        #expect(error?.code == testCase.code)
        #expect(error?.isTransient == testCase.transient)
        #expect(error?.retryAfter == testCase.retryAfter)
        #expect(error?.message.contains("Octopush says no") == true)
        #expect(error?.message.contains("HTTP \(testCase.status)") == true)
        #expect(error?.providerCode == "1234")
        #expect(error?.provider == "octopush")
        #expect(error?.operation == operation)
        #expect(transportWithRetry.requests.count == 1)
    }

    @Test func longTextErrorBodyIsCutShort() async throws {
        let body = String(repeating: "x", count: 5000)
        let error = await #expect(throws: ContactError.self) {
            try await provider.add(
                try docContacts(), to: "l",
                context: context(MockTransport.text(status: 400, body)))
        }
        let message = try #require(error?.message)
        #expect(message.contains("xxxx…"))
        #expect(message.count < 400)
    }

    @Test func transportErrorIsAttributedToOctopush() async throws {
        let error = await #expect(throws: ContactError.self) {
            try await provider.add(
                try docContacts(), to: "l", context: context(MockTransport.failing()))
        }
        #expect(error?.code == .transportError)
        #expect(error?.provider == "octopush")
        #expect(error?.isTransient == true)
    }

    // MARK: - Local checks: nothing is sent

    @Test func listNameOver30CharactersIsRefusedLocally() async throws {
        let long = String(repeating: "l", count: 31)
        let checked = try #require(provider.checkList(long, options: [:], for: .add))
        #expect(checked.code == .fieldTooLong)
        #expect(checked.field == "list_name")
        #expect(checked.message.contains("list_name"))
        #expect(checked.message.contains("at most 30"))
        #expect(
            provider.checkList(String(repeating: "l", count: 30), options: [:], for: .add) == nil)

        let transport = MockTransport.unreachable
        for operation in [ContactOperation.add, .delete] {
            let error = await ClientSupport.refusal(
                provider, transport, credentials: Self.credentialValues, operation: operation,
                list: long, contacts: try docContacts())
            #expect(error?.code == .invalidList)
            #expect(error?.reason?.code == .fieldTooLong)
            #expect(error?.reason?.field == "list_name")
        }
        #expect(transport.requests.isEmpty)
    }

    @Test func tagNameOver20CharactersIsRefusedLocally() async throws {
        let long = String(repeating: "t", count: 21)
        let fromOptions = try #require(
            provider.checkList("l", options: ["tag_name": long], for: .add))
        #expect(fromOptions.code == .fieldTooLong)
        #expect(fromOptions.field == "tag_name")
        #expect(fromOptions.message.contains("tag_name"))
        #expect(fromOptions.message.contains("at most 20"))
        #expect(
            provider.checkList(
                "l", options: ["tag_name": String(repeating: "t", count: 20)], for: .add) == nil)

        let configured = OctopushProvider(configuration: .init(tagName: long))
        #expect(configured.checkList("l", options: [:], for: .add)?.field == "tag_name")

        let transport = MockTransport.unreachable
        let error = await ClientSupport.refusal(
            provider, transport, credentials: Self.credentialValues, list: "l",
            contacts: try docContacts(), options: RunOptions(providerOptions: ["tag_name": long]))
        #expect(error?.reason?.code == .fieldTooLong)
        #expect(error?.reason?.field == "tag_name")
        #expect(transport.requests.isEmpty)
    }

    @Test func emptyListIsRefusedLocally() async throws {
        let transport = MockTransport.unreachable
        let error = await ClientSupport.refusal(
            provider, transport, credentials: Self.credentialValues, operation: .delete, list: " ",
            contacts: try docContacts())
        #expect(error?.reason?.code == .missingField)
        #expect(transport.requests.isEmpty)
    }

    @Test(arguments: ["yes", "1", ""])
    func booleanOptionMustBeTrueOrFalse(_ value: String) async throws {
        let checked = try #require(
            provider.checkList("l", options: ["do_not_overwrite": value], for: .add))
        #expect(checked.code == .invalidField)
        #expect(checked.field == "do_not_overwrite")
        #expect(checked.message.contains("true or false"))

        let transport = MockTransport.unreachable
        await #expect(throws: ContactError.self) {
            try await provider.add(
                try docContacts(), to: "l",
                context: context(transport, options: ["auto_remove_blacklisted_numbers": value]))
        }
        #expect(transport.requests.isEmpty)
    }

    @Test(arguments: ["param6", "other", "extra1"])
    func customFieldOctopushHasNoPlaceForIsRefusedAndNotSent(_ field: String) async throws {
        let contact = Contact(phone: try Support.phone("+33612345678"), fields: [field: "x"])
        let checked = try #require(provider.check(contact, for: .add))
        #expect(checked.code == .invalidField)
        #expect(checked.field == field)

        let transport = MockTransport.unreachable
        let outcomes = try await ClientSupport.run(
            provider, transport, credentials: Self.credentialValues, list: "l", contacts: [contact],
            options: RunOptions(unsupportedFields: .reject))
        #expect(outcomes.map(\.result.status) == [.rejected])
        #expect(outcomes[0].result.error?.code == .invalidField)
        #expect(transport.requests.isEmpty)
    }

    @Test func refusedContactIsLeftOutOfTheRequestOthersGo() async throws {
        let transport = MockTransport.json(status: 201, items([("+447911123456", "added")]))
        let outcomes = try await ClientSupport.run(
            provider, transport, credentials: Self.credentialValues, list: "l",
            contacts: [
                Contact(phone: try Support.phone("+33612345678"), fields: ["param6": "x"]),
                Contact(phone: try Support.phone("+447911123456")),
            ], options: RunOptions(unsupportedFields: .reject))
        #expect(outcomes.map(\.result.status) == [.rejected, .added])
        #expect(
            try Support.json(try #require(transport.requests.first))["contacts"] == [
                ["phone_number": "+447911123456"]
            ])
    }

    @Test func aMissingCredentialIsRefusedByTheClientNamingItAndNothingIsSent() async throws {
        let transport = MockTransport.unreachable
        let error = await ClientSupport.refusal(
            provider, transport, credentials: ["api_login": Support.octopushLogin], list: "l",
            contacts: try docContacts())
        #expect(error?.code == .missingCredential)
        #expect(error?.credentialKey == "api_key")
        #expect(transport.requests.isEmpty)
    }

    // MARK: - Payload hook

    @Test func payloadHookEditsTheContactObject() async throws {
        let transport = MockTransport.json(
            status: 201, items([("+33612345678", "added"), ("+447911123456", "added")]))
        let hook: PayloadHook = { provider, contact, payload in
            #expect(provider == "octopush")
            guard var members = payload.objectValue else { return payload }
            members["param1"] = .string((contact.lastName ?? "").uppercased())
            members.removeValue(forKey: "param3")
            return .object(members)
        }
        let results = try await provider.add(
            try docContacts(), to: "my_list", context: context(transport, hook: hook))

        #expect(results == [.added(), .added()])
        #expect(
            try Support.json(try #require(transport.requests.first))["contacts"] == [
                [
                    "phone_number": "+33612345678", "first_name": "Axelle",
                    "last_name": "Durand", "param1": "DURAND",
                ],
                [
                    "phone_number": "+447911123456", "first_name": "John", "last_name": "Smith",
                    "param1": "SMITH",
                ],
            ])
    }

    @Test func payloadHookFailureFailsThatContactOnly() async throws {
        struct Boom: Error {}
        let transport = MockTransport.json(status: 201, items([("+447911123456", "added")]))
        let hook: PayloadHook = { _, contact, payload in
            if contact.firstName == "Axelle" { throw Boom() }
            return payload
        }
        let results = try await provider.add(
            try docContacts(), to: "l", context: context(transport, hook: hook))

        #expect(results.map(\.status) == [.failed, .added])
        #expect(results[0].error?.code == .pluginError)
        #expect(results[0].error?.message.contains("+33612345678") == true)
        #expect(
            try Support.json(try #require(transport.requests.first))["contacts"]?.arrayValue?
                .count == 1)
    }

    @Test func answerIsMatchedOnTheNumberTheHookSent() async throws {
        let transport = MockTransport.json(status: 201, items([("+33700000000", "updated")]))
        let hook: PayloadHook = { _, _, payload in
            guard var members = payload.objectValue else { return payload }
            members["phone_number"] = "+33700000000"
            return .object(members)
        }
        let results = try await provider.add(
            [Contact(phone: try Support.phone("+33612345678"))], to: "l",
            context: context(transport, hook: hook))
        #expect(results == [.updated()])
    }

    @Test(arguments: [JSONValue.string("x"), ["first_name": "no number"], ["phone_number": 5]])
    func payloadHookReturningAnUnusablePayloadIsAPluginError(
        _ returned: JSONValue
    )
        async throws
    {
        let transport = MockTransport.unreachable
        let hook: PayloadHook = { _, _, _ in returned }
        let results = try await provider.add(
            [Contact(phone: try Support.phone("+33612345678"))], to: "l",
            context: context(transport, hook: hook))
        #expect(results.map(\.status) == [.failed])
        #expect(results[0].error?.code == .pluginError)
        #expect(transport.requests.isEmpty)
    }

    // MARK: - Secrets

    @Test func noErrorShowsTheLoginOrKey() async throws {
        let secrets = [Support.octopushLogin, Support.octopushKey]
        let echo = "login \(Support.octopushLogin) with key \(Support.octopushKey) refused"
        var seen: [ContactError] = []
        for status in [400, 401, 403, 404, 422, 429, 500, 418] {
            for body in [
                Support.response(status, ["message": .string(echo), "code": .string(echo)]),
                MockResponse(status: status, body: Data(echo.utf8)),
            ] {
                let transport = MockTransport { _ in body }
                for operation in [ContactOperation.add, .delete] {
                    do {
                        let results =
                            operation == .add
                            ? try await provider.add(
                                try docContacts(), to: "l", context: context(transport))
                            : try await provider.delete(
                                try docContacts(), from: "l", context: context(transport))
                        // An undocumented status (418) fails each contact instead.
                        #expect(status == 418, "HTTP \(status) did not throw")
                        seen += results.compactMap(\.error).prefix(1)
                    } catch let error as ContactError {
                        seen.append(error)
                    }
                }
            }
        }
        let answer: JSONValue = [
            "items": [["phone_number": "+33612345678", "status": .string(echo)]]
        ]
        let results = try await provider.add(
            try docContacts(), to: "l", context: context(MockTransport.json(status: 201, answer)))
        seen += results.compactMap(\.error)
        let failing = MockTransport.failing(ContactError(.transportError, "refused: \(echo)"))
        let transportError = await #expect(throws: ContactError.self) {
            try await provider.add(try docContacts(), to: "l", context: context(failing))
        }
        seen.append(try #require(transportError))

        // 8 statuses × 2 bodies × 2 operations, 2 results, 1 transport error.
        let expectedCount: Int = 35
        #expect(seen.count == expectedCount)
        for error in seen {
            #expect(!Support.leaks(error.description, secrets), "\(error)")
            #expect(!Support.leaks(error.providerCode ?? "", secrets), "\(error)")
        }
    }
}
