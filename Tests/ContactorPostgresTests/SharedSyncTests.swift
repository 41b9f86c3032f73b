import Contactor
import ContactorHTTP
import ContactorPostgres
import ContactorSandbox
import ContactorTesting
import Foundation
import Testing

/// A sync submitted to the store's workers, against the store's ledger and the Octopush
/// emulator over real HTTP on 127.0.0.1.
@Suite struct SharedSyncTests {
    /// Submits a sync of `rows` and lets two workers send it; returns its outcomes.
    static func syncShared(
        _ rows: Rows, store: PostgresStore, configuration: ContactorClient.Configuration,
        server: SandboxServer, deleteMissing: Bool = false, maxDeletes: Int = 100
    ) async throws -> [RecordOutcome] {
        let run = try await store.work.submitSync(
            rows, provider: "octopush", list: "demo",
            client: ContactorClient(configuration: configuration),
            options: SyncOptions(
                run: RunOptions(endpoint: server.url(for: "octopush"), batchSize: 40),
                deleteMissing: deleteMissing, maxDeletes: maxDeletes),
            chunkSize: 100)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<2 {
                group.addTask {
                    try await PostgresWorker(
                        store: store, configuration: configuration,
                        options: .init(name: "w\(index)", leaseDuration: .seconds(10))
                    ).runUntilIdle()
                }
            }
            try await group.waitForAll()
        }
        return try await collect(store, run: run)
    }

    static func creates(_ server: SandboxServer) -> Int {
        server.requests.filter { $0.path.hasSuffix("/contact/create") }.count
    }

    @Test func aSharedSyncSendsOnlyTheDifferenceAndDeletesOnlyWhatItAdded() async throws {
        try await withSandbox { server in
            try await withStore("ssync") { store in
                try await AsyncHTTPClientTransport.withTransport(
                    configuration: .init(proxy: nil)
                ) { http in
                    let configuration = clientConfiguration(http, provider: "octopush")
                    let scope = LedgerScope(
                        provider: "octopush",
                        account: try configuration.credentials.resolve(
                            for: try configuration.providers.resolve("octopush").descriptor
                        ).account, list: "demo")
                    let phones = frenchMobiles(300, start: 40000)

                    // First: every row is added, and the ledger learns each one.
                    let first = try await Self.syncShared(
                        Rows(phones), store: store, configuration: configuration, server: server)
                    #expect(first.map(\.line) == Array(2..<302))
                    #expect(first.allSatisfy { $0.result.status == .added })
                    let added = try await store.ledger.entries(
                        in: scope, origin: .added, after: nil, limit: 1000)
                    #expect(added.count == 300)
                    // Chunks of 100 in batches of 40: 40 + 40 + 20, three times.
                    let afterFirst = Self.creates(server)
                    #expect(afterFirst == 9)

                    // Again, unchanged: nothing is sent.
                    let again = try await Self.syncShared(
                        Rows(phones), store: store, configuration: configuration, server: server)
                    #expect(again.count == 300)
                    #expect(again.allSatisfy { $0.result.status == .skipped })
                    #expect(Self.creates(server) == afterFirst)

                    // 250 rows with a new first name, 50 gone: 250 updates, 50 deletions
                    // after them, with no line.
                    let changed = try await Self.syncShared(
                        Rows(Array(phones.prefix(250)), name: "Grace"), store: store,
                        configuration: configuration, server: server, deleteMissing: true,
                        maxDeletes: 50)
                    #expect(changed.count == 300)
                    #expect(changed.prefix(250).allSatisfy { $0.result.status == .updated })
                    let deletions = changed.dropFirst(250)
                    #expect(deletions.allSatisfy { $0.line == nil && $0.result.status == .deleted })
                    #expect(Set(deletions.compactMap(\.phone)) == Set(phones.suffix(50)))
                    let list = await server.contacts(provider: "octopush", list: "demo")
                    #expect(Set(list.map(\.phone)) == Set(phones.prefix(250)))
                    #expect(list.allSatisfy { $0.fields["first_name"] == "Grace" })
                    let kept = try await store.ledger.entries(
                        in: scope, origin: nil, after: nil, limit: 1000)
                    #expect(kept.count == 250)

                    // More deletions than allowed: refused before anything is stored or sent.
                    let runs = try await integers(
                        "SELECT count(*)::bigint FROM \"\(store.configuration.schema)\".runs",
                        on: store.configuration)
                    let requests = server.requests.count
                    await #expect {
                        _ = try await Self.syncShared(
                            Rows(Array(phones.prefix(100)), name: "Grace"), store: store,
                            configuration: configuration, server: server, deleteMissing: true,
                            maxDeletes: 10)
                    } throws: { error in
                        guard let error = error as? ContactorError else { return false }
                        return error.code == .tooManyDeletes && error.count == 150
                    }
                    #expect(server.requests.count == requests)
                    #expect(
                        try await integers(
                            "SELECT count(*)::bigint FROM \"\(store.configuration.schema)\".runs",
                            on: store.configuration) == runs)
                    #expect(
                        try await store.ledger.entries(
                            in: scope, origin: nil, after: nil, limit: 1000
                        ).count == 250)
                }
            }
        }
    }

    @Test func aSharedSyncHoldsTheListsLedgerUntilItsWorkersFinish() async throws {
        try await withSandbox { server in
            try await withStore("sbusy") { store in
                try await AsyncHTTPClientTransport.withTransport(
                    configuration: .init(proxy: nil)
                ) { http in
                    let configuration = clientConfiguration(http, provider: "octopush")
                    let client = ContactorClient(configuration: configuration)
                    let options = SyncOptions(
                        run: RunOptions(endpoint: server.url(for: "octopush")))
                    let phones = frenchMobiles(20, start: 41000)
                    let run = try await store.work.submitSync(
                        Rows(phones), provider: "octopush", list: "demo", client: client,
                        options: options)
                    func isBusy(_ error: any Error) -> Bool {
                        guard let error = error as? ContactorError else { return false }
                        return error.code == .busy && error.message.contains("run \(run)")
                    }
                    // No worker has sent it: another shared sync and a local one are refused.
                    await #expect {
                        _ = try await store.work.submitSync(
                            Rows(phones), provider: "octopush", list: "demo", client: client,
                            options: options)
                    } throws: { isBusy($0) }
                    await #expect {
                        _ = try await client.sync(
                            Rows(phones), provider: "octopush", list: "demo",
                            ledger: store.ledger, options: options)
                    } throws: { isBusy($0) }
                    #expect(server.requests.isEmpty)

                    // Once a worker finishes it, the list's ledger is free again.
                    try await PostgresWorker(store: store, configuration: configuration)
                        .runUntilIdle()
                    let second = try await store.work.submitSync(
                        Rows(phones), provider: "octopush", list: "demo", client: client,
                        options: options)

                    // A submitter that stopped before the end gave the ledger up: the next
                    // sync drops the chunks no worker took, and goes ahead.
                    try await execute(
                        "UPDATE \"\(store.configuration.schema)\".jobs SET submitted = false, held = true WHERE run_id = \(second)",
                        on: store.configuration)
                    let third = try await store.work.submitSync(
                        Rows(phones), provider: "octopush", list: "demo", client: client,
                        options: options)
                    #expect(try await store.work.progress(run: second).isDone)
                    #expect(try await store.work.progress(run: second).chunks == 0)
                    try await PostgresWorker(store: store, configuration: configuration)
                        .runUntilIdle()
                    let outcomes = try await collect(store, run: third)
                    #expect(outcomes.count == 20)
                    #expect(outcomes.allSatisfy { $0.result.status == .skipped })
                }
            }
        }
    }
}
