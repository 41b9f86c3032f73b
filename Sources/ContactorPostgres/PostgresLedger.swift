import Contactor
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A ``Contactor/Ledger`` in PostgreSQL: the same behaviour as `SQLiteLedger` (the ledger
/// conformance checks run against both), in the store's `ledger` table, shared by every
/// process using the store.
///
/// Each ``record(_:in:)`` and ``remove(_:in:)`` is one transaction, committed before it
/// returns. A lease (``acquire(for:holder:)``) is a session advisory lock on the scope,
/// held on a connection of its own: it goes with the holder's process however that ends
/// (PostgreSQL releases it when the connection drops), and the holder's name is kept in
/// the `leases` table for whoever is refused.
public struct PostgresLedger: Ledger {
    let store: PostgresStore

    private var s: String { store.schema }

    public func entries(
        for phones: [String], in scope: LedgerScope
    ) async throws -> [String: LedgerEntry] {
        guard !phones.isEmpty else { return [:] }
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT phone, fingerprint, provider_id, origin, pending, updated_at
                        FROM \(s).ledger
                        WHERE provider = $1 AND account = $2 AND list = $3 AND phone = ANY($4)
                        """,
                    binds: try binds(scope.provider, scope.account, scope.list, phones)),
                logger: store.queryLogger)
            var entries: [String: LedgerEntry] = [:]
            for try await row in rows.decode((String, String, String?, String, Bool, Date).self) {
                let entry = try Self.entry(row)
                entries[entry.phone] = entry
            }
            return entries
        } catch {
            throw store.failure(.ledgerFailed, "the ledger could not be read", error)
        }
    }

    public func record(_ entries: [LedgerEntry], in scope: LedgerScope) async throws {
        guard !entries.isEmpty else { return }
        // One statement for the batch; a phone given twice keeps its last entry.
        var last: [String: Int] = [:]
        for (index, entry) in entries.enumerated() { last[entry.phone] = index }
        let kept = entries.indices.filter { last[entries[$0].phone] == $0 }.map { entries[$0] }
        let rows: [JSONValue] = kept.map { entry in
            [
                "phone": .string(entry.phone), "fingerprint": .string(entry.fingerprint),
                "provider_id": entry.providerID.map(JSONValue.string) ?? .null,
                "origin": .string(entry.origin.rawValue), "pending": .bool(entry.isPending),
                "updated_at": .double(entry.updatedAt.timeIntervalSince1970),
            ]
        }
        do {
            try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).ledger
                        (provider, account, list, phone, fingerprint, provider_id, origin, pending, updated_at)
                        SELECT $1, $2, $3, phone, fingerprint, provider_id, origin, pending, to_timestamp(updated_at)
                        FROM jsonb_to_recordset($4::jsonb) AS entry (phone text, fingerprint text,
                            provider_id text, origin text, pending boolean, updated_at float8)
                        ON CONFLICT (provider, account, list, phone) DO UPDATE SET
                        fingerprint = excluded.fingerprint, provider_id = excluded.provider_id,
                        origin = excluded.origin, pending = excluded.pending,
                        updated_at = excluded.updated_at
                        """,
                    binds: try binds(
                        scope.provider, scope.account, scope.list,
                        String(decoding: JSONValue.array(rows).encoded(), as: UTF8.self))),
                logger: store.queryLogger)
        } catch {
            throw store.failure(.ledgerFailed, "the ledger could not record entries", error)
        }
    }

    public func remove(_ phones: [String], in scope: LedgerScope) async throws {
        guard !phones.isEmpty else { return }
        do {
            try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        DELETE FROM \(s).ledger
                        WHERE provider = $1 AND account = $2 AND list = $3 AND phone = ANY($4)
                        """,
                    binds: try binds(scope.provider, scope.account, scope.list, phones)),
                logger: store.queryLogger)
        } catch {
            throw store.failure(.ledgerFailed, "the ledger could not remove entries", error)
        }
    }

    public func entries(
        in scope: LedgerScope, origin: LedgerEntry.Origin?, after phone: String?, limit: Int
    ) async throws -> [LedgerEntry] {
        guard limit > 0 else { return [] }
        do {
            // Phones compare byte by byte (COLLATE "C"), as SQLite and Swift order them.
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT phone, fingerprint, provider_id, origin, pending, updated_at
                        FROM \(s).ledger
                        WHERE provider = $1 AND account = $2 AND list = $3
                        AND ($4::text IS NULL OR origin = $4)
                        AND ($5::text IS NULL OR phone COLLATE "C" > $5 COLLATE "C")
                        ORDER BY phone COLLATE "C" LIMIT $6
                        """,
                    binds: try binds(
                        scope.provider, scope.account, scope.list, origin?.rawValue, phone,
                        Int64(limit))),
                logger: store.queryLogger)
            var entries: [LedgerEntry] = []
            for try await row in rows.decode((String, String, String?, String, Bool, Date).self) {
                entries.append(try Self.entry(row))
            }
            return entries
        } catch {
            throw store.failure(.ledgerFailed, "the ledger could not be read", error)
        }
    }

    /// Takes the scope's lease, or throws `busy`: when another process holds it, and while
    /// a sync of the scope submitted to the store's workers
    /// (``PostgresWorkQueue/submitSync(_:provider:list:client:options:runInfo:chunkSize:)``)
    /// is not finished. A shared sync whose submitter stopped before submitting it is given
    /// up here: its chunks no worker took are dropped (the next sync sends what they held).
    public func acquire(for scope: LedgerScope, holder: String) async throws -> any StoreLease {
        let lease = try await store.lease(
            key: "ledger \(scope)", holder: holder, what: "the ledger of \(scope)")
        let running: Int64?
        do {
            try await dropAbandonedSyncs(of: scope)
            running = try await sharedSync(of: scope)
        } catch {
            await lease.release()
            throw store.failure(.ledgerFailed, "the ledger of \(scope) could not be locked", error)
        }
        if let running {
            await lease.release()
            throw ContactorError(
                .busy,
                "the ledger of \(scope) is in use by run \(running), a sync the store's workers are sending (contactor results \(running) --store URL waits for it)"
            )
        }
        return lease
    }

    /// The shared syncs of `scope` submitted by no one (this process holds the lease their
    /// submitter held until the end): marked submitted without the chunks no worker took.
    private func dropAbandonedSyncs(of scope: LedgerScope) async throws {
        let rows = try await store.query(
            PostgresQuery(
                unsafeSQL: """
                    WITH abandoned AS (
                        UPDATE \(s).jobs SET submitted = true, held = false
                        WHERE NOT submitted AND spec->>'operation' = $4
                        AND provider = $1 AND account = $2 AND spec->>'list' = $3
                        RETURNING run_id),
                    dropped AS (
                        DELETE FROM \(s).chunks c USING abandoned a
                        WHERE c.run_id = a.run_id AND c.state = 'pending' RETURNING c.run_id)
                    SELECT run_id, (SELECT count(*) FROM dropped d WHERE d.run_id = a.run_id)
                    FROM abandoned a
                    """,
                binds: try binds(
                    scope.provider, scope.account, scope.list, PostgresWorkQueue.Spec.sync)),
            logger: store.queryLogger)
        var abandoned: [(Int64, Int64)] = []
        for try await row in rows.decode((Int64, Int64).self) { abandoned.append(row) }
        for (run, dropped) in abandoned {
            store.logger.warning(
                "run \(run), a sync of \(scope), was never fully submitted: \(dropped) chunks no worker took are dropped"
            )
            try await store.work.finishIfDone(run: run)
        }
    }

    /// The first shared sync of `scope` not finished yet.
    private func sharedSync(of scope: LedgerScope) async throws -> Int64? {
        let rows = try await store.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT j.run_id FROM \(s).jobs j JOIN \(s).runs r ON r.id = j.run_id
                    WHERE r.finished_at IS NULL AND j.spec->>'operation' = $4
                    AND j.provider = $1 AND j.account = $2 AND j.spec->>'list' = $3
                    ORDER BY j.run_id LIMIT 1
                    """,
                binds: try binds(
                    scope.provider, scope.account, scope.list, PostgresWorkQueue.Spec.sync)),
            logger: store.queryLogger)
        for try await run in rows.decode(Int64.self) { return run }
        return nil
    }

    static func entry(_ row: (String, String, String?, String, Bool, Date)) throws -> LedgerEntry {
        let (phone, fingerprint, id, originName, pending, updatedAt) = row
        guard let origin = LedgerEntry.Origin(rawValue: originName) else {
            throw ContactorError(.ledgerFailed, "\(phone): unknown origin '\(originName)'")
        }
        return LedgerEntry(
            phone: phone, fingerprint: fingerprint, providerID: id, origin: origin,
            isPending: pending, updatedAt: updatedAt)
    }
}

/// A lease held as a session advisory lock on a connection of its own.
final class PostgresLease: StoreLease {
    private let connection: Mutex<PostgresConnection?>
    private let key: String
    private let store: PostgresStore

    /// How long releasing waits for the server before closing the session anyway.
    static let releaseTimeout = Duration.seconds(5)

    init(connection: PostgresConnection, key: String, store: PostgresStore) {
        self.connection = Mutex(connection)
        self.key = key
        self.store = store
    }

    func release() async {
        guard let connection = connection.withLock({ $0.take() }) else { return }
        // A session the server already ended holds nothing (a query on it would wait).
        guard !connection.isClosed else { return }
        let s = store.schema
        let (key, logger) = (self.key, store.queryLogger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try? await connection.query(
                    PostgresQuery(
                        unsafeSQL:
                            "DELETE FROM \(s).leases WHERE key = $1 AND pid = pg_backend_pid()",
                        binds: try binds(key)),
                    logger: logger)
            }
            // A session that died without the client knowing yet would keep the query
            // waiting: after a while, the lease is released by closing it anyway.
            group.addTask { try? await Task.sleep(for: Self.releaseTimeout) }
            await group.next()
            // Closing the session releases its advisory lock (and ends a waiting query).
            try? await connection.close()
            group.cancelAll()
        }
    }

    /// A lease dropped without ``release()`` still ends: its session is closed (which
    /// frees the advisory lock; the `leases` row, naming a session that no longer exists,
    /// is replaced by the next holder).
    deinit {
        guard let connection = connection.withLock({ $0.take() }) else { return }
        Task { try? await connection.close() }
    }
}

extension PostgresStore {
    /// Takes the lease named `key` for `holder`, or throws `busy` naming the holder.
    func lease(key: String, holder: String, what: String) async throws -> any StoreLease {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try connectionConfiguration(), id: Self.nextConnectionID(),
                logger: queryLogger)
        } catch {
            throw failure(.ledgerFailed, "\(what) could not be locked", error)
        }
        do {
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                    binds: try binds("\(configuration.schema) \(key)")),
                logger: queryLogger)
            var locked = false
            for try await value in rows.decode(Bool.self) { locked = value }
            guard locked else {
                let current = try await leaseHolder(key, on: connection)
                try? await connection.close()
                throw ContactorError(
                    .busy, "\(what) is in use by \(current ?? "another process")")
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(schema).leases (key, holder, pid, acquired_at)
                        VALUES ($1, $2, pg_backend_pid(), now())
                        ON CONFLICT (key) DO UPDATE SET holder = excluded.holder,
                        pid = excluded.pid, acquired_at = excluded.acquired_at
                        """,
                    binds: try binds(key, holder)),
                logger: queryLogger)
            return PostgresLease(connection: connection, key: key, store: self)
        } catch {
            try? await connection.close()
            if let error = error as? ContactorError { throw error }
            throw failure(.ledgerFailed, "\(what) could not be locked", error)
        }
    }

    private func leaseHolder(
        _ key: String, on connection: PostgresConnection
    ) async throws
        -> String?
    {
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT holder FROM \(schema).leases WHERE key = $1",
                binds: try binds(key)),
            logger: queryLogger)
        for try await holder in rows.decode(String.self) { return holder }
        return nil
    }
}
