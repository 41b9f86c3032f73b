import NIOHTTP1
import Testing

@testable import ContactorSandbox

/// The update semantics a sync relies on: SMS Gateway API's PATCH, Octopush's overwrite,
/// SMS Partner's list paging (it documents no update), all checked through what the
/// emulator stored.
@Suite("Emulators: updates and list exports")
struct UpdateEndpointsTests {
    static let gateway = SMSGatewayAPIEmulatorTests.self

    static func addGateway(_ sandbox: Sandbox, _ contact: JSON) async throws -> Int {
        let added = try await sandbox.sendJSON(
            .POST, gateway.path, headers: gateway.auth, json: contact)
        return try #require(added.json?["ID"]?[0]?.intValue)
    }

    static func patch(_ sandbox: Sandbox, _ json: JSON) async throws -> Reply {
        try await sandbox.sendJSON(.PATCH, gateway.path, headers: gateway.auth, json: json)
    }

    // MARK: SMS Gateway API PATCH

    @Test func patchChangesOnlyTheFieldsItNamesAndAnswers204WithoutABody() async throws {
        try await withSandbox { sandbox in
            let id = try await Self.addGateway(sandbox, Self.gateway.contact("436501234567"))
            let reply = try await Self.patch(
                sandbox,
                ["ID": .int(id), "lastname": "Smith", "extra2": "new", "unsubscribed": true])
            #expect(reply.status == 204)
            #expect(reply.body.isEmpty)
            let stored = await sandbox.server.contacts(provider: "smsgatewayapi", list: "100")
            #expect(
                stored == [
                    SandboxContact(
                        id: String(id), phone: "436501234567",
                        fields: [
                            "firstname": "John", "lastname": "Smith", "extra1": "Marketing",
                            "extra2": "new", "birthday": "1997-03-23", "unsubscribed": "1",
                        ])
                ])
        }
    }

    @Test func patchOfAnArrayUpdatesEveryContactAndKeepsTheirPlaces() async throws {
        try await withSandbox { sandbox in
            let first = try await Self.addGateway(sandbox, Self.gateway.contact("436501234567"))
            let second = try await Self.addGateway(sandbox, Self.gateway.contact("436501234568"))
            let reply = try await Self.patch(
                sandbox,
                [
                    ["ID": .int(first), "firstname": "Ann"],
                    ["ID": .int(second), "phone": "436501234569"],
                ])
            #expect(reply.status == 204)
            let stored = await sandbox.server.contacts(provider: "smsgatewayapi", list: "100")
            #expect(stored.map(\.id) == [String(first), String(second)])
            #expect(stored.map { $0.fields["firstname"] } == ["Ann", "John"])
            #expect(stored.map(\.phone) == ["436501234567", "436501234569"])
        }
    }

    static let rolledBack: [(String, JSON)] = [
        ("an unknown ID after a good change", [["ID": 0, "firstname": "Ann"], ["ID": 42]]),
        (
            "an invalid phone after a good change",
            [["ID": 0, "firstname": "Ann"], ["ID": 0, "phone": "12"]]
        ),
        (
            "an unknown group after a good change",
            [["ID": 0, "firstname": "Ann"], ["ID": 0, "groupid": 999]]
        ),
        (
            "a bad field after a good change",
            [["ID": 0, "firstname": "Ann"], ["ID": 0, "birthday": "1997-02-30"]]
        ),
        (
            "a missing ID after a good change",
            [["ID": 0, "firstname": "Ann"], ["firstname": "Bob"]]
        ),
    ]

    @Test(arguments: 0..<rolledBack.count)
    func aPatchWithOneBadItemChangesNothing(_ index: Int) async throws {
        let (_, template) = Self.rolledBack[index]
        try await withSandbox { sandbox in
            let id = try await Self.addGateway(sandbox, Self.gateway.contact("436501234567"))
            // Put the real ID wherever the template says 0.
            let items: [JSON] = template.elements.map { item in
                .object(
                    (item.objectMembers ?? []).map { key, value in
                        (key, key == "ID" && value == 0 ? .int(id) : value)
                    })
            }
            let reply = try await Self.patch(sandbox, .array(items))
            #expect([400, 404].contains(reply.status))
            #expect(
                await sandbox.server.contacts(provider: "smsgatewayapi", list: "100")
                    == [
                        SandboxContact(
                            id: String(id), phone: "436501234567",
                            fields: [
                                "firstname": "John", "lastname": "Doe", "extra1": "Marketing",
                                "birthday": "1997-03-23",
                            ])
                    ])
        }
    }

    @Test func anUnknownIDIs404WithTheDocumentedErrorShape() async throws {
        try await withSandbox { sandbox in
            let reply = try await Self.patch(sandbox, ["ID": 42, "firstname": "Nobody"])
            #expect(reply.status == 404)
            #expect(reply.json?["error"] == 404)
            #expect(reply.json?["errorMsg"]?.stringValue?.contains("42") == true)
        }
    }

    @Test func aPatchThatWouldPutOneNumberTwiceInAGroupIs400AndChangesNothing() async throws {
        try await withSandbox { sandbox in
            let first = try await Self.addGateway(sandbox, Self.gateway.contact("436501234567"))
            let second = try await Self.addGateway(
                sandbox, Self.gateway.contact("436501234567", group: "200"))
            // Same number, moved into the group that has it.
            let moved = try await Self.patch(sandbox, ["ID": .int(second), "groupid": 100])
            #expect(moved.status == 400)
            #expect(moved.json?["error"] == 400)
            // Another contact's number given to a contact of the same group.
            let third = try await Self.addGateway(sandbox, Self.gateway.contact("436501234568"))
            let renumbered = try await Self.patch(
                sandbox,
                [
                    ["ID": .int(third), "firstname": "X"],
                    ["ID": .int(third), "phone": "436501234567"],
                ])
            #expect(renumbered.status == 400)
            let group100 = await sandbox.server.contacts(provider: "smsgatewayapi", list: "100")
            #expect(group100.map(\.id) == [String(first), String(third)])
            #expect(group100.map { $0.fields["firstname"] } == ["John", "John"])
            #expect(
                await sandbox.server.contacts(provider: "smsgatewayapi", list: "200").map(\.id)
                    == [String(second)])
        }
    }

    @Test func twoContactsOfAGroupCanSwapNumbersInOnePatch() async throws {
        try await withSandbox { sandbox in
            let first = try await Self.addGateway(sandbox, Self.gateway.contact("436501234567"))
            let second = try await Self.addGateway(sandbox, Self.gateway.contact("436501234568"))
            let reply = try await Self.patch(
                sandbox,
                [
                    ["ID": .int(first), "phone": "436501234568"],
                    ["ID": .int(second), "phone": "436501234567"],
                ])
            #expect(reply.status == 204)
            let stored = await sandbox.server.contacts(provider: "smsgatewayapi", list: "100")
            #expect(stored.map(\.phone) == ["436501234568", "436501234567"])
        }
    }

    @Test func theAdminListShowsWhatAPatchStored() async throws {
        try await withSandbox { sandbox in
            let id = try await Self.addGateway(sandbox, Self.gateway.contact("436501234567"))
            _ = try await Self.patch(sandbox, ["ID": .int(id), "extra8": "z"])
            let list = try await sandbox.send(.GET, "/_sandbox/smsgatewayapi/lists/100")
            #expect(list.json?["contacts"]?[0]?["id"] == .string(String(id)))
            #expect(list.json?["contacts"]?[0]?["fields"]?["extra8"] == "z")
            #expect(list.json?["contacts"]?[0]?["fields"]?["extra1"] == "Marketing")
        }
    }

    // MARK: Octopush overwrite

    static let octopush = OctopushEmulatorTests.self

    static func create(
        _ sandbox: Sandbox, _ contact: JSON, doNotOverwrite: Bool? = nil
    ) async throws -> Reply {
        var body: [(String, JSON)] = [("contacts", [contact]), ("list_name", "demo")]
        if let doNotOverwrite { body.append(("do_not_overwrite", .bool(doNotOverwrite))) }
        return try await sandbox.sendJSON(
            .POST, octopush.create, headers: octopush.auth, json: .object(body))
    }

    static let full: JSON = [
        "phone_number": "+33612345678", "first_name": "Axelle", "last_name": "Durand",
        "param1": "a", "param2": "b", "param3": "Mme", "param4": "d", "param5": "e",
    ]

    @Test func createWithoutDoNotOverwriteReplacesEveryStoredField() async throws {
        try await withSandbox { sandbox in
            #expect(try await Self.create(sandbox, Self.full).status == 201)
            let again = try await Self.create(
                sandbox,
                [
                    "phone_number": "+33612345678", "first_name": "Alex", "last_name": "Martin",
                    "param1": "z",
                ], doNotOverwrite: false)
            #expect(again.json?["items"]?[0]?["status"] == "updated")
            #expect(
                await sandbox.server.contacts(provider: "octopush", list: "demo") == [
                    SandboxContact(
                        phone: "+33612345678",
                        fields: ["first_name": "Alex", "last_name": "Martin", "param1": "z"])
                ])
        }
    }

    @Test func doNotOverwriteAnswersSkippedAndKeepsEveryStoredField() async throws {
        try await withSandbox { sandbox in
            _ = try await Self.create(sandbox, Self.full)
            let again = try await Self.create(
                sandbox, ["phone_number": "+33612345678", "first_name": "Alex"],
                doNotOverwrite: true)
            #expect(again.status == 201)
            #expect(again.json?["items"]?[0]?["status"] == "skipped")
            let stored = await sandbox.server.contacts(provider: "octopush", list: "demo")
            #expect(stored.count == 1)
            #expect(
                stored.first?.fields == [
                    "first_name": "Axelle", "last_name": "Durand", "param1": "a", "param2": "b",
                    "param3": "Mme", "param4": "d", "param5": "e",
                ])
            let list = try await sandbox.send(.GET, "/_sandbox/octopush/lists/demo")
            #expect(list.json?["contacts"]?[0]?["fields"]?["param5"] == "e")
        }
    }

    // MARK: SMS Partner paging

    static func fillPartner(_ sandbox: Sandbox, count: Int) async throws {
        guard count > 0 else { return }
        let contacts: [JSON] = (0..<count).map {
            ["phoneNumber": .string("061234\(String(format: "%04d", $0))")]
        }
        let reply = try await sandbox.sendJSON(
            .POST, SMSPartnerEmulatorTests.add,
            json: [
                "apiKey": SMSPartnerEmulatorTests.apiKey, "groupId": "5001",
                "contactsList": .array(contacts),
            ])
        #expect(reply.json?["rapport"]?["added"] == .int(count))
    }

    struct PageCase: CustomTestStringConvertible, Sendable {
        let contacts: Int
        let page: String
        let expected: Range<Int>
        var testDescription: String { "\(contacts) contacts, page \(page) → \(expected)" }
    }

    static let pages: [PageCase] = [
        .init(contacts: 0, page: "1", expected: 0..<0),
        .init(contacts: 0, page: "2", expected: 0..<0),
        .init(contacts: 20, page: "1", expected: 0..<20),
        .init(contacts: 20, page: "2", expected: 0..<0),
        .init(contacts: 21, page: "1", expected: 0..<20),
        .init(contacts: 21, page: "2", expected: 20..<21),
        .init(contacts: 21, page: "3", expected: 0..<0),
        .init(contacts: 21, page: "1000000", expected: 0..<0),
        .init(contacts: 21, page: "999999999999999999", expected: 0..<0),
    ]

    @Test(arguments: pages)
    func partnerListPagesAtTheBoundaries(_ page: PageCase) async throws {
        try await withSandbox { sandbox in
            try await Self.fillPartner(sandbox, count: page.contacts)
            let reply = try await sandbox.send(
                .GET,
                "/smspartner/v1/contact/list?apiKey=\(SandboxDemo.standard.smsPartner.apiKey)"
                    + "&groupId=5001&page=\(page.page)")
            #expect(reply.status == 200)
            #expect(reply.json?["success"] == true)
            #expect(reply.json?["currentPage"] == Int(page.page).map { .int($0) })
            #expect(reply.json?["total"] == .int(page.contacts))
            let phones = reply.json?["datas"]?.elements.compactMap { $0["phone"]?.stringValue }
            #expect(phones == page.expected.map { "+3361234\(String(format: "%04d", $0))" })
        }
    }

    @Test func partnerHasNoUpdateEndpoint() async throws {
        try await withSandbox { sandbox in
            for path in ["/smspartner/v1/contact/update", "/smspartner/v1/contact/edit"] {
                let reply = try await sandbox.sendJSON(
                    .POST, path,
                    json: ["apiKey": SMSPartnerEmulatorTests.apiKey, "contactId": "700001"])
                #expect(reply.status == 404)
                #expect(reply.json?["success"] == false)
            }
        }
    }
}
