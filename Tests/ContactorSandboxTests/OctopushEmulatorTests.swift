import NIOHTTP1
import Testing

@testable import ContactorSandbox

@Suite("Octopush emulator")
struct OctopushEmulatorTests {
    static let auth = [
        ("api-login", SandboxDemo.standard.octopush.apiLogin),
        ("api-key", SandboxDemo.standard.octopush.apiKey),
    ]
    static let create = "/octopush/v1/public/contact/create"
    static let delete = "/octopush/v1/public/contact/delete"

    static func contact(_ phone: String, first: String = "Axelle") -> JSON {
        [
            "phone_number": .string(phone), "first_name": .string(first), "last_name": "Durand",
            "param3": "Mme",
        ]
    }

    @Test func createAnswers201WithAddedThenUpdatedThenSkipped() async throws {
        try await withSandbox { sandbox in
            let first = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth,
                json: [
                    "contacts": [Self.contact("+33612345678")], "list_name": "demo",
                    "tag_name": "vip",
                ])
            #expect(first.status == 201)
            #expect(
                first.json == [
                    "items": [["phone_number": "+33612345678", "email": .null, "status": "added"]]
                ])

            let second = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth,
                json: [
                    "contacts": [Self.contact("+33612345678", first: "Alex")], "list_name": "demo",
                ])
            #expect(second.json?["items"]?[0]?["status"] == "updated")
            #expect(
                await sandbox.server.contacts(provider: "octopush", list: "demo").first?.fields[
                    "first_name"]
                    == "Alex")

            let third = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth,
                json: [
                    "contacts": [
                        Self.contact("+33612345678", first: "Ignored"),
                        Self.contact("+33698765432"),
                    ],
                    "list_name": "demo", "do_not_overwrite": true,
                ])
            #expect(
                third.json?["items"]?.elements.compactMap { $0["status"]?.stringValue } == [
                    "skipped", "added",
                ])
            let stored = await sandbox.server.contacts(provider: "octopush", list: "demo")
            #expect(stored.map(\.phone) == ["+33612345678", "+33698765432"])
            #expect(stored.first?.fields["first_name"] == "Alex")
        }
    }

    @Test func createWithoutListNameStoresContactsInNoList() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth,
                json: ["contacts": [Self.contact("+33612345678")]])
            #expect(reply.status == 201)
            #expect(
                await sandbox.server.contacts(provider: "octopush", list: "").map(\.phone) == [
                    "+33612345678"
                ])
            #expect(await sandbox.server.contacts(provider: "octopush", list: "demo").isEmpty)
        }
    }

    struct ErrorCase: CustomTestStringConvertible, Sendable {
        let name: String
        let body: JSON
        let status: Int
        var testDescription: String { "\(name) → \(status)" }
    }

    static let createErrors: [ErrorCase] = [
        .init(
            name: "list_name over 30 characters",
            body: [
                "contacts": [contact("+33612345678")],
                "list_name": .string(String(repeating: "l", count: 31)),
            ],
            status: 400),
        .init(
            name: "tag_name over 20 characters",
            body: [
                "contacts": [contact("+33612345678")], "list_name": "demo",
                "tag_name": .string(String(repeating: "t", count: 21)),
            ], status: 400),
        .init(
            name: "national number",
            body: ["contacts": [contact("0612345678")], "list_name": "demo"],
            status: 400),
        .init(
            name: "international digits without +",
            body: ["contacts": [contact("33612345678")], "list_name": "demo"], status: 400),
        .init(
            name: "invalid international number",
            body: ["contacts": [contact("+3361")], "list_name": "demo"], status: 400),
        .init(
            name: "unknown list",
            body: ["contacts": [contact("+33612345678")], "list_name": "nope"],
            status: 404),
        .init(
            name: "unknown top-level field",
            body: ["contacts": [contact("+33612345678")], "listName": "demo"], status: 400),
        .init(
            name: "unknown contact field",
            body: [
                "contacts": [["phone_number": "+33612345678", "firstname": "A"]],
                "list_name": "demo",
            ],
            status: 400),
        .init(
            name: "phone under a wrong name",
            body: ["contacts": [["phone": "+33612345678"]], "list_name": "demo"], status: 400),
        .init(
            name: "do_not_overwrite as a string",
            body: ["contacts": [contact("+33612345678")], "do_not_overwrite": "true"], status: 400),
        .init(
            name: "first_name as a number",
            body: ["contacts": [["phone_number": "+33612345678", "first_name": 5]]], status: 400),
        .init(name: "missing contacts", body: ["list_name": "demo"], status: 400),
        .init(name: "empty contacts", body: ["contacts": [], "list_name": "demo"], status: 400),
        .init(
            name: "contacts as an object", body: ["contacts": contact("+33612345678")], status: 400),
        .init(name: "a body that is an array", body: [contact("+33612345678")], status: 400),
    ]

    @Test(arguments: createErrors)
    func createRejectsAMalformedRequestAndStoresNothing(_ errorCase: ErrorCase) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth, json: errorCase.body)
            #expect(reply.status == errorCase.status)
            #expect(reply.json?["message"]?.stringValue != nil)
            #expect(await sandbox.server.contacts(provider: "octopush", list: "demo").isEmpty)
            #expect(await sandbox.server.contacts(provider: "octopush", list: "").isEmpty)
        }
    }

    @Test func aNationalNumberIsAnInvalidPhoneNumberError() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth,
                json: ["contacts": [Self.contact("0612345678")]])
            #expect(reply.json?["code"] == "invalid_phone_number")
        }
    }

    @Test(arguments: [
        [("api-login", SandboxDemo.standard.octopush.apiLogin), ("api-key", "wrong")],
        [("api-key", SandboxDemo.standard.octopush.apiKey)],
        [],
    ])
    func badOrMissingCredentialsAre401(_ headers: [(String, String)]) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.create, headers: headers,
                json: ["contacts": [Self.contact("+33612345678")]])
            #expect(reply.status == 401)
            #expect(reply.json?["code"] == "unauthorized")
        }
    }

    @Test func aFormBodyIs415AndAWrongMethodIs405() async throws {
        try await withSandbox { sandbox in
            let form = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth,
                json: ["contacts": [Self.contact("+33612345678")]],
                contentType: "application/x-www-form-urlencoded")
            #expect(form.status == 415)
            let put = try await sandbox.sendJSON(
                .PUT, Self.create, headers: Self.auth,
                json: ["contacts": [Self.contact("+33612345678")]])
            #expect(put.status == 405)
        }
    }

    @Test func deleteWithAJSONBodyRemovesTheNumbersAndIgnoresAbsentOnes() async throws {
        try await withSandbox { sandbox in
            _ = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth,
                json: [
                    "contacts": [Self.contact("+33612345678"), Self.contact("+33698765432")],
                    "list_name": "demo",
                ])
            let reply = try await sandbox.sendJSON(
                .DELETE, Self.delete, headers: Self.auth,
                json: ["phone_numbers": ["+33612345678", "+33611111111"], "list_name": "demo"])
            #expect(reply.status == 204)
            #expect(reply.body.isEmpty)
            #expect(
                await sandbox.server.contacts(provider: "octopush", list: "demo").map(\.phone) == [
                    "+33698765432"
                ])
        }
    }

    @Test func deleteWithoutListNameRemovesFromEveryList() async throws {
        try await withSandbox { sandbox in
            for list in ["demo", "vip"] {
                _ = try await sandbox.sendJSON(
                    .POST, Self.create, headers: Self.auth,
                    json: ["contacts": [Self.contact("+33612345678")], "list_name": .string(list)])
            }
            let reply = try await sandbox.sendJSON(
                .DELETE, Self.delete, headers: Self.auth, json: ["phone_numbers": ["+33612345678"]])
            #expect(reply.status == 204)
            #expect(await sandbox.server.contacts(provider: "octopush", list: "demo").isEmpty)
            #expect(await sandbox.server.contacts(provider: "octopush", list: "vip").isEmpty)
        }
    }

    static let deleteErrors: [ErrorCase] = [
        .init(
            name: "201 numbers",
            body: [
                "phone_numbers": .array(
                    (0..<201).map { .string("+336123456\(String(format: "%02d", $0 % 100))") }),
                "list_name": "demo",
            ], status: 400),
        .init(name: "no numbers", body: ["phone_numbers": [], "list_name": "demo"], status: 400),
        .init(name: "missing phone_numbers", body: ["list_name": "demo"], status: 400),
        .init(
            name: "a number as a JSON number", body: ["phone_numbers": [33_612_345_678]],
            status: 400),
        .init(name: "a national number", body: ["phone_numbers": ["0612345678"]], status: 400),
        .init(name: "unknown field", body: ["phone_number": ["+33612345678"]], status: 400),
        .init(
            name: "unknown list", body: ["phone_numbers": ["+33612345678"], "list_name": "nope"],
            status: 404),
    ]

    @Test(arguments: deleteErrors)
    func deleteRejectsAMalformedRequest(_ errorCase: ErrorCase) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .DELETE, Self.delete, headers: Self.auth, json: errorCase.body)
            #expect(reply.status == errorCase.status)
        }
    }

    @Test func deleteTakesExactly200Numbers() async throws {
        try await withSandbox { sandbox in
            let numbers: [JSON] = (0..<200).map { .string("+3361234\(String(format: "%04d", $0))") }
            let reply = try await sandbox.sendJSON(
                .DELETE, Self.delete, headers: Self.auth,
                json: ["phone_numbers": .array(numbers), "list_name": "demo"])
            #expect(reply.status == 204)
        }
    }

    @Test func contactListCreateAndDelete() async throws {
        try await withSandbox { sandbox in
            let created = try await sandbox.sendJSON(
                .POST, "/octopush/v1/public/contact-list/create", headers: Self.auth,
                json: ["list_name": "new"])
            #expect(created.status == 201)
            #expect(await sandbox.server.hasList(provider: "octopush", list: "new"))
            let again = try await sandbox.sendJSON(
                .POST, "/octopush/v1/public/contact-list/create", headers: Self.auth,
                json: ["list_name": "new"])
            #expect(again.status == 409)
            let added = try await sandbox.sendJSON(
                .POST, Self.create, headers: Self.auth,
                json: ["contacts": [Self.contact("+33612345678")], "list_name": "new"])
            #expect(added.status == 201)
            let deleted = try await sandbox.sendJSON(
                .DELETE, "/octopush/v1/public/contact-list/delete", headers: Self.auth,
                json: ["list_name": "new"])
            #expect(deleted.status == 204)
            #expect(await !sandbox.server.hasList(provider: "octopush", list: "new"))
            let missing = try await sandbox.sendJSON(
                .DELETE, "/octopush/v1/public/contact-list/delete", headers: Self.auth,
                json: ["list_name": "new"])
            #expect(missing.status == 404)
        }
    }
}
