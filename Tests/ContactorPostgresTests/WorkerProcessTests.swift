import Contactor
import ContactorHTTP
import ContactorPostgres
import ContactorSandbox
import ContactorTesting
import Foundation
import PostgresNIO
import Testing

/// `contactor worker` processes sharing a run through the store: one is killed with
/// SIGKILL in the middle, the others finish its chunk once its lease expires.
@Suite struct WorkerProcessTests {
    static func integers(_ sql: String, store: PostgresStore) async throws -> [[Int]] {
        try await ContactorPostgresTests.integers(sql, on: store.configuration)
    }

    @Test func aKilledWorkersChunkIsFinishedByTheOthersAndOnlyItsInFlightBatchesAreResent()
        async throws
    {
        // A shared limit of 15 requests per second, below the emulator's 20: no worker may
        // ever meet a 429, whichever of them sends.
        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(40), rateLimit: 20))
        {
            server in
            let configuration = try await storeConfiguration("kill")
            try await withStore(configuration) { store in
                let phones = frenchMobiles(1500, start: 20000)
                let batch = 25
                let concurrency = 2
                let run = try await AsyncHTTPClientTransport.withTransport(
                    configuration: .init(proxy: nil)
                ) { http in
                    try await store.work.submit(
                        Rows(phones), operation: .add, provider: "octopush", list: "demo",
                        client: ContactorClient(
                            configuration: clientConfiguration(http, provider: "octopush")),
                        options: RunOptions(
                            endpoint: server.url(for: "octopush"), batchSize: batch,
                            rateLimit: .perSecond(15)),
                        chunkSize: 250)
                }
                let url = try await PostgresTestServer.url() + "?schema=\(configuration.schema)"
                let process = try octopushContactor()
                let directory = try temporaryDirectory("workers")
                defer { try? FileManager.default.removeItem(at: directory) }
                let workers = try (0..<3).map { index in
                    try process.start(
                        [
                            "worker", "--store", url, "--provider", "octopush",
                            "--concurrency", "\(concurrency)", "--lease", "2", "--name",
                            "w\(index)",
                        ],
                        stdout: directory.appendingPathComponent("w\(index).out"),
                        stderr: directory.appendingPathComponent("w\(index).err"))
                }
                defer { for worker in workers where worker.isRunning { worker.terminate() } }

                // Kill w0 once it has sent some batches and holds a chunk.
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    let sent = try await Self.integers(
                        "SELECT count(*)::bigint FROM \"\(configuration.schema)\".sends WHERE worker = 'w0'",
                        store: store)
                    let holds = try await Self.integers(
                        "SELECT count(*)::bigint FROM \"\(configuration.schema)\".chunks WHERE owner = 'w0' AND state = 'claimed'",
                        store: store)
                    if (sent.first?.first ?? 0) >= 2 * batch, (holds.first?.first ?? 0) > 0 {
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                kill(workers[0].processIdentifier, SIGKILL)
                workers[0].waitUntilExit()

                var outcomes: [RecordOutcome] = []
                for try await outcome in store.work.outcomes(run: run, poll: .milliseconds(100)) {
                    outcomes.append(outcome)
                }
                // The survivors stop gracefully on SIGTERM, with status 0.
                for (index, worker) in workers.enumerated().dropFirst() {
                    worker.terminate()
                    worker.waitUntilExit()
                    #expect(
                        worker.terminationStatus == 0,
                        "w\(index): \((try? String(contentsOf: directory.appendingPathComponent("w\(index).err"), encoding: .utf8)) ?? "")"
                    )
                }
                let survivorsLog =
                    try String(
                        contentsOf: directory.appendingPathComponent("w1.err"), encoding: .utf8)
                    + String(
                        contentsOf: directory.appendingPathComponent("w2.err"), encoding: .utf8)

                // Nothing lost: every line has one outcome, in order, and every number is
                // in the provider's list.
                #expect(outcomes.map(\.line) == Array(2..<(phones.count + 2)))
                #expect(outcomes.allSatisfy { [.added, .updated].contains($0.result.status) })
                let list = Set(
                    await server.contacts(provider: "octopush", list: "demo").map(\.phone))
                #expect(list.isSuperset(of: phones))
                // No 429: the workers kept the one shared limit.
                #expect(!server.requests.contains { $0.status == 429 })
                // Sent twice: only lines the killed worker had in flight (written as sent by
                // it, no outcome of its own), at most its concurrency × batch size.
                let s = "\"\(configuration.schema)\""
                let twice = try await Self.integers(
                    "SELECT line::bigint FROM \(s).sends GROUP BY line HAVING count(*) > 1",
                    store: store
                ).map { $0[0] }
                let inFlight = try await Self.integers(
                    """
                    SELECT DISTINCT s.line::bigint FROM \(s).sends s WHERE s.worker = 'w0'
                    AND NOT EXISTS (SELECT 1 FROM \(s).outcomes o WHERE o.run_id = s.run_id
                        AND o.line = s.line AND o.worker = 'w0')
                    """, store: store
                ).map { $0[0] }
                #expect(Set(twice).isSubset(of: inFlight))
                #expect(inFlight.count <= concurrency * batch, "\(inFlight.count) lines in flight")
                let unsent = try await Self.integers(
                    """
                    SELECT count(*)::bigint FROM generate_series(2, \(phones.count + 1)) AS l(line)
                    WHERE NOT EXISTS (SELECT 1 FROM \(s).sends s WHERE s.line = l.line)
                    """, store: store)
                #expect(unsent.first?.first == 0)
                // The worker that took the chunk over said so.
                #expect(survivorsLog.contains("took over chunk"), "\(survivorsLog)")
                #expect(try await store.journal.lastUnfinishedRun() == nil)
            }
        }
    }
}
