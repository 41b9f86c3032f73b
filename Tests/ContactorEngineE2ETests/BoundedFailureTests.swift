import Contactor
import ContactorTestServer
import ContactorTesting
import Foundation
import Synchronization
import Testing

/// A provider that cannot be reached costs a bounded number of requests, not hours: the
/// run stops after `RetryPolicy.unreachableAfter` attempts in a row without an answer.
@Suite struct BoundedFailureTests {
    @Test func aProviderThatNeverAnswersStopsTheRunAfterTenAttemptsInARow() async throws {
        // Every connection is closed before an answer: a transient transport error.
        try await TestHTTPServer.withServer(script: [], otherwise: .close) { server in
            let (outcomes, run) = try await withClient(provider: "octopush") { client in
                try await importAll(
                    client, phoneRecords(frenchMobiles(500)), provider: "octopush", list: "demo",
                    options: RunOptions(endpoint: server.url("/"), batchSize: 50))
            }
            // Without the breaker: 10 batches × 8 attempts = 80 requests.
            #expect(server.connectionCount >= 10)
            #expect(server.connectionCount < 10 + 4, "\(server.connectionCount) connections")
            #expect(outcomes.count == 500)
            #expect(outcomes.allSatisfy { $0.result.status == .failed })
            let stop = try #require(run.stopReason)
            #expect(stop.isTransient)
            #expect(
                stop.message.contains("octopush is unreachable: 10 requests in a row got no answer")
            )
            #expect(outcomes.last?.result.error?.message.contains("is unreachable") == true)
        }
    }

    @Test func anAnswerBetweenFailuresKeepsTheRunGoing() async throws {
        // Every other connection is closed unanswered: 20 failures in all, never 10 in a row.
        let count = Mutex(0)
        try await TestHTTPServer.withServer(handler: { _ in
            let number = count.withLock {
                $0 += 1; return $0
            }
            return number % 2 == 1 ? .close : .json(200, #"{"status":"success","code":"OK"}"#)
        }) { server in
            let (outcomes, run) = try await withClient(provider: "avosms", concurrency: 1) {
                client in
                try await importAll(
                    client, phoneRecords(frenchMobiles(20)), provider: "avosms", list: "1001",
                    options: RunOptions(endpoint: server.url("/")))
            }
            #expect(run.stopReason == nil)
            #expect(outcomes.count == 20)
            #expect(outcomes.allSatisfy { $0.result.status == .added })
            #expect(server.requests.count >= 40)
        }
    }

    @Test func aRetryAfterLongerThanTheLongestWaitSaysItGaveUpAndWhy() async throws {
        try await TestHTTPServer.withServer(
            script: [],
            otherwise: .status(429, headers: [("Retry-After", "3600")], body: "slow down")
        ) { server in
            let clock = ImmediateClock()
            let (outcomes, _) = try await withClient(provider: "avosms", clock: clock) { client in
                try await importAll(
                    client, phoneRecords(frenchMobiles(2)), provider: "avosms", list: "1001",
                    options: RunOptions(endpoint: server.url("/")))
            }
            #expect(clock.sleeps.isEmpty)
            #expect(server.requests.count == 2)
            for outcome in outcomes {
                #expect(outcome.result.status == .failed)
                let message = outcome.result.error?.message ?? ""
                #expect(
                    message.contains(
                        "gave up: the provider asked to wait 3600 s before retrying, longer than the longest wait allowed, 3 s"
                    ),
                    "\(message)")
            }
        }
    }
}
