import Foundation
import HTTPTypes
import Logging
import Synchronization

/// One item of input to the engine: a record to map, a draft, or a contact.
struct EngineSource: Sendable {
    enum Payload: Sendable {
        case record(InputRecord)
        case draft(ContactDraft)
        case contact(Contact)
    }

    var line: Int?
    var payload: Payload
}

/// Shared, mutable facts about one run: why it stopped, its journal identifier.
final class RunState: Sendable {
    private let stop = Mutex<ContactError?>(nil)
    private let journalRun = Mutex<Int64?>(nil)
    private let unanswered = Mutex(0)

    /// Why the run stopped early, if it did.
    var stopReason: ContactError? { stop.withLock { $0 } }

    /// Records `error` as the reason to stop, unless one is already recorded.
    func stop(with error: ContactError) {
        stop.withLock { if $0 == nil { $0 = error } }
    }

    /// Notes that an attempt got an answer (whatever it said): the provider is reachable.
    func noteAnswer() { unanswered.withLock { $0 = 0 } }

    /// Notes that an attempt got no answer; returns how many in a row got none.
    func noteNoAnswer() -> Int {
        unanswered.withLock {
            $0 += 1; return $0
        }
    }

    /// The journal's identifier of the run.
    var runID: Int64? {
        get { journalRun.withLock { $0 } }
        set { journalRun.withLock { $0 = newValue } }
    }
}

/// What the engine does with a contact that passed every local check.
enum RunMode: Sendable, Hashable {
    /// Send it.
    case send
    /// Let the provider build its requests, record them, send nothing.
    case dryRun
    /// Nothing: the outcome is `valid` (`contactor validate`).
    case validate
    /// Route as a send would (the ledger's add, update or nothing), send nothing: each
    /// contact that would be sent ends `valid` with its operation (a sync's plan).
    case plan
}

/// Time for the engine: how long since a point, and waiting.
struct EngineClock: Sendable {
    /// Starts a stopwatch; the closure returned tells the time since.
    let stopwatch: @Sendable () -> @Sendable () -> Duration
    /// Waits for a duration (throws when cancelled).
    let sleep: @Sendable (Duration) async throws -> Void

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        stopwatch = {
            let start = clock.now
            return { start.duration(to: clock.now) }
        }
        sleep = { try await clock.sleep(for: $0) }
    }
}

/// How a run uses a ledger: which one, for which list, and whether it routes by it.
struct LedgerUse: Sendable {
    var ledger: any Ledger
    var scope: LedgerScope
    /// Whether the run is a sync: each contact's operation comes from the ledger (add the
    /// new, update the changed, nothing for the unchanged).
    var routes: Bool
    /// Whether a sync deletes what the ledger says Contactor added and the input no longer
    /// holds.
    var deletesMissing: Bool
    /// The most deletions a sync may send; more are never sent.
    var maxDeletes: Int?
    /// How many records the input held when its deletions were counted (the sync read it
    /// once before): a different count now means it changed, and nothing is deleted.
    var expectedRecords: Int?
    /// Why a sync cannot update a changed contact (the provider has no update, or its
    /// update needs an option this run did not give); `nil` when it can.
    var updateRefusal: ContactError?
}

/// The pipeline engine: reads the input, prepares records on every core, batches the
/// contacts that passed, sends up to `concurrency` batches at once, retries, journals each
/// batch's outcomes as soon as they are known, and emits every outcome in input order.
///
/// Memory is bounded: at most ``window`` records are read and not yet emitted, and the
/// caller's `emit` suspends while its consumer is behind, which stops the reading.
struct Engine: Sendable {
    /// The provider, except for `validate` without one.
    var provider: (any ContactProvider)?
    /// The operation of every contact, except in a sync (where the ledger decides).
    var operation: ContactOperation
    var list: String
    var mode: RunMode
    /// The context of the run; each attempt gets a copy with its own attempt number.
    var context: ProviderContext
    var preparer: RecordPreparer
    /// The batch size per operation (the provider's, or the smaller one asked for).
    var batchSizes: [ContactOperation: Int]
    var concurrency: Int
    /// How many chunks of records are prepared at once (one per core by default).
    var workers: Int
    var retry: RetryPolicy
    var clock: EngineClock
    var logger: Logger
    /// Whether a phone met again in the input is reported instead of sent again.
    var detectsDuplicates: Bool
    /// The journal and the run it records, when the run is journalled.
    var journal: (any RunJournal)?
    /// The ledger the run reads and keeps up to date, if any.
    var ledger: LedgerUse?
    /// The outcomes recorded by the run being resumed; those lines are not sent again.
    var replay: ReplayWindow?
    var state: RunState
    /// In validate mode, whether each valid outcome carries its prepared contact.
    var keepsContacts = false

    /// Errors thrown for a batch after which nothing more is sent.
    static let stopCodes: Set<ContactError.Code> = [
        .authFailed, .listNotFound, .unsupportedOperation,
    ]

    /// Records per preparation task.
    static let chunkSize = 256

    /// The largest batch of any operation.
    var batchSize: Int { batchSizes.values.max() ?? 1 }

    func batchSize(for operation: ContactOperation) -> Int {
        max(1, batchSizes[operation] ?? 1)
    }

    /// The most records read and not yet emitted: the batches in flight and one more
    /// filling per operation, and the chunks being prepared and one more being read.
    var window: Int {
        (concurrency + 2 * max(1, batchSizes.count)) * batchSize
            + (workers + 1) * Self.chunkSize
    }

    private var providerName: String { provider?.descriptor.name ?? "" }

    // MARK: The run

    private struct Item: Sendable {
        var sequence: Int
        var line: Int?
        var contact: Contact
        var operation: ContactOperation
        /// What the ledger held for the phone before this run sent anything.
        var known: LedgerEntry?
        /// The fingerprint of the fields the contact sends, when a ledger is in use.
        var fingerprint: String?
    }

    private enum Prepared: Sendable {
        case refused(phone: String?, result: ContactResult)
        case ready(Contact, fingerprint: String?, known: LedgerEntry?)
        case replayed(JournalEntry)
    }

    private enum Work: Sendable {
        case record(EngineSource)
        case replayed(JournalEntry)
    }

    private struct Delivery: Sendable {
        var items: [Item]
        var results: [ContactResult]
        /// The operation each contact ended with (an update answered "not in the list"
        /// is added instead).
        var operations: [ContactOperation]
        var requests: [SentRequest]
        var journaled: Bool
    }

    private enum Completion: Sendable {
        case prepared(chunk: Int, first: Int, lines: [Int?], items: [Prepared])
        case delivered(Delivery)
    }

    /// Runs the whole input through the pipeline, calling `emit` with consecutive chunks
    /// of outcomes in input order.
    func run<Input: AsyncSequence>(
        _ input: Input, source: (Input.Element) -> EngineSource,
        emit: ([RecordOutcome]) async throws -> Void
    ) async throws {
        var iterator = input.makeAsyncIterator()
        var replay = self.replay
        var outcomes = OutcomeQueue()
        var phones = PhoneIndex()
        var exhausted = false
        var nextSequence = 0
        var nextChunk = 0
        var nextChunkToRoute = 0
        var preparedChunks: [Int: (first: Int, lines: [Int?], items: [Prepared])] = [:]
        var preparing = 0
        var sending = 0
        var pending: [ContactOperation: [Item]] = [:]
        var batches: [[Item]] = []
        // The deletions of a sync, read from the ledger once the input is done.
        let deletes = ledger.map { $0.routes && $0.deletesMissing } ?? false
        var deletionsDone = !deletes
        var deletionCursor: String?
        var deletionCount = 0
        let window = self.window
        let flushThreshold = min(window / 4, 512)

        try await withThrowingTaskGroup(of: Completion.self) { group in
            func flush() async throws {
                let ready = outcomes.popReady()
                guard !ready.isEmpty else { return }
                if let journal, let runID = state.runID {
                    let entries = ready.lazy.filter { !$0.journaled && !$0.outcome.isReplayed }
                        .compactMap(\.outcome.journalEntry)
                    if !entries.isEmpty {
                        try await Self.record(Array(entries), in: journal, run: runID)
                    }
                }
                try await emit(ready.map(\.outcome))
            }

            func enqueue(_ item: Item) {
                pending[item.operation, default: []].append(item)
                if pending[item.operation, default: []].count >= batchSize(for: item.operation) {
                    batches.append(pending.removeValue(forKey: item.operation) ?? [])
                }
            }

            func route(first: Int, lines: [Int?], items: [Prepared]) {
                for (offset, prepared) in items.enumerated() {
                    let sequence = first + offset
                    let line = lines[offset]
                    switch prepared {
                    case .replayed(let entry):
                        if detectsDuplicates, let phone = entry.phone,
                            entry.result.status.isSuccess,
                            let line
                        {
                            _ = phones.firstLine(of: phone, at: line)
                        }
                        outcomes.set(sequence, RecordOutcome(replaying: entry))
                    case .refused(let phone, let result):
                        outcomes.set(
                            sequence, RecordOutcome(line: line, phone: phone, result: result))
                    case .ready(let contact, let fingerprint, let known):
                        let phone = contact.phone.e164
                        if detectsDuplicates, let line,
                            let earlier = phones.firstLine(of: phone, at: line)
                        {
                            outcomes.set(
                                sequence,
                                RecordOutcome(
                                    line: line, phone: phone,
                                    result: .skipped(Self.duplicate(phone, of: earlier)),
                                    duplicateOf: earlier))
                            continue
                        }
                        if mode == .validate {
                            var outcome = RecordOutcome(line: line, phone: phone, result: .valid)
                            if keepsContacts { outcome.contact = contact }
                            outcomes.set(sequence, outcome)
                            continue
                        }
                        if let stop = state.stopReason {
                            outcomes.set(
                                sequence,
                                RecordOutcome(line: line, phone: phone, result: .failed(stop)))
                            continue
                        }
                        var operation = self.operation
                        if ledger?.routes == true {
                            switch syncAction(known: known, fingerprint: fingerprint) {
                            case .unchanged:
                                outcomes.set(
                                    sequence,
                                    RecordOutcome(
                                        line: line, phone: phone,
                                        result: .skipped(
                                            Self.unchanged(phone), id: known?.providerID)))
                                continue
                            case .cannotUpdate(let error):
                                outcomes.set(
                                    sequence,
                                    RecordOutcome(
                                        line: line, phone: phone, result: .rejected(error)))
                                continue
                            case .send(let chosen):
                                operation = chosen
                            }
                        }
                        var contact = contact
                        if contact.providerID == nil { contact.providerID = known?.providerID }
                        enqueue(
                            Item(
                                sequence: sequence, line: line, contact: contact,
                                operation: operation, known: known, fingerprint: fingerprint))
                    }
                }
            }

            func submit(_ items: [Item]) {
                if let stop = state.stopReason {
                    for item in items {
                        outcomes.set(
                            item.sequence,
                            RecordOutcome(
                                line: item.line, phone: item.contact.phone.e164,
                                result: .failed(stop)))
                    }
                    return
                }
                sending += 1
                group.addTask { .delivered(try await deliver(items)) }
            }

            func complete(_ completion: Completion) {
                switch completion {
                case .prepared(let chunk, let first, let lines, let items):
                    preparing -= 1
                    preparedChunks[chunk] = (first, lines, items)
                case .delivered(let delivery):
                    sending -= 1
                    for (index, item) in delivery.items.enumerated() {
                        outcomes.set(
                            item.sequence,
                            RecordOutcome(
                                line: item.line, phone: item.contact.phone.e164,
                                result: delivery.results[index],
                                operation: mode == .validate ? nil : delivery.operations[index],
                                requests: index == 0 ? delivery.requests : []),
                            journaled: delivery.journaled)
                    }
                }
            }

            /// Reads one page of the ledger's additions and queues the deletion of those the
            /// input did not hold.
            func readDeletions() async throws {
                guard let ledger else { return }
                let page: [LedgerEntry]
                do {
                    page = try await ledger.ledger.entries(
                        in: ledger.scope, origin: .added, after: deletionCursor,
                        limit: Self.chunkSize)
                } catch {
                    throw Self.ledgerError(error)
                }
                guard let last = page.last else {
                    deletionsDone = true
                    return
                }
                deletionCursor = last.phone
                for entry in page where !phones.contains(entry.phone) {
                    let sequence = nextSequence
                    nextSequence += 1
                    deletionCount += 1
                    let contact: Contact
                    switch entry.contactToDelete(provider: providerName) {
                    case .success(let deleted): contact = deleted
                    case .failure(let error):
                        outcomes.set(
                            sequence,
                            RecordOutcome(line: nil, phone: entry.phone, result: .failed(error)))
                        continue
                    }
                    if let limit = ledger.maxDeletes, deletionCount > limit {
                        outcomes.set(
                            sequence,
                            RecordOutcome(
                                line: nil, phone: entry.phone,
                                result: .failed(
                                    ContactError(
                                        .providerError,
                                        "not deleted: more than the \(limit) deletions allowed",
                                        provider: providerName, operation: .delete))))
                        continue
                    }
                    if let stop = state.stopReason {
                        outcomes.set(
                            sequence,
                            RecordOutcome(line: nil, phone: entry.phone, result: .failed(stop)))
                        continue
                    }
                    enqueue(
                        Item(
                            sequence: sequence, line: nil, contact: contact,
                            operation: .delete, known: entry, fingerprint: nil))
                }
            }

            while true {
                // Read and hand out chunks to prepare, within the window.
                while !exhausted, preparing < workers,
                    nextSequence - outcomes.base + Self.chunkSize <= window
                {
                    var work: [Work] = []
                    var lines: [Int?] = []
                    work.reserveCapacity(Self.chunkSize)
                    lines.reserveCapacity(Self.chunkSize)
                    while work.count < Self.chunkSize {
                        try Task.checkCancellation()
                        guard let element = try await iterator.next() else {
                            exhausted = true
                            break
                        }
                        let item = source(element)
                        lines.append(item.line)
                        if let line = item.line, let entry = try await replay?.entry(forLine: line)
                        {
                            work.append(.replayed(entry))
                        } else {
                            work.append(.record(item))
                        }
                    }
                    guard !work.isEmpty else { break }
                    let chunk = nextChunk
                    let first = nextSequence
                    nextChunk += 1
                    nextSequence += work.count
                    preparing += 1
                    group.addTask { [lines, work] in
                        .prepared(
                            chunk: chunk, first: first, lines: lines,
                            items: try await prepare(work))
                    }
                }

                // Route prepared chunks, in input order.
                while let prepared = preparedChunks.removeValue(forKey: nextChunkToRoute) {
                    route(first: prepared.first, lines: prepared.lines, items: prepared.items)
                    nextChunkToRoute += 1
                }
                let recordsRouted = exhausted && preparing == 0 && nextChunkToRoute == nextChunk
                if recordsRouted, !deletionsDone, let expected = ledger?.expectedRecords,
                    expected != nextSequence
                {
                    throw ContactorError(
                        .invalidInput,
                        "the input held \(expected) records when its deletions were counted and \(nextSequence) now: it changed, so nothing was deleted"
                    )
                }
                // Then a sync's deletions, read from the ledger a page at a time.
                while recordsRouted, !deletionsDone,
                    nextSequence - outcomes.base + Self.chunkSize <= window
                {
                    try await readDeletions()
                }
                let allRouted = recordsRouted && deletionsDone
                if allRouted {
                    for operation in pending.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
                        if let items = pending.removeValue(forKey: operation), !items.isEmpty {
                            batches.append(items)
                        }
                    }
                }

                // Send what is ready.
                while sending < concurrency, !batches.isEmpty {
                    submit(batches.removeFirst())
                }
                let windowFull = nextSequence - outcomes.base + Self.chunkSize > window
                if windowFull, preparing == 0, sending == 0, batches.isEmpty,
                    let operation = pending.first(where: { !$0.value.isEmpty })?.key
                {
                    // Nothing else can move: send a part-filled batch.
                    submit(pending.removeValue(forKey: operation) ?? [])
                }

                if outcomes.count >= flushThreshold { try await flush() }
                if allRouted, sending == 0, batches.isEmpty, pending.isEmpty {
                    try await flush()
                    break
                }
                if preparing == 0, sending == 0, !windowFull, !(recordsRouted && deletionsDone) {
                    continue
                }

                // Wait for something to finish; what is ready goes out first.
                if outcomes.hasReady { try await flush() }
                guard let completion = try await group.next() else { continue }
                complete(completion)
            }
        }
    }

    // MARK: Preparing one chunk

    /// Prepares a chunk of records; with a ledger, also their fingerprints and what the
    /// ledger holds for their phones (one look-up for the chunk).
    private func prepare(_ work: [Work]) async throws -> [Prepared] {
        var items: [Prepared] = []
        items.reserveCapacity(work.count)
        // Read once for the chunk: a provider's descriptor is a copy at each read.
        let fingerprinting = ledger != nil ? provider?.descriptor : nil
        for piece in work {
            switch piece {
            case .replayed(let entry): items.append(.replayed(entry))
            case .record(let source):
                switch await Self.prepare(source, with: preparer) {
                case .refused(let phone, let result):
                    items.append(.refused(phone: phone, result: result))
                case .ready(let contact):
                    let fingerprint = fingerprinting.map { contact.fingerprint(sentBy: $0) }
                    items.append(.ready(contact, fingerprint: fingerprint, known: nil))
                }
            }
        }
        guard let ledger, mode != .validate else { return items }
        var phones: [String] = []
        for item in items {
            if case .ready(let contact, _, _) = item { phones.append(contact.phone.e164) }
        }
        guard !phones.isEmpty else { return items }
        let known: [String: LedgerEntry]
        do {
            known = try await ledger.ledger.entries(for: phones, in: ledger.scope)
        } catch {
            throw Self.ledgerError(error)
        }
        guard !known.isEmpty else { return items }
        return items.map { item in
            guard case .ready(let contact, let fingerprint, _) = item,
                let entry = known[contact.phone.e164]
            else { return item }
            return .ready(contact, fingerprint: fingerprint, known: entry)
        }
    }

    private static func prepare(
        _ item: EngineSource, with preparer: RecordPreparer
    ) async -> RecordPreparer.Preparation {
        switch item.payload {
        case .record(let record): await preparer.prepare(record)
        case .draft(let draft): await preparer.prepare(draft)
        case .contact(let contact): await preparer.check(contact)
        }
    }

    private enum SyncAction {
        case send(ContactOperation)
        case unchanged
        case cannotUpdate(ContactError)
    }

    /// What a sync does with a contact: add what the ledger does not hold (or holds as an
    /// add whose answer never came), nothing for what it holds with the same fields, an
    /// update for what changed.
    private func syncAction(known: LedgerEntry?, fingerprint: String?) -> SyncAction {
        guard let known, !known.isPending else { return .send(.add) }
        if known.fingerprint == fingerprint { return .unchanged }
        if let refusal = ledger?.updateRefusal { return .cannotUpdate(refusal) }
        return .send(.update)
    }

    private static func duplicate(_ phone: String, of line: Int) -> ContactError {
        ContactError(
            .alreadyInList,
            "\(phone) appears earlier in the input, at line \(line); it is sent once, from there")
    }

    private static func unchanged(_ phone: String) -> ContactError {
        ContactError(
            .alreadyInList, "\(phone) is unchanged since it was last sent: nothing to send")
    }

    private static func record(
        _ entries: [JournalEntry], in journal: any RunJournal, run: Int64
    ) async throws {
        do {
            try await journal.record(entries, run: run)
        } catch let error as ContactorError {
            throw error
        } catch {
            throw ContactorError(
                .journalFailed, "the journal could not record outcomes: \(error)")
        }
    }

    static func ledgerError(_ error: any Error) -> ContactorError {
        if let error = error as? ContactorError { return error }
        return ContactorError(.ledgerFailed, "the ledger failed: \(error)")
    }

    // MARK: Sending one batch

    /// Sends `items` (a dry run only records their requests), journals and records in the
    /// ledger their outcomes, and returns them.
    private func deliver(_ items: [Item]) async throws -> Delivery {
        let operation = items.first?.operation ?? self.operation
        let contacts = items.map(\.contact)
        var results: [ContactResult]
        var operations = items.map(\.operation)
        var requests: [SentRequest] = []
        switch mode {
        case .validate, .plan:
            results = contacts.map { _ in .valid }
        case .dryRun:
            let log = RequestLog()
            var context = self.context
            context.pipeline = RequestPipeline(transport: DryRunTransport(log: log))
            _ = try? await send(contacts, operation, context: context)
            results = contacts.map { _ in .valid }
            requests = log.requests.map { Redaction.redact($0, redactor: context.request.redactor) }
        case .send:
            if operation == .add { try await writeAhead(items) }
            let started = ContinuousClock.now
            results = await deliver(contacts, operation)
            context.request.instruments?.recordBatch(
                started.duration(to: .now), provider: providerName, operation: operation)
            if operation == .update, ledger?.routes == true {
                // The ledger disagrees with the provider (the contact was deleted there by
                // hand): add it again, so the list holds what the input says.
                let gone = results.indices.filter {
                    results[$0].status == .skipped && results[$0].error?.code == .notInList
                }
                if !gone.isEmpty {
                    try await writeAhead(gone.map { items[$0] })
                    let added = await deliver(gone.map { contacts[$0] }, .add)
                    for (index, result) in zip(gone, added) {
                        results[index] = result
                        operations[index] = .add
                    }
                }
            }
            try await recordInLedger(items, results: results, operations: operations)
        }
        var journaled = false
        if mode == .send, let journal, let runID = state.runID {
            let entries = zip(items, results).compactMap { item, result in
                item.line.map {
                    JournalEntry(line: $0, phone: item.contact.phone.e164, result: result)
                }
            }
            if !entries.isEmpty { try await Self.record(entries, in: journal, run: runID) }
            journaled = true
        }
        return Delivery(
            items: items, results: results, operations: operations, requests: requests,
            journaled: journaled)
    }

    /// Before an add is sent, notes in the ledger that it may have been made, so that a run
    /// killed before the answer still counts it as Contactor's.
    private func writeAhead(_ items: [Item]) async throws {
        guard let ledger else { return }
        let entries = items.filter { $0.known == nil }.map { item in
            LedgerEntry(
                phone: item.contact.phone.e164, fingerprint: "", origin: .added, isPending: true)
        }
        guard !entries.isEmpty else { return }
        do {
            try await ledger.ledger.record(entries, in: ledger.scope)
        } catch {
            throw Self.ledgerError(error)
        }
    }

    /// Records each confirmed outcome in the ledger: what was added or found, with the
    /// fields sent and the provider's id; what was deleted, or is not there, is forgotten.
    private func recordInLedger(
        _ items: [Item], results: [ContactResult], operations: [ContactOperation]
    ) async throws {
        guard let ledger else { return }
        var written: [LedgerEntry] = []
        var removed: [String] = []
        for (index, item) in items.enumerated() {
            let result = results[index]
            let phone = item.contact.phone.e164
            let id = result.id ?? item.contact.providerID ?? item.known?.providerID
            let fingerprint = item.fingerprint ?? ""
            switch (operations[index], result.status) {
            case (.add, .added), (.update, .added):
                written.append(
                    LedgerEntry(
                        phone: phone, fingerprint: fingerprint, providerID: id, origin: .added))
            case (.add, .updated), (.add, .skipped):
                // Already there: Contactor's only if an earlier run of its own added it (or
                // may have: an add whose answer never came).
                written.append(
                    LedgerEntry(
                        phone: phone, fingerprint: fingerprint, providerID: id,
                        origin: item.known?.origin == .added ? .added : .found))
            case (.update, .updated):
                written.append(
                    LedgerEntry(
                        phone: phone, fingerprint: fingerprint, providerID: id,
                        origin: item.known?.origin ?? .added))
            case (.add, .rejected):
                if item.known == nil || item.known?.isPending == true { removed.append(phone) }
            case (.delete, .deleted), (.delete, .skipped):
                removed.append(phone)
            default:
                break
            }
        }
        do {
            if !written.isEmpty { try await ledger.ledger.record(written, in: ledger.scope) }
            if !removed.isEmpty { try await ledger.ledger.remove(removed, in: ledger.scope) }
        } catch {
            throw Self.ledgerError(error)
        }
    }

    /// Sends `contacts` with `operation` and returns one result each, retrying transient
    /// failures and splitting a batch the provider refused as a whole.
    func deliver(_ contacts: [Contact], _ operation: ContactOperation) async -> [ContactResult] {
        var results = [ContactResult?](repeating: nil, count: contacts.count)
        var todo = Array(contacts.indices)
        var attempt = 1
        let elapsed = clock.stopwatch()

        func fill(_ indices: [Int], _ result: ContactResult) {
            for index in indices { results[index] = result }
        }
        /// Why the last retry was not made, when the provider's own wait was the reason.
        var refusedWait: String?
        /// Waits before the next attempt; `false` when no attempt is left.
        func waitForRetry(retryAfter: Duration?) async -> Bool {
            guard attempt < retry.maxAttempts else { return false }
            // A provider that asks for a longer wait than the policy allows is not sent
            // anything sooner: the contacts end failed (transient), for a later resume.
            if let retryAfter, retryAfter > retry.maxBackoff {
                refusedWait =
                    " (gave up: the provider asked to wait \(retryAfter.secondsText) before retrying, longer than the longest wait allowed, \(retry.maxBackoff.secondsText))"
                return false
            }
            let wait = retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
            guard elapsed() + wait < retry.totalBudget else { return false }
            do {
                if wait > .zero { try await clock.sleep(wait) }
            } catch {
                return false
            }
            attempt += 1
            context.request.instruments?.recordRetry(provider: providerName, operation: operation)
            return true
        }
        func gaveUp(_ error: ContactError) -> ContactError {
            if let refusedWait { return error.appending(refusedWait) }
            guard attempt > 1 else { return error }
            return error.appending(" (gave up after \(attempt) attempts)")
        }

        while !todo.isEmpty {
            if let stop = state.stopReason {
                fill(todo, .failed(stop))
                break
            }
            if Task.isCancelled {
                fill(todo, .failed(cancelled(operation)))
                break
            }
            let batch = todo.map { contacts[$0] }
            var context = self.context
            context.request.attempt = attempt
            context.request.operation = operation
            let answer: [ContactResult]
            do {
                answer = try await send(batch, operation, context: context).map(redacted)
            } catch {
                if Task.isCancelled || error is CancellationError {
                    fill(todo, .failed(cancelled(operation)))
                    break
                }
                let error = classify(error, operation)
                if error.isTransient, [.transportError, .timeout].contains(error.code) {
                    let unanswered = state.noteNoAnswer()
                    if retry.unreachableAfter > 0, unanswered >= retry.unreachableAfter {
                        let stop = ContactError(
                            .transportError,
                            "\(providerName) is unreachable: \(unanswered) requests in a row got no answer (the last: \(error.message)); nothing more is sent",
                            provider: providerName, operation: operation, isTransient: true)
                        if state.stopReason == nil { logger.error("stopping the run: \(stop)") }
                        state.stop(with: stop)
                        fill(todo, .failed(state.stopReason ?? stop))
                        break
                    }
                } else {
                    state.noteAnswer()
                }
                if Self.stopCodes.contains(error.code) {
                    logger.error("stopping the run: \(error)")
                    state.stop(with: error)
                    fill(todo, .failed(state.stopReason ?? error))
                    break
                }
                if error.isTransient {
                    logger.debug("batch of \(batch.count) failed (attempt \(attempt)): \(error)")
                    if await waitForRetry(retryAfter: error.retryAfter) { continue }
                    fill(todo, .failed(gaveUp(error)))
                    break
                }
                if todo.count > 1 {
                    logger.debug("batch of \(batch.count) refused (\(error)); splitting it")
                    let middle = batch.count / 2
                    let left = await deliver(Array(batch[..<middle]), operation)
                    let right = await deliver(Array(batch[middle...]), operation)
                    for (index, result) in zip(todo, left + right) { results[index] = result }
                } else {
                    fill(todo, .rejected(error))
                }
                break
            }
            state.noteAnswer()
            guard answer.count == batch.count else {
                fill(
                    todo,
                    .failed(
                        ContactError(
                            .providerError,
                            "\(providerName) returned \(answer.count) results for \(batch.count) contacts",
                            provider: providerName, operation: operation)))
                break
            }
            var again: [Int] = []
            var retryAfter: Duration?
            for (index, result) in zip(todo, answer) {
                results[index] = result
                if result.status == .failed, let error = result.error, error.isTransient {
                    again.append(index)
                    if let after = error.retryAfter { retryAfter = max(retryAfter ?? after, after) }
                }
            }
            if again.isEmpty { break }
            logger.debug("\(again.count) contacts failed transiently (attempt \(attempt))")
            guard await waitForRetry(retryAfter: retryAfter) else {
                for index in again {
                    if let error = results[index]?.error { results[index] = .failed(gaveUp(error)) }
                }
                break
            }
            todo = again
        }
        return results.map {
            $0 ?? .failed(ContactError(.providerError, "no result", provider: providerName))
        }
    }

    private func send(
        _ batch: [Contact], _ operation: ContactOperation, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard let provider else { return batch.map { _ in .valid } }
        switch operation {
        case .add: return try await provider.add(batch, to: list, context: context)
        case .delete: return try await provider.delete(batch, from: list, context: context)
        case .update: return try await provider.update(batch, in: list, context: context)
        default: throw provider.unsupported(operation)
        }
    }

    private func cancelled(_ operation: ContactOperation) -> ContactError {
        ContactError(
            .transportError, "the run was cancelled", provider: providerName, operation: operation)
    }

    /// A result with its error's secrets masked.
    private func redacted(_ result: ContactResult) -> ContactResult {
        guard let error = result.error else { return result }
        return ContactResult(
            status: result.status, id: result.id,
            error: error.redacted(by: context.request.redactor))
    }

    /// The error a provider threw, as a ``ContactError`` attributed to the provider, its
    /// secrets masked.
    private func classify(_ error: any Error, _ operation: ContactOperation) -> ContactError {
        let redactor = context.request.redactor
        if let error = error as? ContactError {
            return error.attributed(to: providerName, operation: operation).redacted(by: redactor)
        }
        return ContactError(
            .providerError,
            redactor.quote("\(providerName) failed: \(String(describing: error))"),
            provider: providerName, operation: operation)
    }
}

/// The requests of one dry-run batch, in the order the provider made them.
final class RequestLog: Sendable {
    private let recorded = Mutex<[SentRequest]>([])

    /// What was recorded.
    var requests: [SentRequest] { recorded.withLock { $0 } }

    func append(_ request: SentRequest) { recorded.withLock { $0.append(request) } }
}

/// The transport of a dry run: records each request and answers `200` with an empty body,
/// without touching the network.
struct DryRunTransport: HTTPTransport {
    let log: RequestLog

    func send(
        _ request: HTTPRequest, body: Data?, context: RequestContext
    ) async throws -> (
        HTTPResponse, Data
    ) {
        log.append(SentRequest(head: request, body: body))
        return (HTTPResponse(status: .ok), Data())
    }
}

/// The outcomes a resumed run recorded before, read from the journal a window of lines at
/// a time as the input reaches them, so that memory does not grow with the lines already
/// done: only the compact set of finished lines and one window of entries are held.
struct ReplayWindow: Sendable {
    /// How many lines one read of the journal covers.
    static let size = 4096

    let journal: any RunJournal
    let run: Int64
    /// The lines with a final outcome.
    let finished: IndexSet
    private var window: ClosedRange<Int>?
    private var entries: [Int: JournalEntry] = [:]

    init(journal: any RunJournal, run: Int64, finished: IndexSet) {
        self.journal = journal
        self.run = run
        self.finished = finished
    }

    /// The recorded final outcome of `line`, or `nil` when the line must be sent.
    mutating func entry(forLine line: Int) async throws -> JournalEntry? {
        guard finished.contains(line) else { return nil }
        if window?.contains(line) != true {
            let lines = line...(line + Self.size - 1)
            let read = try await journal.entries(run: run, lines: lines)
            entries = Dictionary(
                read.filter(\.isFinal).map { ($0.line, $0) }, uniquingKeysWith: { $1 })
            window = lines
        }
        return entries[line]
    }
}
