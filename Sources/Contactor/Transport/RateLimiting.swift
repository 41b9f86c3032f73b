import Foundation
import HTTPTypes
import Synchronization

/// How many requests per second may go to one provider account.
public struct RateLimit: Sendable, Hashable {
    /// Requests per second.
    public var rate: Double
    /// How many requests may go at once after a quiet period.
    public var burst: Int

    /// Creates a limit of `rate` requests per second with bursts of `burst`.
    public init(rate: Double, burst: Int = 1) {
        self.rate = rate
        self.burst = max(1, burst)
    }
}

/// Which rate a client keeps to, per provider account.
public struct RateLimitPolicy: Sendable, Hashable {
    private enum Kind: Sendable, Hashable {
        case providerDefault
        case unlimited
        case fixed(RateLimit)
    }

    private let kind: Kind

    /// The provider's documented rate (``ProviderDescriptor/defaultRateLimit``) where it
    /// gives one, else no limit.
    public static let providerDefault = RateLimitPolicy(kind: .providerDefault)
    /// No limit.
    public static let unlimited = RateLimitPolicy(kind: .unlimited)

    /// At most `rate` requests per second to each account, bursts of `burst`.
    public static func perSecond(_ rate: Double, burst: Int = 1) -> RateLimitPolicy {
        RateLimitPolicy(kind: .fixed(RateLimit(rate: rate, burst: burst)))
    }

    /// The limit for `descriptor`'s provider, or `nil` for none.
    public func limit(for descriptor: ProviderDescriptor) -> RateLimit? {
        switch kind {
        case .providerDefault: descriptor.defaultRateLimit.map { RateLimit(rate: $0) }
        case .unlimited: nil
        case .fixed(let limit): limit
        }
    }
}

/// Where rate limits are kept: one per provider account, shared by everything that sends
/// to that account through it (a client's tasks; with a shared store, several processes).
///
/// ## Implementation requirements
/// - ``acquire(provider:account:limit:)`` returns when one request may go, never letting
///   more than `limit` through per second and account across every caller of the store.
/// - Be safe to call from many tasks at once.
public protocol RateLimitStore: Sendable {
    /// Waits until one request to `account` at `provider` may be sent.
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    func acquire(provider: String, account: String, limit: RateLimit) async throws

    /// Tells the store the provider answered 429, asking to wait `retryAfter` if it said.
    func didReceiveRateLimit(
        provider: String, account: String, limit: RateLimit, retryAfter: Duration?) async
}

/// The token buckets of a client: one per provider and account, made on first use and
/// shared by every run and task of the client, so that concurrent runs against one
/// account keep to one limit together. The default ``RateLimitStore``; a store shared by
/// several processes (ContactorPostgres) keeps one limit across them.
public final class RateLimiter: RateLimitStore {
    private struct Key: Hashable {
        var provider: String
        var account: String
        var limit: RateLimit
    }

    private let buckets = Mutex<[Key: TokenBucket]>([:])
    private let makeBucket: @Sendable (RateLimit) -> TokenBucket

    /// Creates a limiter whose buckets measure time and sleep on `clock`.
    public init<C: Clock>(clock: C) where C.Duration == Duration {
        makeBucket = { TokenBucket(.init(rate: $0.rate, burst: $0.burst), clock: clock) }
    }

    /// Creates a limiter on the continuous clock.
    public convenience init() { self.init(clock: ContinuousClock()) }

    public func acquire(provider: String, account: String, limit: RateLimit) async throws {
        try await bucket(provider: provider, account: account, limit: limit).acquire()
    }

    public func didReceiveRateLimit(
        provider: String, account: String, limit: RateLimit, retryAfter: Duration?
    ) async {
        await bucket(provider: provider, account: account, limit: limit)
            .didReceiveRateLimit(retryAfter: retryAfter)
    }

    /// The bucket of `account` at `provider` for `limit`.
    public func bucket(provider: String, account: String, limit: RateLimit) -> TokenBucket {
        let key = Key(provider: provider, account: account, limit: limit)
        return buckets.withLock { buckets in
            if let bucket = buckets[key] { return bucket }
            let bucket = makeBucket(limit)
            buckets[key] = bucket
            return bucket
        }
    }
}

/// A middleware that takes a token from the account's ``TokenBucket`` before each
/// request and tells the bucket about every 429 (with its `Retry-After`), so that every
/// task sending to that account slows down together.
///
/// A client puts one in front of its own middlewares when a run has a rate limit
/// (``RequestContext/rateLimit``); requests without one pass straight through.
public struct RateLimitMiddleware: ClientMiddleware {
    /// Where the limits are kept.
    public let limiter: any RateLimitStore
    private let now: @Sendable () -> Date

    /// Creates the middleware.
    /// - Parameters:
    ///   - limiter: Where the limits are kept.
    ///   - now: The wall-clock time, to read `Retry-After` dates.
    public init(limiter: any RateLimitStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.limiter = limiter
        self.now = now
    }

    /// Waits for a token, sends the request, and reports a 429 to the bucket.
    public func intercept(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        next: @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
    ) async throws -> (HTTPResponse, Data) {
        guard let limit = context.rateLimit else {
            return try await next(request, body, context)
        }
        let start = ContinuousClock.now
        try await limiter.acquire(
            provider: context.provider, account: context.account, limit: limit)
        context.instruments?.recordRateLimitWait(
            start.duration(to: .now), provider: context.provider)
        let answer = try await next(request, body, context)
        if answer.0.status.code == 429 {
            await limiter.didReceiveRateLimit(
                provider: context.provider, account: context.account, limit: limit,
                retryAfter: answer.0.header("Retry-After").flatMap {
                    RetryAfter.parse($0, now: now())
                })
        }
        return answer
    }
}
