import Contactor
import Foundation
import GRDB

/// A ``Contactor/Ledger`` kept in an SQLite file (WAL mode): the embedded default behind
/// `contactor sync` (`--ledger`, by default `~/.local/state/contactor/ledger.sqlite`).
///
/// One table, `entries`, keyed by `provider, account, list, phone` (a scope and an E.164
/// number): `fingerprint` (of the fields last sent), `provider_id`, `origin` (`added` or
/// `found`), `pending` (an add sent whose answer is not known), `updated_at` (Unix seconds).
/// The account is an identity (a login, or a hash of the key), never a secret. The schema
/// uses plain SQL types and a composite primary key, so that a PostgreSQL implementation
/// can keep the same table and queries.
///
/// ## Durability
/// Each ``record(_:in:)`` and ``remove(_:in:)`` is one transaction with `synchronous =
/// FULL`: once it returns, the change survives `kill -9` and power loss (as far as the disk
/// honours `fsync`).
///
/// ## One run at a time
/// ``acquire(for:holder:)`` takes an exclusive `flock` on `PATH.lock`: a second run on the
/// same ledger is refused with `busy`, naming the holder, and the lock goes with the
/// holder's process, however it ends.
public final class SQLiteLedger: Ledger {
    /// The SQLite `application_id` that marks a Contactor ledger (`"Cntl"`).
    public static let applicationID: Int32 = 0x436E_746C

    /// The ledger file's path, as given.
    public let path: String

    // `DatabaseQueue` is Sendable: it serialises every access on its own dispatch queue.
    private let queue: DatabaseQueue

    /// Opens the ledger at `path`, creating the file (and its directory) when it does not
    /// exist.
    /// - Throws: ``JournalError`` (`cannot_open`, `not_a_journal` for another program's
    ///   database, `newer_schema`).
    public init(path: String) throws(JournalError) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            } catch {
                throw JournalError(
                    .cannotOpen, path: path,
                    "cannot create its directory: \(error.localizedDescription)")
            }
        }
        var configuration = Configuration()
        configuration.label = "ContactorLedger"
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA fullfsync = ON")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let objects =
                    try Int.fetchOne(
                        db,
                        sql: "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                    ) ?? 0
                guard applicationID == Self.applicationID || (applicationID == 0 && objects == 0)
                else {
                    throw JournalError(
                        .notAJournal, path: path,
                        "is an SQLite database of another program, not a Contactor ledger")
                }
                if try Self.migrator.hasBeenSuperseded(db) {
                    throw JournalError(
                        .newerSchema, path: path,
                        "was written by a newer version of Contactor; upgrade Contactor")
                }
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
            try Self.migrator.migrate(queue)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.cannotOpen, path: path, "cannot be opened: \(error)")
        }
    }

    private static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: entries") { db in
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.execute(
                sql: """
                    CREATE TABLE entries (
                        provider TEXT NOT NULL,
                        account TEXT NOT NULL,
                        list TEXT NOT NULL,
                        phone TEXT NOT NULL,
                        fingerprint TEXT NOT NULL,
                        provider_id TEXT,
                        origin TEXT NOT NULL CHECK (origin IN ('added', 'found')),
                        pending INTEGER NOT NULL DEFAULT 0,
                        updated_at REAL NOT NULL,
                        PRIMARY KEY (provider, account, list, phone)
                    ) WITHOUT ROWID
                    """)
        }
        return migrator
    }()

    public func entries(
        for phones: [String], in scope: LedgerScope
    ) async throws -> [String: LedgerEntry] {
        guard !phones.isEmpty else { return [:] }
        return try await queue.read { db in
            var found: [String: LedgerEntry] = [:]
            for start in stride(from: 0, to: phones.count, by: 500) {
                let slice = phones[start..<min(start + 500, phones.count)]
                let marks = Array(repeating: "?", count: slice.count).joined(separator: ",")
                // Cached: an engine asks for chunks of the same size, so the statement is
                // compiled once per size, not once per chunk.
                let statement = try db.cachedStatement(
                    sql: """
                        SELECT phone, fingerprint, provider_id, origin, pending, updated_at
                        FROM entries WHERE provider = ? AND account = ? AND list = ?
                        AND phone IN (\(marks))
                        """)
                let rows = try Row.fetchCursor(
                    statement,
                    arguments: StatementArguments(
                        [scope.provider, scope.account, scope.list] + Array(slice)))
                while let row = try rows.next() {
                    let entry = try Self.entry(row)
                    found[entry.phone] = entry
                }
            }
            return found
        }
    }

    public func record(_ entries: [LedgerEntry], in scope: LedgerScope) async throws {
        guard !entries.isEmpty else { return }
        try await queue.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO entries
                    (provider, account, list, phone, fingerprint, provider_id, origin, pending, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (provider, account, list, phone) DO UPDATE SET
                    fingerprint = excluded.fingerprint, provider_id = excluded.provider_id,
                    origin = excluded.origin, pending = excluded.pending,
                    updated_at = excluded.updated_at
                    """)
            for entry in entries {
                try statement.execute(arguments: [
                    scope.provider, scope.account, scope.list, entry.phone, entry.fingerprint,
                    entry.providerID, entry.origin.rawValue, entry.isPending ? 1 : 0,
                    entry.updatedAt.timeIntervalSince1970,
                ])
            }
        }
    }

    public func remove(_ phones: [String], in scope: LedgerScope) async throws {
        guard !phones.isEmpty else { return }
        try await queue.write { db in
            let statement = try db.cachedStatement(
                sql:
                    "DELETE FROM entries WHERE provider = ? AND account = ? AND list = ? AND phone = ?"
            )
            for phone in phones {
                try statement.execute(arguments: [scope.provider, scope.account, scope.list, phone])
            }
        }
    }

    public func entries(
        in scope: LedgerScope, origin: LedgerEntry.Origin?, after phone: String?, limit: Int
    ) async throws -> [LedgerEntry] {
        try await queue.read { db in
            var sql = """
                SELECT phone, fingerprint, provider_id, origin, pending, updated_at
                FROM entries WHERE provider = ? AND account = ? AND list = ?
                """
            var arguments: [(any DatabaseValueConvertible)?] = [
                scope.provider, scope.account, scope.list,
            ]
            if let origin {
                sql += " AND origin = ?"
                arguments.append(origin.rawValue)
            }
            if let phone {
                sql += " AND phone > ?"
                arguments.append(phone)
            }
            sql += " ORDER BY phone LIMIT ?"
            arguments.append(max(0, limit))
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
                .map(Self.entry)
        }
    }

    public func acquire(for scope: LedgerScope, holder: String) async throws -> any StoreLease {
        try FileLock.acquire(path: path + ".lock", holder: holder, what: "the ledger \(path)")
    }

    private static func entry(_ row: Row) throws -> LedgerEntry {
        let originText: String = row[3]
        guard let origin = LedgerEntry.Origin(rawValue: originText) else {
            throw ContactorError(
                .ledgerFailed, "the ledger holds an unknown origin '\(originText)'")
        }
        let pending: Int = row[4]
        let updated: Double = row[5]
        return LedgerEntry(
            phone: row[0], fingerprint: row[1], providerID: row[2], origin: origin,
            isPending: pending != 0, updatedAt: Date(timeIntervalSince1970: updated))
    }
}
