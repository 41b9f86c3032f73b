import Contactor
import ContactorSandbox
import ContactorStore
import ContactorTesting
import Foundation
import Testing

/// `sync` against each provider's emulator over real HTTP: a first sync adds, the same
/// input again sends nothing, a changed field is updated, removed rows are deleted (only
/// what Contactor added, where the provider can delete), and a contact deleted by hand at
/// the provider is handled as docs/sync.md says.
@Suite struct SyncFlowTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var provider: String
        var list: String
        var options: [String: String] = [:]
        var deletes = true
        var testDescription: String { provider }
    }

    static let cases = [
        Case(provider: "avosms", list: "1001"),
        Case(provider: "octopush", list: "demo"),
        Case(provider: "smsgatewayapi", list: "100", deletes: false),
        Case(provider: "smspartner", list: "5001", options: ["update": "replace"]),
    ]

    /// The phones a provider's emulator holds for `list`, in E.164 (SMS Gateway API keeps
    /// them without the `+`).
    static func stored(_ server: SandboxServer, _ testCase: Case) async -> Set<String> {
        Set(
            await server.contacts(provider: testCase.provider, list: testCase.list).map {
                $0.phone.hasPrefix("+") ? $0.phone : "+" + $0.phone
            })
    }

    /// Rows with a phone and a first name, line `i + 2` for the `i`-th.
    static func rows(_ people: [(String, String)]) -> RecordStream {
        RecordStream(
            records: people.enumerated().map { index, person in
                InputRecord(
                    line: index + 2, columns: [("phone", person.0), ("first_name", person.1)])
            })
    }

    static func sync(
        _ client: ContactorClient, _ people: [(String, String)], _ testCase: Case,
        server: SandboxServer, ledger: any Ledger, deleteMissing: Bool = false,
        maxDeletes: Int = 100, mode: RunOptions.Mode = .send
    ) async throws -> [RecordOutcome] {
        let run = try await client.sync(
            rows(people), provider: testCase.provider, list: testCase.list, ledger: ledger,
            options: SyncOptions(
                run: RunOptions(
                    mode: mode, endpoint: server.url(for: testCase.provider),
                    providerOptions: testCase.options),
                deleteMissing: deleteMissing, maxDeletes: maxDeletes))
        var outcomes: [RecordOutcome] = []
        for try await outcome in run { outcomes.append(outcome) }
        return outcomes
    }

    @Test(arguments: cases)
    func aListIsKeptInStepWithTheInput(_ testCase: Case) async throws {
        try await withSandbox { server in
            try await withClient(provider: testCase.provider) { client in
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "contactor-sync-\(UUID().uuidString)")
                try FileManager.default.createDirectory(
                    at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                let ledger = try SQLiteLedger(
                    path: directory.appendingPathComponent("l.sqlite").path)
                var people = frenchMobiles(12, from: 300).map { ($0, "Ada") }

                // First sync: everything added.
                let first = try await Self.sync(
                    client, people, testCase, server: server, ledger: ledger)
                #expect(
                    first.map(\.result.status) == Array(repeating: .added, count: 12), "\(first)")
                #expect(await Self.stored(server, testCase).isSuperset(of: people.map(\.0)))

                // The same input again: nothing sent.
                server.clearRequests()
                let again = try await Self.sync(
                    client, people, testCase, server: server, ledger: ledger)
                #expect(again.allSatisfy { $0.result.status == .skipped })
                #expect(server.requests.isEmpty, "\(server.requests.map(\.path))")

                // Two first names change: two updates, nothing else.
                people[2].1 = "Grace"
                people[7].1 = "Hedy"
                let changed = try await Self.sync(
                    client, people, testCase, server: server, ledger: ledger)
                #expect(changed[0].result.status == .skipped)
                #expect(changed[2].result.status == .updated, "\(changed[2])")
                #expect(changed[7].result.status == .updated, "\(changed[7])")
                #expect(changed.filter { $0.result.status == .updated }.count == 2)
                let third = try await Self.sync(
                    client, people, testCase, server: server, ledger: ledger)
                #expect(third.allSatisfy { $0.result.status == .skipped })

                guard testCase.deletes else { return }
                // More deletions than allowed: refused before anything is sent.
                server.clearRequests()
                await #expect(throws: ContactorError.self) {
                    _ = try await Self.sync(
                        client, Array(people.prefix(8)), testCase, server: server, ledger: ledger,
                        deleteMissing: true, maxDeletes: 3)
                }
                #expect(server.requests.isEmpty)
                // The plan shows the four deletions, and sends nothing.
                let plan = try await Self.sync(
                    client, Array(people.prefix(8)), testCase, server: server, ledger: ledger,
                    deleteMissing: true, mode: .dryRun)
                #expect(plan.filter { $0.operation == .delete }.count == 4)
                #expect(server.requests.isEmpty)
                // Four rows removed: those four deleted, after the rows, with no line.
                let removed = try await Self.sync(
                    client, Array(people.prefix(8)), testCase, server: server, ledger: ledger,
                    deleteMissing: true)
                let deletions = removed.filter { $0.result.status == .deleted }
                #expect(deletions.count == 4 && deletions.allSatisfy { $0.line == nil })
                let left = await Self.stored(server, testCase)
                #expect(left.isSuperset(of: people.prefix(8).map(\.0)))
                #expect(left.isDisjoint(with: people.suffix(4).map(\.0)))
            }
        }
    }
}
