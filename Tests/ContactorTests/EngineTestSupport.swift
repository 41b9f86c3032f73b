import Contactor
import ContactorTesting
import Synchronization
import Testing

/// Input records generated on demand, counting how many were read.
struct GeneratedRecords: AsyncSequence, Sendable {
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        var read: Int { value.load(ordering: .relaxed) }
    }

    let count: Int
    let counter = Counter()
    let make: @Sendable (Int) -> InputRecord

    init(count: Int, make: @escaping @Sendable (Int) -> InputRecord) {
        self.count = count
        self.make = make
    }

    /// Records from explicit rows; row `i` starts on line `i + 2` (after the header).
    init(_ rows: [[(String, String)]]) {
        self.init(count: rows.count) { index in
            InputRecord(line: index + 2, columns: rows[index].map { (name: $0.0, value: $0.1) })
        }
    }

    /// One record per phone, with a first name; record `i` is on line `i + 2`.
    init(phones: [String]) {
        self.init(phones.map { [("phone", $0), ("first_name", "Name")] })
    }

    func makeAsyncIterator() -> Iterator { Iterator(sequence: self) }

    struct Iterator: AsyncIteratorProtocol {
        let sequence: GeneratedRecords
        var index = 0

        mutating func next() async -> InputRecord? {
            guard index < sequence.count else { return nil }
            defer { index += 1 }
            sequence.counter.value.add(1, ordering: .relaxed)
            return sequence.make(index)
        }
    }
}

/// `count` distinct valid French mobile numbers in E.164, starting at `start`.
func mobiles(_ count: Int, start: Int = 0) -> [String] {
    (start..<start + count).map { index in
        let digits = String(index)
        return "+3361" + String(repeating: "0", count: 7 - digits.count) + digits
    }
}

/// Retries at once, without waiting.
func immediateRetry(_ attempts: Int) -> RetryPolicy {
    RetryPolicy(maxAttempts: attempts, initialBackoff: .zero, maxBackoff: .zero, jitter: 0)
}

/// A client over `providers` that cannot reach any network, whose retries wait on
/// `clock` (which never waits).
func makeClient(
    _ providers: [any ContactProvider], journal: (any RunJournal)? = nil,
    retry: RetryPolicy = immediateRetry(3), concurrency: Int = 2,
    credentials: CredentialResolver = CredentialResolver(),
    clock: ImmediateClock = ImmediateClock()
) -> ContactorClient {
    ContactorClient(
        configuration: .init(
            transport: MockTransport.unreachable, providers: ProviderRegistry(providers),
            retry: retry, concurrency: concurrency, journal: journal, credentials: credentials,
            clock: clock))
}

/// Every outcome of `run`.
func collect(_ run: ImportRun) async throws -> [RecordOutcome] {
    var outcomes: [RecordOutcome] = []
    for try await outcome in run { outcomes.append(outcome) }
    return outcomes
}

/// A transient provider error.
let transientError = ContactError(.providerError, "temporarily unavailable", isTransient: true)

/// A value shared by concurrent closures in a test.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value { mutex.withLock { $0 } }

    @discardableResult
    func withLock<Result: Sendable>(_ body: (inout sending Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
