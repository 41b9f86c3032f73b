import NIOHTTP1
import Testing

@testable import ContactorSandbox

@Suite("SMS Partner emulator")
struct SMSPartnerEmulatorTests {
    static let apiKey = JSON.string(SandboxDemo.standard.smsPartner.apiKey)
    static let add = "/smspartner/v1/contact/add"

    static func body(contact: JSON, group: JSON = "5001") -> JSON {
        ["apiKey": apiKey, "groupId": group, "contact": contact]
    }

    @Test func addAnswersTheContactWithItsContactId() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.add,
                json: Self.body(contact: [
                    "phoneNumber": "0612345678", "firstname": "Jean", "lastname": "Dupont",
                    "date": "1990-01-31",
                    "url": "https://example.com", "custom1": "c1",
                ]))
            #expect(reply.status == 200)
            #expect(reply.json?["success"] == true)
            #expect(reply.json?["code"] == 200)
            #expect(reply.json?["contact"]?["phoneNumber"] == "+33612345678")
            #expect(reply.json?["contact"]?["firstname"] == "Jean")
            let id = try #require(reply.json?["contact"]?["contactId"]?.stringValue)
            let stored = await sandbox.server.contacts(provider: "smspartner", list: "5001")
            #expect(stored.map(\.id) == [id])
            #expect(stored.first?.fields["custom1"] == "c1")
        }
    }

    @Test func anIntegerGroupIdAndAnInternationalNumberAreAccepted() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, Self.add,
                json: Self.body(contact: ["phoneNumber": "+491701234567"], group: 5002))
            #expect(reply.json?["success"] == true)
            #expect(
                await sandbox.server.contacts(provider: "smspartner", list: "5002").map(\.phone)
                    == ["+491701234567"])
        }
    }

    struct ErrorCase: CustomTestStringConvertible, Sendable {
        let name: String
        let body: JSON
        let code: Int
        let status: Int
        var testDescription: String { "\(name) → code \(code)" }
    }

    static let errors: [ErrorCase] = [
        .init(
            name: "missing apiKey",
            body: ["groupId": "5001", "contact": ["phoneNumber": "0612345678"]], code: 10,
            status: 401),
        .init(
            name: "incorrect apiKey",
            body: ["apiKey": "nope", "groupId": "5001", "contact": ["phoneNumber": "0612345678"]],
            code: 10, status: 401),
        .init(
            name: "missing groupId",
            body: ["apiKey": apiKey, "contact": ["phoneNumber": "0612345678"]], code: 1, status: 400
        ),
        .init(
            name: "unknown groupId",
            body: body(contact: ["phoneNumber": "0612345678"], group: "42"), code: 1, status: 400),
        .init(
            name: "missing contact", body: ["apiKey": apiKey, "groupId": "5001"], code: 2,
            status: 400),
        .init(
            name: "contact without phoneNumber", body: body(contact: ["firstname": "Jean"]),
            code: 2, status: 400),
        .init(
            name: "phoneNumber at top level",
            body: ["apiKey": apiKey, "groupId": "5001", "phoneNumber": "0612345678"], code: 400,
            status: 400),
        .init(
            name: "invalid number", body: body(contact: ["phoneNumber": "0612"]), code: 9,
            status: 400),
        .init(
            name: "number with letters", body: body(contact: ["phoneNumber": "06abc"]), code: 9,
            status: 400),
        .init(
            name: "firstname over 32 characters",
            body: body(contact: [
                "phoneNumber": "0612345678",
                "firstname": .string(String(repeating: "a", count: 33)),
            ]),
            code: 400, status: 400),
        .init(
            name: "lastname over 32 characters",
            body: body(contact: [
                "phoneNumber": "0612345678", "lastname": .string(String(repeating: "b", count: 33)),
            ]),
            code: 400, status: 400),
        .init(
            name: "url without http",
            body: body(contact: ["phoneNumber": "0612345678", "url": "ftp://x"]), code: 400,
            status: 400),
        .init(
            name: "date not YYYY-MM-DD",
            body: body(contact: ["phoneNumber": "0612345678", "date": "31/01/1990"]), code: 400,
            status: 400),
        .init(
            name: "unknown contact field",
            body: body(contact: ["phoneNumber": "0612345678", "email": "a@b.c"]), code: 400,
            status: 400),
        .init(
            name: "firstname as a number",
            body: body(contact: ["phoneNumber": "0612345678", "firstname": 3]), code: 400,
            status: 400),
        .init(
            name: "both contact and contactsList",
            body: [
                "apiKey": apiKey, "groupId": "5001", "contact": ["phoneNumber": "0612345678"],
                "contactsList": [],
            ],
            code: 400, status: 400),
        .init(
            name: "501 contacts",
            body: [
                "apiKey": apiKey, "groupId": "5001",
                "contactsList": .array(Array(repeating: ["phoneNumber": "0612345678"], count: 501)),
            ], code: 400, status: 400),
    ]

    @Test(arguments: errors)
    func addRejectsAMalformedRequestWithACode(_ errorCase: ErrorCase) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(.POST, Self.add, json: errorCase.body)
            #expect(reply.status == errorCase.status)
            #expect(reply.json?["success"] == false)
            #expect(reply.json?["code"] == .int(errorCase.code))
            #expect(reply.json?["message"]?.stringValue != nil)
            #expect(await sandbox.server.contacts(provider: "smspartner", list: "5001").isEmpty)
        }
    }

    @Test func aDuplicateSingleAddIsCode15() async throws {
        try await withSandbox { sandbox in
            _ = try await sandbox.sendJSON(
                .POST, Self.add, json: Self.body(contact: ["phoneNumber": "0612345678"]))
            let again = try await sandbox.sendJSON(
                .POST, Self.add, json: Self.body(contact: ["phoneNumber": "+33612345678"]))
            #expect(again.json?["success"] == false)
            #expect(again.json?["code"] == 15)
        }
    }

    @Test func aFormBodyIsRejected() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendForm(
                Self.add, [("apiKey", SandboxDemo.standard.smsPartner.apiKey), ("groupId", "5001")])
            #expect(reply.status == 400)
            #expect(reply.json?["success"] == false)
        }
    }

    @Test func bulkAddReportsEachContact() async throws {
        try await withSandbox { sandbox in
            _ = try await sandbox.sendJSON(
                .POST, Self.add, json: Self.body(contact: ["phoneNumber": "0611111111"]))
            let reply = try await sandbox.sendJSON(
                .POST, Self.add,
                json: [
                    "apiKey": Self.apiKey, "groupId": "5001",
                    "contactsList": [
                        ["phoneNumber": "0612345678", "firstname": "A"],
                        ["phoneNumber": "0611111111"],
                        ["phoneNumber": "12"], ["phoneNumber": "0698765432", "url": "nope"],
                    ],
                ])
            #expect(reply.status == 200)
            let results = reply.json?["results"]?.elements ?? []
            #expect(results.compactMap { $0["code"]?.intValue } == [200, 15, 9, 400])
            #expect(results.compactMap { $0["success"] } == [true, false, false, false])
            #expect(
                results.compactMap { $0["phoneNumber"]?.stringValue } == [
                    "+33612345678", "0611111111", "12", "0698765432",
                ])
            #expect(reply.json?["groupe"]?["groupId"] == "5001")
            #expect(reply.json?["rapport"] == ["total": 4, "added": 1, "errors": 3])
            #expect(await sandbox.server.contacts(provider: "smspartner", list: "5001").count == 2)
        }
    }

    @Test func bulkAddTakes500Contacts() async throws {
        try await withSandbox { sandbox in
            let contacts: [JSON] = (0..<500).map {
                ["phoneNumber": .string("061234\(String(format: "%04d", $0))")]
            }
            let reply = try await sandbox.sendJSON(
                .POST, Self.add,
                json: ["apiKey": Self.apiKey, "groupId": "5001", "contactsList": .array(contacts)])
            #expect(reply.json?["rapport"]?["added"] == 500)
        }
    }

    @Test func listPagesTwentyContactsAtATime() async throws {
        try await withSandbox { sandbox in
            let contacts: [JSON] = (0..<45).map {
                [
                    "phoneNumber": .string("061234\(String(format: "%04d", $0))"),
                    "firstname": .string("N\($0)"),
                ]
            }
            _ = try await sandbox.sendJSON(
                .POST, Self.add,
                json: ["apiKey": Self.apiKey, "groupId": "5001", "contactsList": .array(contacts)])
            var seen: [String] = []
            for (page, expected) in [(1, 20), (2, 20), (3, 5), (4, 0)] {
                let reply = try await sandbox.send(
                    .GET,
                    "/smspartner/v1/contact/list?apiKey=\(SandboxDemo.standard.smsPartner.apiKey)&groupId=5001&page=\(page)"
                )
                #expect(reply.status == 200)
                #expect(reply.json?["success"] == true)
                #expect(reply.json?["currentPage"] == .int(page))
                #expect(reply.json?["total"] == 45)
                let datas = reply.json?["datas"]?.elements ?? []
                #expect(datas.count == expected)
                seen += datas.compactMap { $0["phone"]?.stringValue }
                #expect(
                    datas.allSatisfy {
                        $0["contactId"]?.stringValue != nil && $0["firstname"] != nil
                    })
            }
            #expect(seen == (0..<45).map { "+3361234\(String(format: "%04d", $0))" })
        }
    }

    @Test(arguments: [
        ("groupId=5001", 10), ("apiKey=nope&groupId=5001", 10), ("apiKey=smspartner-demo-key", 1),
        ("apiKey=smspartner-demo-key&groupId=9", 1),
        ("apiKey=smspartner-demo-key&groupId=5001&page=0", 400),
        ("apiKey=smspartner-demo-key&groupId=5001&pge=2", 400),
    ])
    func listRejectsBadQueries(_ query: String, _ code: Int) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.send(.GET, "/smspartner/v1/contact/list?\(query)")
            #expect(reply.json?["success"] == false)
            #expect(reply.json?["code"] == .int(code))
        }
    }

    @Test func deleteRemovesByContactIdAndAnUnknownIdIs404() async throws {
        try await withSandbox { sandbox in
            let added = try await sandbox.sendJSON(
                .POST, Self.add, json: Self.body(contact: ["phoneNumber": "0612345678"]))
            let id = try #require(added.json?["contact"]?["contactId"]?.stringValue)
            let deleted = try await sandbox.sendJSON(
                .POST, "/smspartner/v1/contact/delete",
                json: ["apiKey": Self.apiKey, "contactId": .string(id)])
            #expect(deleted.status == 200)
            #expect(deleted.json == ["success": true, "code": 200])
            #expect(await sandbox.server.contacts(provider: "smspartner", list: "5001").isEmpty)
            let again = try await sandbox.sendJSON(
                .POST, "/smspartner/v1/contact/delete",
                json: ["apiKey": Self.apiKey, "contactId": .string(id)])
            #expect(again.status == 404)
            #expect(again.json?["success"] == false)
            #expect(again.json?["code"] == 404)
            let badKey = try await sandbox.sendJSON(
                .POST, "/smspartner/v1/contact/delete",
                json: ["apiKey": "nope", "contactId": .string(id)])
            #expect(badKey.json?["code"] == 10)
        }
    }
}
