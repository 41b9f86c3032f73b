import Contactor
import Foundation
import PostgresNIO

/// A ``Contactor/RunJournal`` in PostgreSQL: the same behaviour as `SQLiteJournal` (the
/// journal conformance checks run against both), in the store's `runs` and `outcomes`
/// tables, so that a run's outcomes are visible to every process using the store.
///
/// Each ``record(_:run:)`` is one transaction: once it returns, the entries are committed.
public struct PostgresJournal: RunJournal {
    let store: PostgresStore

    private var s: String { store.schema }

    public func startRun(_ info: RunInfo) async throws -> Int64 {
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).runs (operation, provider, list, input_path, input_digest, started_at)
                        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
                        """,
                    binds: try binds(
                        info.operation.rawValue, info.provider, info.list, info.inputPath,
                        info.inputDigest, info.startedAt)),
                logger: store.queryLogger)
            for try await id in rows.decode(Int64.self) { return id }
            throw ContactorError(.journalFailed, "the journal gave no id for the new run")
        } catch {
            throw store.failure(.journalFailed, "the journal could not start a run", error)
        }
    }

    public func lastUnfinishedRun() async throws -> (id: Int64, info: RunInfo)? {
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT id, operation, provider, list, input_path, input_digest, started_at
                        FROM \(s).runs WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1
                        """),
                logger: store.queryLogger)
            for try await (id, operation, provider, list, path, digest, started) in rows.decode(
                (Int64, String, String, String, String, String, Date).self)
            {
                return (
                    id,
                    RunInfo(
                        operation: ContactOperation(rawValue: operation), provider: provider,
                        list: list, inputPath: path, inputDigest: digest, startedAt: started)
                )
            }
            return nil
        } catch {
            throw store.failure(.journalFailed, "the journal could not be read", error)
        }
    }

    public func finishedLines(run: Int64) async throws -> IndexSet {
        do {
            try await requireRun(run)
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL:
                        "SELECT line FROM \(s).outcomes WHERE run_id = $1 AND status <> 'failed' ORDER BY line",
                    binds: try binds(run)),
                logger: store.queryLogger)
            var lines = IndexSet()
            for try await line in rows.decode(Int32.self) { lines.insert(Int(line)) }
            return lines
        } catch {
            throw store.failure(.journalFailed, "the journal could not be read", error)
        }
    }

    public func record(_ entries: [JournalEntry], run: Int64) async throws {
        try await write(entries, run: run, chunk: nil)
    }

    /// Writes `entries` in one statement (a line given twice keeps its last entry). For a
    /// worker's `chunk`, only while the worker holds it, and never turning an outcome that
    /// is not `failed` into one that is.
    func write(
        _ entries: [JournalEntry], run: Int64, chunk: (index: Int32, worker: String)?
    ) async throws {
        guard !entries.isEmpty else { return }
        var last: [Int: Int] = [:]
        for (index, entry) in entries.enumerated() { last[entry.line] = index }
        let rows: [JSONValue] = entries.indices.filter { last[entries[$0].line] == $0 }.map {
            let entry = entries[$0]
            return [
                "line": .int(Int64(entry.line)),
                "phone": entry.phone.map(JSONValue.string) ?? .null,
                "status": .string(entry.result.status.rawValue),
                "result_id": entry.result.id.map(JSONValue.string) ?? .null,
                "error_code": entry.result.error.map { .string($0.code.rawValue) } ?? .null,
                "message": entry.result.error.map { .string($0.message) } ?? .null,
                "provider_code": entry.result.error?.providerCode.map(JSONValue.string) ?? .null,
            ]
        }
        let held =
            chunk == nil
            ? ""
            : """
            WHERE EXISTS (SELECT 1 FROM \(s).chunks WHERE run_id = $1 AND index = $4
                AND owner = $3 AND state = 'claimed')
            """
        let kept =
            chunk == nil
            ? "" : "WHERE \(s).outcomes.status = 'failed' OR excluded.status <> 'failed'"
        do {
            try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).outcomes
                        (run_id, line, phone, status, result_id, error_code, message, provider_code, worker, updated_at)
                        SELECT $1, line, phone, status, result_id, error_code, message, provider_code, $3::text, now()
                        FROM jsonb_to_recordset($2::jsonb) AS entry (line integer, phone text, status text,
                            result_id text, error_code text, message text, provider_code text)
                        \(held)
                        ON CONFLICT (run_id, line) DO UPDATE SET phone = excluded.phone,
                        status = excluded.status, result_id = excluded.result_id,
                        error_code = excluded.error_code, message = excluded.message,
                        provider_code = excluded.provider_code, worker = excluded.worker,
                        updated_at = now()
                        \(kept)
                        """,
                    binds: try chunk.map {
                        try binds(run, JSONValue.array(rows).jsonText, $0.worker, $0.index)
                    } ?? binds(run, JSONValue.array(rows).jsonText, nil)),
                logger: store.queryLogger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
            throw unknownRun(run)
        } catch {
            throw store.failure(.journalFailed, "the journal could not record outcomes", error)
        }
    }

    /// Throws ``Contactor/ContactorError`` `journal_failed` naming `run` when no such run
    /// was started.
    private func requireRun(_ run: Int64) async throws {
        let rows = try await store.query(
            PostgresQuery(
                unsafeSQL: "SELECT 1 FROM \(s).runs WHERE id = $1", binds: try binds(run)),
            logger: store.queryLogger)
        for try await _ in rows.decode(Int32.self) { return }
        throw unknownRun(run)
    }

    private func unknownRun(_ run: Int64) -> ContactorError {
        ContactorError(.journalFailed, "no run \(run) is recorded in this journal")
    }

    public func finishRun(_ run: Int64) async throws {
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(s).runs SET finished_at = coalesce(finished_at, now())
                        WHERE id = $1 RETURNING 1
                        """,
                    binds: try binds(run)),
                logger: store.queryLogger)
            for try await _ in rows.decode(Int32.self) { return }
        } catch {
            throw store.failure(.journalFailed, "the journal could not finish the run", error)
        }
        throw unknownRun(run)
    }

    public func entries(run: Int64) async throws -> [JournalEntry] {
        try await entries(run: run, lines: Int(Int32.min)...Int(Int32.max))
    }

    public func entries(run: Int64, lines: ClosedRange<Int>) async throws -> [JournalEntry] {
        do {
            try await requireRun(run)
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT line, phone, status, result_id, error_code, message, provider_code
                        FROM \(s).outcomes WHERE run_id = $1 AND line BETWEEN $2 AND $3 ORDER BY line
                        """,
                    binds: try binds(
                        run, Int32(clamping: lines.lowerBound), Int32(clamping: lines.upperBound))),
                logger: store.queryLogger)
            var entries: [JournalEntry] = []
            for try await row in rows.decode(
                (Int32, String?, String, String?, String?, String?, String?).self)
            {
                entries.append(try Self.entry(row))
            }
            return entries
        } catch {
            throw store.failure(.journalFailed, "the journal could not be read", error)
        }
    }

    static func entry(
        _ row: (Int32, String?, String, String?, String?, String?, String?)
    ) throws -> JournalEntry {
        let (line, phone, statusName, id, codeName, message, providerCode) = row
        guard let status = ContactResult.Status(rawValue: statusName) else {
            throw ContactorError(.journalFailed, "line \(line): unknown status '\(statusName)'")
        }
        var error: ContactError?
        if let codeName {
            guard let code = ContactError.Code(rawValue: codeName) else {
                throw ContactorError(
                    .journalFailed, "line \(line): unknown error code '\(codeName)'")
            }
            error = ContactError(code, message ?? "", providerCode: providerCode)
        }
        return JournalEntry(
            line: Int(line), phone: phone,
            result: ContactResult(status: status, id: id, error: error))
    }
}

/// Bindings for a `PostgresQuery` made from SQL text.
func binds(_ values: (any PostgresThrowingDynamicTypeEncodable)?...) throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: values.count)
    for value in values {
        if let value {
            try bindings.append(value, context: .default)
        } else {
            bindings.appendNull()
        }
    }
    return bindings
}
