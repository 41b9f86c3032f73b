import Contactor
import Foundation
import PostgresNIO
import Synchronization
import Testing

@testable import ContactorPostgres

/// What keeps a store's user going when the store misbehaves: a deadline on its queries,
/// and a start that does not wait for the workers already running.
@Suite struct StoreRobustnessTests {
    /// A wait that neither ends nor heeds cancellation (as a query given a connection the
    /// server has ended), until the test lets it go.
    final class Hang: Sendable {
        private let waiting = Mutex<CheckedContinuation<Void, Never>?>(nil)

        func wait() async {
            await withCheckedContinuation { continuation in
                waiting.withLock { $0 = continuation }
            }
        }

        func release() { waiting.withLock { $0.take() }?.resume() }
    }

    @Test func aDeadlineEndsAWaitThatCancellationCannotEnd() async throws {
        let hang = Hang()
        defer { hang.release() }
        let started = ContinuousClock.now
        await #expect(throws: StoreDeadlineExceeded.self) {
            try await withDeadline(.milliseconds(200)) {
                await hang.wait()
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        let message = String(describing: StoreDeadlineExceeded(limit: .seconds(60)))
        #expect(message.contains("no answer within 60 s"))
    }

    @Test func aDeadlineGivesTheOperationsAnswerAndError() async throws {
        #expect(try await withDeadline(.seconds(30)) { 42 } == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await withDeadline(.seconds(30)) { () async throws -> Int in throw Refused() }
        }
    }

    @Test func aCancelledWaitEndsAtOnceWhateverTheOperationDoes() async throws {
        let hang = Hang()
        defer { hang.release() }
        let waiter = Task {
            try await withDeadline(.seconds(60)) {
                await hang.wait()
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        let cancelled = ContinuousClock.now
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(ContinuousClock.now - cancelled < .seconds(10))
        // Cancelled before it starts waiting: the same.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await withDeadline(.seconds(60)) {
                await hang.wait()
                return 1
            }
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }

    @Test func queryTimeoutIsReadFromTheURLAndChecked() throws {
        let configuration = try PostgresStore.Configuration(
            url: "postgres://me@db.test/contactor?query_timeout=2.5")
        #expect(configuration.queryTimeout == .milliseconds(2500))
        #expect(
            try PostgresStore.Configuration(url: "postgres://me@db.test/c").queryTimeout
                == .seconds(60))
        #expect {
            try PostgresStore.Configuration(url: "postgres://me@db.test/c?query_timeout=soon")
        } throws: { error in
            (error as? ContactorError)?.message.contains("query_timeout 'soon'") == true
        }
    }

    /// A worker starting while others write the work tables: its migration must not wait
    /// for their transactions (`ALTER TABLE`'s exclusive lock did, and deadlocked with them).
    @Test func aStoreStartsBesideTransactionsOnItsTables() async throws {
        var configuration = try await storeConfiguration("beside")
        configuration.queryTimeout = .seconds(10)
        let current = configuration
        try await withStore(current) { _ in
            let s = "\"\(current.schema)\""
            // A writer's transaction, left open: the locks a worker's claim and outcome
            // writes take, on every table the migration touches.
            try await withConnection(to: current) { writer in
                try await writer.query("BEGIN", logger: quietLogger)
                for table in [
                    "runs", "outcomes", "ledger", "rate_limits", "jobs", "chunks", "sends",
                    "leases",
                ] {
                    try await writer.query(
                        PostgresQuery(unsafeSQL: "LOCK TABLE \(s).\(table) IN ROW EXCLUSIVE MODE"),
                        logger: quietLogger)
                }
                let started = ContinuousClock.now
                let ledger = try await PostgresStore.with(
                    configuration: current, logger: quietLogger
                ) { second in
                    try await second.ledger.entries(
                        for: ["+33612345678"],
                        in: LedgerScope(provider: "octopush", account: "me", list: "demo"))
                }
                #expect(ledger.isEmpty)
                #expect(ContinuousClock.now - started < .seconds(10))
                try await writer.query("ROLLBACK", logger: quietLogger)
            }
        }
    }
}
