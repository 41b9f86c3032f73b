import Foundation

/// A token-bucket rate limiter, shared by every worker that talks to one provider account.
///
/// ## Algorithm
/// - **Refill**: tokens accrue continuously at the current rate, up to `burst`. The bucket
///   starts full.
/// - **Acquire**: ``acquire()`` takes one token. When none is left it takes one anyway,
///   leaving the bucket in debt, and sleeps until that debt is paid off. Callers are thus
///   served in the order they asked, spaced exactly `1 / rate` apart, without polling.
/// - **Slow down (multiplicative decrease)**: ``didReceiveRateLimit(retryAfter:)`` (a 429)
///   halves the current rate, never below `minimumRate`, and empties the bucket so no burst
///   follows. When the provider said how long to wait, the bucket goes into debt for that
///   long, so no one is served before then. Several workers usually hit the same limit at
///   once: further 429s within one `cooldown` of a slow-down count as the same event.
/// - **Recover (additive increase)**: after `recoveryDelay` without a 429, the rate grows
///   back linearly by `recoveryStep` (a fraction of the configured rate) per second until
///   it reaches the configured rate again.
public actor TokenBucket {
    /// The limits and how the bucket reacts to a 429.
    public struct Configuration: Sendable, Hashable {
        /// The configured rate, in requests per second.
        public var rate: Double
        /// How many requests may go at once after a quiet period.
        public var burst: Int
        /// The lowest rate a series of 429s can bring it to, in requests per second.
        public var minimumRate: Double
        /// By how much a 429 multiplies the current rate (0.5 halves it).
        public var slowdownFactor: Double
        /// 429s received within this long after a slow-down count as the same one.
        public var cooldown: Duration
        /// How long after the last 429 the rate starts to recover.
        public var recoveryDelay: Duration
        /// How much of the configured rate comes back per second of recovery (0.1 = 10 %).
        public var recoveryStep: Double

        /// Creates a configuration; values out of range are clamped.
        public init(
            rate: Double, burst: Int = 1, minimumRate: Double? = nil, slowdownFactor: Double = 0.5,
            cooldown: Duration = .seconds(1), recoveryDelay: Duration = .seconds(5),
            recoveryStep: Double = 0.1
        ) {
            self.rate = max(rate, 0.001)
            self.burst = max(1, burst)
            self.minimumRate = min(max(minimumRate ?? self.rate / 16, 0.001), self.rate)
            self.slowdownFactor = min(max(slowdownFactor, 0.01), 1)
            self.cooldown = cooldown
            self.recoveryDelay = recoveryDelay
            self.recoveryStep = max(recoveryStep, 0.001)
        }
    }

    /// The limits.
    public nonisolated let configuration: Configuration

    private let elapsed: @Sendable () -> Duration
    private let sleepFor: @Sendable (Duration) async throws -> Void
    private var tokens: Double
    private var lastRefill: Duration
    /// The rate right after the last slow-down, and when it happened.
    private var slowdown: (rate: Double, at: Duration)?

    /// Creates a bucket with its own clock.
    ///
    /// - Parameters:
    ///   - configuration: The limits.
    ///   - clock: The clock to measure time and sleep on; tests may pass one whose sleeps
    ///     return at once.
    public init<C: Clock>(_ configuration: Configuration, clock: C) where C.Duration == Duration {
        self.configuration = configuration
        let start = clock.now
        self.elapsed = { start.duration(to: clock.now) }
        self.sleepFor = { try await clock.sleep(for: $0) }
        self.tokens = Double(configuration.burst)
        self.lastRefill = .zero
    }

    /// Creates a bucket of `rate` requests per second and `burst` on the continuous clock.
    public init(rate: Double, burst: Int = 1) {
        self.init(Configuration(rate: rate, burst: burst), clock: ContinuousClock())
    }

    /// The rate in force now, in requests per second (lower than the configured one
    /// after a 429, until it recovers).
    public var currentRate: Double { rate(at: elapsed()) }

    /// Waits until a request may be sent, and takes its token.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting; the token is
    ///   then given back.
    public func acquire() async throws {
        try Task.checkCancellation()
        let now = elapsed()
        refill(now)
        tokens -= 1
        guard tokens < 0 else { return }
        let wait = Duration.nanoseconds(Int64((-tokens / rate(at: now) * 1e9).rounded(.up)))
        do {
            try await sleepFor(wait)
        } catch {
            tokens += 1
            throw error
        }
    }

    /// Tells the bucket that the provider answered 429 Too Many Requests.
    ///
    /// - Parameter retryAfter: How long the provider asked to wait, when it said.
    public func didReceiveRateLimit(retryAfter: Duration? = nil) {
        let now = elapsed()
        refill(now)
        let inCooldown = slowdown.map { now - $0.at < configuration.cooldown } ?? false
        if !inCooldown {
            let slower = max(
                rate(at: now) * configuration.slowdownFactor, configuration.minimumRate)
            slowdown = (slower, now)
            tokens = min(tokens, 0)
        }
        if let retryAfter, retryAfter > .zero {
            // Debt worth `retryAfter` of tokens: nobody is served before it has passed.
            tokens = min(tokens, -retryAfter.seconds * rate(at: now))
        }
    }

    private func rate(at now: Duration) -> Double {
        guard let slowdown else { return configuration.rate }
        let recovering = (now - slowdown.at - configuration.recoveryDelay).seconds
        guard recovering > 0 else { return slowdown.rate }
        let recovered = slowdown.rate + recovering * configuration.recoveryStep * configuration.rate
        return min(recovered, configuration.rate)
    }

    private func refill(_ now: Duration) {
        let gap = (now - lastRefill).seconds
        guard gap > 0 else { return }
        tokens = min(Double(configuration.burst), tokens + gap * rate(at: now))
        lastRefill = now
        if let slowdown, rate(at: now) >= configuration.rate,
            now - slowdown.at > configuration.recoveryDelay
        {
            self.slowdown = nil
        }
    }
}
