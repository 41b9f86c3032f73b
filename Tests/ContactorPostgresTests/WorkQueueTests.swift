import Contactor
import ContactorHTTP
import ContactorPostgres
import ContactorProviders
import ContactorSandbox
import ContactorTesting
import Foundation
import Logging
import PostgresNIO
import Testing

/// Runs `body` with a sandbox on 127.0.0.1 (every request recorded).
func withSandbox<T: Sendable>(
    faults: FaultConfiguration = .none, _ body: (SandboxServer) async throws -> T
) async throws -> T {
    let server = SandboxServer(
        configuration: SandboxConfiguration(port: 0, faults: faults, recordsRequests: true))
    try await server.start()
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// A client configuration of the built-in providers over the real AsyncHTTPClient
/// transport, with the sandbox's demo credentials of `provider` (or `credentials`).
func clientConfiguration(
    _ http: AsyncHTTPClientTransport, provider: String, credentials: [String: String]? = nil
) -> ContactorClient.Configuration {
    .init(
        transport: http, providers: ProviderRegistry(BuiltInProviders.all),
        retry: RetryPolicy(
            maxAttempts: 8, initialBackoff: .milliseconds(20), maxBackoff: .seconds(2),
            multiplier: 2, jitter: 0.5, totalBudget: .seconds(30)),
        concurrency: 4, logger: quietLogger,
        credentials: CredentialResolver(
            explicit: credentials ?? SandboxDemo.standard.credentials(for: provider)))
}

/// Collects every outcome of a shared run, in the order the store yields them.
func collect(_ store: PostgresStore, run: Int64) async throws -> [RecordOutcome] {
    var outcomes: [RecordOutcome] = []
    for try await outcome in store.work.outcomes(run: run, poll: .milliseconds(50)) {
        outcomes.append(outcome)
    }
    return outcomes
}

/// Work shared between workers through PostgreSQL, against the Octopush emulator over real
/// HTTP on 127.0.0.1.
@Suite struct PostgresWorkQueueTests {
    @Test func threeWorkersSendEveryContactOnceAndTheOutcomesComeBackInInputOrder() async throws {
        try await withSandbox { server in
            try await withStore("queue") { store in
                try await AsyncHTTPClientTransport.withTransport(
                    configuration: .init(proxy: nil)
                ) { http in
                    let configuration = clientConfiguration(http, provider: "octopush")
                    // 2,400 valid numbers, then an invalid one and a repeat of the first.
                    let valid = frenchMobiles(2400)
                    let phones = valid + ["+33 1", valid[0]]
                    let run = try await store.work.submit(
                        Rows(phones), operation: .add, provider: "octopush", list: "demo",
                        client: ContactorClient(configuration: configuration),
                        options: RunOptions(endpoint: server.url(for: "octopush"), batchSize: 100),
                        chunkSize: 500)
                    let before = try await store.work.progress(run: run)
                    #expect(before.isSubmitted && before.chunks == 5 && before.done == 0)

                    // The reader starts before the workers: it yields as chunks finish.
                    async let read = collect(store, run: run)
                    let sent = try await withThrowingTaskGroup(of: Int.self) { group in
                        for index in 0..<3 {
                            group.addTask {
                                try await PostgresWorker(
                                    store: store, configuration: configuration,
                                    options: .init(
                                        name: "worker-\(index)")
                                ).runUntilIdle()
                            }
                        }
                        return try await group.reduce(0, +)
                    }
                    let outcomes = try await read
                    #expect(sent == 5)
                    #expect(outcomes.map(\.line) == Array(2..<(phones.count + 2)))
                    #expect(outcomes.prefix(2400).allSatisfy { $0.result.status == .added })
                    #expect(outcomes[2400].result.status == .rejected)
                    #expect(outcomes[2400].result.error?.code == .invalidPhone)
                    #expect(outcomes[2401].result.status == .skipped)
                    #expect(outcomes[2401].result.error?.code == .alreadyInList)
                    // Every contact reached the provider once: none was "updated" by a resend.
                    let list = await server.contacts(provider: "octopush", list: "demo")
                    #expect(Set(list.map(\.phone)).isSuperset(of: valid))
                    let creates = server.requests.filter { $0.path.hasSuffix("/contact/create") }
                    #expect(creates.count == 24)
                    let progress = try await store.work.progress(run: run)
                    #expect(progress.isDone && progress.claimed == 0)
                    // The run is finished in the journal: nothing to resume.
                    #expect(try await store.journal.lastUnfinishedRun() == nil)
                }
            }
        }
    }

    @Test func aChunkWhoseLeaseExpiredIsTakenOverAndOnlyItsUnfinishedLinesAreSent() async throws {
        try await withSandbox { server in
            try await withStore("takeover") { store in
                try await AsyncHTTPClientTransport.withTransport(
                    configuration: .init(proxy: nil)
                ) { http in
                    let configuration = clientConfiguration(http, provider: "octopush")
                    let phones = frenchMobiles(300, start: 5000)
                    let run = try await store.work.submit(
                        Rows(phones), operation: .add, provider: "octopush", list: "demo",
                        client: ContactorClient(configuration: configuration),
                        options: RunOptions(endpoint: server.url(for: "octopush"), batchSize: 50),
                        chunkSize: 300)
                    // A worker that died: it claimed the chunk, recorded the outcomes of
                    // its first 100 lines (it never really sent them here, so the provider
                    // cannot have them), wrote lines 102...151 as sent, and stopped renewing.
                    let s = "\"\(store.configuration.schema)\""
                    try await execute(
                        """
                        UPDATE \(s).chunks SET state = 'claimed', owner = 'dead-worker', claims = 1,
                        lease_expires = now() - interval '1 second' WHERE run_id = \(run)
                        """, on: store.configuration)
                    try await execute(
                        """
                        INSERT INTO \(s).sends (run_id, line, worker)
                        SELECT \(run), line, 'dead-worker' FROM generate_series(102, 151) AS line
                        """, on: store.configuration)
                    try await store.journal.record(
                        (0..<100).map {
                            JournalEntry(line: $0 + 2, phone: phones[$0], result: .added())
                        }, run: run)

                    let sent = try await PostgresWorker(
                        store: store, configuration: configuration,
                        options: .init(name: "survivor", leaseDuration: .seconds(10))
                    ).runUntilIdle()
                    #expect(sent == 1)
                    let outcomes = try await collect(store, run: run)
                    #expect(outcomes.count == 300)
                    #expect(outcomes.allSatisfy { $0.result.status == .added })
                    let list = Set(
                        await server.contacts(provider: "octopush", list: "demo").map(\.phone))
                    // Only the 200 lines without an outcome were sent.
                    #expect(list.isSuperset(of: phones[100...]))
                    #expect(list.isDisjoint(with: phones[..<100]))
                }
            }
        }
    }

    @Test func aWorkerWithAnotherAccountHandsTheChunkBack() async throws {
        try await withSandbox { server in
            try await withStore("account") { store in
                try await AsyncHTTPClientTransport.withTransport(
                    configuration: .init(proxy: nil)
                ) { http in
                    let configuration = clientConfiguration(http, provider: "octopush")
                    let run = try await store.work.submit(
                        Rows(frenchMobiles(10)), operation: .add, provider: "octopush",
                        list: "demo", client: ContactorClient(configuration: configuration),
                        options: RunOptions(endpoint: server.url(for: "octopush")))
                    let other = clientConfiguration(
                        http, provider: "octopush",
                        credentials: ["api_login": "someone@else.test", "api_key": "k"])
                    let handled = try await PostgresWorker(
                        store: store, configuration: other, options: .init(name: "other")
                    ).runUntilIdle()
                    #expect(handled == 0)
                    let progress = try await store.work.progress(run: run)
                    #expect(progress.done == 0 && progress.claimed == 0)
                    #expect(server.requests.isEmpty)
                    // The right account's worker then takes it.
                    #expect(
                        try await PostgresWorker(store: store, configuration: configuration)
                            .runUntilIdle() == 1)
                    #expect(try await store.work.progress(run: run).isDone)
                }
            }
        }
    }

    @Test func aWorkerThatLosesItsLeaseGoesOnAndTheNewHolderFinishesTheChunk() async throws {
        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(200))) { server in
            try await withStore("lost") { store in
                try await AsyncHTTPClientTransport.withTransport(
                    configuration: .init(proxy: nil)
                ) { http in
                    var oneAtATime = clientConfiguration(http, provider: "octopush")
                    oneAtATime.concurrency = 1
                    let configuration = oneAtATime
                    let phones = frenchMobiles(100, start: 11000)
                    let run = try await store.work.submit(
                        Rows(phones), operation: .add, provider: "octopush", list: "demo",
                        client: ContactorClient(configuration: configuration),
                        options: RunOptions(endpoint: server.url(for: "octopush"), batchSize: 10),
                        chunkSize: 100)
                    let s = "\"\(store.configuration.schema)\""
                    // While the slow worker sends, another takes its chunk (as when its
                    // renewals come too late): its next renewal finds the lease gone.
                    async let slow = PostgresWorker(
                        store: store, configuration: configuration,
                        options: .init(name: "slow", leaseDuration: .milliseconds(600))
                    ).runUntilIdle()
                    let deadline = ContinuousClock.now + .seconds(20)
                    while server.requests.isEmpty, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    try await execute(
                        """
                        UPDATE \(s).chunks SET owner = 'thief', lease_expires = now() + interval '1 hour'
                        WHERE run_id = \(run)
                        """, on: store.configuration)
                    // It goes on (no error), counting no chunk as its own.
                    #expect(try await slow == 0)
                    #expect(try await store.work.progress(run: run).done == 0)
                    // Once the new holder's lease expires in turn (it died too), the next
                    // worker sends the lines that have no outcome yet. (The lease is ended
                    // here, not by waiting: a short one could expire before the slow worker
                    // has seen it lost, and the slow worker would take the chunk back.)
                    try await execute(
                        "UPDATE \(s).chunks SET lease_expires = now() - interval '1 second' WHERE run_id = \(run)",
                        on: store.configuration)
                    #expect(
                        try await PostgresWorker(store: store, configuration: configuration)
                            .runUntilIdle() == 1)
                    let outcomes = try await collect(store, run: run)
                    #expect(outcomes.map(\.line) == Array(2..<102))
                    #expect(outcomes.allSatisfy { [.added, .updated].contains($0.result.status) })
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aWorkerOutlivesAnOutageOfTheStoreAndFinishesTheRun() async throws {
        // A database of its own, so that ending every session of it (as a server restart
        // or a failover would) touches no other test.
        try await withDatabase("outage") { database in
            // A query of a connection the server ended may never be answered (a defect of
            // postgres-nio 1.33, the reason for the deadline): five seconds, not sixty.
            var shortDeadline = database
            shortDeadline.queryTimeout = .seconds(5)
            let configuration = shortDeadline
            try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(50))) {
                sandbox in
                try await withStore(configuration) { store in
                    try await AsyncHTTPClientTransport.withTransport(
                        configuration: .init(proxy: nil)
                    ) { http in
                        var oneAtATime = clientConfiguration(http, provider: "octopush")
                        oneAtATime.concurrency = 1
                        let log = LogCapture()
                        // What the worker's connection pool said, for a failure's message.
                        let storeLog = LogCapture()
                        oneAtATime.logger = log.logger(level: .info)
                        let client = oneAtATime
                        let phones = frenchMobiles(400, start: 13000)
                        let run = try await store.work.submit(
                            Rows(phones), operation: .add, provider: "octopush", list: "demo",
                            client: ContactorClient(configuration: client),
                            options: RunOptions(
                                endpoint: sandbox.url(for: "octopush"), batchSize: 10),
                            chunkSize: 100)
                        // The worker has a store (a connection pool) of its own, as another
                        // process would.
                        try await PostgresStore.with(
                            configuration: configuration,
                            logger: storeLog.logger(label: "worker-store", level: .debug)
                        ) { workerStore in
                            let worker = Task {
                                try await PostgresWorker(
                                    store: workerStore, configuration: client,
                                    options: .init(
                                        name: "survivor", leaseDuration: .seconds(4),
                                        idlePoll: .milliseconds(50),
                                        maxRetryPause: .milliseconds(200))
                                ).run()
                            }
                            defer { worker.cancel() }
                            let creates = {
                                sandbox.requests.filter { $0.path.hasSuffix("/contact/create") }
                                    .count
                            }
                            let started = ContinuousClock.now
                            while creates() < 5, ContinuousClock.now - started < .seconds(30) {
                                try await Task.sleep(for: .milliseconds(10))
                            }
                            #expect(creates() >= 5, "the worker never started sending")
                            // The outage, as in a server restart: a query of the worker is
                            // in flight (held by a lock on the outcomes), then every session
                            // of the database ends at once (this test's own too), and for two
                            // seconds the database takes no connection.
                            let database = configuration.database ?? ""
                            let server = try await storeConfiguration("outage")
                            let locker = try await connect(to: configuration)
                            try await locker.query("BEGIN", logger: quietLogger)
                            try await locker.query(
                                PostgresQuery(
                                    unsafeSQL:
                                        "LOCK TABLE \"\(configuration.schema)\".outcomes IN ACCESS EXCLUSIVE MODE"
                                ), logger: quietLogger)
                            func waiting() async throws -> Int {
                                try await integers(
                                    """
                                    SELECT count(*)::bigint FROM pg_stat_activity
                                    WHERE datname = '\(database)' AND wait_event_type = 'Lock'
                                    AND backend_type = 'client backend' AND query LIKE '%outcomes%'
                                    """, on: server
                                ).first?.first ?? 0
                            }
                            let locked = ContinuousClock.now
                            while try await waiting() == 0,
                                ContinuousClock.now - locked < .seconds(30)
                            {
                                try await Task.sleep(for: .milliseconds(10))
                            }
                            #expect(
                                try await waiting() > 0,
                                "no query of the worker was held by the lock")
                            try await execute(
                                "ALTER DATABASE \(database) ALLOW_CONNECTIONS false", on: server)
                            try await execute(
                                """
                                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                WHERE datname = '\(database)'
                                """, on: server)
                            let terminated = ContinuousClock.now
                            try? await locker.close()
                            try await Task.sleep(for: .seconds(2))
                            try await execute(
                                "ALTER DATABASE \(database) ALLOW_CONNECTIONS true", on: server)
                            let allowed = ContinuousClock.now
                            // The worker comes back and finishes the run; this test's own pool
                            // reconnects too (a failed read is asked again).
                            var progress: PostgresWorkQueue.Progress?
                            while progress?.isDone != true,
                                ContinuousClock.now - started < .seconds(90)
                            {
                                try await Task.sleep(for: .milliseconds(100))
                                progress = try? await store.work.progress(run: run)
                            }
                            #expect(
                                progress?.isDone == true,
                                """
                                the run did not finish: \(String(describing: progress)); \
                                locked at \(locked - started), terminated at \(terminated - started), allowed at \(allowed - started); \
                                the worker said \(log.records.map { "\($0.time - started) \($0.message)" }); \
                                its pool said \(storeLog.records.suffix(60).map { "\($0.time - started) \($0.message) \($0.metadata)" })
                                """)
                            let outcomes = try await collect(store, run: run)
                            #expect(outcomes.map(\.line) == Array(2..<(phones.count + 2)))
                            #expect(
                                outcomes.allSatisfy {
                                    [.added, .updated].contains($0.result.status)
                                })
                            let list = await sandbox.contacts(provider: "octopush", list: "demo")
                            #expect(Set(list.map(\.phone)).isSuperset(of: phones))
                            // Only the batches in flight when the store went away are sent twice.
                            #expect(creates() <= 40 + 2)
                        }
                    }
                }
            }
        }
    }

    @Test func failedLinesGoBackToTheQueueAndOnlyTheyAreSentAgain() async throws {
        try await withSandbox { server in
            try await withStore("retry") { store in
                try await AsyncHTTPClientTransport.withTransport(
                    configuration: .init(proxy: nil)
                ) { http in
                    let configuration = clientConfiguration(http, provider: "octopush")
                    let phones = frenchMobiles(20, start: 9000)
                    let run = try await store.work.submit(
                        Rows(phones), operation: .add, provider: "octopush", list: "demo",
                        client: ContactorClient(configuration: configuration),
                        options: RunOptions(endpoint: server.url(for: "octopush"), batchSize: 10),
                        chunkSize: 10)
                    // The provider is down for the first worker: every attempt fails.
                    server.faults = FaultConfiguration(failureRate: 1)
                    var failing = configuration
                    failing.retry = RetryPolicy(
                        maxAttempts: 2, initialBackoff: .milliseconds(1),
                        maxBackoff: .milliseconds(5),
                        multiplier: 2, jitter: 0, totalBudget: .seconds(5))
                    #expect(
                        try await PostgresWorker(store: store, configuration: failing)
                            .runUntilIdle() == 2)
                    let first = try await collect(store, run: run)
                    #expect(first.count == 20 && first.allSatisfy { $0.result.status == .failed })
                    #expect(try await store.journal.lastUnfinishedRun() == nil)

                    server.faults = .none
                    server.clearRequests()
                    #expect(try await store.work.retryFailed(run: run) == 2)
                    #expect(try await store.journal.lastUnfinishedRun()?.id == run)
                    #expect(
                        try await PostgresWorker(store: store, configuration: configuration)
                            .runUntilIdle() == 2)
                    let second = try await collect(store, run: run)
                    #expect(second.map(\.line) == Array(2..<22))
                    #expect(second.allSatisfy { $0.result.status == .added })
                    #expect(
                        server.requests.filter { $0.path.hasSuffix("/contact/create") }.count == 2)
                    #expect(try await store.work.retryFailed(run: run) == 0)
                }
            }
        }
    }
}

/// One rate limit per provider account, shared by every process using the store.
@Suite struct PostgresRateLimiterTests {
    @Test func threeStoresTogetherKeepTheAccountsRate() async throws {
        let configuration = try await storeConfiguration("rate")
        try await withStore(configuration) { first in
            try await PostgresStore.with(configuration: configuration, logger: quietLogger) {
                second in
                try await PostgresStore.with(configuration: configuration, logger: quietLogger) {
                    third in
                    let limit = RateLimit(rate: 20, burst: 1)
                    let started = ContinuousClock.now
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for store in [first, second, third] {
                            group.addTask {
                                for _ in 0..<10 {
                                    try await store.rateLimiter.acquire(
                                        provider: "octopush", account: "me", limit: limit)
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                    // 30 requests at 20/s: the last one no earlier than 29 intervals after
                    // the first (a lower bound only: a slow machine may take longer).
                    let elapsed = ContinuousClock.now - started
                    #expect(elapsed >= .milliseconds(1400), "30 requests took \(elapsed)")
                    // Another account is not held back by this one, even when this one
                    // must wait ten seconds (bounded at half that: a loaded machine is slow).
                    await first.rateLimiter.didReceiveRateLimit(
                        provider: "octopush", account: "me", limit: limit, retryAfter: .seconds(10))
                    let other = ContinuousClock.now
                    try await third.rateLimiter.acquire(
                        provider: "octopush", account: "you", limit: limit)
                    #expect(ContinuousClock.now - other < .seconds(5))
                }
            }
        }
    }

    @Test func aRetryAfterFromOneWorkerHoldsBackEveryWorker() async throws {
        let configuration = try await storeConfiguration("push")
        try await withStore(configuration) { first in
            try await PostgresStore.with(configuration: configuration, logger: quietLogger) {
                second in
                let limit = RateLimit(rate: 100, burst: 1)
                try await first.rateLimiter.acquire(provider: "avosms", account: "me", limit: limit)
                // Timed from before the Retry-After is recorded: the 2 s count from then.
                let started = ContinuousClock.now
                await first.rateLimiter.didReceiveRateLimit(
                    provider: "avosms", account: "me", limit: limit, retryAfter: .seconds(2))
                try await second.rateLimiter.acquire(
                    provider: "avosms", account: "me", limit: limit)
                let waited = ContinuousClock.now - started
                #expect(waited >= .milliseconds(1800), "waited \(waited)")
            }
        }
    }
}
