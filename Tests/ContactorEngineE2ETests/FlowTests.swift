import Contactor
import ContactorSandbox
import ContactorTesting
import Foundation
import Logging
import Synchronization
import Testing

/// How the engine paces, orders, splits and stops, measured over real HTTP against the
/// sandbox emulators.
@Suite("Pacing, ordering, splitting and stopping over real HTTP")
struct FlowTests {
    @Test(
        "a 20 req/s limit spaces 51 Avosms adds by 50 ms on the client's clock, whatever the concurrency"
    )
    func rateLimitAdherence() async throws {
        try await withSandbox { server in
            let clock = ImmediateClock()
            let phones = frenchMobiles(51)
            let (outcomes, _) = try await withClient(
                provider: "avosms", concurrency: 4, rateLimit: .perSecond(20), clock: clock
            ) { client in
                try await importAll(
                    client, phoneRecords(phones), provider: "avosms", list: "1001",
                    options: sandboxOptions(server, provider: "avosms", batchSize: 1))
            }
            #expect(outcomes.allSatisfy { $0.result.status == .added })
            #expect(server.requests.count == phones.count)
            // One token per request, 50 ms apart after the first: 2.5 s of the limiter's
            // clock. (The achieved real-time rate is measured alone by `contactor-bench
            // ratelimit`, see docs/performance.md.)
            #expect(abs(clock.now.offset.seconds - 2.5) < 0.001, "\(clock.now.offset)")
        }
    }

    @Test("results stream in input order while four batches are in flight")
    func inOrderStreamingWithBatchesInFlight() async throws {
        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(150))) { server in
            // 80 good numbers in batches of 5, with a locally refused record every 7th
            // line: those resolve at once and must wait for the batches before them.
            var records: [InputRecord] = []
            var good = frenchMobiles(80).makeIterator()
            var line = 2
            var refusedLines: Set<Int> = []
            while let phone = good.next() {
                if (line - 2) % 7 == 3 {
                    records.append(InputRecord(line: line, columns: [("phone", "not a number")]))
                    refusedLines.insert(line)
                    line += 1
                }
                records.append(InputRecord(line: line, columns: [("phone", phone)]))
                line += 1
            }
            let firstOutcomeAt = Mutex<ContinuousClock.Instant?>(nil)
            let outcomes = try await withClient(provider: "octopush", concurrency: 4) {
                client in
                let run = try await client.importRecords(
                    RecordStream(records: records), provider: "octopush", list: "demo",
                    options: sandboxOptions(server, provider: "octopush", batchSize: 5))
                var outcomes: [RecordOutcome] = []
                for try await outcome in run {
                    firstOutcomeAt.withLock { $0 = $0 ?? .now }
                    outcomes.append(outcome)
                }
                return outcomes
            }
            #expect(outcomes.compactMap(\.line) == records.map(\.line))
            for outcome in outcomes {
                let line = try #require(outcome.line)
                let expected: ContactResult.Status =
                    refusedLines.contains(line) ? .rejected : .added
                #expect(outcome.result.status == expected, "line \(line)")
            }
            let requests = server.requests
            // 16 full batches, or a few more: the engine sends a batch early rather than
            // read past its window while refused records wait for their turn.
            #expect(requests.count >= 16 && requests.count <= 24, "\(requests.count) requests")
            let stored = await server.contacts(provider: "octopush", list: "demo")
            #expect(stored.count == 80)
            #expect(maxOverlap(requests) >= 3, "at most \(maxOverlap(requests)) in flight")
            // Streamed: the first outcome came out before the last batch was answered.
            let lastAnswer = try #require(requests.map(\.answeredAt).max())
            let first = try #require(firstOutcomeAt.withLock { $0 })
            #expect(first < lastAnswer)
        }
    }

    @Test(
        "a batch Octopush refuses whole is split: its 49 good contacts are added, the bad one rejected"
    )
    func splitsBatchAroundBadRecord() async throws {
        try await withSandbox { server in
            let phones = frenchMobiles(50)
            let bad = phones[16]
            // A mapping's payload hook that breaks one contact after every local check
            // (too short a number): Octopush's emulator refuses the whole request (400).
            let hook: PayloadHook = { _, contact, payload in
                guard contact.phone.e164 == bad, case .object(var object) = payload else {
                    return payload
                }
                object["phone_number"] = .string("+3361234")
                return .object(object)
            }
            let (outcomes, run) = try await withClient(provider: "octopush") { client in
                try await importAll(
                    client, phoneRecords(phones), provider: "octopush", list: "demo",
                    options: sandboxOptions(
                        server, provider: "octopush", batchSize: 50, payloadHook: hook))
            }
            #expect(run.stopReason == nil)
            #expect(outcomes.compactMap(\.line) == Array(2...51))
            let rejected = outcomes.filter { $0.result.status == .rejected }
            #expect(rejected.map(\.phone) == [bad])
            #expect(rejected.first?.result.error?.code == .providerError)
            #expect(rejected.first?.result.error?.providerCode == "invalid_phone_number")
            #expect(outcomes.filter { $0.result.status == .added }.count == 49)
            let stored = await server.contacts(provider: "octopush", list: "demo").map(\.phone)
            #expect(Set(stored) == Set(phones).subtracting([bad]))
            #expect(stored.count == 49)
            // Halving 50 down to the bad one: 1 + 2 per level for ceil(log2 50) = 6 levels.
            #expect(server.requests.count <= 13, "\(server.requests.count) requests")
        }
    }

    @Test(
        "a refused credential or an unknown list stops the run: one stopReason, every record failed, nothing more sent",
        arguments: [
            (list: "demo", key: "wrong-key", code: ContactError.Code.authFailed),
            (list: "no-such-list", key: "octopush-demo-key", code: ContactError.Code.listNotFound),
        ])
    func stopsEarly(list: String, key: String, code: ContactError.Code) async throws {
        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(50))) { server in
            var credentials = SandboxDemo.standard.credentials(for: "octopush")
            credentials["api_key"] = key
            let concurrency = 2
            let records =
                phoneRecords(frenchMobiles(50))
                + [InputRecord(line: 52, columns: [("phone", "garbage")])]
            let (outcomes, run) = try await withClient(
                provider: "octopush", credentials: credentials, concurrency: concurrency
            ) { client in
                try await importAll(
                    client, records, provider: "octopush", list: list,
                    options: sandboxOptions(server, provider: "octopush", batchSize: 5))
            }
            let stop = try #require(run.stopReason)
            #expect(stop.code == code)
            #expect(!stop.description.contains(key) || key == "octopush-demo-key")
            #expect(outcomes.compactMap(\.line) == Array(2...52))
            for outcome in outcomes.dropLast() {
                #expect(outcome.result.status == .failed)
                #expect(outcome.result.error?.code == code)
            }
            // A locally refused record is still rejected for what it is.
            #expect(outcomes.last?.result.status == .rejected)
            // Only the batches already on the wire when the first refusal came back.
            #expect(server.requests.count >= 1)
            #expect(server.requests.count <= concurrency, "\(server.requests.count) requests")
        }
    }
}
