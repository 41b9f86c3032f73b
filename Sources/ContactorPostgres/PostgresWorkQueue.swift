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
        try await insertJob(run: run, spec: spec)

        var chunk: [PreparedContact] = []
        var refused: [JournalEntry] = []
        var index: Int32 = 0
        var count = 0
        do {
            for try await outcome in prepared {
                if let contact = outcome.contact, let line = outcome.line {
                    chunk.append(PreparedContact(line: line, contact: contact))
                    if chunk.count >= max(chunkSize, 1) {
                        try await insertChunk(run: run, index: index, chunk)
                        index += 1
                        count += chunk.count
                        chunk.removeAll(keepingCapacity: true)
                    }
                } else if let entry = outcome.journalEntry {
                    refused.append(entry)
                    if refused.count >= 1000 {
                        try await store.journal.record(refused, run: run)
                        refused.removeAll(keepingCapacity: true)
                    }
                }
            }
            if !chunk.isEmpty {
                try await insertChunk(run: run, index: index, chunk)
                index += 1
                count += chunk.count
            }
            try await store.journal.record(refused, run: run)
        } catch {
            store.logger.error("submitting run \(run) failed; its chunks stay unsubmitted")
            throw error
        }
        try await execute(
            """
            UPDATE \(s).jobs SET submitted = true, chunks = $2, records = $3 WHERE run_id = $1
            """, binds(run, index, Int32(clamping: count)), what: "the run could not be submitted")
        try await finishIfDone(run: run)
        store.logger.info("submitted run \(run): \(count) contacts in \(index) chunks")
        return run
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
                                continuation.yield(
                                    RecordOutcome(
                                        line: entry.line, phone: entry.phone, result: entry.result))
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

        /// Whether the run is submitted and every chunk is done.
        public var isDone: Bool { isSubmitted && done == chunks }
    }

    /// Where `run` stands.
    /// - Throws: ``Contactor/ContactorError`` `invalid_options` for a run that is not a
    ///   shared run of this store.
    public func progress(run: Int64) async throws -> Progress {
        do {
            let rows = try await store.client.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT j.submitted,
                            (SELECT count(*) FROM \(s).chunks c WHERE c.run_id = j.run_id),
                            (SELECT count(*) FROM \(s).chunks c WHERE c.run_id = j.run_id AND c.state = 'done'),
                            (SELECT count(*) FROM \(s).chunks c WHERE c.run_id = j.run_id AND c.state = 'claimed'
                                AND c.lease_expires > now()),
                            (SELECT min(c.first_line) FROM \(s).chunks c WHERE c.run_id = j.run_id AND c.state <> 'done')
                        FROM \(s).jobs j WHERE j.run_id = $1
                        """, binds: try binds(run)),
                logger: store.queryLogger)
            for try await (submitted, chunks, done, claimed, frontier) in rows.decode(
                (Bool, Int64, Int64, Int64, Int32?).self)
            {
                return Progress(
                    isSubmitted: submitted, chunks: Int(chunks), done: Int(done),
                    claimed: Int(claimed), frontier: frontier.map(Int.init))
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
            let rows = try await store.client.query(
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

    private func insertJob(run: Int64, spec: Spec) async throws {
        let text = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        try await execute(
            """
            INSERT INTO \(s).jobs (run_id, spec, provider, account, chunks, records)
            VALUES ($1, $2::jsonb, $3, $4, 0, 0)
            """, binds(run, text, spec.provider, spec.account),
            what: "the run could not be submitted")
    }

    private func insertChunk(run: Int64, index: Int32, _ contacts: [PreparedContact]) async throws {
        let records = JSONValue.array(contacts.map(ContactCoding.encode))
        try await execute(
            """
            INSERT INTO \(s).chunks (run_id, index, records, first_line, last_line)
            VALUES ($1, $2, $3::jsonb, $4, $5)
            """,
            binds(
                run, index, records.jsonText, Int32(clamping: contacts.first?.line ?? 0),
                Int32(clamping: contacts.last?.line ?? 0)),
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
            try await store.client.query(
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
