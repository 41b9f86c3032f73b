import AsyncAlgorithms
import Synchronization

/// The outcomes of one run, streamed in input order as the consumer asks for them.
///
/// Nothing is read or sent before the first call to `next()`; the run then reads ahead
/// only a bounded number of records (about `concurrency × batch size` plus a few chunks
/// being prepared), and hands outcomes over through a back-pressured channel
/// (swift-async-algorithms' `AsyncThrowingChannel`), so a slow consumer slows the run down
/// instead of filling memory. Stopping the iteration (leaving the loop or cancelling the
/// task) cancels the run.
///
/// A run that stops early because the provider refused the credentials, the list or
/// the operation still yields an outcome for every record — `failed` with that one error
/// for each record not sent — and ``stopReason`` says why.
///
/// The sequence can be iterated once.
public final class ImportRun: AsyncSequence, Sendable {
    /// One outcome per input record.
    public typealias Element = RecordOutcome

    typealias Channel = AsyncThrowingChannel<[RecordOutcome], any Error>
    typealias Producer = @Sendable (Channel) async -> Void

    /// The provider the run sends to (empty for `validate` without a provider).
    public let provider: String
    /// The operation.
    public let operation: ContactOperation
    /// The list.
    public let list: String

    private let producer: Producer
    private let state: RunState
    private let iterated = Mutex(false)

    init(
        provider: String, operation: ContactOperation, list: String, state: RunState,
        producer: @escaping Producer
    ) {
        self.provider = provider
        self.operation = operation
        self.list = list
        self.state = state
        self.producer = producer
    }

    /// Why the run stopped before sending everything (`auth_failed`, `list_not_found`,
    /// `unsupported_operation`), or `nil`. Set before the first outcome that it explains
    /// is yielded.
    public var stopReason: ContactError? { state.stopReason }

    /// The journal's identifier of the run once it started (or of the run resumed), when a
    /// journal is in use.
    public var journalRunID: Int64? { state.runID }

    /// Returns the iterator. A second iterator of the same run yields nothing and throws
    /// at once.
    public func makeAsyncIterator() -> Iterator {
        let first = iterated.withLock { iterated in
            defer { iterated = true }
            return !iterated
        }
        return Iterator(box: IteratorBox(producer: first ? producer : nil))
    }

    /// Yields the outcomes in input order.
    public struct Iterator: AsyncIteratorProtocol {
        fileprivate let box: IteratorBox

        /// The next outcome, or `nil` when every record has one.
        /// - Throws: What stopped the run from producing outcomes: a ``ContactorError``
        ///   (the journal failing), the input sequence's own error, cancellation.
        public mutating func next() async throws -> RecordOutcome? {
            try await box.next()
        }
    }
}

/// Thrown when a run is iterated a second time.
struct RunIteratedTwice: Error, CustomStringConvertible {
    var description: String { "a run can be iterated only once" }
}

/// The state of one iterator: the chunk being read and the producer task.
///
/// Used by one iterator only, hence not `Sendable`.
fileprivate final class IteratorBox {
    private var buffer: [RecordOutcome] = []
    private var index = 0
    private let channel = ImportRun.Channel()
    private var producer: ImportRun.Producer?
    private var iterator: ImportRun.Channel.AsyncIterator
    private var task: Task<Void, Never>?
    private var iteratedTwice: Bool

    init(producer: ImportRun.Producer?) {
        self.producer = producer
        self.iteratedTwice = producer == nil
        self.iterator = channel.makeAsyncIterator()
    }

    deinit {
        task?.cancel()
        channel.finish()
    }

    func next() async throws -> RecordOutcome? {
        if index < buffer.count {
            defer { index += 1 }
            return buffer[index]
        }
        if iteratedTwice {
            iteratedTwice = false
            throw RunIteratedTwice()
        }
        if let producer {
            self.producer = nil
            let channel = self.channel
            task = Task { await producer(channel) }
        }
        guard let task else { return nil }
        let chunk = try await withTaskCancellationHandler {
            try await iterator.next()
        } onCancel: {
            task.cancel()
        }
        guard let chunk, !chunk.isEmpty else {
            buffer = []
            index = 0
            return nil
        }
        buffer = chunk
        index = 1
        return chunk[0]
    }
}
