import Contactor
import ContactorHTTP
import ContactorProviders
import ContactorSandbox
import Foundation
import Testing

/// One input row of an end-to-end import and the outcome it must have.
struct ImportRow: Sendable {
    var phone: String
    var lastName = "Lovelace"
    var birthday: String?
    /// The status the row must end with.
    var status: ContactResult.Status
    /// The error code a non-success must carry.
    var code: ContactError.Code?
    /// The E.164 number the emulator's list holds afterwards because of this row.
    var stored: String?

    /// A row that must be added.
    static func good(_ e164: String) -> ImportRow {
        ImportRow(phone: e164, status: .added, stored: e164)
    }

    /// A row that must be refused with `code`.
    static func bad(
        _ phone: String, _ status: ContactResult.Status = .rejected, _ code: ContactError.Code,
        lastName: String = "Lovelace", birthday: String? = nil
    ) -> ImportRow {
        ImportRow(phone: phone, lastName: lastName, birthday: birthday, status: status, code: code)
    }
}

/// An array of records as an `AsyncSequence`, as a CSV reader would produce them.
func recordStream(_ records: [InputRecord]) -> AsyncStream<InputRecord> {
    let (stream, continuation) = AsyncStream.makeStream(of: InputRecord.self)
    for record in records { continuation.yield(record) }
    continuation.finish()
    return stream
}

/// The rows of a ~50-record import for `fixture`: 44 new French mobiles, with bad rows
/// spread through them (some refused locally, some by the emulator) and a duplicate.
func importRows(for fixture: ProviderFixture) throws -> [ImportRow] {
    let mobiles = try TestNumbers.frenchMobiles(44, start: 500).map(\.e164)
    var rows = mobiles.map(ImportRow.good)
    // Refused before the network, by every provider.
    rows.insert(.bad("not a phone", .rejected, .invalidPhone), at: 3)
    rows.insert(.bad("", .rejected, .missingField), at: 11)
    rows.insert(.bad("+33612399999", .rejected, .invalidField, birthday: "1990-13-45"), at: 20)
    // A number already sent earlier in the same input: sent once, whatever the provider
    // would do with it; the later row is skipped with the line of the first.
    rows.insert(ImportRow(phone: mobiles[1], status: .skipped, code: .alreadyInList), at: 40)
    // Provider-specific refusals.
    switch fixture.name {
    case "avosms":
        // List 1002 is French and mobile-only: the emulator answers ERR_107 and ERR_106.
        rows.insert(.bad("+33142685300", .rejected, .numberTypeNotAllowed), at: 7)
        rows.insert(.bad("+32470123456", .rejected, .wrongCountry), at: 30)
    case "smsgatewayapi":
        // No default region: a national number cannot be read.
        rows.insert(.bad("0612345678", .rejected, .invalidPhone), at: 7)
    case "smspartner":
        // Last names are limited to 32 characters.
        rows.insert(
            .bad(
                "+33612398888", .rejected, .fieldTooLong,
                lastName: String(repeating: "x", count: 40)),
            at: 7)
    default:
        break
    }
    return rows
}

/// End-to-end runs through ``ContactorClient``, real HTTP and the sandbox emulators.
@Suite("End-to-end imports through ContactorClient against the sandbox")
struct EndToEndImportTests {
    static let fixtures: [ProviderFixture] = [
        .avosms, .octopush, .smsGatewayAPI, .smsPartner,
    ]

    func client(_ transport: any HTTPTransport) -> ContactorClient {
        ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry(BuiltInProviders.all),
                retry: .none,
                credentials: CredentialResolver(environment: [:])))
    }

    func options(_ fixture: ProviderFixture, server: SandboxServer) -> RunOptions {
        RunOptions(
            endpoint: server.url(for: fixture.name), providerOptions: fixture.options,
            credentials: SandboxDemo.standard.credentials(for: fixture.name))
    }

    @Test(
        "An import of ~50 records reports every outcome in input order and the list holds exactly the good ones",
        arguments: fixtures)
    func importFifty(_ fixture: ProviderFixture) async throws {
        let rows = try importRows(for: fixture)
        #expect(rows.count >= 48)
        try await withSandboxTransport { server, transport in
            let records = rows.enumerated().map { index, row in
                var columns = [
                    (name: "phone", value: row.phone), (name: "first_name", value: "Ada"),
                    (name: "last_name", value: row.lastName),
                ]
                if let birthday = row.birthday {
                    columns.append((name: "birthday", value: birthday))
                }
                return InputRecord(line: index + 2, columns: columns)
            }
            let run = try await client(transport).importRecords(
                recordStream(records), provider: fixture.name, list: fixture.list,
                options: options(fixture, server: server))
            var outcomes: [RecordOutcome] = []
            for try await outcome in run { outcomes.append(outcome) }

            #expect(outcomes.compactMap(\.line) == records.map(\.line), "outcomes in input order")
            for (row, outcome) in zip(rows, outcomes) {
                #expect(
                    outcome.result.status == row.status,
                    "line \(outcome.line) (\(row.phone)): \(outcome.result)")
                #expect(
                    outcome.result.error?.code == row.code,
                    "line \(outcome.line) (\(row.phone)): \(String(describing: outcome.result.error))"
                )
                if let stored = row.stored {
                    #expect(outcome.phone == stored)
                }
            }
            let expected = rows.compactMap(\.stored)
            let held = await server.contacts(provider: fixture.name, list: fixture.list)
            #expect(held.count == expected.count, "no contact twice, none missing, none extra")
            #expect(
                Set(held.map { $0.phone.hasPrefix("+") ? $0.phone : "+" + $0.phone })
                    == Set(expected))
        }
    }

    @Test(
        "Deleting through the client removes exactly the given numbers and reports an absent one as documented",
        arguments: fixtures.filter { $0.name != "smsgatewayapi" })
    func deleteAfterImport(_ fixture: ProviderFixture) async throws {
        let numbers = try TestNumbers.frenchMobiles(30, start: 700).map(\.e164)
        let absent = try TestNumbers.frenchMobiles(1, start: 799)[0].e164
        try await withSandboxTransport { server, transport in
            let client = client(transport)
            let options = options(fixture, server: server)
            let added = try await client.add(
                numbers.map { ContactDraft(phone: $0, firstName: "Ada") },
                provider: fixture.name, list: fixture.list, options: options)
            try #require(added.allSatisfy { $0.result.status == .added }, "\(added)")

            // Numbers spread over the list (SMS Partner pages by 20), and one never added.
            let doomed = stride(from: 0, to: numbers.count, by: 3).map { numbers[$0] }
            let outcomes = try await client.delete(
                phones: doomed + [absent], provider: fixture.name, list: fixture.list,
                options: options)
            #expect(outcomes.compactMap(\.line) == Array(1...(doomed.count + 1)))
            for outcome in outcomes.dropLast() {
                #expect(outcome.result.status == .deleted, "\(outcome)")
            }
            let last = try #require(outcomes.last)
            #expect(fixture.absentDeleteStatuses.contains(last.result.status), "\(last)")
            if last.result.status == .skipped {
                #expect(last.result.error?.code == .notInList)
            }
            let held = await server.contacts(provider: fixture.name, list: fixture.list)
            #expect(Set(held.map(\.phone)) == Set(numbers).subtracting(doomed))
            #expect(held.count == numbers.count - doomed.count)
        }
    }

    @Test(
        "A number the provider refuses, among good ones, is rejected alone and the others are added",
        arguments: fixtures)
    func providerRefusedNumberAmongGoodOnes(_ fixture: ProviderFixture) async throws {
        // Contacts already normalised skip the pipeline's parsing, so the unreadable
        // number reaches the provider: per-contact refusal, or (Octopush) a whole-request
        // refusal that the engine splits until the bad contact stands alone.
        let good = try TestNumbers.frenchMobiles(12, start: 600)
        let contacts =
            good.prefix(5).map { Contact(phone: $0, firstName: "Ada") }
            + [Contact(phone: TestNumbers.invalid, firstName: "Bad")]
            + good.dropFirst(5).map { Contact(phone: $0, firstName: "Ada") }
        try await withSandboxTransport { server, transport in
            let outcomes = try await client(transport).add(
                contacts, provider: fixture.name, list: fixture.list,
                options: options(fixture, server: server))
            #expect(outcomes.compactMap(\.line) == Array(1...contacts.count))
            for (contact, outcome) in zip(contacts, outcomes) {
                if contact.phone == TestNumbers.invalid {
                    #expect(outcome.result.status == .rejected, "\(outcome)")
                    #expect(
                        outcome.result.error?.code
                            == (fixture.refusesWholeRequest ? .providerError : .invalidPhone),
                        "\(outcome)")
                    #expect(outcome.result.error?.message.contains("3361234") == true)
                } else {
                    #expect(outcome.result.status == .added, "\(outcome)")
                }
            }
            let held = await server.contacts(provider: fixture.name, list: fixture.list)
            #expect(
                Set(held.map { $0.phone.hasPrefix("+") ? $0.phone : "+" + $0.phone })
                    == Set(good.map(\.e164)))
            #expect(held.count == good.count)
        }
    }

    @Test(
        "SMS Gateway API delete through the client is unsupported_operation, says so, and sends nothing"
    )
    func smsGatewayAPIDeleteIsUnsupported() async throws {
        let fixture = ProviderFixture.smsGatewayAPI
        let numbers = try TestNumbers.frenchMobiles(3, start: 900).map(\.e164)
        try await withSandboxTransport { server, transport in
            let client = client(transport)
            let options = options(fixture, server: server)
            let added = try await client.add(
                numbers.map { ContactDraft(phone: $0) }, provider: fixture.name,
                list: fixture.list, options: options)
            try #require(added.allSatisfy { $0.result.status == .added }, "\(added)")

            let error = await #expect(throws: ContactorError.self) {
                _ = try await client.delete(
                    phones: numbers, provider: fixture.name, list: fixture.list,
                    options: options)
            }
            #expect(error?.code == .unsupportedOperation)
            #expect(error?.message.contains("delete is not supported by smsgatewayapi") == true)

            let importError = await #expect(throws: ContactorError.self) {
                _ = try await client.importRecords(
                    recordStream(
                        numbers.enumerated().map {
                            InputRecord(line: $0 + 2, columns: [(name: "phone", value: $1)])
                        }),
                    operation: .delete, provider: fixture.name, list: fixture.list,
                    options: options)
            }
            #expect(importError?.code == .unsupportedOperation)
            #expect(importError?.message.contains("smsgatewayapi") == true)

            let held = await server.contacts(provider: fixture.name, list: fixture.list)
            #expect(held.count == numbers.count, "nothing was deleted")
        }
    }
}
