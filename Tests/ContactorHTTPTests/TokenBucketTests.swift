import Contactor
import ContactorHTTP
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

@Suite("TokenBucket and RateLimitMiddleware")
struct TokenBucketTests {
    static func context(_ limit: RateLimit?, account: String = "me") -> RequestContext {
        RequestContext(provider: "octopush", account: account, rateLimit: limit)
    }

    @Test("at 20 req/s, 21 requests through the middleware take exactly one second of the clock")
    func requestsAreSpacedByTheRate() async throws {
        let clock = ImmediateClock()
        let transport = MockTransport.text(status: 200)
        let pipeline = RequestPipeline(
            transport: transport,
            middlewares: [RateLimitMiddleware(limiter: RateLimiter(clock: clock))])
        let request = TestRequest(method: .post, url: URL(string: "http://h/v1")!)
        for _ in 0..<21 {
            _ = try await pipeline.send(request, context: Self.context(RateLimit(rate: 20)))
        }
        #expect(transport.requests.count == 21)
        #expect(close(clock.now.offset, .seconds(1)))
        #expect(clock.sleeps.count == 20)
    }

    @Test("four workers of one account share one bucket; other accounts have their own")
    func oneBucketPerAccount() async throws {
        let clock = ImmediateClock()
        let limiter = RateLimiter(clock: clock)
        let limit = RateLimit(rate: 20)
        let shared = limiter.bucket(provider: "octopush", account: "me", limit: limit)
        #expect(limiter.bucket(provider: "octopush", account: "me", limit: limit) === shared)
        #expect(limiter.bucket(provider: "octopush", account: "you", limit: limit) !== shared)
        #expect(limiter.bucket(provider: "avosms", account: "me", limit: limit) !== shared)

        let transport = MockTransport.text(status: 200)
        let request = TestRequest(method: .post, url: URL(string: "http://h/v1")!)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let pipeline = RequestPipeline(
                        transport: transport, middlewares: [RateLimitMiddleware(limiter: limiter)])
                    for _ in 0..<10 {
                        _ = try await pipeline.send(request, context: Self.context(limit))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(transport.requests.count == 40)
        // 40 requests at 20 req/s: the first goes at once, the others 50 ms apart.
        #expect(clock.now.offset >= .milliseconds(1950))
    }

    @Test("a request without a rate limit passes straight through")
    func noLimitNoWait() async throws {
        let clock = ImmediateClock()
        let pipeline = RequestPipeline(
            transport: MockTransport.text(status: 200),
            middlewares: [RateLimitMiddleware(limiter: RateLimiter(clock: clock))])
        for _ in 0..<5 {
            _ = try await pipeline.send(
                TestRequest(method: .get, url: URL(string: "http://h/")!),
                context: Self.context(nil))
        }
        #expect(clock.sleeps.isEmpty)
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

    @Test("RateLimitMiddleware feeds a server's 429 and its Retry-After back to the bucket")
    func middlewareFeedsRateLimit() async throws {
        try await TestHTTPServer.withServer(
            script: [.status(429, headers: [("Retry-After", "3")])], otherwise: .status(200)
        ) { server in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let limiter = RateLimiter(clock: clock)
                let limit = RateLimit(rate: 20)
                let pipeline = RequestPipeline(
                    transport: transport, middlewares: [RateLimitMiddleware(limiter: limiter)])
                let first = try await pipeline.send(
                    TestRequest(method: .get, url: server.url("/v1")), context: Self.context(limit))
                #expect(first.status == 429)
                let bucket = limiter.bucket(provider: "octopush", account: "me", limit: limit)
                #expect(await bucket.currentRate == 10)
                let second = try await pipeline.send(
                    TestRequest(method: .get, url: server.url("/v1")), context: Self.context(limit))
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
