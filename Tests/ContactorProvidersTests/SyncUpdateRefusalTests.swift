import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import Testing

/// A sync through a provider whose update needs an option: a changed contact is refused
/// with the reason (no request), and with the option it is replaced.
@Suite struct SyncUpdateRefusalTests {
    /// Records from rows, iterable as often as a sync reads them.
    struct Rows: AsyncSequence, Sendable {
        let rows: [InputRecord]
        init(_ people: [(String, String)]) {
            rows = people.enumerated().map { index, person in
                InputRecord(
                    line: index + 2, columns: [("phone", person.0), ("first_name", person.1)])
            }
        }
        func makeAsyncIterator() -> Iterator { Iterator(rows: rows) }
        struct Iterator: AsyncIteratorProtocol {
            let rows: [InputRecord]
            var index = 0
            mutating func next() async -> InputRecord? {
                defer { index += 1 }
                return index < rows.count ? rows[index] : nil
            }
        }
    }

    static func partner() -> MockTransport {
        MockTransport { request in
            switch request.url.path {
            case "/v1/contact/delete": .json(200, ["success": true, "code": 200])
            default:
                .json(200, ["success": true, "code": 200, "contact": ["contactId": 900]])
            }
        }
    }

    static func sync(
        _ people: [(String, String)], transport: MockTransport, ledger: InMemoryLedger,
        options: [String: String] = [:]
    ) async throws -> [RecordOutcome] {
        let client = ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([SMSPartnerProvider()]),
                credentials: CredentialResolver(explicit: ["api_key": "sp-api-key-4c1d8e"]),
                clock: ImmediateClock()))
        var outcomes: [RecordOutcome] = []
        let run = try await client.sync(
            Rows(people), provider: "smspartner", list: "5001", ledger: ledger,
            options: SyncOptions(run: RunOptions(providerOptions: options, batchSize: 1)))
        for try await outcome in run { outcomes.append(outcome) }
        return outcomes
    }

    @Test func aChangedContactIsRefusedWithTheOptionToGiveAndNothingIsSent() async throws {
        let ledger = InMemoryLedger()
        let transport = Self.partner()
        let first = try await Self.sync(
            [("+33612345678", "Ada"), ("+33612345679", "Alan")], transport: transport,
            ledger: ledger)
        #expect(first.map(\.result.status) == [.added, .added])
        let sent = transport.requests.count

        let second = try await Self.sync(
            [("+33612345678", "Grace"), ("+33612345679", "Alan")], transport: transport,
            ledger: ledger)
        #expect(second.map(\.result.status) == [.rejected, .skipped])
        let error = try #require(second.first?.result.error)
        #expect(error.code == .unsupportedOperation)
        #expect(error.message.contains("--option update=replace"))
        #expect(transport.requests.count == sent, "nothing is sent for a refused update")

        let third = try await Self.sync(
            [("+33612345678", "Grace"), ("+33612345679", "Alan")], transport: transport,
            ledger: ledger, options: ["update": "replace"])
        #expect(third.map(\.result.status) == [.updated, .skipped])
        #expect(
            transport.requests.dropFirst(sent).map(\.url.path) == [
                "/v1/contact/delete", "/v1/contact/add",
            ])
    }

    @Test func anUpdateOptionThatIsNeitherValueRefusesTheSync() async throws {
        await #expect {
            _ = try await Self.sync(
                [("+33612345678", "Ada")], transport: .unreachable, ledger: InMemoryLedger(),
                options: ["update": "merge"])
        } throws: { error in
            (error as? ContactorError)?.code == .invalidList
        }
    }
}
