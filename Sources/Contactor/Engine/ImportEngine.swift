import Foundation
import Logging
import Synchronization

/// One item of input to the engine: a record to map, a draft, or a contact.
struct EngineSource: Sendable {
    enum Payload: Sendable {
        case record(InputRecord)
        case draft(ContactDraft)
        case contact(Contact)
    }

    var line: Int
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

/// The pipeline engine: prepares records, batches them, sends up to `concurrency` batches
/// at once, retries, and emits outcomes in input order.
///
/// Memory is bounded: at most ``window`` records are read and not yet emitted, and the
/// caller's `emit` suspends while its consumer is behind, which stops the reading.
struct ImportEngine: Sendable {
    var provider: any ContactProvider
    var operation: ContactOperation
    var list: String
    var context: ProviderContext
    var preparer: RecordPreparer
    var batchSize: Int
    var concurrency: Int
    var retry: RetryPolicy
    var logger: Logger
    /// The outcomes recorded by the run being resumed; those lines are not sent again.
    var replay: ReplayWindow?
    var state: RunState

    /// Errors thrown for a batch after which nothing more is sent.
    static let stopCodes: Set<ContactError.Code> = [
        .authFailed, .listNotFound, .unsupportedOperation,
    ]

    /// The most records read and not yet emitted.
    var window: Int { concurrency * batchSize + batchSize }

    private struct Item: Sendable {
        var sequence: Int
        var line: Int
        var contact: Contact
    }

    private struct Completion: Sendable {
        var items: [Item]
        var results: [ContactResult]
    }

    /// Runs the whole input through the pipeline, calling `emit` with consecutive chunks
    /// of outcomes in input order.
    func run<Input: AsyncSequence>(
        _ input: Input, source: (Input.Element) -> EngineSource,
        emit: ([RecordOutcome]) async throws -> Void
    ) async throws {
        var iterator = input.makeAsyncIterator()
        var replay = self.replay
        var resolved: [Int: RecordOutcome] = [:]
        var nextSequence = 0
        var nextToEmit = 0
        var pending: [Item] = []
        var inFlight = 0
        let flushThreshold = min(window, 256)

        try await withThrowingTaskGroup(of: Completion.self) { group in
            /// Emits the outcomes ready from `nextToEmit` on; returns how many.
            func flush() async throws -> Int {
                var chunk: [RecordOutcome] = []
                while let outcome = resolved.removeValue(forKey: nextToEmit) {
                    chunk.append(outcome)
                    nextToEmit += 1
                }
                if !chunk.isEmpty { try await emit(chunk) }
                return chunk.count
            }
            func submit() {
                let items = pending
                pending = []
                if let stop = state.stopReason {
                    for item in items {
                        resolved[item.sequence] = RecordOutcome(
                            line: item.line, phone: item.contact.phone.e164, result: .failed(stop))
                    }
                    return
                }
                inFlight += 1
                group.addTask {
                    Completion(items: items, results: await deliver(items.map(\.contact)))
                }
            }
            func awaitCompletion() async throws {
                if !resolved.isEmpty { _ = try await flush() }
                guard let completion = try await group.next() else { return }
                inFlight -= 1
                for (item, result) in zip(completion.items, completion.results) {
                    resolved[item.sequence] = RecordOutcome(
                        line: item.line, phone: item.contact.phone.e164, result: result)
                }
            }

            while true {
                // Make room: never more than `window` records read and not yet emitted.
                while nextSequence - nextToEmit >= window {
                    if resolved.count >= flushThreshold || (pending.isEmpty && inFlight == 0) {
                        if try await flush() > 0 { continue }
                    }
                    if !pending.isEmpty && inFlight < concurrency {
                        submit()
                    } else if inFlight > 0 {
                        try await awaitCompletion()
                    } else if !pending.isEmpty {
                        submit()
                    } else {
                        _ = try await flush()
                    }
                }

                try Task.checkCancellation()
                guard let element = try await iterator.next() else { break }
                let item = source(element)
                let sequence = nextSequence
                nextSequence += 1
                if let entry = try await replay?.entry(forLine: item.line) {
                    resolved[sequence] = RecordOutcome(replaying: entry)
                } else {
                    switch await prepare(item) {
                    case .refused(let phone, let result):
                        resolved[sequence] = RecordOutcome(
                            line: item.line, phone: phone, result: result)
                    case .ready(let contact):
                        if let stop = state.stopReason {
                            resolved[sequence] = RecordOutcome(
                                line: item.line, phone: contact.phone.e164, result: .failed(stop))
                        } else {
                            pending.append(
                                Item(sequence: sequence, line: item.line, contact: contact))
                            if pending.count >= batchSize {
                                while inFlight >= concurrency { try await awaitCompletion() }
                                submit()
                            }
                        }
                    }
                }
                if resolved.count >= flushThreshold { _ = try await flush() }
            }

            if !pending.isEmpty { submit() }
            while inFlight > 0 { try await awaitCompletion() }
            _ = try await flush()
        }
    }

    private func prepare(_ item: EngineSource) async -> RecordPreparer.Preparation {
        switch item.payload {
        case .record(let record): await preparer.prepare(record)
        case .draft(let draft): await preparer.prepare(draft)
        case .contact(let contact): await preparer.check(contact)
        }
    }

    /// Sends `contacts` and returns one result each, retrying transient failures and
    /// splitting a batch the provider refused as a whole.
    func deliver(_ contacts: [Contact]) async -> [ContactResult] {
        var results = [ContactResult?](repeating: nil, count: contacts.count)
        var todo = Array(contacts.indices)
        var attempt = 1
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: retry.totalBudget)

        func fill(_ indices: [Int], _ result: ContactResult) {
            for index in indices { results[index] = result }
        }
        /// Waits before the next attempt; `false` when no attempt is left.
        func waitForRetry(retryAfter: Duration?) async -> Bool {
            guard attempt < retry.maxAttempts else { return false }
            // A provider that asks for a longer wait than the policy allows is not sent
            // anything sooner: the contacts end failed (transient), for a later --resume.
            // RetryingTransport does the same.
            if let retryAfter, retryAfter > retry.maxBackoff { return false }
            let wait = retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
            guard clock.now.advanced(by: wait) < deadline else { return false }
            do {
                if wait > .zero { try await Task.sleep(for: wait) }
            } catch {
                return false
            }
            attempt += 1
            return true
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
            let answer: [ContactResult]
            do {
                answer = try await send(batch)
            } catch {
                if Task.isCancelled || error is CancellationError {
                    fill(todo, .failed(cancelled))
                    break
                }
                let error = classify(error)
                if error.code == .notSent {
                    // A dry run: the request was printed, not sent; nothing to retry.
                    fill(todo, .failed(error))
                    break
                }
                if Self.stopCodes.contains(error.code) {
                    logger.error(
                        "stopping the run: \(error)",
                        metadata: ["provider": "\(provider.descriptor.name)"])
                    state.stop(with: error)
                    fill(todo, .failed(state.stopReason ?? error))
                    break
                }
                if error.isTransient {
                    logger.debug(
                        "batch of \(batch.count) failed (attempt \(attempt)): \(error)")
                    if await waitForRetry(retryAfter: error.retryAfter) { continue }
                    fill(todo, .failed(error))
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
                            "\(provider.descriptor.name) returned \(answer.count) results for \(batch.count) contacts",
                            provider: provider.descriptor.name, operation: operation)))
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
            guard await waitForRetry(retryAfter: retryAfter) else { break }
            todo = again
        }
        return results.map {
            $0
                ?? .failed(
                    ContactError(.providerError, "no result", provider: provider.descriptor.name))
        }
    }

    private func send(_ batch: [Contact]) async throws -> [ContactResult] {
        switch operation {
        case .add: try await provider.add(batch, to: list, context: context)
        case .delete: try await provider.delete(batch, from: list, context: context)
        default:
            throw ContactError(
                .unsupportedOperation,
                "\(operation) is not supported by \(provider.descriptor.name)")
        }
    }

    private var cancelled: ContactError {
        ContactError(
            .transportError, "the run was cancelled", provider: provider.descriptor.name,
            operation: operation)
    }

    /// The error a provider threw, as a ``ContactError`` attributed to the provider.
    private func classify(_ error: any Error) -> ContactError {
        let name = provider.descriptor.name
        if let error = error as? ContactError {
            return error.attributed(to: name, operation: operation)
        }
        return ContactError(
            .providerError,
            context.credentials.redact("\(name) failed: \(String(describing: error))"),
            provider: name, operation: operation)
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
