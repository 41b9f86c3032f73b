import Foundation

/// What a sync does beyond an import.
public struct SyncOptions: Sendable {
    /// The mapping, validators, batching, concurrency, rate limit, mode and the rest, as
    /// for an import (a journal is not used: the ledger makes a sync safe to run again).
    public var run: RunOptions
    /// Whether to delete the contacts the ledger says Contactor added to the list and the
    /// input no longer holds. Nothing else is ever deleted.
    public var deleteMissing: Bool
    /// The most deletions allowed; a sync that would need more is refused before anything
    /// is sent (``ContactorError/Code/tooManyDeletes``).
    public var maxDeletes: Int

    /// The default of ``maxDeletes``: 100.
    public static let defaultMaxDeletes = 100

    /// Creates options.
    public init(
        run: RunOptions = RunOptions(), deleteMissing: Bool = false,
        maxDeletes: Int = SyncOptions.defaultMaxDeletes
    ) {
        self.run = run
        self.deleteMissing = deleteMissing
        self.maxDeletes = max(0, maxDeletes)
    }
}

/// What a sync would do, counted before anything is sent.
public struct SyncPlan: Sendable, Hashable {
    /// Records whose phone the ledger does not hold: they would be added.
    public var adds = 0
    /// Records whose fields changed since they were last sent: they would be updated.
    public var updates = 0
    /// Records unchanged since they were last sent: nothing to send.
    public var unchanged = 0
    /// Contacts Contactor added that the input no longer holds: they would be deleted (with
    /// ``SyncOptions/deleteMissing``).
    public var deletes = 0
    /// Records refused locally (invalid phone, a field too long, a validator, a change the
    /// provider cannot make), or a plugin that broke.
    public var refused = 0
    /// Records whose phone appears earlier in the input.
    public var duplicates = 0

    /// Creates an empty plan.
    public init() {}

    /// Every record and deletion counted.
    public var total: Int { adds + updates + unchanged + deletes + refused + duplicates }

    mutating func count(_ outcome: RecordOutcome) {
        if outcome.duplicateOf != nil {
            duplicates += 1
            return
        }
        switch (outcome.result.status, outcome.operation) {
        case (.valid, .add?): adds += 1
        case (.valid, .update?): updates += 1
        case (.valid, .delete?): deletes += 1
        case (.skipped, _): unchanged += 1
        default: refused += 1
        }
    }
}

extension ContactorError {
    /// A sync refused because it would delete `count` contacts from `list`, more than
    /// `limit` (the local sync and the one shared through a store say it the same way).
    package static func tooManyDeletes(
        _ count: Int, list: String, limit: Int, provider: String
    ) -> ContactorError {
        ContactorError(
            .tooManyDeletes,
            "the sync would delete \(count) contacts from \(list), more than the \(limit) allowed",
            provider: provider, count: count)
    }
}

extension LedgerEntry {
    /// The contact a sync deletes for this entry (with the provider's id when known), or
    /// why it cannot: the phone no longer parses.
    package func contactToDelete(provider: String) -> Result<Contact, ContactError> {
        guard let number = try? PhoneNumber(parsing: phone) else {
            return .failure(
                ContactError(
                    .invalidPhone, "the ledger's \(phone) is no longer a valid number",
                    provider: provider, operation: .delete))
        }
        return .success(Contact(phone: number, providerID: providerID))
    }
}

/// What an engine asks of a ledger for one run.
struct LedgerRequest: Sendable {
    var ledger: any Ledger
    var routes: Bool
    var deletesMissing: Bool
    var maxDeletes: Int?
}

extension ContactorClient {
    // MARK: Sync

    /// Makes `list` hold what `records` say, sending only the difference from what
    /// `ledger` records of it: the phones it does not hold are added (or found already
    /// there), those recorded with other fields are updated, the unchanged send nothing
    /// (`skipped`); with ``SyncOptions/deleteMissing``, the contacts the ledger says
    /// Contactor added and the records no longer hold are deleted, after every record, with
    /// no line. Every confirmed outcome is written to the ledger as it comes, so running the
    /// same sync again after a crash finishes it.
    ///
    /// Before this returns, and before anything is sent, the run is refused (as
    /// ``importRecords(_:operation:provider:list:options:)`` is) and also when more than
    /// ``SyncOptions/maxDeletes`` deletions would be needed (`too_many_deletes`, with the
    /// count), or another run holds the ledger (`busy`). Counting the deletions reads the
    /// records once more (phones only) when the ledger holds more additions than the limit,
    /// so `records` must be iterable more than once (a file, not a pipe).
    ///
    /// - Returns: The run: one outcome per record, in input order, then the deletions.
    public func sync<Records: AsyncSequence & Sendable>(
        _ records: Records, provider: String, list: String, ledger: any Ledger,
        options: SyncOptions = SyncOptions()
    ) async throws -> ImportRun where Records.Element == InputRecord {
        var run = options.run
        run.runInfo = nil
        run.resume = false
        var engine = try makeSyncEngine(
            provider: provider, list: list, ledger: ledger, options: options, run: run)
        guard let use = engine.ledger else { preconditionFailure("a sync has a ledger") }
        let lease = try await acquire(ledger, scope: use.scope)
        do {
            if options.deleteMissing, run.mode == .send || run.mode == .dryRun {
                let (deletions, records) = try await countDeletions(
                    records, engine: engine, limit: options.maxDeletes)
                engine.ledger?.expectedRecords = records
                if deletions > options.maxDeletes {
                    throw ContactorError.tooManyDeletes(
                        deletions, list: use.scope.list, limit: options.maxDeletes,
                        provider: use.scope.provider)
                }
            }
        } catch {
            await lease.release()
            throw error
        }
        return try await start(engine, options: run, lease: lease) { engine, emit in
            try await engine.run(
                records, source: { EngineSource(line: $0.line, payload: .record($0)) },
                emit: emit)
        }
    }

    /// What ``sync(_:provider:list:ledger:options:)`` would do with the same arguments,
    /// counted without sending anything: for a service to show a plan or have it approved.
    ///
    /// - Throws: What `sync` would throw before sending, except `too_many_deletes` (the plan
    ///   counts the deletions whatever the limit).
    public func plan<Records: AsyncSequence & Sendable>(
        _ records: Records, provider: String, list: String, ledger: any Ledger,
        options: SyncOptions = SyncOptions()
    ) async throws -> SyncPlan where Records.Element == InputRecord {
        var run = options.run
        run.runInfo = nil
        run.resume = false
        var planning = options
        planning.maxDeletes = .max
        var engine = try makeSyncEngine(
            provider: provider, list: list, ledger: ledger, options: planning, run: run)
        engine.mode = .plan
        var plan = SyncPlan()
        let outcomes = try await start(engine, options: run) { engine, emit in
            try await engine.run(
                records, source: { EngineSource(line: $0.line, payload: .record($0)) },
                emit: emit)
        }
        for try await outcome in outcomes { plan.count(outcome) }
        return plan
    }

    private func makeSyncEngine(
        provider: String, list: String, ledger: any Ledger, options: SyncOptions,
        run: RunOptions
    ) throws(ContactorError) -> Engine {
        try makeEngine(
            operation: .add, provider: provider, list: list, options: run,
            ledger: LedgerRequest(
                ledger: ledger, routes: true, deletesMissing: options.deleteMissing,
                maxDeletes: options.maxDeletes))
    }

    /// Takes `ledger` for one run.
    func acquire(_ ledger: any Ledger, scope: LedgerScope) async throws -> any StoreLease {
        do {
            return try await ledger.acquire(
                for: scope, holder: Self.holder)
        } catch {
            throw Engine.ledgerError(error)
        }
    }

    /// How many contacts a sync of `records` would delete, counted once it is known to be
    /// able to exceed `limit`: the phones of the records (mapped and normalised only),
    /// against the ledger's additions.
    private func countDeletions<Records: AsyncSequence & Sendable>(
        _ records: Records, engine: Engine, limit: Int
    ) async throws -> (deletions: Int, records: Int?) where Records.Element == InputRecord {
        guard let use = engine.ledger else { return (0, nil) }
        func additions(after phone: String?) async throws -> [LedgerEntry] {
            do {
                return try await use.ledger.entries(
                    in: use.scope, origin: .added, after: phone, limit: 1024)
            } catch {
                throw Engine.ledgerError(error)
            }
        }
        // Few enough additions that no input can need more deletions: no pass needed.
        var total = 0
        var cursor: String?
        while total <= limit {
            let page = try await additions(after: cursor)
            guard let last = page.last else { return (total, nil) }
            total += page.count
            cursor = last.phone
        }
        var phones = PhoneIndex()
        var line = 0
        for try await record in records {
            line += 1
            guard record.problem == nil,
                let draft = try? await engine.preparer.mapper.map(record),
                let contact = try? engine.preparer.normalize(draft)
            else { continue }
            _ = phones.firstLine(of: contact.phone.e164, at: line)
        }
        var deletions = 0
        cursor = nil
        while true {
            let page = try await additions(after: cursor)
            guard let last = page.last else { return (deletions, line) }
            deletions += page.lazy.filter { !phones.contains($0.phone) }.count
            cursor = last.phone
        }
    }

    // MARK: Reading a provider's list

    /// The contacts of `list` at `provider`, read a page at a time as they are iterated
    /// (``ContactProvider/list(_:cursor:context:)``).
    ///
    /// - Throws: As ``importRecords(_:operation:provider:list:options:)`` before anything is
    ///   read (`unsupported_operation` for a provider that documents no way to read a list).
    public func contacts(
        in list: String, provider: String, options: RunOptions = RunOptions()
    ) throws(ContactorError) -> ContactListing {
        let engine = try makeEngine(
            operation: .list, provider: provider, list: list, options: options)
        guard let provider = engine.provider else {
            preconditionFailure("a listing has a provider")
        }
        var context = engine.context
        context.request.operation = .list
        return ContactListing(provider: provider, list: list, context: context)
    }

    /// Brings `ledger` in step with what `list` really holds at `provider` (for providers
    /// that can list): contacts it does not know are recorded as found there (a sync then
    /// never deletes them), contacts it holds that the list no longer has are forgotten.
    /// - Returns: How many entries were recorded and forgotten.
    public func refresh(
        _ ledger: any Ledger, list: String, provider: String, options: RunOptions = RunOptions()
    ) async throws -> (found: Int, forgotten: Int) {
        let listing = try contacts(in: list, provider: provider, options: options)
        let engine = try makeEngine(
            operation: .add, provider: provider, list: list, options: options,
            ledger: LedgerRequest(ledger: ledger, routes: false, deletesMissing: false))
        guard let use = engine.ledger, let descriptor = engine.provider?.descriptor else {
            return (0, 0)
        }
        let lease = try await acquire(ledger, scope: use.scope)
        do {
            let counts = try await reconcile(
                use, descriptor: descriptor, listing: listing, preparer: engine.preparer)
            await lease.release()
            return counts
        } catch {
            await lease.release()
            throw Engine.ledgerError(error)
        }
    }

    private func reconcile(
        _ use: LedgerUse, descriptor: ProviderDescriptor, listing: ContactListing,
        preparer: RecordPreparer
    ) async throws -> (found: Int, forgotten: Int) {
        var seen = PhoneIndex()
        var found = 0
        var forgotten = 0
        var batch: [Contact] = []
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let known = try await use.ledger.entries(
                for: batch.map(\.phone.e164), in: use.scope)
            let new = batch.filter { known[$0.phone.e164] == nil }.map {
                LedgerEntry(
                    phone: $0.phone.e164, fingerprint: $0.fingerprint(sentBy: descriptor),
                    providerID: $0.providerID, origin: .found)
            }
            if !new.isEmpty { try await use.ledger.record(new, in: use.scope) }
            found += new.count
            batch = []
        }
        var line = 0
        for try await draft in listing {
            line += 1
            guard var contact = try? preparer.normalize(draft) else { continue }
            if seen.firstLine(of: contact.phone.e164, at: line) != nil { continue }
            contact.providerID = draft.providerID
            // What a record would send: the custom fields the provider has a place for.
            contact.fields = contact.fields.filter {
                descriptor.acceptsAnyCustomField || descriptor.customFields.contains($0.key)
            }
            batch.append(contact)
            if batch.count >= 256 { try await flush() }
        }
        try await flush()
        var cursor: String?
        while true {
            let page = try await use.ledger.entries(
                in: use.scope, origin: nil, after: cursor, limit: 1024)
            guard let last = page.last else { break }
            let gone = page.map(\.phone).filter { !seen.contains($0) }
            if !gone.isEmpty { try await use.ledger.remove(gone, in: use.scope) }
            forgotten += gone.count
            cursor = last.phone
        }
        return (found, forgotten)
    }
}

/// The contacts of one provider list, read a page at a time as they are iterated.
public struct ContactListing: AsyncSequence, Sendable {
    /// One contact as the provider holds it (``ContactDraft/providerID`` set when known).
    public typealias Element = ContactDraft

    let provider: any ContactProvider
    let list: String
    let context: ProviderContext

    /// Returns an iterator that reads the first page on its first `next()`.
    public func makeAsyncIterator() -> Iterator {
        Iterator(listing: self)
    }

    /// Reads the pages in turn.
    public struct Iterator: AsyncIteratorProtocol {
        let listing: ContactListing
        var buffer: [ContactDraft] = []
        var index = 0
        var cursor: String?
        var started = false
        var done = false

        /// The next contact, or `nil` after the last page.
        /// - Throws: The provider's error (`auth_failed`, `list_not_found`, ...).
        public mutating func next() async throws -> ContactDraft? {
            while index >= buffer.count {
                if done || (started && cursor == nil) { return nil }
                started = true
                let page: ContactPage
                do {
                    page = try await listing.provider.list(
                        listing.list, cursor: cursor, context: listing.context)
                } catch let error as ContactError {
                    throw error.attributed(to: listing.provider.descriptor.name, operation: .list)
                        .redacted(by: listing.context.request.redactor)
                }
                if page.next != nil, page.next == cursor {
                    throw ContactError(
                        .providerError,
                        "\(listing.provider.descriptor.name) answered the same page twice",
                        provider: listing.provider.descriptor.name, operation: .list)
                }
                buffer = page.contacts
                index = 0
                cursor = page.next
                if page.next == nil { done = buffer.isEmpty }
                if buffer.isEmpty, cursor == nil { return nil }
            }
            defer { index += 1 }
            return buffer[index]
        }
    }
}
