import NIOHTTP1
import Testing

@testable import ContactorSandbox

@Suite("Avosms emulator: contact/update, list export and ERR_9XX")
struct AvosmsUpdateAndFaultTests {
    static let credentials = AvosmsEmulatorTests.credentials

    static func contact(
        _ route: String, list: String = "1001", phone: String, _ extra: [(String, String)] = []
    ) -> (String, [(String, String)]) {
        (
            "/avosms/v1/contact/\(route)",
            credentials + [("listContactId", list), ("contactTelephoneNumber", phone)] + extra
        )
    }

    static func send(
        _ sandbox: Sandbox, _ request: (String, [(String, String)])
    ) async throws -> Reply {
        try await sandbox.sendForm(request.0, request.1)
    }

    @Test func updateReplacesTheFieldsAndEmptiesTheOptionalOnesLeftOut() async throws {
        try await withSandbox { sandbox in
            let added = try await Self.send(
                sandbox,
                Self.contact(
                    "add", phone: "0612345678",
                    [
                        ("contactFirstName", "Axelle"), ("contactName", "Durand"),
                        ("contactEmail", "axelle@example.com"), ("contactOther", "vip"),
                    ]))
            #expect(added.json?["code"] == "OK")
            let updated = try await Self.send(
                sandbox,
                Self.contact(
                    "update", phone: "+33612345678",
                    [("contactFirstName", "Alex"), ("contactBirthday", "1990-02-03")]))
            #expect(updated.status == 200)
            #expect(updated.json == ["status": "success", "code": "OK"])
            #expect(
                await sandbox.server.contacts(provider: "avosms", list: "1001") == [
                    SandboxContact(
                        phone: "+33612345678",
                        fields: ["contactFirstName": "Alex", "contactBirthday": "1990-02-03"])
                ])
        }
    }

    @Test func updateOfANumberNotInTheListIsERR104AndStoresNothing() async throws {
        try await withSandbox { sandbox in
            let reply = try await Self.send(
                sandbox, Self.contact("update", phone: "0612345678", [("contactName", "X")]))
            #expect(reply.status == 200)
            #expect(reply.json?["status"] == "error")
            #expect(reply.json?["code"] == "ERR_104")
            #expect(await sandbox.server.contacts(provider: "avosms", list: "1001").isEmpty)
        }
    }

    static let updateErrors: [AvosmsEmulatorTests.ErrorCase] = [
        .init(
            name: "missing credentials",
            fields: [("listContactId", "1001"), ("contactTelephoneNumber", "0612345678")],
            code: "ERR_100"),
        .init(
            name: "unknown field",
            fields: contact("update", phone: "0612345678", [("contactPhone", "x")]).1,
            code: "ERR_100"),
        .init(
            name: "empty list id", fields: contact("update", list: "", phone: "0612345678").1,
            code: "ERR_101"),
        .init(name: "empty number", fields: contact("update", phone: " ").1, code: "ERR_102"),
        .init(
            name: "no such list", fields: contact("update", list: "9", phone: "0612345678").1,
            code: "ERR_103"),
        .init(
            name: "unreadable number", fields: contact("update", phone: "12ab").1, code: "ERR_105"),
        .init(
            name: "number of another country",
            fields: contact("update", phone: "+32470123456").1, code: "ERR_106"),
        .init(
            name: "fixed line on a mobile-only list",
            fields: contact("update", list: "1002", phone: "0140000000").1, code: "ERR_107"),
    ]

    @Test(arguments: updateErrors)
    func updateRejectsWithTheCodesOfAdd(_ errorCase: AvosmsEmulatorTests.ErrorCase) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.sendForm("/avosms/v1/contact/update", errorCase.fields)
            #expect(reply.status == 200)
            #expect(reply.json?["code"] == .string(errorCase.code))
        }
    }

    @Test func updateIsPOSTOnly() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.send(.GET, "/avosms/v1/contact/update")
            #expect(reply.json?["code"] == "ERR_100")
        }
    }

    @Test func listInformationExportsEveryContactWithEveryField() async throws {
        try await withSandbox { sandbox in
            let full: [(String, String)] = [
                ("contactCivility", "Mme"), ("contactName", "Durand"),
                ("contactFirstName", "Axelle"), ("contactEmail", "axelle@example.com"),
                ("contactBirthday", "1990-02-03"), ("contactOther", "vip"),
            ]
            _ = try await Self.send(sandbox, Self.contact("add", phone: "0612345678", full))
            _ = try await Self.send(sandbox, Self.contact("add", phone: "0698765432"))
            _ = try await Self.send(
                sandbox, Self.contact("add", phone: "0611111111", [("contactName", "Martin")]))
            let info = try await sandbox.sendForm(
                "/avosms/v1/contact/list/information",
                Self.credentials + [("listContactId", "1001")])
            #expect(info.json?["code"] == "OK")
            #expect(info.json?["list"]?["contactCount"] == 3)
            let contacts = info.json?["contacts"]?.elements ?? []
            #expect(
                contacts == [
                    .object(
                        [("contactTelephoneNumber", "+33612345678")]
                            + full.map { ($0.0, .string($0.1)) }),
                    ["contactTelephoneNumber": "+33698765432"],
                    ["contactTelephoneNumber": "+33611111111", "contactName": "Martin"],
                ])
        }
    }

    @Test func theAdminListShowsWhatAnUpdateStored() async throws {
        try await withSandbox { sandbox in
            _ = try await Self.send(
                sandbox, Self.contact("add", phone: "0612345678", [("contactName", "Durand")]))
            _ = try await Self.send(
                sandbox, Self.contact("update", phone: "0612345678", [("contactEmail", "a@b.c")]))
            let list = try await sandbox.send(.GET, "/_sandbox/avosms/lists/1001")
            #expect(
                list.json?["contacts"] == [
                    ["phone": "+33612345678", "fields": ["contactEmail": "a@b.c"]]
                ])
        }
    }

    // MARK: ERR_9XX

    @Test func processingErrorRateOneAnswersERR9xxToAvosmsAndStoresNothing() async throws {
        let faults = FaultConfiguration(
            avosmsProcessingErrorRate: 1, avosmsProcessingErrorCode: 942)
        try await withSandbox(SandboxConfiguration(faults: faults)) { sandbox in
            let reply = try await Self.send(sandbox, Self.contact("add", phone: "0612345678"))
            #expect(reply.status == 200)
            #expect(reply.json?["status"] == "error")
            #expect(reply.json?["code"] == "ERR_942")
            #expect(await sandbox.server.contacts(provider: "avosms", list: "1001").isEmpty)
            // Only Avosms documents ERR_9XX: the other emulators are not touched.
            let octopush = try await SandboxServerTests.addOctopush(sandbox, "+33612345678")
            #expect(octopush.status == 201)
        }
    }

    @Test func aSeededProcessingErrorRateGivesTheSameSequenceOnEveryServer() async throws {
        let faults = FaultConfiguration(avosmsProcessingErrorRate: 0.5, seed: 11)
        var sequences: [[String]] = []
        for _ in 0..<2 {
            try await withSandbox(SandboxConfiguration(faults: faults)) { sandbox in
                var codes: [String] = []
                for index in 0..<16 {
                    let reply = try await Self.send(
                        sandbox, Self.contact("add", phone: "06123456\(10 + index)"))
                    codes.append(reply.json?["code"]?.stringValue ?? "?")
                }
                sequences.append(codes)
            }
        }
        #expect(sequences[0] == sequences[1])
        #expect(Set(sequences[0]) == ["OK", "ERR_900"])
    }

    @Test func aProcessingErrorRateDoesNotChangeWhatOtherProvidersMeet() async throws {
        var sequences: [[Int]] = []
        for rate in [0.0, 0.9] {
            let faults = FaultConfiguration(
                failureRate: 0.5, avosmsProcessingErrorRate: rate, seed: 7)
            try await withSandbox(SandboxConfiguration(faults: faults)) { sandbox in
                var statuses: [Int] = []
                for index in 0..<16 {
                    statuses.append(
                        try await SandboxServerTests.addOctopush(sandbox, "+336123456\(10 + index)")
                            .status)
                }
                sequences.append(statuses)
            }
        }
        #expect(sequences[0] == sequences[1])
    }

    @Test func processingErrorsAreSetAndCheckedThroughTheAdminEndpoint() async throws {
        try await withSandbox { sandbox in
            let put = try await sandbox.sendJSON(
                .PUT, "/_sandbox/faults",
                json: ["avosmsProcessingErrorRate": 1, "avosmsProcessingErrorCode": 999])
            #expect(put.status == 200)
            #expect(put.json?["avosmsProcessingErrorRate"] == .double(1))
            #expect(put.json?["avosmsProcessingErrorCode"] == 999)
            #expect(sandbox.server.faults.avosmsProcessingErrorCode == 999)
            let reply = try await Self.send(sandbox, Self.contact("add", phone: "0612345678"))
            #expect(reply.json?["code"] == "ERR_999")

            for bad: JSON in [
                ["avosmsProcessingErrorRate": 2], ["avosmsProcessingErrorCode": 899],
                ["avosmsProcessingErrorCode": 1000], ["avosmsProcessingErrorCode": .double(900.5)],
            ] {
                let refused = try await sandbox.sendJSON(.PUT, "/_sandbox/faults", json: bad)
                #expect(refused.status == 400)
            }
            let get = try await sandbox.send(.GET, "/_sandbox/faults")
            #expect(get.json?["avosmsProcessingErrorCode"] == 999)
            let reset = try await sandbox.sendJSON(.PUT, "/_sandbox/faults", json: [:])
            #expect(reset.json?["avosmsProcessingErrorRate"] == .double(0))
            #expect(reset.json?["avosmsProcessingErrorCode"] == 900)
        }
    }
}
