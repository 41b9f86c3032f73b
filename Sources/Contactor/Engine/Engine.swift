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

    /// Why the run stopped early, if it did.
    var stopReason: ContactError? { stop.withLock { $0 } }

    /// Records `error` as the reason to stop, unless one is already recorded.
    func stop(with error: ContactError) {
        stop.withLock { if $0 == nil { $0 = error } }
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

/// The pipeline engine: reads the input, prepares records on every core, batches the
/// contacts that passed, sends up to `concurrency` batches at once, retries, journals each
/// batch's outcomes as soon as they are known, and emits every outcome in input order.
///
/// Memory is bounded: at most ``window`` records are read and not yet emitted, and the
/// caller's `emit` suspends while its consumer is behind, which stops the reading.
struct Engine: Sendable {
    /// The provider, except for `validate` without one.
    var provider: (any ContactProvider)?
    var operation: ContactOperation
    var list: String
    var mode: RunMode
    /// The context of the run; each attempt gets a copy with its own attempt number.
    var context: ProviderContext
    var preparer: RecordPreparer
    var batchSize: Int
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
    /// The outcomes recorded by the run being resumed; those lines are not sent again.
    var replay: ReplayWindow?
    var state: RunState

    /// Errors thrown for a batch after which nothing more is sent.
    static let stopCodes: Set<ContactError.Code> = [
        .authFailed, .listNotFound, .unsupportedOperation,
    ]

    /// Records per preparation task.
    static let chunkSize = 256

    /// The most records read and not yet emitted: the batches in flight and one more
    /// filling, and the chunks being prepared and one more being read.
    var window: Int {
        (concurrency + 2) * batchSize + (workers + 1) * Self.chunkSize
    }

    private var providerName: String { provider?.descriptor.name ?? "" }

    // MARK: The run

    private struct Item: Sendable {
        var sequence: Int
        var line: Int?
        var contact: Contact
    }

    private enum Prepared: Sendable {
        case preparation(RecordPreparer.Preparation)
        case replayed(JournalEntry)
    }

    private enum Work: Sendable {
        case record(EngineSource)
        case replayed(JournalEntry)
    }

    private struct Delivery: Sendable {
        var items: [Item]
        var results: [ContactResult]
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
        var pending: [Item] = []
        var batches: [[Item]] = []
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
                    case .preparation(.refused(let phone, let result)):
                        outcomes.set(
                            sequence, RecordOutcome(line: line, phone: phone, result: result))
                    case .preparation(.ready(let contact)):
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
                        } else if mode == .validate {
                            outcomes.set(
                                sequence, RecordOutcome(line: line, phone: phone, result: .valid))
                        } else if let stop = state.stopReason {
                            outcomes.set(
                                sequence,
                                RecordOutcome(line: line, phone: phone, result: .failed(stop)))
                        } else {
                            pending.append(Item(sequence: sequence, line: line, contact: contact))
                            if pending.count >= batchSize {
                                batches.append(pending)
                                pending = []
                            }
                        }
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
                    let operation: ContactOperation? = mode == .validate ? nil : self.operation
                    for (index, (item, result)) in zip(delivery.items, delivery.results)
                        .enumerated()
                    {
                        outcomes.set(
                            item.sequence,
                            RecordOutcome(
                                line: item.line, phone: item.contact.phone.e164, result: result,
                                operation: operation,
                                requests: index == 0 ? delivery.requests : []),
                            journaled: delivery.journaled)
                    }
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
                    let preparer = self.preparer
                    group.addTask { [lines, work] in
                        var items: [Prepared] = []
                        items.reserveCapacity(work.count)
                        for piece in work {
                            switch piece {
                            case .replayed(let entry): items.append(.replayed(entry))
                            case .record(let source):
                                items.append(
                                    .preparation(await Self.prepare(source, with: preparer)))
                            }
                        }
                        return .prepared(chunk: chunk, first: first, lines: lines, items: items)
                    }
                }

                // Route prepared chunks, in input order.
                while let prepared = preparedChunks.removeValue(forKey: nextChunkToRoute) {
                    route(first: prepared.first, lines: prepared.lines, items: prepared.items)
                    nextChunkToRoute += 1
                }
                let allRouted = exhausted && preparing == 0 && nextChunkToRoute == nextChunk
                if allRouted, !pending.isEmpty {
                    batches.append(pending)
                    pending = []
                }

                // Send what is ready.
                while sending < concurrency, !batches.isEmpty {
                    submit(batches.removeFirst())
                }
                let windowFull = nextSequence - outcomes.base + Self.chunkSize > window
                if windowFull, preparing == 0, sending == 0, batches.isEmpty, !pending.isEmpty {
                    // Nothing else can move: send the part-filled batch.
                    submit(pending)
                    pending = []
                }

                if outcomes.count >= flushThreshold { try await flush() }
                if allRouted, sending == 0, batches.isEmpty, pending.isEmpty {
                    try await flush()
                    break
                }
                if preparing == 0, sending == 0, !windowFull, !exhausted { continue }

                // Wait for something to finish; what is ready goes out first.
                if outcomes.hasReady { try await flush() }
                guard let completion = try await group.next() else { continue }
                complete(completion)
            }
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

    private static func duplicate(_ phone: String, of line: Int) -> ContactError {
        ContactError(
            .alreadyInList,
            "\(phone) appears earlier in the input, at line \(line); it is sent once, from there")
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

    // MARK: Sending one batch

    /// Sends `items` (a dry run only records their requests), journals their outcomes and
    /// returns them.
    private func deliver(_ items: [Item]) async throws -> Delivery {
        let contacts = items.map(\.contact)
        let results: [ContactResult]
        var requests: [SentRequest] = []
        switch mode {
        case .validate:
            results = contacts.map { _ in .valid }
        case .dryRun:
            let log = RequestLog()
            var context = self.context
            context.pipeline = RequestPipeline(transport: DryRunTransport(log: log))
            _ = try? await send(contacts, context: context)
            results = contacts.map { _ in .valid }
            requests = log.requests.map { Redaction.redact($0, redactor: context.request.redactor) }
        case .send:
            results = await deliver(contacts)
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
        return Delivery(items: items, results: results, requests: requests, journaled: journaled)
    }

    /// Sends `contacts` and returns one result each, retrying transient failures and
    /// splitting a batch the provider refused as a whole.
    func deliver(_ contacts: [Contact]) async -> [ContactResult] {
        var results = [ContactResult?](repeating: nil, count: contacts.count)
        var todo = Array(contacts.indices)
        var attempt = 1
        let elapsed = clock.stopwatch()

        func fill(_ indices: [Int], _ result: ContactResult) {
            for index in indices { results[index] = result }
        }
        /// Waits before the next attempt; `false` when no attempt is left.
        func waitForRetry(retryAfter: Duration?) async -> Bool {
            guard attempt < retry.maxAttempts else { return false }
            // A provider that asks for a longer wait than the policy allows is not sent
            // anything sooner: the contacts end failed (transient), for a later resume.
            if let retryAfter, retryAfter > retry.maxBackoff { return false }
            let wait = retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
            guard elapsed() + wait < retry.totalBudget else { return false }
            do {
                if wait > .zero { try await clock.sleep(wait) }
            } catch {
                return false
            }
            attempt += 1
            return true
        }
        func gaveUp(_ error: ContactError) -> ContactError {
            guard attempt > 1 else { return error }
            return error.appending(" (gave up after \(attempt) attempts)")
        }

        while !todo.isEmpty {
            if let stop = state.stopReason {
                fill(todo, .failed(stop))
                break
            }
            if Task.isCancelled {
                fill(todo, .failed(cancelled))
                break
            }
            let batch = todo.map { contacts[$0] }
            var context = self.context
            context.request.attempt = attempt
            let answer: [ContactResult]
            do {
                answer = try await send(batch, context: context).map(redacted)
            } catch {
                if Task.isCancelled || error is CancellationError {
                    fill(todo, .failed(cancelled))
                    break
                }
                let error = classify(error)
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
                    let left = await deliver(Array(batch[..<middle]))
                    let right = await deliver(Array(batch[middle...]))
                    for (index, result) in zip(todo, left + right) { results[index] = result }
                } else {
                    fill(todo, .rejected(error))
                }
                break
            }
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

    private func send(_ batch: [Contact], context: ProviderContext) async throws -> [ContactResult]
    {
        guard let provider else { return batch.map { _ in .valid } }
        switch operation {
        case .add: return try await provider.add(batch, to: list, context: context)
        case .delete: return try await provider.delete(batch, from: list, context: context)
        case .update: return try await provider.update(batch, in: list, context: context)
        default: throw provider.unsupported(operation)
        }
    }

    private var cancelled: ContactError {
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
    private func classify(_ error: any Error) -> ContactError {
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
