// contactor-scaling-bench: work shared by workers through PostgreSQL (docs/scaling.md).
//
//   swift run -c release contactor-scaling-bench [CONTACTS]     # default 20,000
//
// Starts a throw-away PostgreSQL server (PostgresTestServer: the `postgresql` Debian
// package) and the sandbox emulators on 127.0.0.1, then measures, in one run:
//   (a) the shared rate limit's cost: one acquire is one round trip to PostgreSQL;
//   (b) submitting CONTACTS (prepared here, stored in chunks of 1,000);
//   (c) sending them to the Octopush emulator (batches of 200) with 1, 2 and 3 workers
//       in this process, each with its own PostgreSQL pool;
//   (d) three workers under a shared limit of 20 requests/s: the rate achieved.
import Contactor
import ContactorHTTP
import ContactorPostgres
import ContactorProviders
import ContactorSandbox
import ContactorTesting
import Foundation
import Logging

struct Rows: AsyncSequence, Sendable {
    let count: Int
    let start: Int

    func makeAsyncIterator() -> Iterator { Iterator(count: count, start: start) }

    struct Iterator: AsyncIteratorProtocol {
        let count: Int
        let start: Int
        var index = 0

        mutating func next() async -> InputRecord? {
            guard index < count else { return nil }
            defer { index += 1 }
            return InputRecord(
                line: index + 2,
                columns: [
                    ("phone", "+336" + String(10_000_000 + start + index)), ("first_name", "Ada"),
                ])
        }
    }
}

let logger: Logger = {
    var logger = Logger(label: "contactor-scaling-bench")
    logger.logLevel = .critical
    return logger
}()

func configuration(_ http: AsyncHTTPClientTransport) -> ContactorClient.Configuration {
    .init(
        transport: http, providers: ProviderRegistry(BuiltInProviders.all), logger: logger,
        credentials: CredentialResolver(explicit: SandboxDemo.standard.credentials(for: "octopush"))
    )
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let started = ContinuousClock.now
    try await body()
    return (ContinuousClock.now - started).seconds
}

func benchmark(contacts: Int) async throws {
    let sandbox = SandboxServer(configuration: SandboxConfiguration(port: 0, recordsRequests: true))
    try await sandbox.start()
    let url = try await PostgresTestServer.url(schema: "bench")
    let store = try PostgresStore.Configuration(url: url)

    try await AsyncHTTPClientTransport.withTransport(configuration: .init(proxy: nil)) { http in
        try await PostgresStore.with(configuration: store, logger: logger) { first in
            // (a) The shared rate limit: 2,000 acquires at a rate that never waits.
            let acquires = 2000
            let limit = RateLimit(rate: 1_000_000, burst: 1_000_000)
            let acquireTime = try await seconds {
                for _ in 0..<acquires {
                    try await first.rateLimiter.acquire(
                        provider: "octopush", account: "bench", limit: limit)
                }
            }
            print(
                "(a) shared rate limit: \(String(format: "%.3f", acquireTime / Double(acquires) * 1000)) ms per acquire (\(acquires) in a row)"
            )

            // (b), (c) Submit, then send with 1, 2, 3 workers.
            print("")
            print("| workers | contacts | submit | send | contacts/s sent | requests |")
            print("| ---: | ---: | ---: | ---: | ---: | ---: |")
            for (round, workers) in [1, 2, 3].enumerated() {
                await sandbox.reset()
                sandbox.clearRequests()
                let submitter = ContactorClient(configuration: configuration(http))
                var run: Int64 = 0
                let submit = try await seconds {
                    run = try await first.work.submit(
                        Rows(count: contacts, start: round * contacts), operation: .add,
                        provider: "octopush", list: "demo", client: submitter,
                        options: RunOptions(endpoint: sandbox.url(for: "octopush"), batchSize: 200))
                }
                let send = try await seconds {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<workers {
                            group.addTask {
                                try await PostgresStore.with(configuration: store, logger: logger) {
                                    own in
                                    _ = try await PostgresWorker(
                                        store: own, configuration: configuration(http),
                                        options: .init(name: "w\(index)")
                                    ).runUntilIdle()
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                let progress = try await first.work.progress(run: run)
                guard progress.isDone else { fatalError("run \(run) is not done: \(progress)") }
                print(
                    "| \(workers) | \(contacts) | \(String(format: "%.2f s", submit)) | \(String(format: "%.2f s", send)) | \(Int(Double(contacts) / send)) | \(sandbox.requests.count) |"
                )
            }

            // (d) Three workers, one shared limit of 20 requests per second.
            await sandbox.reset()
            sandbox.clearRequests()
            let rate = 20.0
            let limited = 6000
            let submitter = ContactorClient(configuration: configuration(http))
            _ = try await first.work.submit(
                Rows(count: limited, start: 900_000), operation: .add, provider: "octopush",
                list: "demo",
                client: submitter,
                options: RunOptions(
                    endpoint: sandbox.url(for: "octopush"), batchSize: 50,
                    rateLimit: .perSecond(rate)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<3 {
                    group.addTask {
                        try await PostgresStore.with(configuration: store, logger: logger) { own in
                            _ = try await PostgresWorker(
                                store: own, configuration: configuration(http),
                                options: .init(name: "r\(index)")
                            ).runUntilIdle()
                        }
                    }
                }
                try await group.waitForAll()
            }
            let times = sandbox.requests.map(\.receivedAt).sorted()
            if let firstTime = times.first, let lastTime = times.last, times.count > 1 {
                let span = (lastTime - firstTime).seconds
                print("")
                print(
                    "(d) 3 workers, shared limit \(Int(rate)) req/s: \(times.count) requests in \(String(format: "%.2f", span)) s = \(String(format: "%.2f", Double(times.count - 1) / span)) req/s"
                )
            }
            try await first.dropSchema()
        }
    }
    await sandbox.stop()
}

try await benchmark(
    contacts: CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20_000 : 20_000)
