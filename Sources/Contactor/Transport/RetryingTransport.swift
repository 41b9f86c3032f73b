import Foundation

/// An ``HTTPTransport`` that sends a request again when the failure is likely to pass:
/// statuses 408, 429, 502, 503 and 504, and thrown ``ContactError``s whose `isTransient`
/// is set (refused or reset connections, timeouts).
///
/// ## What is retried, and why
/// - **Statuses**: ``defaultRetryableStatuses`` (408 Request Timeout, 429 Too Many Requests,
///   502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout) say "not now" without
///   the request having been acted on. **500 is not retried by default**: at these
///   providers a 500 is as likely to be a request the server chokes on every time as a
///   passing fault, and retrying it only multiplies the load; pass `retryableStatuses` to
///   change that. No other 4xx is ever retried by default: they will not change by
///   themselves.
/// - **Thrown errors**: only a ``ContactError`` with `isTransient == true`. Anything else
///   (a non-transient error, a non-`ContactError`, cancellation) is thrown at once.
/// - **Every method, `POST` included.** Sending a contact twice is harmless at the
///   providers Contactor supports: adding a number that is already there answers
///   "already in the list" or updates it (Octopush `updated`, Avosms `ERR_104`, SMS
///   Partner code 15), and deleting twice answers "not in the list". A request lost to a
///   reset connection is therefore safe to send again.
///
/// ## How long it waits
/// - When the response has a `Retry-After` header (seconds or an HTTP date), or a thrown
///   error has `retryAfter`, exactly that long. If that is longer than the policy's
///   `maxBackoff`, it gives up instead of retrying early (a retry sent before the server
///   asked would most likely be refused again).
/// - Otherwise ``RetryPolicy/delay(afterAttempt:retryAfter:random:)``: exponential
///   back-off with jitter.
///
/// It gives up after `maxAttempts` attempts, or when the time spent so far plus the next
/// wait would exceed `totalBudget`; it then returns the last response, or throws the last
/// error, its message ending with "(gave up after N attempts)" when there was more than one.
/// While an attempt runs, ``currentAttempt`` holds its 1-based number, so an inner
/// ``LoggingTransport`` can print it.
public struct RetryingTransport: HTTPTransport {
    /// The statuses retried by default: 408, 429, 502, 503, 504.
    public static let defaultRetryableStatuses: Set<Int> = [408, 429, 502, 503, 504]

    /// The 1-based number of the attempt being sent by the innermost enclosing
    /// `RetryingTransport`, or `nil` outside one.
    @TaskLocal public static var currentAttempt: Int?

    /// The transport that sends each attempt.
    public let base: any HTTPTransport
    /// When and how often to retry.
    public let policy: RetryPolicy
    /// The statuses that are retried.
    public let retryableStatuses: Set<Int>

    private let sleep: @Sendable (Duration) async throws -> Void
    private let startStopwatch: @Sendable () -> @Sendable () -> Duration
    private let now: @Sendable () -> Date

    /// Creates a retrying transport.
    ///
    /// - Parameters:
    ///   - base: The transport that sends each attempt.
    ///   - policy: Attempts, back-off and total budget.
    ///   - retryableStatuses: The statuses to retry (``defaultRetryableStatuses``).
    ///   - clock: The clock that measures the budget and sleeps between attempts; tests
    ///     may pass a clock whose sleeps return at once.
    ///   - now: The wall-clock time, to read `Retry-After` dates.
    public init<C: Clock>(
        wrapping base: any HTTPTransport, policy: RetryPolicy = .standard,
        retryableStatuses: Set<Int> = RetryingTransport.defaultRetryableStatuses,
        clock: C, now: @escaping @Sendable () -> Date = { Date() }
    ) where C.Duration == Duration {
        self.base = base
        self.policy = policy
        self.retryableStatuses = retryableStatuses
        self.sleep = { try await clock.sleep(for: $0) }
        self.startStopwatch = {
            let start = clock.now
            return { start.duration(to: clock.now) }
        }
        self.now = now
    }

    /// Creates a retrying transport that waits on the system's continuous clock.
    ///
    /// - Parameters:
    ///   - base: The transport that sends each attempt.
    ///   - policy: Attempts, back-off and total budget.
    ///   - retryableStatuses: The statuses to retry (``defaultRetryableStatuses``).
    public init(
        wrapping base: any HTTPTransport, policy: RetryPolicy = .standard,
        retryableStatuses: Set<Int> = RetryingTransport.defaultRetryableStatuses
    ) {
        self.init(
            wrapping: base, policy: policy, retryableStatuses: retryableStatuses,
            clock: ContinuousClock())
    }

    /// Sends `request`, retrying as described in the type's documentation.
    ///
    /// - Returns: The first response that is not retryable, or the last one when retries
    ///   ran out.
    /// - Throws: The last transient error when retries ran out, any other error at once,
    ///   and `CancellationError` when the task is cancelled while waiting.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let elapsed = startStopwatch()
        var attempt = 1
        while true {
            let outcome: Result<HTTPResponse, ContactError>
            do {
                let response = try await RetryingTransport.$currentAttempt.withValue(attempt) {
                    try await base.send(request)
                }
                outcome = .success(response)
            } catch let error as ContactError where error.isTransient {
                outcome = .failure(error)
            }

            let retryAfter: Duration?
            switch outcome {
            case .success(let response):
                guard retryableStatuses.contains(response.status) else { return response }
                retryAfter = RetryAfter.parse(response, now: now())
            case .failure(let error):
                retryAfter = error.retryAfter
            }

            guard let wait = nextWait(afterAttempt: attempt, retryAfter: retryAfter),
                elapsed() + wait <= policy.totalBudget
            else {
                switch outcome {
                case .success(let response): return response
                case .failure(var error):
                    if attempt > 1 { error.message += " (gave up after \(attempt) attempts)" }
                    throw error
                }
            }
            try await sleep(wait)
            attempt += 1
        }
    }

    /// The wait before the next attempt, or `nil` to give up.
    private func nextWait(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration? {
        guard attempt < policy.maxAttempts else { return nil }
        if let retryAfter {
            return retryAfter <= policy.maxBackoff ? retryAfter : nil
        }
        return policy.delay(afterAttempt: attempt)
    }
}
