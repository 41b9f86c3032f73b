// Benchmarks of the bulk engine. Run in release mode:
//
//     swift run -c release contactor-bench throughput [ROWS]   # engine alone, InMemoryProvider
//     swift run -c release contactor-bench transport [ROWS]    # real HTTP to the in-process sandbox
//     swift run -c release contactor-bench memory [SMALL] [LARGE]  # peak RSS, 10k vs 1M rows
//     swift run -c release contactor-bench ratelimit           # achieved vs configured rate
//     swift run -c release contactor-bench all
//
// Rows are generated lazily (an AsyncSequence that makes each record when asked), never
// held as a whole-file array. Results and how to read them: docs/performance.md.
import Contactor
import ContactorHTTP
import ContactorProviders
import ContactorSandbox
import ContactorTesting
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: Input

/// `count` CSV-like records with every standard column, made one at a time.
struct GeneratedRecords: AsyncSequence, Sendable {
    typealias Element = InputRecord
    let count: Int

    func makeAsyncIterator() -> Iterator { Iterator(count: count) }

    struct Iterator: AsyncIteratorProtocol {
        let count: Int
        var index = 0

        mutating func next() async -> InputRecord? {
            guard index < count else { return nil }
            defer { index += 1 }
            return InputRecord(
                line: index + 2,
                columns: [
                    ("phone", "06 \(12_000_000 + index % 87_000_000)"),
                    ("first_name", "Zoé \(index)"), ("last_name", "Dupont"),
                    ("email", "user\(index)@example.com"),
                    ("birthday", "1990-01-\(10 + index % 18)"), ("civility", "Mme"),
                ])
        }
    }
}

// MARK: Measuring

/// CPU time (user + system) of this process so far, in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
        getrusage(RUSAGE_SELF, &usage)
    #endif
    func seconds(_ time: timeval) -> Double {
        Double(time.tv_sec) + Double(time.tv_usec) / 1e6
    }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// A line of `/proc/self/status` (`VmHWM`, `VmRSS`) in KiB, or `nil` off Linux.
func procStatusKiB(_ key: String) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
        return nil
    }
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        return Int(line.dropFirst(key.count + 1).filter(\.isNumber))
    }
    return nil
}

func format(_ value: Double, _ digits: Int = 0) -> String {
    String(format: "%.\(digits)f", value)
}

func quietLogger() -> Logger {
    var logger = Logger(label: "contactor-bench")
    logger.logLevel = .critical
    return logger
}

/// Runs `count` generated rows through the engine to an in-memory provider that keeps
/// nothing; returns the outcomes seen.
func importToMemory(rows count: Int, batchSize: Int, concurrency: Int) async throws -> Int {
    let provider = InMemoryProvider(
        descriptor: InMemoryProvider.descriptor(batchSize: batchSize), keepsHistory: false)
    let client = ContactorClient(
        configuration: .init(
            transport: MockTransport.unreachable, providers: ProviderRegistry([provider]),
            concurrency: concurrency, logger: quietLogger(),
            credentials: CredentialResolver(environment: [:])))
    let run = try await client.importRecords(
        GeneratedRecords(count: count), provider: provider.descriptor.name, list: "bench")
    var seen = 0
    var added = 0
    for try await outcome in run {
        seen += 1
        if outcome.result.status == .added { added += 1 }
    }
    precondition(added == count, "only \(added) of \(count) added")
    return seen
}

// MARK: (a) Engine throughput

func throughput(rows: Int) async throws {
    _ = try await importToMemory(rows: 2_000, batchSize: 100, concurrency: 4)  // warm-up
    let clock = ContinuousClock()
    let cpuBefore = cpuSeconds()
    var seen = 0
    let elapsed = try await clock.measure {
        seen = try await importToMemory(rows: rows, batchSize: 100, concurrency: 4)
    }
    let cpu = cpuSeconds() - cpuBefore
    print(
        "throughput: \(seen) rows (map + normalise + validate + batch 100, concurrency 4, "
            + "InMemoryProvider) in \(format(elapsed.seconds, 2)) s wall, \(format(cpu, 2)) s CPU: "
            + "\(format(Double(seen) / elapsed.seconds)) contacts/s, "
            + "\(format(Double(seen) / cpu)) contacts per CPU-second")
}

// MARK: (b) Through the real transport

func withSandbox<T>(
    faults: FaultConfiguration = .none, _ body: (SandboxServer) async throws -> T
) async throws -> T {
    let server = SandboxServer(
        configuration: SandboxConfiguration(port: 0, faults: faults, recordsRequests: true))
    try await server.start()
    let result = try await body(server)
    await server.stop()
    return result
}

func sandboxImport(
    server: SandboxServer, provider: String, list: String, rows: Int, batchSize: Int?,
    concurrency: Int, rateLimit: Double? = nil
) async throws -> (seconds: Double, added: Int) {
    try await AsyncHTTPClientTransport.withTransport(configuration: .init(proxy: nil)) { http in
        let client = ContactorClient(
            configuration: .init(
                transport: http, providers: ProviderRegistry(BuiltInProviders.all),
                concurrency: concurrency, logger: quietLogger(),
                credentials: CredentialResolver(
                    explicit: SandboxDemo.standard.credentials(for: provider)),
                middlewares: [LoggingMiddleware()],
                rateLimit: rateLimit.map { .perSecond($0) } ?? .unlimited))
        let started = ContinuousClock.now
        let run = try await client.importRecords(
            GeneratedRecords(count: rows), provider: provider, list: list,
            options: RunOptions(endpoint: server.url(for: provider), batchSize: batchSize))
        var added = 0
        for try await outcome in run where outcome.result.status == .added { added += 1 }
        return ((ContinuousClock.now - started).seconds, added)
    }
}

func transport(rows: Int) async throws {
    try await withSandbox { server in
        for (provider, list, batch) in [("octopush", "demo", 200), ("avosms", "1001", 1)] {
            let count = provider == "avosms" ? min(rows, 5_000) : rows
            await server.reset()
            server.clearRequests()
            let (seconds, added) = try await sandboxImport(
                server: server, provider: provider, list: list, rows: count, batchSize: batch,
                concurrency: 4)
            let requests = server.requests.count
            print(
                "transport: \(provider), \(count) rows, batch \(batch), concurrency 4, "
                    + "AsyncHTTPClient → sandbox on 127.0.0.1: \(added) added in "
                    + "\(format(seconds, 2)) s: \(format(Double(added) / seconds)) contacts/s, "
                    + "\(requests) requests (\(format(Double(requests) / seconds)) req/s)")
        }
    }
}

// MARK: (c) Memory flatness

func memoryChild(rows: Int) async throws {
    let before = procStatusKiB("VmHWM") ?? -1
    let seen = try await importToMemory(rows: rows, batchSize: 100, concurrency: 4)
    let peak = procStatusKiB("VmHWM") ?? -1
    print("rows=\(seen) vmhwm_kib=\(peak) vmhwm_before_kib=\(before)")
}

func memory(small: Int, large: Int) async throws {
    func child(_ rows: Int) throws -> (peak: Int, seconds: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["memory-child", String(rows)]
        let pipe = Pipe()
        process.standardOutput = pipe
        let started = ContinuousClock.now
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let field = text.split(separator: " ").first(where: { $0.hasPrefix("vmhwm_kib=") }),
            let peak = Int(field.dropFirst("vmhwm_kib=".count))
        else { throw CocoaError(.fileReadCorruptFile) }
        return (peak, (ContinuousClock.now - started).seconds)
    }
    let a = try child(small)
    let b = try child(large)
    print(
        "memory: peak RSS (VmHWM) importing \(small) rows: \(a.peak) KiB (\(format(a.seconds, 1)) s); "
            + "\(large) rows: \(b.peak) KiB (\(format(b.seconds, 1)) s); ratio "
            + format(Double(b.peak) / Double(a.peak), 3))
}

// MARK: (d) Rate-limit adherence

func rateLimit() async throws {
    try await withSandbox { server in
        for (rate, rows) in [(10.0, 41), (20.0, 81), (50.0, 201)] {
            await server.reset()
            server.clearRequests()
            _ = try await sandboxImport(
                server: server, provider: "avosms", list: "1001", rows: rows, batchSize: 1,
                concurrency: 4, rateLimit: rate)
            let arrivals = server.requests.map(\.receivedAt).sorted()
            guard let first = arrivals.first, let last = arrivals.last else { continue }
            let achieved = Double(arrivals.count - 1) / (last - first).seconds
            print(
                "ratelimit: configured \(format(rate)) req/s, \(arrivals.count) requests over "
                    + "\(format((last - first).seconds, 2)) s: achieved \(format(achieved, 2)) req/s "
                    + "(\(format((achieved / rate - 1) * 100, 1)) %)")
        }
    }
}

// MARK: Main

let arguments = Array(CommandLine.arguments.dropFirst())
let name = arguments.first ?? "all"
func number(_ index: Int, _ fallback: Int) -> Int {
    arguments.count > index ? Int(arguments[index]) ?? fallback : fallback
}
switch name {
case "throughput": try await throughput(rows: number(1, 200_000))
case "transport": try await transport(rows: number(1, 20_000))
case "memory": try await memory(small: number(1, 10_000), large: number(2, 1_000_000))
case "memory-child": try await memoryChild(rows: number(1, 10_000))
case "ratelimit": try await rateLimit()
case "all":
    try await throughput(rows: 200_000)
    try await transport(rows: 20_000)
    try await memory(small: 10_000, large: 1_000_000)
    try await rateLimit()
default:
    FileHandle.standardError.write(
        Data("usage: contactor-bench throughput|transport|memory|ratelimit|all [N]\n".utf8))
    exit(2)
}
