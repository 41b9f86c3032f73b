import Contactor
import Foundation
import GRDB

/// A ``Contactor/RunJournal`` kept in an SQLite file (WAL mode), for `--journal` and
/// `--resume`.
///
/// The file is created when absent and kept afterwards. It holds two tables:
///
/// - `runs`: `id`, `operation`, `provider`, `list`, `input_path`, `input_digest`,
///   `started_at`, `finished_at` (times are Unix seconds, `REAL`; `finished_at` is `NULL`
///   while the run is unfinished);
/// - `outcomes`: one row per input line of a run (primary key `run_id, line`): `phone`,
///   `status`, `result_id`, `error_code`, `message`, `provider_code`, `updated_at`.
///
/// No column holds a credential, and nothing this type is given contains one. The schema
/// evolves through GRDB migrations; the file is marked with an SQLite `application_id`
/// so that another program's database is refused instead of being altered.
///
/// ## Durability
/// Every ``record(_:run:)`` call writes its entries in one transaction, and the journal
/// runs with `synchronous = FULL` under WAL: the transaction's WAL frames are written
/// *and fsynced* before the call returns. So once `record` has returned, its entries
/// survive the process being killed (`kill -9`, a crash) and also a power cut or kernel
/// panic, as far as the disk honours `fsync` (on Apple platforms `fullfsync` is on too).
/// With `synchronous = NORMAL` a process kill would still lose nothing, but a power cut
/// could lose the last transactions; one fsync per batch is cheap next to a network
/// round trip, so the journal pays it.
///
/// ## Concurrency
/// One SQLite connection serialises all work; calls from many tasks at once are safe.
/// Several processes may open the same journal: a writer waits up to five seconds for
/// another's lock before failing.
public final class SQLiteJournal: RunJournal {
    /// The SQLite `application_id` that marks a Contactor journal (`"Cntr"`).
    public static let applicationID: Int32 = 0x436E_7472

    /// The journal file's path, as given.
    public let path: String

    // `DatabaseQueue` is Sendable: it serialises every access on its own dispatch queue.
    private let queue: DatabaseQueue

    /// Takes the journal's lock file (`PATH.lock`, `flock(2)`) for one run: a second run on
    /// the same journal, in any process, is refused with `busy` naming this one, and the
    /// kernel releases the lock when the process ends, however it ends.
    public func lock(holder: String) async throws -> (any StoreLease)? {
        guard path != ":memory:", !path.isEmpty else { return nil }
        return try FileLock.acquire(
            path: path + ".lock", holder: holder, what: "the journal \(path)")
    }

    /// Opens the journal at `path`, creating the file when it does not exist.
    ///
    /// - Parameter path: The journal file. Its directory must exist.
    /// - Throws: ``JournalError``: ``JournalError/Code/cannotOpen`` when the file cannot be
    ///   opened or created, ``JournalError/Code/notAJournal`` when it is not a Contactor
    ///   journal (the file is then left untouched), ``JournalError/Code/newerSchema`` when
    ///   a newer Contactor wrote it.
    public init(path: String) throws(JournalError) {
        self.path = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
            isDirectory.boolValue
        {
            throw JournalError(.cannotOpen, path: path, "is a directory, not a journal file")
        }
        var configuration = Configuration()
        configuration.label = "ContactorJournal"
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA fullfsync = ON")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw Self.openError(error, path: path)
        }
        do {
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
                        "is an SQLite database of another program, not a Contactor journal")
                }
                if try Self.migrator.hasBeenSuperseded(db) {
                    throw JournalError(
                        .newerSchema, path: path,
                        "was written by a newer version of Contactor (its schema has "
                            + "migrations this version does not know); upgrade Contactor")
                }
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                guard mode?.lowercased() == "wal" else {
                    throw JournalError(
                        .cannotOpen, path: path,
                        "cannot switch to WAL mode (journal mode is \(mode ?? "unknown"))")
                }
            }
            try Self.migrator.migrate(queue)
        } catch let error as JournalError {
            throw error
        } catch {
            throw Self.openError(error, path: path)
        }
    }

    /// The schema, one migration per version. Never edit a shipped migration: add one.
    private static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: runs and outcomes") { db in
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.execute(
                sql: """
                    CREATE TABLE runs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        operation TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        list TEXT NOT NULL,
                        input_path TEXT NOT NULL,
                        input_digest TEXT NOT NULL,
                        started_at REAL NOT NULL,
                        finished_at REAL
                    );
                    CREATE INDEX runs_unfinished ON runs (id) WHERE finished_at IS NULL;
                    CREATE TABLE outcomes (
                        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                        line INTEGER NOT NULL,
                        phone TEXT,
                        status TEXT NOT NULL,
                        result_id TEXT,
                        error_code TEXT,
                        message TEXT,
                        provider_code TEXT,
                        updated_at REAL NOT NULL,
                        PRIMARY KEY (run_id, line)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }()

    /// Records the start of a new run and returns its identifier.
    public func startRun(_ info: RunInfo) async throws -> Int64 {
        try await perform { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (operation, provider, list, input_path, input_digest,
                                      started_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    info.operation.rawValue, info.provider, info.list, info.inputPath,
                    info.inputDigest, info.startedAt.timeIntervalSince1970,
                ])
            return db.lastInsertedRowID
        }
    }

    /// The most recent run (highest identifier) whose ``finishRun(_:)`` was never called.
    public func lastUnfinishedRun() async throws -> (id: Int64, info: RunInfo)? {
        let path = path
        let found = try await read { db -> RunRow? in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, operation, provider, list, input_path, input_digest, started_at
                        FROM runs WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1
                        """)
            else { return nil }
            return try RunRow(row, path: path)
        }
        return found.map { ($0.id, $0.info) }
    }

    /// The lines of `run` whose outcome is final (any status but `failed`).
    ///
    /// Built from a cursor over the `(run_id, line)` primary key, in line order, so no
    /// whole rows are loaded and the set grows by appending.
    /// - Throws: ``JournalError/Code/unknownRun`` when no such run is recorded.
    public func finishedLines(run: Int64) async throws -> IndexSet {
        try await read { db in
            try self.requireRun(run, db)
            var lines = IndexSet()
            let cursor = try Int.fetchCursor(
                db,
                sql: "SELECT line FROM outcomes WHERE run_id = ? AND status <> ? ORDER BY line",
                arguments: [run, ContactResult.Status.failed.rawValue])
            while let line = try cursor.next() { lines.insert(line) }
            return lines
        }
    }

    /// Records outcomes of `run` in one transaction; a later entry for a line replaces an
    /// earlier one (within the call too).
    ///
    /// Returns once the entries are durable: see the type's "Durability" section.
    /// - Throws: ``JournalError/Code/unknownRun`` when no such run is recorded (nothing is
    ///   recorded then).
    public func record(_ entries: [JournalEntry], run: Int64) async throws {
        guard !entries.isEmpty else { return }
        try await perform { db in
            try self.requireRun(run, db)
            let now = Date().timeIntervalSince1970
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO outcomes (run_id, line, phone, status, result_id, error_code,
                                          message, provider_code, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (run_id, line) DO UPDATE SET
                        phone = excluded.phone, status = excluded.status,
                        result_id = excluded.result_id, error_code = excluded.error_code,
                        message = excluded.message, provider_code = excluded.provider_code,
                        updated_at = excluded.updated_at
                    """)
            for entry in entries {
                let error = entry.result.error
                try statement.execute(arguments: [
                    run, entry.line, entry.phone, entry.result.status.rawValue, entry.result.id,
                    error?.code.rawValue, error?.message, error?.providerCode, now,
                ])
            }
        }
    }

    /// Marks `run` finished (again: the first finishing time is kept).
    ///
    /// - Throws: ``JournalError/Code/unknownRun`` when no such run is recorded.
    public func finishRun(_ run: Int64) async throws {
        try await perform { db in
            try self.requireRun(run, db)
            try db.execute(
                sql: "UPDATE runs SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                arguments: [Date().timeIntervalSince1970, run])
        }
    }

    /// Every recorded entry of `run`, in line order.
    ///
    /// A stored error comes back with its code, message and provider code; the other
    /// ``Contactor/ContactError`` properties (provider, operation, field, transience) are
    /// not stored.
    /// - Throws: ``JournalError/Code/unknownRun`` when no such run is recorded.
    public func entries(run: Int64) async throws -> [JournalEntry] {
        try await entries(run: run, where: "", arguments: [run])
    }

    /// The entries of `run` whose line is in `lines`, in line order, read through the
    /// outcomes table's `(run_id, line)` key.
    public func entries(run: Int64, lines: ClosedRange<Int>) async throws -> [JournalEntry] {
        try await entries(
            run: run, where: "AND line BETWEEN ? AND ?",
            arguments: [run, lines.lowerBound, lines.upperBound])
    }

    private func entries(
        run: Int64, where filter: String, arguments: StatementArguments
    )
        async throws -> [JournalEntry]
    {
        let path = path
        return try await read { db in
            try self.requireRun(run, db)
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT line, phone, status, result_id, error_code, message, provider_code
                    FROM outcomes WHERE run_id = ? \(filter) ORDER BY line
                    """,
                arguments: arguments)
            var entries: [JournalEntry] = []
            while let row = try rows.next() {
                let line: Int = row[0]
                let statusName: String = row[2]
                guard let status = ContactResult.Status(rawValue: statusName) else {
                    throw JournalError(
                        .storageFailed, path: path,
                        "run \(run), line \(line): unknown status '\(statusName)'")
                }
                let errorCode: String? = row[4]
                var error: ContactError?
                if let errorCode {
                    guard let code = ContactError.Code(rawValue: errorCode) else {
                        throw JournalError(
                            .storageFailed, path: path,
                            "run \(run), line \(line): unknown error code '\(errorCode)'")
                    }
                    error = ContactError(code, row[5] ?? "", providerCode: row[6])
                }
                entries.append(
                    JournalEntry(
                        line: line, phone: row[1],
                        result: ContactResult(status: status, id: row[3], error: error)))
            }
            return entries
        }
    }

    // MARK: - Reading past runs

    /// One recorded run: what it was, whether it finished, and its outcomes per status.
    public struct RunRecord: Sendable, Hashable {
        /// The run's identifier.
        public var id: Int64
        /// The operation, provider, list and input of the run.
        public var info: RunInfo
        /// When ``SQLiteJournal/finishRun(_:)`` was called; `nil` for an unfinished run.
        public var finishedAt: Date?
        /// How many lines ended with each status (`failed` lines are the ones a resume
        /// sends again).
        public var counts: [ContactResult.Status: Int]
        /// Whether ``SQLiteJournal/lastUnfinishedRun()`` would pick this run up (the most
        /// recent unfinished one): `--resume` continues it.
        public var isResumable: Bool
    }

    /// Every recorded run, oldest first, with its counts.
    public func runs() async throws -> [RunRecord] {
        try await runRecords(where: "", arguments: [])
    }

    /// The run `id`.
    /// - Throws: ``JournalError/Code/unknownRun`` when no such run is recorded.
    public func run(_ id: Int64) async throws -> RunRecord {
        guard let record = try await runRecords(where: "WHERE id = ?", arguments: [id]).first
        else {
            throw JournalError(.unknownRun, path: path, "no run \(id) is recorded in this journal")
        }
        return record
    }

    private func runRecords(
        where filter: String, arguments: StatementArguments
    ) async throws -> [RunRecord] {
        let path = path
        return try await read { db in
            let resumable = try Int64.fetchOne(
                db, sql: "SELECT MAX(id) FROM runs WHERE finished_at IS NULL")
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, operation, provider, list, input_path, input_digest, started_at,
                           finished_at
                    FROM runs \(filter) ORDER BY id
                    """,
                arguments: arguments)
            return try rows.map { row in
                let run = try RunRow(row, path: path)
                var counts: [ContactResult.Status: Int] = [:]
                let statuses = try Row.fetchAll(
                    db,
                    sql: "SELECT status, COUNT(*) FROM outcomes WHERE run_id = ? GROUP BY status",
                    arguments: [run.id])
                for status in statuses {
                    if let name = ContactResult.Status(rawValue: status[0]) {
                        counts[name] = status[1]
                    }
                }
                let finished: Double? = row["finished_at"]
                return RunRecord(
                    id: run.id, info: run.info,
                    finishedAt: finished.map { Date(timeIntervalSince1970: $0) }, counts: counts,
                    isResumable: finished == nil && resumable == run.id)
            }
        }
    }

    // MARK: - Helpers

    private struct RunRow: Sendable {
        var id: Int64
        var info: RunInfo

        init(_ row: Row, path: String) throws {
            id = row["id"]
            info = RunInfo(
                operation: ContactOperation(rawValue: row["operation"]),
                provider: row["provider"], list: row["list"], inputPath: row["input_path"],
                inputDigest: row["input_digest"],
                startedAt: Date(timeIntervalSince1970: row["started_at"]))
        }
    }

    private func requireRun(_ run: Int64, _ db: Database) throws {
        let exists = try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?)", arguments: [run])
        guard exists == true else {
            throw JournalError(.unknownRun, path: path, "no run \(run) is recorded in this journal")
        }
    }

    private func perform<T: Sendable>(
        _ work: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return try await queue.write(work)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.storageFailed, path: path, "cannot write the journal: \(error)")
        }
    }

    private func read<T: Sendable>(
        _ work: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return try await queue.read(work)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.storageFailed, path: path, "cannot read the journal: \(error)")
        }
    }

    private static func openError(_ error: any Error, path: String) -> JournalError {
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB:
                return JournalError(
                    .notAJournal, path: path, "is not an SQLite database, so not a journal")
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
                return JournalError(
                    .cannotOpen, path: path,
                    "cannot open or create the journal: \(error.message ?? "\(error.resultCode)")"
                )
            default: break
            }
        }
        return JournalError(.cannotOpen, path: path, "cannot open the journal: \(error)")
    }
}
