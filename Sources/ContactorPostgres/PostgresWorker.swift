import Contactor
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A worker of a ``PostgresStore``: claims chunks of submitted runs
/// (``PostgresWorkQueue``), sends them through its own ``Contactor/ContactorClient``
/// configuration (its transport, providers, credentials, retries), and records each
/// batch's outcomes in the store's journal as soon as they are known.
///
/// A claim is a lease (`SELECT ... FOR UPDATE SKIP LOCKED`, renewed while the chunk is
/// sent): a worker that dies stops renewing it, and once it expires another worker takes
/// the chunk over and sends only its lines that have no outcome yet. So every contact is
/// sent once, except those of the batches the dead worker had in flight: it writes each
/// line to the store's `sends` table before sending it, so they are visible (logged by the
/// worker that takes over, and left in the table). Workers share one rate limit per
/// account (``PostgresRateLimiter``).
///
/// In a ServiceLifecycle group, a graceful shutdown lets the current chunk finish and
/// claims no other.
public struct PostgresWorker: Service {
    /// How a worker behaves.
    public struct Options: Sendable {
        /// The worker's name in the store (claims, sends, outcomes); host and process id by
        /// default.
        public var name: String
        /// How long a claim holds without renewal; renewed every third of it.
        public var leaseDuration: Duration
        /// How long an idle worker waits before asking for work again.
        public var idlePoll: Duration
        /// The longest pause between attempts while the store fails (the pause doubles
        /// from ``idlePoll`` up to this).
        public var maxRetryPause: Duration

        /// Creates options.
        public init(
            name: String? = nil, leaseDuration: Duration = .seconds(30),
            idlePoll: Duration = .milliseconds(500), maxRetryPause: Duration = .seconds(30)
        ) {
            self.name =
                name
                ?? "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
            self.leaseDuration = leaseDuration
            self.idlePoll = idlePoll
            self.maxRetryPause = maxRetryPause
        }
    }

    let store: PostgresStore
    let configuration: ContactorClient.Configuration
    let options: Options

    /// Creates a worker sending with `configuration`; its rate limiter is replaced by the
    /// store's, shared with every other worker.
    public init(
        store: PostgresStore, configuration: ContactorClient.Configuration,
        options: Options = Options()
    ) {
        var configuration = configuration
        configuration.rateLimiter = store.rateLimiter
        self.store = store
        self.configuration = configuration
        self.options = options
    }

    private var s: String { store.schema }
    private var logger: Logger { configuration.logger }

    /// Claims and sends chunks until the task is cancelled or the service group shuts down
    /// gracefully (the chunk being sent is finished first).
    ///
    /// A failure of the store (a lost connection, a server restarting) is logged and the
    /// worker tries again after a pause that doubles up to ``Options/maxRetryPause`` (30 s): a worker outlives an
    /// outage of the store. The chunk it held goes back to the others once its lease
    /// expires.
    public func run() async throws {
        var excluded = Set<Int64>()
        var pause = options.idlePoll
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                if try await runOne(excluding: &excluded) == .idle {
                    try? await Task.sleep(for: options.idlePoll)
                }
                pause = options.idlePoll
            } catch {
                if Task.isCancelled { return }
                logger.error(
                    "the store failed: \(error); trying again in \(pause.secondsText)")
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, options.maxRetryPause)
            }
        }
    }

    /// Claims and sends chunks until none is left that this worker can take.
    /// - Returns: How many chunks this worker sent (chunks of runs for another account or
    ///   provider, handed back, are not counted).
    @discardableResult
    public func runUntilIdle() async throws -> Int {
        var excluded = Set<Int64>()
        var count = 0
        while !Task.isCancelled {
            switch try await runOne(excluding: &excluded) {
            case .idle: return count
            case .handedBack, .lost: continue
            case .sent: count += 1
            }
        }
        return count
    }

    // MARK: One chunk

    struct Claim: Sendable {
        var run: Int64
        var index: Int32
        var records: String
        var claims: Int32
        var previous: String?
        var spec: PostgresWorkQueue.Spec
        /// The chunk's own operation (a sync's deletions), else the job's.
        var operation: String?
    }

    /// What one claim came to: nothing to claim, a chunk handed back (another account or
    /// provider), a chunk sent, or a chunk whose lease was lost to another worker.
    enum Step { case idle, handedBack, sent, lost }

    /// The lease on a chunk was taken over (this worker's renewals came too late).
    struct LeaseLost: Error {}

    /// Claims one chunk and sends it.
    private func runOne(excluding excluded: inout Set<Int64>) async throws -> Step {
        guard let claim = try await claimChunk(excluding: excluded) else { return .idle }
        let provider: any ContactProvider
        let account: String
        do {
            provider = try configuration.providers.resolve(claim.spec.provider)
            account = try configuration.credentials.resolve(for: provider.descriptor).account
        } catch {
            logger.warning(
                "run \(claim.run) is for \(claim.spec.provider), which this worker cannot send to: \(error)"
            )
            excluded.insert(claim.run)
            try await release(claim)
            return .handedBack
        }
        if let wanted = claim.spec.account, wanted != account {
            logger.warning(
                "run \(claim.run) is for another \(claim.spec.provider) account (\(wanted)); this worker's is \(account)"
            )
            excluded.insert(claim.run)
            try await release(claim)
            return .handedBack
        }
        do {
            try await send(claim, provider: provider)
        } catch is LeaseLost {
            logger.warning(
                "the lease on chunk \(claim.index) of run \(claim.run) was lost to another worker (renewed too late); it finishes the chunk"
            )
            return .lost
        }
        return .sent
    }

    private func claimChunk(excluding excluded: Set<Int64>) async throws -> Claim? {
        let providers = configuration.providers.names
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH next AS (
                            SELECT c.run_id, c.index, c.owner AS previous FROM \(s).chunks c
                            JOIN \(s).jobs j ON j.run_id = c.run_id
                            WHERE (c.state = 'pending' OR (c.state = 'claimed' AND c.lease_expires < now()))
                            AND j.provider = ANY($3) AND NOT (c.run_id = ANY($4)) AND NOT j.held
                            ORDER BY c.run_id, c.index LIMIT 1 FOR UPDATE OF c SKIP LOCKED)
                        UPDATE \(s).chunks c SET state = 'claimed', owner = $1,
                            lease_expires = now() + make_interval(secs => $2), claims = c.claims + 1
                        FROM next, \(s).jobs j
                        WHERE c.run_id = next.run_id AND c.index = next.index AND j.run_id = c.run_id
                        RETURNING c.run_id, c.index, c.records::text, c.claims, next.previous, j.spec::text,
                            c.operation
                        """,
                    binds: try binds(
                        options.name, options.leaseDuration.seconds, providers,
                        excluded.sorted())),
                logger: store.queryLogger)
            for try await (run, index, records, claims, previous, spec, operation) in rows.decode(
                (Int64, Int32, String, Int32, String?, String, String?).self)
            {
                return Claim(
                    run: run, index: index, records: records, claims: claims, previous: previous,
                    spec: try JSONDecoder().decode(
                        PostgresWorkQueue.Spec.self, from: Data(spec.utf8)),
                    operation: operation)
            }
            return nil
        } catch {
            throw store.failure(.journalFailed, "no chunk could be claimed", error)
        }
    }

    private func release(_ claim: Claim) async throws {
        try await execute(
            """
            UPDATE \(s).chunks SET state = 'pending', owner = NULL, lease_expires = NULL
            WHERE run_id = $1 AND index = $2 AND owner = $3 AND state = 'claimed'
            """, binds(claim.run, claim.index, options.name))
    }

    /// Sends a claimed chunk's lines that have no outcome yet, renewing the lease meanwhile.
    private func send(_ claim: Claim, provider: any ContactProvider) async throws {
        let items: [PreparedContact]
        do {
            let value = try JSONDecoder().decode(JSONValue.self, from: Data(claim.records.utf8))
            items = try (value.arrayValue ?? []).map(ContactCoding.decode)
        } catch {
            throw store.failure(
                .journalFailed, "chunk \(claim.index) of run \(claim.run) cannot be read", error)
        }
        let lines = (items.first?.line ?? 0)...(items.last?.line ?? 0)
        let finished = try await store.journal.entries(run: claim.run, lines: lines)
            .filter { $0.result.status != .failed }.map(\.line)
        let done = Set(finished)
        let todo = items.filter { !done.contains($0.line) }
        if claim.claims > 1 {
            let inFlight = try await sentElsewhere(claim, lines: lines, done: done)
            logger.warning(
                "took over chunk \(claim.index) of run \(claim.run) from \(claim.previous ?? "a worker"): \(done.count) lines already done, \(inFlight.count) were in flight there and are sent again"
            )
        }
        if !todo.isEmpty {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await sendLines(todo, claim: claim, provider: provider) }
                group.addTask { try await renewLease(claim) }
                // The first to end (the chunk sent, or the lease lost) ends the other.
                defer { group.cancelAll() }
                try await group.next()
            }
        }
        try await complete(claim)
    }

    private func sendLines(
        _ items: [PreparedContact], claim: Claim, provider: any ContactProvider
    ) async throws {
        let phones = Dictionary(
            items.map { ($0.contact.phone.e164, $0.line) }, uniquingKeysWith: { first, _ in first })
        var configuration = self.configuration
        configuration.providers = ProviderRegistry([
            SendRecorder(
                base: provider, lines: phones, run: claim.run, worker: options.name, store: store)
        ])
        configuration.journal = ChunkJournal(
            store: store, run: claim.run, index: claim.index, worker: options.name)
        let client = ContactorClient(configuration: configuration)
        var run = RunOptions(
            endpoint: claim.spec.endpoint.flatMap(URL.init(string:)),
            providerOptions: claim.spec.providerOptions, batchSize: claim.spec.batchSize,
            rateLimit: claim.spec.rate.map { .perSecond($0, burst: claim.spec.burst ?? 1) }
                ?? .unlimited)
        run.runInfo = RunInfo(
            operation: ContactOperation(rawValue: claim.spec.operation),
            provider: claim.spec.provider, list: claim.spec.list, inputPath: "(chunk)",
            inputDigest: "", startedAt: Date())
        let outcomes: ImportRun
        if claim.spec.operation == PostgresWorkQueue.Spec.sync {
            // A sync: the ledger chooses each record's operation (its deletions are chunks
            // of their own), and learns each confirmed outcome.
            let deletes = claim.operation == ContactOperation.delete.rawValue
            outcomes = try await client.send(
                items, operation: deletes ? .delete : .add, provider: claim.spec.provider,
                list: claim.spec.list, options: run, sharedLedger: store.ledger,
                routes: !deletes)
        } else {
            outcomes = try await client.send(
                items, operation: ContactOperation(rawValue: claim.spec.operation),
                provider: claim.spec.provider, list: claim.spec.list, options: run)
        }
        var counts: [ContactResult.Status: Int] = [:]
        for try await outcome in outcomes { counts[outcome.result.status, default: 0] += 1 }
        logger.info(
            "sent chunk \(claim.index) of run \(claim.run): \(counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))"
        )
    }

    /// Renews the lease every third of its duration; throws once it is lost.
    private func renewLease(_ claim: Claim) async throws {
        while true {
            try await Task.sleep(for: options.leaseDuration / 3)
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(s).chunks SET lease_expires = now() + make_interval(secs => $4)
                        WHERE run_id = $1 AND index = $2 AND owner = $3 AND state = 'claimed'
                        RETURNING 1
                        """,
                    binds: try binds(
                        claim.run, claim.index, options.name, options.leaseDuration.seconds)),
                logger: store.queryLogger)
            var renewed = false
            for try await _ in rows.decode(Int32.self) { renewed = true }
            if !renewed { throw LeaseLost() }
        }
    }

    private func complete(_ claim: Claim) async throws {
        try await execute(
            """
            UPDATE \(s).chunks SET state = 'done', lease_expires = NULL
            WHERE run_id = $1 AND index = $2 AND owner = $3 AND state = 'claimed'
            """, binds(claim.run, claim.index, options.name))
        try await store.work.finishIfDone(run: claim.run)
    }

    /// The lines of the chunk another worker wrote as sent and no outcome records.
    private func sentElsewhere(
        _ claim: Claim, lines: ClosedRange<Int>, done: Set<Int>
    ) async throws -> Set<Int> {
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT DISTINCT line FROM \(s).sends
                        WHERE run_id = $1 AND line BETWEEN $2 AND $3 AND worker <> $4
                        """,
                    binds: try binds(
                        claim.run, Int32(clamping: lines.lowerBound),
                        Int32(clamping: lines.upperBound), options.name)),
                logger: store.queryLogger)
            var sent = Set<Int>()
            for try await line in rows.decode(Int32.self) where !done.contains(Int(line)) {
                sent.insert(Int(line))
            }
            return sent
        } catch {
            throw store.failure(.journalFailed, "the store's sends could not be read", error)
        }
    }

    private func execute(
        _ sql: String, _ bindings: @autoclosure () throws -> PostgresBindings
    ) async throws {
        do {
            try await store.query(
                PostgresQuery(unsafeSQL: sql, binds: try bindings()), logger: store.queryLogger)
        } catch {
            throw store.failure(.journalFailed, "the store could not be updated", error)
        }
    }
}

/// The journal of one claimed chunk: outcomes go to the shared run, written only while the
/// worker holds the chunk, and never turning an outcome that is not `failed` into one
/// that is (a late, cancelled attempt cannot undo another worker's success).
struct ChunkJournal: RunJournal {
    let store: PostgresStore
    let run: Int64
    let index: Int32
    let worker: String

    func startRun(_ info: RunInfo) async throws -> Int64 { run }
    func lastUnfinishedRun() async throws -> (id: Int64, info: RunInfo)? { nil }
    func finishedLines(run: Int64) async throws -> IndexSet {
        try await store.journal.finishedLines(run: run)
    }
    func finishRun(_ run: Int64) async throws {}
    func entries(run: Int64) async throws -> [JournalEntry] {
        try await store.journal.entries(run: run)
    }

    func record(_ entries: [JournalEntry], run: Int64) async throws {
        try await store.journal.write(entries, run: self.run, chunk: (index, worker))
    }
}

/// The worker's provider: writes each line of a batch to the store's `sends` before the
/// real provider sends it, so that what a dead worker had in flight stays visible.
struct SendRecorder: ContactProvider {
    let base: any ContactProvider
    let lines: [String: Int]
    let run: Int64
    let worker: String
    let store: PostgresStore

    var descriptor: ProviderDescriptor { base.descriptor }

    func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws
        -> [ContactResult]
    {
        try await recordSends(batch, context: context)
        return try await base.add(batch, to: list, context: context)
    }

    func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws
        -> [ContactResult]
    {
        try await recordSends(batch, context: context)
        return try await base.update(batch, in: list, context: context)
    }

    func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    ) async throws
        -> [ContactResult]
    {
        try await recordSends(batch, context: context)
        return try await base.delete(batch, from: list, context: context)
    }

    func list(
        _ list: String, cursor: String?, context: ProviderContext
    ) async throws
        -> ContactPage
    {
        try await base.list(list, cursor: cursor, context: context)
    }

    func check(_ contact: Contact, for operation: ContactOperation) -> ContactError? {
        base.check(contact, for: operation)
    }

    func checkList(
        _ list: String, options: [String: String], for operation: ContactOperation
    ) -> ContactError? {
        base.checkList(list, options: options, for: operation)
    }

    private func recordSends(_ batch: [Contact], context: ProviderContext) async throws {
        guard !context.isDryRun else { return }
        let sent = batch.compactMap { lines[$0.phone.e164] }.map { Int32(clamping: $0) }
        guard !sent.isEmpty else { return }
        do {
            try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(store.schema).sends (run_id, line, worker)
                        SELECT $1, line, $2 FROM unnest($3::integer[]) AS line
                        """,
                    binds: try binds(run, worker, sent)),
                logger: store.queryLogger)
        } catch {
            // Not sent: the batch fails transiently and is tried again.
            throw ContactError(
                .transportError,
                store.failure(.journalFailed, "the store could not record the sends", error)
                    .message,
                provider: base.descriptor.name, isTransient: true)
        }
    }
}
