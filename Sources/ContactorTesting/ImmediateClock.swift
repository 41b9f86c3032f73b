import Synchronization

/// A clock whose sleeps return at once, moving its time forward by the amount slept.
///
/// Give it to code that waits (``RetryingTransport``, ``TokenBucket``) to test timing
/// without waiting: afterwards ``sleeps`` lists every wait asked for and ``now`` is the
/// sum of them.
///
/// ```swift
/// let clock = ImmediateClock()
/// let retrying = RetryingTransport(wrapping: transport, policy: policy, clock: clock)
/// _ = try await retrying.send(request)
/// #expect(clock.sleeps == [.milliseconds(200), .milliseconds(400)])
/// ```
public final class ImmediateClock: Clock {
    /// A point in this clock's time: the offset from its start.
    public struct Instant: InstantProtocol {
        /// The time since the clock's start.
        public var offset: Duration

        /// Creates an instant `offset` after the clock's start.
        public init(offset: Duration) { self.offset = offset }

        /// The instant `duration` later.
        public func advanced(by duration: Duration) -> Instant {
            Instant(offset: offset + duration)
        }

        /// The time from this instant to `other`.
        public func duration(to other: Instant) -> Duration { other.offset - offset }

        /// Whether `lhs` comes before `rhs`.
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let state = Mutex<(now: Instant, sleeps: [Duration])>((Instant(offset: .zero), []))

    /// Creates a clock at offset zero.
    public init() {}

    /// The current time.
    public var now: Instant { state.withLock { $0.now } }

    /// Zero: any duration can be slept.
    public var minimumResolution: Duration { .zero }

    /// Every wait asked for so far, in order (waits for a past instant are not listed).
    public var sleeps: [Duration] { state.withLock { $0.sleeps } }

    /// Moves time forward to `deadline` (if it is later) and returns at once.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        state.withLock { state in
            guard deadline > state.now else { return }
            state.sleeps.append(state.now.duration(to: deadline))
            state.now = deadline
        }
        await Task.yield()
    }

    /// Moves time forward by `duration` without sleeping.
    public func advance(by duration: Duration) {
        state.withLock { $0.now = $0.now.advanced(by: duration) }
    }
}
