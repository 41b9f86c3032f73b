import Contactor
import ContactorSandbox
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

/// The engine over real HTTP (AsyncHTTPClient) against the sandbox emulators: transient
/// faults are retried until every contact is in the list exactly once, permanent ones
/// are not retried, and nothing is ever lost.
@Suite("Retries and failures over real HTTP")
struct RetryAndFailureTests {
    @Test("503s (sandbox failureRate) are retried and every contact ends in the list exactly once")
    func retriesServiceUnavailable() async throws {
        try await withSandbox(faults: FaultConfiguration(failureRate: 0.3, seed: 7)) { server in
            let phones = frenchMobiles(60)
            let (outcomes, run) = try await withClient(provider: "octopush") { client in
                try await importAll(
                    client, phoneRecords(phones), provider: "octopush", list: "demo",
                    options: sandboxOptions(server, provider: "octopush", batchSize: 5))
            }
            #expect(run.stopReason == nil)
            #expect(outcomes.compactMap(\.line) == Array(2...61))
            #expect(outcomes.allSatisfy { $0.result.status == .added })
            let stored = await server.contacts(provider: "octopush", list: "demo").map(\.phone)
            #expect(stored.count == phones.count)
            #expect(Set(stored) == Set(phones))
            let statuses = server.requests.map(\.status)
            #expect(statuses.contains(503), "the fault injector answered no 503")
            #expect(statuses.filter { $0 == 201 }.count == 12)  // 60 contacts, batches of 5
        }
    }

    @Test(
        "429s with Retry-After are retried after exactly that wait, and every contact ends added once"
    )
    func retriesRateLimitedWithRetryAfter() async throws {
        try await TestHTTPServer.withServer(
            script: [
                .status(429, headers: [("Retry-After", "2")], body: "slow down"),
                .status(429, headers: [("Retry-After", "1")], body: "slow down"),
            ],
            otherwise: .json(200, #"{"status":"success","code":"OK"}"#)
        ) { server in
            let clock = ImmediateClock()
            let phones = frenchMobiles(4)
            // One request at a time, so that what follows a 429 is that contact's retry.
            let attempts = AttemptCountingMiddleware()
            let (outcomes, _) = try await withClient(
                provider: "avosms", concurrency: 1, middlewares: [attempts], clock: clock
            ) { client in
                try await importAll(
                    client, phoneRecords(phones), provider: "avosms", list: "1001",
                    options: RunOptions(endpoint: server.url("/")))
            }
            #expect(outcomes.allSatisfy { $0.result.status == .added })
            #expect(server.requests.count == phones.count + 2)
            #expect(
                clock.sleeps == [.seconds(2), .seconds(1)],
                "errors: \(attempts.errors), connections: \(server.requests.map(\.connection))")
        }
    }

    @Test("after maxAttempts the contacts end failed with the last error, and none is lost")
    func givesUpAfterMaxAttempts() async throws {
        try await withSandbox(faults: FaultConfiguration(failureRate: 1)) { server in
            let retry = RetryPolicy(
                maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .seconds(1),
                totalBudget: .seconds(30))
            let (outcomes, run) = try await withClient(provider: "octopush", retry: retry) {
                client in
                try await importAll(
                    client, phoneRecords(frenchMobiles(10)), provider: "octopush", list: "demo",
                    options: sandboxOptions(server, provider: "octopush", batchSize: 5))
            }
            #expect(run.stopReason == nil)
            #expect(outcomes.compactMap(\.line) == Array(2...11))
            for outcome in outcomes {
                #expect(outcome.result.status == .failed)
                #expect(outcome.result.error?.code == .providerError)
                #expect(outcome.result.error?.isTransient == true)
            }
            #expect(server.requests.count == 2 * 3)  // two batches, three attempts each
            #expect(await server.contacts(provider: "octopush", list: "demo").isEmpty)
        }
    }

    @Test("the total budget stops the retries before maxAttempts, and the contacts end failed")
    func givesUpAfterTotalBudget() async throws {
        try await withSandbox(faults: FaultConfiguration(failureRate: 1)) { server in
            let retry = RetryPolicy(
                maxAttempts: 100, initialBackoff: .milliseconds(200), maxBackoff: .seconds(1),
                multiplier: 1, jitter: 0, totalBudget: .milliseconds(1100))
            let clock = ImmediateClock()
            let (outcomes, _) = try await withClient(
                provider: "octopush", retry: retry, clock: clock
            ) { client in
                try await importAll(
                    client, phoneRecords(frenchMobiles(3)), provider: "octopush", list: "demo",
                    options: sandboxOptions(server, provider: "octopush"))
            }
            #expect(outcomes.count == 3)
            #expect(outcomes.allSatisfy { $0.result.status == .failed })
            // 200 ms apart on the client's clock within 1.1 s: waits at 0, 0.2, ... 0.8 s,
            // then 1.0 + 0.2 would pass the budget: six attempts, far from 100.
            #expect(server.requests.count == 6, "\(server.requests.count) attempts")
            #expect(clock.sleeps == Array(repeating: .milliseconds(200), count: 5))
        }
    }

    @Test("rejections are not retried: one request per contact, counted at the server")
    func rejectionsAreNotRetried() async throws {
        try await withSandbox { server in
            // List 1002 takes mobiles only: the fixed lines are refused with ERR_107.
            let mobiles = frenchMobiles(4)
            let fixedLines = (0..<4).map { "+33123456" + String(format: "%03d", $0) }
            let phones = zip(mobiles, fixedLines).flatMap { [$0, $1] }
            let (outcomes, _) = try await withClient(provider: "avosms") { client in
                try await importAll(
                    client, phoneRecords(phones), provider: "avosms", list: "1002",
                    options: sandboxOptions(server, provider: "avosms"))
            }
            let rejected = outcomes.filter { $0.result.status == .rejected }
            #expect(Set(rejected.compactMap(\.phone)) == Set(fixedLines))
            #expect(rejected.allSatisfy { $0.result.error?.code == .numberTypeNotAllowed })
            #expect(rejected.allSatisfy { $0.result.error?.providerCode == "ERR_107" })
            #expect(outcomes.filter { $0.result.status == .added }.count == mobiles.count)
            #expect(server.requests.count == phones.count)
        }
    }

    @Test(
        "dropped connections (sandbox dropRate) are retried and every contact ends in the list once"
    )
    func retriesDroppedConnections() async throws {
        try await withSandbox(faults: FaultConfiguration(dropRate: 0.3, seed: 3)) { server in
            let phones = frenchMobiles(40)
            let (outcomes, _) = try await withClient(provider: "octopush") { client in
                try await importAll(
                    client, phoneRecords(phones), provider: "octopush", list: "demo",
                    options: sandboxOptions(server, provider: "octopush", batchSize: 2))
            }
            #expect(outcomes.count == phones.count)
            #expect(outcomes.allSatisfy { $0.result.status == .added })
            let stored = await server.contacts(provider: "octopush", list: "demo").map(\.phone)
            #expect(stored.sorted() == phones.sorted())
            #expect(
                server.requests.contains { $0.status == nil },
                "no connection was dropped: \(server.requests.map(\.status))")
        }
    }

    @Test("a request over its timeout fails with `timeout` and every attempt times out alike")
    func timeoutsAreReportedAndRetried() async throws {
        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(700))) { server in
            let retry = RetryPolicy(
                maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .seconds(1),
                totalBudget: .seconds(30))
            let attempts = AttemptCountingMiddleware()
            let (outcomes, _) = try await withClient(
                provider: "octopush", retry: retry, requestTimeout: .milliseconds(150),
                middlewares: [attempts]
            ) { client in
                try await importAll(
                    client, phoneRecords(frenchMobiles(1)), provider: "octopush", list: "demo",
                    options: sandboxOptions(server, provider: "octopush"))
            }
            let outcome = try #require(outcomes.first)
            #expect(outcome.result.status == .failed)
            #expect(outcome.result.error?.code == .timeout)
            #expect(attempts.errors == [.timeout, .timeout, .timeout])
            // The sandbox logs a request once its latency has passed; on a loaded machine
            // an attempt can time out before its request reaches the server.
            #expect(await poll { server.requests.count >= 1 })
            try await Task.sleep(for: .seconds(1))
            #expect((1...3).contains(server.requests.count))
        }
    }

    @Test("a timed-out request is retried and the contact ends added once the server is fast again")
    func timeoutThenSuccess() async throws {
        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(700))) { server in
            let (outcomes, _) = try await withClient(
                provider: "octopush", requestTimeout: .milliseconds(150),
                middlewares: [AfterFirstErrorMiddleware { server.faults = .none }]
            ) { client in
                try await importAll(
                    client, phoneRecords(frenchMobiles(1)), provider: "octopush", list: "demo",
                    options: sandboxOptions(server, provider: "octopush"))
            }
            // `updated` when the timed-out attempt was acted on first: a server may well
            // have done the work of a request whose answer came too late.
            let status = try #require(outcomes.first?.result.status)
            #expect(status == .added || status == .updated)
            #expect(outcomes.first?.result.error == nil)
            // The late first attempt is answered too (the contact is then updated, not
            // duplicated).
            #expect(await poll { server.requests.count >= 2 })
            let stored = await server.contacts(provider: "octopush", list: "demo")
            #expect(stored.map(\.phone) == frenchMobiles(1))
        }
    }
}
