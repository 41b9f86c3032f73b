import Foundation

/// When and how often to send a failed request again.
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts per request, the first included (1 = no retries).
    public var maxAttempts: Int
    /// The wait before the first retry.
    public var initialBackoff: Duration
    /// The longest wait between two attempts.
    public var maxBackoff: Duration
    /// How much the wait grows per attempt.
    public var multiplier: Double
    /// The fraction of each wait that is random (0 = none, 1 = "full jitter").
    public var jitter: Double
    /// The most time to spend on one request, all attempts and waits included.
    public var totalBudget: Duration
    /// How many attempts in a row, across the whole run, may get no answer at all (a
    /// transport failure or a timeout) before the run stops sending: the provider is then
    /// taken as unreachable, and every contact not yet sent ends `failed` (resumable) with
    /// a message that says so. Any answer, even an error, resets the count. `0` never stops.
    public var unreachableAfter: Int

    /// Creates a policy.
    public init(
        maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(200),
        maxBackoff: Duration = .seconds(30), multiplier: Double = 2, jitter: Double = 0.5,
        totalBudget: Duration = .seconds(120), unreachableAfter: Int = 10
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
        self.totalBudget = totalBudget
        self.unreachableAfter = max(0, unreachableAfter)
    }

    /// The default: 5 attempts, 200 ms doubling to at most 30 s, half jitter, 2 minutes;
    /// the run stops after 10 attempts in a row without an answer.
    public static let standard = RetryPolicy()

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
    /// the provider's `retryAfter` when it gave one (capped by ``maxBackoff``; callers give
    /// up instead when `retryAfter` exceeds it, never sending sooner than asked), else
    /// exponential back-off with jitter.
    public func delay(
        afterAttempt attempt: Int, retryAfter: Duration? = nil,
        random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) -> Duration {
        if let retryAfter { return min(retryAfter, maxBackoff) }
        let exponent = Double(max(0, attempt - 1))
        let base = min(
            initialBackoff.seconds * pow(multiplier, exponent), maxBackoff.seconds)
        let wait = base * (1 - jitter) + base * jitter * random(0...1)
        return .nanoseconds(Int64(wait * 1e9))
    }
}

extension Duration {
    /// The duration as messages say it: `90 s`, `1.5 s`.
    package var secondsText: String {
        seconds == seconds.rounded() ? "\(Int64(seconds)) s" : "\(seconds) s"
    }

    /// The duration in seconds, as a `Double`.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
