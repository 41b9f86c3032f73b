import Synchronization

/// The store gave no answer within ``PostgresStore/Configuration/queryTimeout``.
struct StoreDeadlineExceeded: Error, CustomStringConvertible {
    var limit: Duration

    var description: String {
        "no answer within \(limit.components.seconds) s (the connection may have been lost)"
    }
}

/// Runs `operation` in a task of its own and waits for it at most `limit`. Past that, the
/// wait ends with ``StoreDeadlineExceeded``, and the operation is cancelled and left behind.
///
/// A structured timeout (a task group racing a sleep) is not enough: the group waits for
/// its children, and what this guards against is a wait that cancellation does not end.
/// postgres-nio 1.33 has one: a query given a pooled connection that the server has just
/// ended can wait for ever (seen after `pg_terminate_backend`, in the store-outage test).
/// A task cancelled while it waits here stops waiting at once, with `CancellationError`.
func withDeadline<T: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = Race<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            guard race.start(continuation) else { return }
            let work = Task {
                do {
                    race.finish(.success(try await operation()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                if Task.isCancelled { return }
                work.cancel()
                race.finish(.failure(StoreDeadlineExceeded(limit: limit)))
            }
            race.hold(work, timer)
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The one answer of ``withDeadline(_:_:)``: the operation's, the deadline's or the
/// cancellation's, whichever comes first; the others are ignored.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        /// The answer, once there is one.
        var done = false
    }

    private let state = Mutex(State())

    /// Takes the continuation to resume; false (and it is resumed with
    /// `CancellationError`) when the wait was cancelled before it started.
    func start(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let cancelled = state.withLock { state in
            if state.done { return true }
            state.continuation = continuation
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// Keeps the tasks, to cancel those still running once there is an answer.
    func hold(_ tasks: Task<Void, Never>...) {
        let finished = state.withLock { state in
            if !state.done { state.tasks = tasks }
            return state.done
        }
        if finished { tasks.forEach { $0.cancel() } }
    }

    func finish(_ result: Result<T, any Error>) {
        let taken: (CheckedContinuation<T, any Error>?, [Task<Void, Never>])? = state.withLock {
            state in
            if state.done { return nil }
            state.done = true
            let taken = (state.continuation, state.tasks)
            state.continuation = nil
            state.tasks = []
            return taken
        }
        guard let (continuation, tasks) = taken else { return }
        continuation?.resume(with: result)
        tasks.forEach { $0.cancel() }
    }
}
