import Contactor
import Foundation
import PostgresNIO

/// One rate limit per provider account across every process using the store: a
/// ``Contactor/RateLimitStore`` whose state is one row per account in the store's
/// `rate_limits` table, so that N workers together never send faster than the limit.
///
/// The row holds the account's *theoretical arrival time* (the generic cell rate
/// algorithm): each request moves it one interval (`1 / rate`) past the later of itself
/// and now, in one atomic `UPDATE`, and waits until the slot it took, less the burst's
/// tolerance. A request costs one round trip to PostgreSQL (see docs/scaling.md for the
/// measured cost); waiting happens in the worker, holding no lock or connection.
/// A provider's 429 pushes the account's time past its `Retry-After` (1 s without one),
/// for every worker.
public struct PostgresRateLimiter: RateLimitStore {
    let store: PostgresStore

    public func acquire(provider: String, account: String, limit: RateLimit) async throws {
        guard limit.rate > 0, limit.rate.isFinite else { return }
        let interval = 1 / limit.rate
        let tolerance = Double(max(limit.burst, 1) - 1) * interval
        let s = store.schema
        let wait: Double
        do {
            let rows = try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).rate_limits AS limits (key, tat)
                        VALUES ($1, clock_timestamp() + make_interval(secs => $2))
                        ON CONFLICT (key) DO UPDATE SET
                        tat = GREATEST(limits.tat, clock_timestamp()) + make_interval(secs => $2)
                        RETURNING EXTRACT(EPOCH FROM (tat - clock_timestamp()))::float8
                        """,
                    binds: try binds(Self.key(provider, account), interval)),
                logger: store.queryLogger)
            var ahead = 0.0
            for try await value in rows.decode(Double.self) { ahead = value }
            // The slot taken starts one interval before the new time; the burst may go
            // `tolerance` earlier.
            wait = ahead - interval - tolerance
        } catch {
            // Transient: the engine retries the batch, as after a network failure.
            throw ContactError(
                .transportError,
                store.failure(.invalidOptions, "the shared rate limit could not be read", error)
                    .message, provider: provider, isTransient: true)
        }
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
    }

    public func didReceiveRateLimit(
        provider: String, account: String, limit: RateLimit, retryAfter: Duration?
    ) async {
        let seconds = retryAfter.map { Double($0.components.seconds) } ?? 1
        let s = store.schema
        do {
            try await store.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).rate_limits AS limits (key, tat)
                        VALUES ($1, clock_timestamp() + make_interval(secs => $2))
                        ON CONFLICT (key) DO UPDATE SET
                        tat = GREATEST(limits.tat, clock_timestamp() + make_interval(secs => $2))
                        """,
                    binds: try binds(Self.key(provider, account), max(seconds, 0))),
                logger: store.queryLogger)
        } catch {
            store.logger.warning(
                "the shared rate limit could not be pushed back after a 429: \(store.failure(.invalidOptions, "", error).message)"
            )
        }
    }

    static func key(_ provider: String, _ account: String) -> String { "\(provider)/\(account)" }
}
