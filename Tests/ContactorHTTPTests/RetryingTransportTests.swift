import Contactor
import ContactorHTTP
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

@Suite("RetryingTransport against a loopback server")
struct RetryingTransportTests {
    /// No jitter, 100 ms doubling, so waits are exact.
    static let policy = RetryPolicy(
        maxAttempts: 4, initialBackoff: .milliseconds(100), maxBackoff: .seconds(30), multiplier: 2,
        jitter: 0, totalBudget: .seconds(60))

    @Test("a 503 is retried and the POST is sent again, body intact, until it succeeds")
    func retriesServiceUnavailable() async throws {
        try await TestHTTPServer.withServer(
            script: [.status(503), .status(503), .json(201, #"{"ok":true}"#)]
        ) { server in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let retrying = RetryingTransport(
                    wrapping: transport, policy: Self.policy, clock: clock)
                let body = #"{"contacts":[{"phone_number":"+33612345678"}]}"#
                let response = try await retrying.send(
                    HTTPRequest(
                        method: .post, url: server.url("/v1/public/contact/create"),
                        body: Data(body.utf8)))
                #expect(response.status == 201)
                #expect(server.requests.count == 3)
                #expect(server.requests.allSatisfy { $0.method == "POST" && $0.text == body })
                #expect(clock.sleeps == [.milliseconds(100), .milliseconds(200)])
            }
        }
    }

    @Test("a 429 with Retry-After: 1 is retried no sooner than one second later")
    func honoursRetryAfterSeconds() async throws {
        try await TestHTTPServer.withServer(
            script: [.status(429, headers: [("Retry-After", "1")]), .status(200)]
        ) { server in
            try await withTestTransport { transport in
                let retrying = RetryingTransport(wrapping: transport, policy: Self.policy)
                let response = try await retrying.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(response.status == 200)
                let times = server.requests.map(\.receivedAt)
                try #require(times.count == 2)
                let gap = times[0].duration(to: times[1])
                #expect(gap >= .milliseconds(990), "second request came \(gap) after the first")
                #expect(gap < .seconds(5))
            }
        }
    }

    @Test("a Retry-After given as an HTTP date is waited out")
    func honoursRetryAfterDate() async throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let later = HTTPDate.format(now.addingTimeInterval(7))
        try await TestHTTPServer.withServer(
            script: [.status(503, headers: [("Retry-After", later)]), .status(200)]
        ) { server in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let retrying = RetryingTransport(
                    wrapping: transport, policy: Self.policy, clock: clock, now: { now })
                let response = try await retrying.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(response.status == 200)
                #expect(clock.sleeps == [.seconds(7)])
            }
        }
    }

    @Test("a Retry-After beyond the policy's longest wait returns the 429 at once")
    func retryAfterTooLong() async throws {
        try await TestHTTPServer.withServer(
            script: [.status(429, headers: [("Retry-After", "3600")])]
        ) { server in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let retrying = RetryingTransport(
                    wrapping: transport, policy: Self.policy, clock: clock)
                let response = try await retrying.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(response.status == 429)
                #expect(server.requests.count == 1)
                #expect(clock.sleeps.isEmpty)
            }
        }
    }

    @Test("it gives up after maxAttempts and returns the last response")
    func givesUpAfterMaxAttempts() async throws {
        try await TestHTTPServer.withServer(
            script: [], otherwise: .status(502, body: "bad gateway")
        ) {
            server in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let retrying = RetryingTransport(
                    wrapping: transport, policy: Self.policy, clock: clock)
                let response = try await retrying.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(response.status == 502)
                #expect(response.text == "bad gateway")
                #expect(server.requests.count == 4)
                #expect(
                    clock.sleeps == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
            }
        }
    }

    @Test("it gives up when the next wait would exceed the total budget")
    func givesUpAfterBudget() async throws {
        let policy = RetryPolicy(
            maxAttempts: 10, initialBackoff: .seconds(1), maxBackoff: .seconds(30), multiplier: 2,
            jitter: 0, totalBudget: .seconds(4))
        try await TestHTTPServer.withServer(script: [], otherwise: .status(504)) { server in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let retrying = RetryingTransport(wrapping: transport, policy: policy, clock: clock)
                let response = try await retrying.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(response.status == 504)
                // Waits of 1 s and 2 s fit in 4 s; the next (4 s) would not.
                #expect(clock.sleeps == [.seconds(1), .seconds(2)])
                #expect(server.requests.count == 3)
            }
        }
    }

    @Test(
        "other client errors and 500 are never retried",
        arguments: [400, 401, 403, 404, 409, 422, 500])
    func neverRetriesClientErrors(status: Int) async throws {
        try await TestHTTPServer.withServer(script: [], otherwise: .status(status)) { server in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let retrying = RetryingTransport(
                    wrapping: transport, policy: Self.policy, clock: clock)
                let response = try await retrying.send(
                    HTTPRequest(method: .post, url: server.url("/v1"), body: Data("{}".utf8)))
                #expect(response.status == status)
                #expect(server.requests.count == 1)
                #expect(clock.sleeps.isEmpty)
            }
        }
    }

    @Test("500 is retried when the caller adds it to the retryable statuses")
    func retryableStatusesConfigurable() async throws {
        try await TestHTTPServer.withServer(script: [.status(500)], otherwise: .status(200)) {
            server in
            try await withTestTransport { transport in
                let retrying = RetryingTransport(
                    wrapping: transport, policy: Self.policy,
                    retryableStatuses: RetryingTransport.defaultRetryableStatuses.union([500]),
                    clock: ImmediateClock())
                let response = try await retrying.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(response.status == 200)
                #expect(server.requests.count == 2)
            }
        }
    }

    @Test("a reset connection (transient error) is retried")
    func retriesTransientErrors() async throws {
        try await TestHTTPServer.withServer(script: [.reset], otherwise: .status(200, body: "ok")) {
            server in
            try await withTestTransport { transport in
                let retrying = RetryingTransport(
                    wrapping: transport, policy: Self.policy, clock: ImmediateClock())
                let response = try await retrying.send(
                    HTTPRequest(method: .post, url: server.url("/v1"), body: Data("x".utf8)))
                #expect(response.text == "ok")
                #expect(server.requests.count == 2)
            }
        }
    }

    @Test("a refused connection is retried, then its error is thrown")
    func throwsLastTransientError() async throws {
        try await TestHTTPServer.withClosedPort { port in
            try await withTestTransport { transport in
                let clock = ImmediateClock()
                let retrying = RetryingTransport(
                    wrapping: transport, policy: Self.policy, clock: clock)
                let error = try #require(
                    await contactError(
                        retrying,
                        HTTPRequest(method: .get, url: URL(string: "http://127.0.0.1:\(port)/v1")!))
                )
                #expect(error.code == .transportError)
                #expect(error.isTransient)
                #expect(error.message.hasSuffix("connection refused (gave up after 4 attempts)"))
                #expect(clock.sleeps.count == 3)
            }
        }
    }

    @Test("a non-transient error is thrown at once")
    func permanentErrorNotRetried() async throws {
        let mock = MockTransport.failing(
            ContactError(.transportError, "TLS failure", isTransient: false))
        let retrying = RetryingTransport(
            wrapping: mock, policy: Self.policy, clock: ImmediateClock())
        let error = await contactError(
            retrying, HTTPRequest(method: .get, url: URL(string: "http://x/")!))
        #expect(error?.message == "TLS failure")
        #expect(mock.requests.count == 1)
    }

    @Test("a thrown error's retryAfter is waited out")
    func errorRetryAfter() async throws {
        let calls = Locked(0)
        let mock = MockTransport { _ in
            if calls.withLock({ count -> Int in
                count += 1
                return count
            }) == 1 {
                throw ContactError(
                    .rateLimited, "slow down", isTransient: true, retryAfter: .seconds(3))
            }
            return HTTPResponse(status: 200)
        }
        let clock = ImmediateClock()
        let retrying = RetryingTransport(wrapping: mock, policy: Self.policy, clock: clock)
        let response = try await retrying.send(
            HTTPRequest(method: .get, url: URL(string: "http://x/")!))
        #expect(response.status == 200)
        #expect(clock.sleeps == [.seconds(3)])
    }

    @Test("cancelling the task during a wait stops the retries")
    func cancellation() async throws {
        let mock = MockTransport.text(status: 503)
        let retrying = RetryingTransport(
            wrapping: mock,
            policy: RetryPolicy(maxAttempts: 5, initialBackoff: .seconds(60), jitter: 0))
        let task = Task {
            try await retrying.send(HTTPRequest(method: .get, url: URL(string: "http://x/")!))
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(mock.requests.count <= 1)
    }

    @Test("the inner transport sees the attempt number")
    func attemptNumberVisible() async throws {
        let seen = Locked<[Int?]>([])
        let mock = MockTransport { _ in
            seen.withLock { $0.append(RetryingTransport.currentAttempt) }
            return HTTPResponse(status: seen.withLock { $0.count } < 3 ? 503 : 200)
        }
        let retrying = RetryingTransport(
            wrapping: mock, policy: Self.policy, clock: ImmediateClock())
        _ = try await retrying.send(HTTPRequest(method: .get, url: URL(string: "http://x/")!))
        #expect(seen.value == [1, 2, 3])
        #expect(RetryingTransport.currentAttempt == nil)
    }

    @Test("the fluent stack retries through the bucket and logs every attempt")
    func fluentStack() async throws {
        try await TestHTTPServer.withServer(script: [.status(503)], otherwise: .status(200)) {
            server in
            try await withTestTransport { transport in
                let capture = LogCapture()
                let clock = ImmediateClock()
                let bucket = TokenBucket(.init(rate: 10, burst: 1), clock: clock)
                let stack =
                    transport
                    .logging(to: capture.logger(), redactor: Redactor(secrets: []))
                    .rateLimited(by: bucket)
                    .retrying(policy: Self.policy)
                let response = try await stack.send(
                    HTTPRequest(method: .get, url: server.url("/v1")))
                #expect(response.status == 200)
                #expect(capture.records.map(\.metadata["status"]) == ["503", "200"])
                #expect(capture.records.map(\.metadata["attempt"]) == ["1", "2"])
                // The retry waited for the back-off on the real clock, then for a token.
                #expect(server.requests.count == 2)
            }
        }
    }
}
