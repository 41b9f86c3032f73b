import NIOHTTP1
import Testing

@testable import ContactorSandbox

@Suite("Avosms emulator")
struct AvosmsEmulatorTests {
    static let credentials = [
        ("id", SandboxDemo.standard.avosms.id), ("key", SandboxDemo.standard.avosms.key),
    ]

    static func add(
        list: String = "1001", phone: String, _ extra: [(String, String)] = []
    )
        -> [(String, String)]
    {
        credentials + [("listContactId", list), ("contactTelephoneNumber", phone)] + extra
    }

    @Test func addStoresTheContactUnderItsE164NumberAndAnswersOK() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendForm(
                "/avosms/v1/contact/add",
                Self.add(
                    phone: "06 12 34 56 78",
                    [
                        ("contactFirstName", "Axelle"), ("contactName", "Durand"),
                        ("contactBirthday", "1990-02-03"),
                    ]))
            #expect(reply.status == 200)
            #expect(reply.json == ["status": "success", "code": "OK"])
            let contacts = await sandbox.server.contacts(provider: "avosms", list: "1001")
            #expect(
                contacts == [
                    SandboxContact(
                        phone: "+33612345678",
                        fields: [
                            "contactFirstName": "Axelle", "contactName": "Durand",
                            "contactBirthday": "1990-02-03",
                        ])
                ])
        }
    }

    @Test func addAcceptsAnInternationalNumberOfTheListsCountry() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendForm(
                "/avosms/v1/contact/add", Self.add(list: "1003", phone: "+32470123456"))
            #expect(reply.json?["code"] == "OK")
            #expect(
                await sandbox.server.contacts(provider: "avosms", list: "1003").map(\.phone) == [
                    "+32470123456"
                ])
        }
    }

    struct ErrorCase: CustomTestStringConvertible, Sendable {
        let name: String
        let fields: [(String, String)]
        let code: String
        var testDescription: String { "\(name) → \(code)" }
    }

    static let addErrors: [ErrorCase] = [
        .init(
            name: "missing credentials",
            fields: [("listContactId", "1001"), ("contactTelephoneNumber", "0612345678")],
            code: "ERR_100"),
        .init(
            name: "wrong key",
            fields: [
                ("id", SandboxDemo.standard.avosms.id), ("key", "nope"), ("listContactId", "1001"),
                ("contactTelephoneNumber", "0612345678"),
            ], code: "ERR_100"),
        .init(
            name: "unknown field name", fields: add(phone: "0612345678", [("contactPhone", "x")]),
            code: "ERR_100"),
        .init(name: "empty list id", fields: add(list: "", phone: "0612345678"), code: "ERR_101"),
        .init(
            name: "missing list id",
            fields: credentials + [("contactTelephoneNumber", "0612345678")], code: "ERR_101"),
        .init(name: "empty number", fields: add(phone: ""), code: "ERR_102"),
        .init(
            name: "number under a wrong field name",
            fields: credentials + [("listContactId", "1001")], code: "ERR_102"),
        .init(
            name: "unknown list", fields: add(list: "9999", phone: "0612345678"), code: "ERR_103"),
        .init(name: "unparseable number", fields: add(phone: "12ab"), code: "ERR_105"),
        .init(name: "too short number", fields: add(phone: "0612"), code: "ERR_105"),
        .init(
            name: "Belgian number on a French list", fields: add(phone: "+32470123456"),
            code: "ERR_106"),
        .init(
            name: "French number on a Belgian list",
            fields: add(list: "1003", phone: "+33612345678"),
            code: "ERR_106"),
        .init(
            name: "fixed line on a mobile-only list",
            fields: add(list: "1002", phone: "0140000000"),
            code: "ERR_107"),
    ]

    @Test(arguments: addErrors)
    func addRejectsAMalformedRequestWithTheDocumentedCode(_ errorCase: ErrorCase) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendForm("/avosms/v1/contact/add", errorCase.fields)
            #expect(reply.status == 200)
            #expect(reply.json?["status"] == "error")
            #expect(reply.json?["code"] == .string(errorCase.code))
            #expect(await sandbox.server.contacts(provider: "avosms", list: "1001").isEmpty)
        }
    }

    @Test func addOfANumberAlreadyInTheListIsERR104() async throws {
        try await withSandbox { sandbox in
            _ = try await sandbox.sendForm("/avosms/v1/contact/add", Self.add(phone: "0612345678"))
            let again = try await sandbox.sendForm(
                "/avosms/v1/contact/add", Self.add(phone: "+33612345678"))
            #expect(again.json?["code"] == "ERR_104")
        }
    }

    @Test func mobileOnlyListAcceptsAMobileNumber() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendForm(
                "/avosms/v1/contact/add", Self.add(list: "1002", phone: "0612345678"))
            #expect(reply.json?["code"] == "OK")
        }
    }

    @Test func aJSONBodyIsERR100() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendJSON(
                .POST, "/avosms/v1/contact/add",
                json: [
                    "id": .string(sandbox.demo.avosms.id), "key": .string(sandbox.demo.avosms.key),
                    "listContactId": "1001", "contactTelephoneNumber": "0612345678",
                ])
            #expect(reply.json?["code"] == "ERR_100")
        }
    }

    @Test func anUnknownPathOrAGETIsERR100() async throws {
        try await withSandbox { sandbox in
            let unknown = try await sandbox.sendForm(
                "/avosms/v1/contact/remove", Self.add(phone: "0612345678"))
            #expect(unknown.json?["code"] == "ERR_100")
            let get = try await sandbox.send(.GET, "/avosms/v1/contact/add")
            #expect(get.json?["code"] == "ERR_100")
        }
    }

    @Test func deleteRemovesTheContact() async throws {
        try await withSandbox { sandbox in
            _ = try await sandbox.sendForm("/avosms/v1/contact/add", Self.add(phone: "0612345678"))
            let reply = try await sandbox.sendForm(
                "/avosms/v1/contact/delete", Self.add(phone: "+33612345678"))
            #expect(reply.json == ["status": "success", "code": "OK"])
            #expect(await sandbox.server.contacts(provider: "avosms", list: "1001").isEmpty)
        }
    }

    static let deleteErrors: [ErrorCase] = [
        .init(name: "absent number", fields: add(phone: "0612345678"), code: "ERR_104"),
        .init(name: "unreadable number", fields: add(phone: "12ab"), code: "ERR_104"),
        .init(name: "empty list id", fields: add(list: "", phone: "0612345678"), code: "ERR_101"),
        .init(name: "empty number", fields: add(phone: ""), code: "ERR_102"),
        .init(
            name: "unknown list", fields: add(list: "9999", phone: "0612345678"), code: "ERR_103"),
        .init(
            name: "an add-only field",
            fields: add(phone: "0612345678", [("contactName", "Durand")]),
            code: "ERR_100"),
        .init(
            name: "bad credentials",
            fields: [("id", "someone@else"), ("key", "k"), ("listContactId", "1001")],
            code: "ERR_100"),
    ]

    @Test(arguments: deleteErrors)
    func deleteRejectsWithTheDocumentedCode(_ errorCase: ErrorCase) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendForm("/avosms/v1/contact/delete", errorCase.fields)
            #expect(reply.json?["code"] == .string(errorCase.code))
        }
    }

    @Test func listCreateThenInformationShowsTheNewListAndItsContacts() async throws {
        try await withSandbox { sandbox in
            let created = try await sandbox.sendForm(
                "/avosms/v1/contact/list/create",
                Self.credentials + [
                    ("listContactName", "Clients"), ("listContactCountryCode", "fr"),
                ])
            #expect(created.json?["code"] == "OK")
            let id = try #require(created.json?["listContactId"]?.stringValue)
            _ = try await sandbox.sendForm(
                "/avosms/v1/contact/add", Self.add(list: id, phone: "0612345678"))
            let info = try await sandbox.sendForm(
                "/avosms/v1/contact/list/information", Self.credentials + [("listContactId", id)])
            #expect(info.json?["list"]?["listContactCountryCode"] == "FR")
            #expect(info.json?["contacts"]?[0]?["contactTelephoneNumber"] == "+33612345678")
            let lists = try await sandbox.sendForm("/avosms/v1/contact/list", Self.credentials)
            #expect(
                lists.json?["lists"]?.elements.compactMap { $0["listContactId"]?.stringValue }
                    == ["1001", "1002", "1003", id])
        }
    }
}
