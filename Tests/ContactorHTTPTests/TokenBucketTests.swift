import Contactor
import ContactorHTTP
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

@Suite("TokenBucket and RateLimitedTransport")
struct TokenBucketTests {
    @Test("20 req/s shared by 4 workers against a real server: measured rate within 15 %")
    func measuredRateMatchesLimit() async throws {
        let limit = 20.0
        let total = 45  // about two seconds at 50 ms apart
        // The first arrivals include setting up the pool's connections (one per worker),
        // which delays them and compresses the span on a loaded machine: measure the steady
        // state after them.
        let warmUp = 4
        try await TestHTTPServer.withServer(script: []) { server in
            try await withTestTransport { transport in
                let bucket = TokenBucket(rate: limit, burst: 1)
                let limited = RateLimitedTransport(wrapping: transport, bucket: bucket)
                let remaining = Locked(total)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            while remaining.withLock({ count -> Bool in
                                count -= 1
                                return count >= 0
                            }) {
                                _ = try await limited.send(
                                    HTTPRequest(
                                        method: .post, url: server.url("/v1"), body: Data("{}".utf8)
                                    ))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let times = server.requests.map(\.receivedAt).sorted()
                try #require(times.count == total)
                let span = times[warmUp].duration(to: times[total - 1]).seconds
                let measured = Double(total - 1 - warmUp) / span
                #expect(abs(measured - limit) / limit <= 0.15, "measured \(measured) req/s")
            }
        }
    }

    @Test("a burst lets that many requests go at once, then the rate applies")
    func burst() async throws {
        let clock = ImmediateClock()
        let bucket = TokenBucket(.init(rate: 10, burst: 5), clock: clock)
        for _ in 0..<5 { try await bucket.acquire() }
        #expect(clock.sleeps.isEmpty)
        try await bucket.acquire()
        #expect(clock.sleeps.count == 1)
        #expect(close(clock.sleeps[0], .milliseconds(100)))
    }

    @Test("a 429 halves the rate, so the same number of requests takes twice as long")
    func rateLimitSlowsDown() async throws {
        let clock = ImmediateClock()
        let bucket = TokenBucket(.init(rate: 20, burst: 1), clock: clock)
        try await bucket.acquire()
        let before = clock.now
        for _ in 0..<10 { try await bucket.acquire() }
        #expect(close(before.duration(to: clock.now), .milliseconds(500)))

        await bucket.didReceiveRateLimit()
        #expect(await bucket.currentRate == 10)
        let after = clock.now
        for _ in 0..<10 { try await bucket.acquire() }
        #expect(close(after.duration(to: clock.now), .seconds(1)))
    }

    @Test("several 429s at once count as one slow-down")
    func cooldown() async throws {
        let clock = ImmediateClock()
        let bucket = TokenBucket(.init(rate: 20, burst: 1), clock: clock)
        for _ in 0..<4 { await bucket.didReceiveRateLimit() }
        #expect(await bucket.currentRate == 10)
        clock.advance(by: .seconds(2))
        await bucket.didReceiveRateLimit()
        #expect(await bucket.currentRate == 5)
    }

    @Test("the rate recovers linearly after the recovery delay, up to the limit")
    func recovery() async throws {
        let clock = ImmediateClock()
        let bucket = TokenBucket(
            .init(rate: 20, burst: 1, recoveryDelay: .seconds(5), recoveryStep: 0.1), clock: clock)
        await bucket.didReceiveRateLimit()
        clock.advance(by: .seconds(5))
        #expect(await bucket.currentRate == 10)
        clock.advance(by: .seconds(2))
        #expect(abs(await bucket.currentRate - 14) < 1e-9)
        clock.advance(by: .seconds(60))
        #expect(await bucket.currentRate == 20)
    }

    @Test("a Retry-After fed to the bucket holds every request back that long")
    func retryAfterPauses() async throws {
        let clock = ImmediateClock()
        let bucket = TokenBucket(.init(rate: 10, burst: 1), clock: clock)
        try await bucket.acquire()
        await bucket.didReceiveRateLimit(retryAfter: .seconds(2))
        let start = clock.now
        try await bucket.acquire()
        #expect(start.duration(to: clock.now) >= .seconds(2))
    }

    @Test("RateLimitedTransport feeds a server's 429 and its Retry-After back to the bucket")
    func transportFeedsRateLimit() async throws {
        try await TestHTTPServer.withServer(
            script: [.status(429, headers: [("Retry-After", "3")])], otherwise: .status(200)
        ) { server in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let bucket = TokenBucket(.init(rate: 20, burst: 1), clock: clock)
                let limited = RateLimitedTransport(wrapping: transport, bucket: bucket)
                let first = try await limited.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(first.status == 429)
                #expect(await bucket.currentRate == 10)
                let second = try await limited.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(second.status == 200)
                #expect(clock.now.offset >= .seconds(3))
            }
        }
    }

    /// Whether two durations are within a microsecond (floating-point rounding).
    private func close(_ lhs: Duration, _ rhs: Duration) -> Bool {
        abs((lhs - rhs).seconds) < 1e-6
    }

    @Test("a cancelled wait throws CancellationError")
    func cancellation() async throws {
        let bucket = TokenBucket(rate: 0.01, burst: 1)
        try await bucket.acquire()
        let waiter = Task { try await bucket.acquire() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
    }
}
