import Contactor
import Foundation
import Logging
import PostgresNIO

/// A run shared by workers: its input split into chunks that ``PostgresWorker``s claim
/// with leases, its outcomes in the store's journal, read back in input order.
///
/// ```swift
/// let run = try await store.work.submit(
///     records, operation: .add, provider: "octopush", list: "customers", client: client)
/// for try await outcome in store.work.outcomes(run: run) { print(outcome) }
/// ```
///
/// Submitting does the run's local work in the submitting process
/// (``Contactor/ContactorClient/prepare(_:operation:provider:list:options:)``: mapping,
/// phone numbers, validators, duplicates), records the records it refuses, and stores the
/// contacts to send in chunks; workers only send. So the mapping and validation plugins
/// are needed where runs are submitted, and the credentials where workers run: the store
/// holds no secret, only the account's identity (``Contactor/Credentials/account``), which a
/// worker with other credentials does not take.
public struct PostgresWorkQueue: Sendable {
    let store: PostgresStore

    private var s: String { store.schema }

    /// What a job asks of the workers, stored with it (no secret).
    struct Spec: Codable, Sendable {
        var operation: String
        var provider: String
        var list: String
        var account: String?
        var endpoint: String?
        var providerOptions: [String: String]
        var batchSize: Int?
        var rate: Double?
        var burst: Int?
        /// A sync's input lines; the lines after them are its deletions.
        var inputLines: Int?

        /// The operation of a sync's job: each contact's comes from the ledger.
        static let sync = "sync"
    }

    /// Submits a run: prepares `records` here, stores what is refused as outcomes and the
    /// rest in chunks of `chunkSize` contacts for the workers.
    ///
    /// - Parameters:
    ///   - records: The input, read once.
    ///   - client: The client whose providers, mapping and rate-limit policy apply; its
    ///     credentials, when it can resolve them, name the account (a worker with other
    ///     credentials does not take the run).
    ///   - options: The run's options: region, mapper, validators, field policy (applied
    ///     here), endpoint, provider options, batch size and rate limit (applied by the
    ///     workers).
    ///   - runInfo: What the journal records of the run; by default, a submitted input.
    /// - Returns: The run's id in the store's journal.
    /// - Throws: ``Contactor/ContactorError`` when the run is refused before anything is
    ///   stored (see `prepare`), or the store fails (`journal_failed`).
    public func submit<Records: AsyncSequence & Sendable>(
        _ records: Records, operation: ContactOperation, provider: String, list: String,
        client: ContactorClient, options: RunOptions = RunOptions(), runInfo: RunInfo? = nil,
        chunkSize: Int = 1000
    ) async throws -> Int64 where Records.Element == InputRecord {
        let prepared = try await client.prepare(
            records, operation: operation, provider: provider, list: list, options: options)
        let descriptor = try client.provider(named: provider).descriptor
        let account = try? client.configuration.credentials.resolve(
            for: descriptor, overrides: options.credentials
        ).account
        let limit = (options.rateLimit ?? client.configuration.rateLimit).limit(for: descriptor)
        let spec = Spec(
            operation: operation.rawValue, provider: descriptor.name, list: list,
            account: account, endpoint: options.endpoint?.absoluteString,
            providerOptions: options.providerOptions, batchSize: options.batchSize,
            rate: limit?.rate, burst: limit?.burst)
        let info =
            runInfo
            ?? RunInfo(
                operation: operation, provider: descriptor.name, list: list,
                inputPath: "(submitted)", inputDigest: "", startedAt: Date())
        let run = try await store.journal.startRun(info)
        try await insertJob(run: run, spec: spec, held: false)
        let stored = try await storeChunks(prepared, run: run, chunkSize: chunkSize)
        try await markSubmitted(run: run, chunks: stored.chunks, records: stored.contacts)
        store.logger.info(
            "submitted run \(run): \(stored.contacts) contacts in \(stored.chunks) chunks")
        return run
    }

    /// Submits a sync (``Contactor/ContactorClient/sync(_:provider:list:ledger:options:)``)
    /// for the workers, against the store's ledger (``PostgresStore/ledger``): records are
    /// prepared here and stored in chunks, and each worker chooses, when it sends a
    /// contact, what the ledger says it needs (an add, an update, or nothing when
    /// unchanged), and keeps the ledger up to date. With
    /// ``Contactor/SyncOptions/deleteMissing``, the run is held (no worker takes any of its
    /// chunks) until every record is prepared and the deletions are counted: the contacts
    /// the ledger says Contactor added that the records no longer hold; they go in chunks
    /// of their own, after the records, their outcomes with no line.
    ///
    /// From the start of submitting until the workers finish the run, the run holds the
    /// list's ledger: another sync of the same list, shared or not, is refused (`busy`,
    /// naming the run). A run whose submitter stopped before it was submitted gives the
    /// ledger up: the next sync drops its chunks that no worker took.
    ///
    /// - Parameters:
    ///   - client: As for ``submit(_:operation:provider:list:client:options:runInfo:chunkSize:)``;
    ///     its credentials must resolve here (they name the ledger's account).
    /// - Returns: The run's id in the store's journal.
    /// - Throws: ``Contactor/ContactorError`` as `submit` does; `too_many_deletes` (with the
    ///   count) when more than ``Contactor/SyncOptions/maxDeletes`` deletions would be
    ///   needed, in which case nothing is left in the store and nothing is sent; `busy`
    ///   when the list's ledger is in use.
    public func submitSync<Records: AsyncSequence & Sendable>(
        _ records: Records, provider: String, list: String, client: ContactorClient,
        options: SyncOptions = SyncOptions(), runInfo: RunInfo? = nil, chunkSize: Int = 1000
    ) async throws -> Int64 where Records.Element == InputRecord {
        let descriptor = try client.provider(named: provider).descriptor
        let account = try client.configuration.credentials.resolve(
            for: descriptor, overrides: options.run.credentials
        ).account
        let scope = LedgerScope(provider: descriptor.name, account: account, list: list)
        let lease = try await store.ledger.acquire(
            for: scope,
            holder: "a sync being submitted (pid \(ProcessInfo.processInfo.processIdentifier))")
        do {
            let run = try await submitSync(
                records, descriptor: descriptor, account: account, scope: scope, client: client,
                options: options, runInfo: runInfo, chunkSize: chunkSize)
            await lease.release()
            return run
        } catch {
            await lease.release()
            throw error
        }
    }

    private func submitSync<Records: AsyncSequence & Sendable>(
        _ records: Records, descriptor: ProviderDescriptor, account: String, scope: LedgerScope,
        client: ContactorClient, options: SyncOptions, runInfo: RunInfo?, chunkSize: Int
    ) async throws -> Int64 where Records.Element == InputRecord {
        let prepared = try await client.prepare(
            records, operation: .add, provider: descriptor.name, list: scope.list,
            options: options.run)
        let limit = (options.run.rateLimit ?? client.configuration.rateLimit).limit(for: descriptor)
        let spec = Spec(
            operation: Spec.sync, provider: descriptor.name, list: scope.list, account: account,
            endpoint: options.run.endpoint?.absoluteString,
            providerOptions: options.run.providerOptions, batchSize: options.run.batchSize,
            rate: limit?.rate, burst: limit?.burst)
        let run = try await store.journal.startRun(
            runInfo
                ?? RunInfo(
                    operation: ContactOperation(rawValue: Spec.sync), provider: descriptor.name,
                    list: scope.list, inputPath: "(submitted)", inputDigest: "",
                    startedAt: Date()))
        try await insertJob(run: run, spec: spec, held: options.deleteMissing)
        var stored = try await storeChunks(
            prepared, run: run, chunkSize: chunkSize, keepsPhones: options.deleteMissing)
        var inputLines: Int?
        if options.deleteMissing {
            let deletions = try await missing(from: stored.phones, in: scope)
            if deletions.count > options.maxDeletes {
                try await execute(
                    "DELETE FROM \(s).runs WHERE id = $1", binds(run),
                    what: "the refused sync could not be removed")
                throw ContactorError.tooManyDeletes(
                    deletions.count, list: scope.list, limit: options.maxDeletes,
                    provider: descriptor.name)
            }
            inputLines = stored.lastLine
            try await storeDeletions(
                deletions, run: run, after: stored.lastLine, chunkSize: chunkSize,
                provider: descriptor.name, stored: &stored)
        }
        try await markSubmitted(
            run: run, chunks: stored.chunks, records: stored.contacts, inputLines: inputLines)
        store.logger.info(
            "submitted sync run \(run): \(stored.contacts) contacts in \(stored.chunks) chunks")
        return run
    }

    /// The entries the ledger says Contactor added to `scope` whose phone is not in `phones`.
    private func missing(
        from phones: Set<String>, in scope: LedgerScope
    ) async throws -> [LedgerEntry] {
        var missing: [LedgerEntry] = []
        var cursor: String?
        while true {
            let page = try await store.ledger.entries(
                in: scope, origin: .added, after: cursor, limit: 1024)
            guard let last = page.last else { return missing }
            missing.append(contentsOf: page.lazy.filter { !phones.contains($0.phone) })
            cursor = last.phone
        }
    }

    /// Stores a sync's deletions in chunks of their own, on the lines after `lastLine`
    /// (read back with no line); a ledger phone that no longer parses fails at once.
    private func storeDeletions(
        _ deletions: [LedgerEntry], run: Int64, after lastLine: Int, chunkSize: Int,
        provider: String, stored: inout Stored
    ) async throws {
        var chunk: [PreparedContact] = []
        var failed: [JournalEntry] = []
        for (offset, entry) in deletions.enumerated() {
            let line = lastLine + 1 + offset
            switch entry.contactToDelete(provider: provider) {
            case .success(let contact):
                chunk.append(PreparedContact(line: line, contact: contact))
                if chunk.count >= max(chunkSize, 1) {
                    try await flush(&chunk, run: run, operation: .delete, into: &stored)
                }
            case .failure(let error):
                failed.append(JournalEntry(line: line, phone: entry.phone, result: .failed(error)))
            }
        }
        try await flush(&chunk, run: run, operation: .delete, into: &stored)
        try await store.journal.record(failed, run: run)
    }

    /// What ``storeChunks(_:run:chunkSize:keepsPhones:)`` stored.
    private struct Stored {
        var chunks: Int32 = 0
        var contacts = 0
        /// The last line of the input (refused lines included).
        var lastLine = 1
        /// The phones of the contacts stored, when asked for.
        var phones = Set<String>()
    }

    /// Stores `chunk`, when it holds any contact, as the run's next chunk, and empties it.
    private func flush(
        _ chunk: inout [PreparedContact], run: Int64, operation: ContactOperation? = nil,
        into stored: inout Stored
    ) async throws {
        guard !chunk.isEmpty else { return }
        try await insertChunk(run: run, index: stored.chunks, chunk, operation: operation)
        stored.chunks += 1
        stored.contacts += chunk.count
        chunk.removeAll(keepingCapacity: true)
    }

    /// Stores the contacts of `prepared` in chunks and what it refused as outcomes.
    private func storeChunks(
        _ prepared: ImportRun, run: Int64, chunkSize: Int, keepsPhones: Bool = false
    ) async throws -> Stored {
        var stored = Stored()
        var chunk: [PreparedContact] = []
        var refused: [JournalEntry] = []
        do {
            for try await outcome in prepared {
                if let line = outcome.line { stored.lastLine = max(stored.lastLine, line) }
                if let contact = outcome.contact, let line = outcome.line {
                    if keepsPhones { stored.phones.insert(contact.phone.e164) }
                    chunk.append(PreparedContact(line: line, contact: contact))
                    if chunk.count >= max(chunkSize, 1) {
                        try await flush(&chunk, run: run, into: &stored)
                    }
                } else if let entry = outcome.journalEntry {
                    refused.append(entry)
                    if refused.count >= 1000 {
                        try await store.journal.record(refused, run: run)
                        refused.removeAll(keepingCapacity: true)
                    }
                }
            }
            try await flush(&chunk, run: run, into: &stored)
            try await store.journal.record(refused, run: run)
        } catch {
            store.logger.error("submitting run \(run) failed; its chunks stay unsubmitted")
            throw error
        }
        return stored
    }

    private func markSubmitted(
        run: Int64, chunks: Int32, records: Int, inputLines: Int? = nil
    ) async throws {
        try await execute(
            """
            UPDATE \(s).jobs SET submitted = true, held = false, chunks = $2, records = $3,
            spec = CASE WHEN $4::integer IS NULL THEN spec
                ELSE spec || jsonb_build_object('inputLines', $4::integer) END
            WHERE run_id = $1
            """,
            binds(run, chunks, Int32(clamping: records), inputLines.map { Int32(clamping: $0) }),
            what: "the run could not be submitted")
        try await finishIfDone(run: run)
    }

    /// The outcomes of `run` in input order, each as soon as every line before it has one,
    /// until the last: the sequence ends when every chunk is done.
    ///
    /// - Parameter poll: How often the store is asked for progress.
    public func outcomes(
        run: Int64, poll: Duration = .milliseconds(250)
    ) -> AsyncThrowingStream<RecordOutcome, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var after = Int(Int32.min)
                    while true {
                        let progress = try await self.progress(run: run)
                        // Every line before the first chunk not done has its outcome.
                        let upTo = progress.isDone ? Int(Int32.max) : (progress.frontier ?? 0) - 1
                        if progress.isSubmitted, upTo > after {
                            for entry in try await store.journal.entries(
                                run: run, lines: (after + 1)...upTo)
                            {
                                // A sync's deletions, after its input, have no line.
                                let isDeletion =
                                    progress.inputLines.map { entry.line > $0 } ?? false
                                continuation.yield(
                                    RecordOutcome(
                                        line: isDeletion ? nil : entry.line, phone: entry.phone,
                                        result: entry.result,
                                        operation: isDeletion ? .delete : nil))
                            }
                            after = upTo
                        }
                        if progress.isDone { break }
                        try await Task.sleep(for: poll)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Where a shared run stands.
    public struct Progress: Sendable, Hashable {
        /// Whether every chunk has been stored (the submitter finished).
        public var isSubmitted: Bool
        /// How many chunks the run has (so far, while not submitted).
        public var chunks: Int
        /// How many are done.
        public var done: Int
        /// How many a worker holds now.
        public var claimed: Int
        /// The first line of the first chunk not done, `nil` when none is left.
        var frontier: Int?
        /// A sync's input lines, once submitted: the lines after them are deletions.
        var inputLines: Int?

        /// Whether the run is submitted and every chunk is done.
        public var isDone: Bool { isSubmitted && done == chunks }
    }

    /// Where `run` stands.
    /// - Throws: ``Contactor/ContactorError`` `invalid_options` for a run that is not a
    ///   shared run of this store.
    public func progress(run: Int64) async throws -> Progress {
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT j.submitted,
                            (SELECT count(*) FROM \(s).chunks c WHERE c.run_id = j.run_id),
                            (SELECT count(*) FROM \(s).chunks c WHERE c.run_id = j.run_id AND c.state = 'done'),
                            (SELECT count(*) FROM \(s).chunks c WHERE c.run_id = j.run_id AND c.state = 'claimed'
                                AND c.lease_expires > now()),
                            (SELECT min(c.first_line) FROM \(s).chunks c WHERE c.run_id = j.run_id AND c.state <> 'done'),
                            (j.spec->>'inputLines')::integer
                        FROM \(s).jobs j WHERE j.run_id = $1
                        """, binds: try binds(run)),
                logger: store.queryLogger)
            for try await (submitted, chunks, done, claimed, frontier, inputLines) in rows.decode(
                (Bool, Int64, Int64, Int64, Int32?, Int32?).self)
            {
                return Progress(
                    isSubmitted: submitted, chunks: Int(chunks), done: Int(done),
                    claimed: Int(claimed), frontier: frontier.map(Int.init),
                    inputLines: inputLines.map(Int.init))
            }
        } catch {
            throw store.failure(.journalFailed, "the run's progress could not be read", error)
        }
        throw ContactorError(.invalidOptions, "run \(run) is not a shared run of this store")
    }

    /// Puts the chunks of `run` that hold `failed` outcomes back in the queue: workers send
    /// those lines again (and only those; the others keep their outcomes).
    /// - Returns: How many chunks went back.
    @discardableResult
    public func retryFailed(run: Int64) async throws -> Int {
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH again AS (
                            UPDATE \(s).chunks c SET state = 'pending', owner = NULL, lease_expires = NULL
                            WHERE c.run_id = $1 AND c.state = 'done' AND EXISTS (
                                SELECT 1 FROM \(s).outcomes o WHERE o.run_id = c.run_id
                                AND o.line BETWEEN c.first_line AND c.last_line AND o.status = 'failed')
                            RETURNING 1),
                        reopened AS (
                            UPDATE \(s).runs SET finished_at = NULL
                            WHERE id = $1 AND EXISTS (SELECT 1 FROM again) RETURNING 1)
                        SELECT count(*) FROM again
                        """, binds: try binds(run)),
                logger: store.queryLogger)
            for try await count in rows.decode(Int64.self) { return Int(count) }
            return 0
        } catch {
            throw store.failure(
                .journalFailed, "the run's failed chunks could not be queued", error)
        }
    }

    // MARK: Storage

    private func insertJob(run: Int64, spec: Spec, held: Bool) async throws {
        let text = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        try await execute(
            """
            INSERT INTO \(s).jobs (run_id, spec, provider, account, chunks, records, held)
            VALUES ($1, $2::jsonb, $3, $4, 0, 0, $5)
            """, binds(run, text, spec.provider, spec.account, held),
            what: "the run could not be submitted")
    }

    private func insertChunk(
        run: Int64, index: Int32, _ contacts: [PreparedContact],
        operation: ContactOperation? = nil
    ) async throws {
        let records = JSONValue.array(contacts.map(ContactCoding.encode))
        try await execute(
            """
            INSERT INTO \(s).chunks (run_id, index, records, first_line, last_line, operation)
            VALUES ($1, $2, $3::jsonb, $4, $5, $6)
            """,
            binds(
                run, index, records.jsonText, Int32(clamping: contacts.first?.line ?? 0),
                Int32(clamping: contacts.last?.line ?? 0), operation?.rawValue),
            what: "the run could not be submitted")
    }

    /// Marks `run` finished in the journal once it is submitted and every chunk is done.
    func finishIfDone(run: Int64) async throws {
        try await execute(
            """
            UPDATE \(s).runs SET finished_at = now() WHERE id = $1 AND finished_at IS NULL
            AND (SELECT submitted FROM \(s).jobs WHERE run_id = $1)
            AND NOT EXISTS (SELECT 1 FROM \(s).chunks WHERE run_id = $1 AND state <> 'done')
            """, binds(run), what: "the run could not be finished")
    }

    private func execute(
        _ sql: String, _ bindings: @autoclosure () throws -> PostgresBindings, what: String
    ) async throws {
        do {
            try await store.query(
                PostgresQuery(unsafeSQL: sql, binds: try bindings()), logger: store.queryLogger)
        } catch {
            throw store.failure(.journalFailed, what, error)
        }
    }
}

/// A prepared contact as the JSON a chunk stores.
enum ContactCoding {
    static func encode(_ item: PreparedContact) -> JSONValue {
        let contact = item.contact
        var object: [String: JSONValue] = [
            "line": .int(Int64(item.line)), "phone": .string(contact.phone.e164),
            "country": .int(Int64(contact.phone.countryCode)),
            "type": .string(contact.phone.type.rawValue),
        ]
        func put(_ key: String, _ value: String?) {
            if let value { object[key] = .string(value) }
        }
        put("region", contact.phone.region)
        put("first_name", contact.firstName)
        put("last_name", contact.lastName)
        put("email", contact.email)
        put("birthday", contact.birthday?.description)
        put("civility", contact.civility)
        put("id", contact.providerID)
        if !contact.fields.isEmpty {
            object["fields"] = .object(contact.fields.mapValues { .string($0) })
        }
        return .object(object)
    }

    static func decode(_ value: JSONValue) throws -> PreparedContact {
        guard let line = value["line"]?.intValue, let phone = value["phone"]?.stringValue,
            let country = value["country"]?.intValue, let type = value["type"]?.stringValue
        else {
            throw ContactorError(.journalFailed, "a chunk holds a contact Contactor cannot read")
        }
        var birthday: CalendarDate?
        if let text = value["birthday"]?.stringValue {
            guard let date = CalendarDate(text) else {
                throw ContactorError(
                    .journalFailed, "line \(line): a stored birthday is not a date")
            }
            birthday = date
        }
        var fields: [String: String] = [:]
        for (key, field) in value["fields"]?.objectValue ?? [:] {
            fields[key] = field.stringValue ?? ""
        }
        let contact = Contact(
            phone: PhoneNumber(
                e164: phone, region: value["region"]?.stringValue, countryCode: Int(country),
                type: PhoneNumberType(rawValue: type)),
            firstName: value["first_name"]?.stringValue, lastName: value["last_name"]?.stringValue,
            email: value["email"]?.stringValue, birthday: birthday,
            civility: value["civility"]?.stringValue, fields: fields,
            providerID: value["id"]?.stringValue)
        return PreparedContact(line: Int(line), contact: contact)
    }
}
