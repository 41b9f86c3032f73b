import Contactor
import ContactorHTTP
import ContactorProviders
import ContactorSandbox
import ContactorTesting
import Foundation
import HTTPTypes
import Logging
import Synchronization

/// A retry policy fast enough for tests: short back-offs, a generous budget.
let fastRetry = RetryPolicy(
    maxAttempts: 8, initialBackoff: .milliseconds(20), maxBackoff: .seconds(3), multiplier: 2,
    jitter: 0.5, totalBudget: .seconds(30))

/// `count` distinct, valid French mobile numbers in E.164 (`+33612000000`, ...).
func frenchMobiles(_ count: Int, from start: Int = 0) -> [String] {
    (start..<(start + count)).map { "+33612" + String(format: "%06d", $0) }
}

/// Runs `body` with a sandbox on 127.0.0.1 that records every provider request.
func withSandbox<T: Sendable>(
    faults: FaultConfiguration = .none, _ body: (SandboxServer) async throws -> T
) async throws -> T {
    let server = SandboxServer(
        configuration: SandboxConfiguration(port: 0, faults: faults, recordsRequests: true))
    try await server.start()
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Runs `body` with a client of the built-in providers whose transport is the real
/// AsyncHTTPClient (no proxy), with `middlewares` in front of it, and whose credentials are
/// the sandbox's demo credentials of `provider` unless `credentials` says otherwise. Its
/// retries and rate limits wait on `clock`: an `ImmediateClock` by default, so that no
/// test waits on the wall clock for them.
func withClient<T: Sendable>(
    provider: String, credentials: [String: String]? = nil, retry: RetryPolicy = fastRetry,
    concurrency: Int = 4, requestTimeout: Duration = .seconds(60),
    middlewares: [any ClientMiddleware] = [], rateLimit: RateLimitPolicy = .unlimited,
    clock: ImmediateClock = ImmediateClock(),
    _ body: (ContactorClient) async throws -> T
) async throws -> T {
    try await AsyncHTTPClientTransport.withTransport(
        configuration: .init(requestTimeout: requestTimeout, proxy: nil)
    ) { http in
        let client = ContactorClient(
            configuration: .init(
                transport: http, providers: ProviderRegistry(BuiltInProviders.all),
                retry: retry, concurrency: concurrency, logger: quietLogger,
                credentials: CredentialResolver(
                    explicit: credentials ?? SandboxDemo.standard.credentials(for: provider)),
                middlewares: middlewares, rateLimit: rateLimit, clock: clock))
        return try await body(client)
    }
}

let quietLogger: Logger = {
    var logger = Logger(label: "contactor.e2e-tests")
    logger.logLevel = .critical
    return logger
}()

/// `--credential KEY=VALUE` arguments with the sandbox's demo credentials of `provider`.
func demoCredentialArguments(for provider: String) -> [String] {
    SandboxDemo.standard.credentials(for: provider).sorted { $0.key < $1.key }
        .flatMap { ["--credential", "\($0.key)=\($0.value)"] }
}

/// CSV-like records with a `phone` column (line numbers from 2, as under a header).
func phoneRecords(_ phones: [String]) -> [InputRecord] {
    phones.enumerated().map { index, phone in
        InputRecord(line: index + 2, columns: [("phone", phone), ("first_name", "P\(index)")])
    }
}

/// An array of records as an `AsyncSequence`.
struct RecordStream: AsyncSequence, Sendable {
    typealias Element = InputRecord
    let records: [InputRecord]

    func makeAsyncIterator() -> Iterator { Iterator(base: records.makeIterator()) }

    struct Iterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[InputRecord]>
        mutating func next() async -> InputRecord? { base.next() }
    }
}

/// Runs an import of `records` and collects every outcome.
func importAll(
    _ client: ContactorClient, _ records: [InputRecord], provider: String, list: String,
    options: RunOptions = RunOptions()
) async throws -> (outcomes: [RecordOutcome], run: ImportRun) {
    let run = try await client.importRecords(
        RecordStream(records: records), provider: provider, list: list, options: options)
    var outcomes: [RecordOutcome] = []
    for try await outcome in run { outcomes.append(outcome) }
    return (outcomes, run)
}

/// Options pointing the provider at its sandbox emulator.
func sandboxOptions(
    _ server: SandboxServer, provider: String, batchSize: Int? = nil,
    payloadHook: PayloadHook? = nil
) -> RunOptions {
    RunOptions(
        endpoint: server.url(for: provider), batchSize: batchSize, payloadHook: payloadHook)
}

/// A middleware that calls `action` once, after the first error the rest of the pipeline
/// throws.
/// Counts the attempts the client made and how each ended, whether or not the request
/// reached the server (a timeout can pass before the connection is made).
struct AttemptCountingMiddleware: ClientMiddleware {
    final class Counts: Sendable {
        let errors = Mutex<[ContactError.Code]>([])
    }
    let counts = Counts()
    var errors: [ContactError.Code] { counts.errors.withLock { $0 } }

    func intercept(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        next: @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
    ) async throws -> (HTTPResponse, Data) {
        do {
            return try await next(request, body, context)
        } catch {
            let code = (error as? ContactError)?.code ?? .transportError
            counts.errors.withLock { $0.append(code) }
            throw error
        }
    }
}

struct AfterFirstErrorMiddleware: ClientMiddleware {
    let action: @Sendable () -> Void
    private let fired = Fired()

    init(action: @escaping @Sendable () -> Void) {
        self.action = action
    }

    final class Fired: Sendable {
        let value = Mutex(false)
    }

    func intercept(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        next: @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
    ) async throws -> (HTTPResponse, Data) {
        do {
            return try await next(request, body, context)
        } catch {
            let first = fired.value.withLock { fired in
                defer { fired = true }
                return !fired
            }
            if first { action() }
            throw error
        }
    }
}

/// The most intervals `[receivedAt, answeredAt]` that overlap at one instant.
func maxOverlap(_ requests: [SandboxRequestRecord]) -> Int {
    var events: [(ContinuousClock.Instant, Int)] = []
    for request in requests {
        events.append((request.receivedAt, 1))
        events.append((request.answeredAt, -1))
    }
    // Ends before starts at the same instant, so touching intervals do not overlap.
    events.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
    var current = 0
    var best = 0
    for (_, delta) in events {
        current += delta
        best = max(best, current)
    }
    return best
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func poll(
    timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
