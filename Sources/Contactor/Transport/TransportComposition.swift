import Logging

extension HTTPTransport {
    /// This transport wrapped in a ``RetryingTransport``.
    ///
    /// The recommended stack, innermost first:
    /// ```swift
    /// let transport = AsyncHTTPClientTransport()      // or any HTTPTransport
    ///     .logging(to: logger, redactor: Redactor(secrets: credentials.secrets))
    ///     .rateLimited(by: bucket)
    ///     .retrying(policy: .standard)
    /// ```
    /// so that every attempt, retries included, waits for a token, feeds its 429 to the
    /// bucket and is logged with its attempt number.
    public func retrying(
        policy: RetryPolicy = .standard,
        retryableStatuses: Set<Int> = RetryingTransport.defaultRetryableStatuses
    ) -> RetryingTransport {
        RetryingTransport(wrapping: self, policy: policy, retryableStatuses: retryableStatuses)
    }

    /// This transport wrapped in a ``RateLimitedTransport`` that takes tokens from `bucket`.
    public func rateLimited(by bucket: TokenBucket) -> RateLimitedTransport {
        RateLimitedTransport(wrapping: self, bucket: bucket)
    }

    /// This transport wrapped in a ``LoggingTransport``.
    public func logging(
        to logger: Logger, redactor: Redactor, level: Logger.Level = .debug
    ) -> LoggingTransport {
        LoggingTransport(wrapping: self, logger: logger, redactor: redactor, level: level)
    }
}
