import NIOHTTP1
import Testing

@testable import ContactorSandbox

@Suite("SMS Gateway API emulator")
struct SMSGatewayAPIEmulatorTests {
    static let auth = [
        ("X-Client-Id", SandboxDemo.standard.smsGatewayAPI.clientID),
        ("X-Client-Secret", SandboxDemo.standard.smsGatewayAPI.clientSecret),
    ]
    static let path = "/smsgatewayapi/v1/contact"

    static func contact(_ phone: String, group: JSON = "100") -> JSON {
        [
            "phone": .string(phone), "groupid": group, "firstname": "John", "lastname": "Doe",
            "extra1": "Marketing", "birthday": "1997-03-23",
        ]
    }

    @Test func oneObjectAnswersAnIDArrayOfOneInteger() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth, json: Self.contact("436501234567"))
            #expect(reply.status == 200)
            let id = try #require(reply.json?["ID"]?[0]?.intValue)
            #expect(reply.json?["ID"]?.elements.count == 1)
            let stored = await sandbox.server.contacts(provider: "smsgatewayapi", list: "100")
            #expect(
                stored == [
                    SandboxContact(
                        id: String(id), phone: "436501234567",
                        fields: [
                            "firstname": "John", "lastname": "Doe", "extra1": "Marketing",
                            "birthday": "1997-03-23",
                        ])
                ])
        }
    }

    @Test func anIntegerGroupIDIsAccepted() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth, json: Self.contact("436501234567", group: 200)
            )
            #expect(reply.json?["ID"]?[0]?.intValue != nil)
            #expect(
                await sandbox.server.contacts(provider: "smsgatewayapi", list: "200").count == 1)
        }
    }

    @Test func anArrayAnswersIDsAndListsInvalidNumbersAsError103() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth,
                json: [
                    Self.contact("436501234567"), Self.contact("+436501234568"),
                    Self.contact("33612345678"),
                    Self.contact("06501234569"),
                ])
            #expect(reply.status == 200)
            #expect(reply.json?["IDs"]?.elements.count == 2)
            #expect(
                reply.json?["errors"]
                    == [
                        ["error": 103, "errorMsg": "Phone number +436501234568 is not valid"],
                        ["error": 103, "errorMsg": "Phone number 06501234569 is not valid"],
                    ])
            let stored = await sandbox.server.contacts(provider: "smsgatewayapi", list: "100")
            #expect(stored.map(\.phone) == ["436501234567", "33612345678"])
        }
    }

    @Test func anArrayWithoutFailuresHasNoErrorsMember() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth,
                json: [Self.contact("436501234567"), Self.contact("436501234568")])
            #expect(reply.json?["IDs"]?.elements.compactMap(\.intValue).count == 2)
            #expect(reply.json?["errors"] == nil)
        }
    }

    @Test(arguments: ["+436501234567", "06501234567", "4365"])
    func aSingleInvalidNumberIsError103(_ phone: String) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth, json: Self.contact(phone))
            #expect(reply.status == 400)
            #expect(
                reply.json == [
                    "error": 103, "errorMsg": .string("Phone number \(phone) is not valid"),
                ])
        }
    }

    struct ErrorCase: CustomTestStringConvertible, Sendable {
        let name: String
        let body: JSON
        let status: Int
        var testDescription: String { "\(name) → \(status)" }
    }

    static let errors: [ErrorCase] = [
        .init(name: "missing phone", body: ["groupid": "100"], status: 400),
        .init(name: "missing groupid", body: ["phone": "436501234567"], status: 400),
        .init(
            name: "phone under a wrong name",
            body: ["phone_number": "436501234567", "groupid": "100"], status: 400),
        .init(
            name: "unknown field",
            body: ["phone": "436501234567", "groupid": "100", "email": "a@b.c"], status: 400),
        .init(
            name: "birthday not yyyy-MM-dd",
            body: ["phone": "436501234567", "groupid": "100", "birthday": "23/03/1997"],
            status: 400),
        .init(
            name: "impossible birthday",
            body: ["phone": "436501234567", "groupid": "100", "birthday": "1997-02-30"],
            status: 400),
        .init(
            name: "phone as a number", body: ["phone": 436_501_234_567, "groupid": "100"],
            status: 400),
        .init(
            name: "firstname as a number",
            body: ["phone": "436501234567", "groupid": "100", "firstname": 1], status: 400),
        .init(
            name: "groupid not digits", body: ["phone": "436501234567", "groupid": "abc"],
            status: 400),
        .init(
            name: "unknown group", body: ["phone": "436501234567", "groupid": "999"], status: 404),
        .init(name: "empty array", body: [], status: 400),
        .init(name: "a string body", body: "436501234567", status: 400),
        .init(
            name: "one malformed contact in an array",
            body: [["phone": "436501234567", "groupid": "100"], ["phone": "436501234568"]],
            status: 400),
    ]

    @Test(arguments: errors)
    func aMalformedRequestIsRejectedWhole(_ errorCase: ErrorCase) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth, json: errorCase.body)
            #expect(reply.status == errorCase.status)
            #expect(reply.json?["errorMsg"]?.stringValue != nil)
            #expect(await sandbox.server.contacts(provider: "smsgatewayapi", list: "100").isEmpty)
        }
    }

    @Test func badCredentialsAre401() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.path,
                headers: [("X-Client-Id", "sandbox-client"), ("X-Client-Secret", "wrong")],
                json: Self.contact("436501234567"))
            #expect(reply.status == 401)
            #expect(reply.json?["error"] == 401)
        }
    }

    @Test func aFormBodyIs415AndDeleteIs405() async throws {
        try await withSandbox { sandbox in
            let form = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth, json: Self.contact("436501234567"),
                contentType: "text/plain")
            #expect(form.status == 415)
            let delete = try await sandbox.sendJSON(
                .DELETE, Self.path, headers: Self.auth, json: ["ID": 1])
            #expect(delete.status == 405)
        }
    }

    @Test func patchUpdatesAContactAnd204() async throws {
        try await withSandbox { sandbox in
            let added = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth, json: Self.contact("436501234567"))
            let id = try #require(added.json?["ID"]?[0]?.intValue)
            let patched = try await sandbox.sendJSON(
                .PATCH, Self.path, headers: Self.auth,
                json: ["ID": .int(id), "firstname": "Jane", "groupid": 200])
            #expect(patched.status == 204)
            #expect(await sandbox.server.contacts(provider: "smsgatewayapi", list: "100").isEmpty)
            let moved = await sandbox.server.contacts(provider: "smsgatewayapi", list: "200")
            #expect(moved.first?.fields["firstname"] == "Jane")
        }
    }

    @Test func patchWithOneUnknownIDIs404AndChangesNothing() async throws {
        try await withSandbox { sandbox in
            let added = try await sandbox.sendJSON(
                .POST, Self.path, headers: Self.auth, json: Self.contact("436501234567"))
            let id = try #require(added.json?["ID"]?[0]?.intValue)
            let patched = try await sandbox.sendJSON(
                .PATCH, Self.path, headers: Self.auth,
                json: [["ID": .int(id), "firstname": "Jane"], ["ID": 42, "firstname": "Nobody"]])
            #expect(patched.status == 404)
            #expect(
                await sandbox.server.contacts(provider: "smsgatewayapi", list: "100").first?.fields[
                    "firstname"] == "John")
        }
    }
}
