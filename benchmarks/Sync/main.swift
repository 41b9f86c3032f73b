// contactor-sync-bench: what a sync of a large file costs beside reading and normalising
// it (docs/performance.md, "Sync").
//
//   swift run -c release contactor-sync-bench [ROWS]      # default 1,000,000
//
// Each phase runs in a child process of its own, so that its peak RSS is its own:
//   validate  the rows mapped, normalised and checked, nothing sent (the floor);
//   fill      a first sync into an empty SQLite ledger: every row added;
//   resync    the same rows with 1 % of them changed (every 100th first name): 1 %
//             updated, 99 % compared with the ledger and not sent.
// The provider is in memory (no history), so the numbers are Contactor's own work.
import Contactor
import ContactorStore
import ContactorTesting
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `count` generated rows, made as the engine asks for them; with `changed`, every 100th
/// row has another first name.
struct Rows: AsyncSequence, Sendable {
    let count: Int
    let changed: Bool

    func makeAsyncIterator() -> Iterator { Iterator(count: count, changed: changed) }

    struct Iterator: AsyncIteratorProtocol {
        let count: Int
        let changed: Bool
        var index = 0

        mutating func next() async -> InputRecord? {
            guard index < count else { return nil }
            defer { index += 1 }
            let digits = String(12_000_000 + index)
            let national =
                "06 \(digits.dropFirst(0).prefix(2)) \(digits.dropFirst(2).prefix(2)) \(digits.dropFirst(4).prefix(2)) \(digits.dropFirst(6).prefix(2))"
            let name = changed && index % 100 == 0 ? "Grace" : "Ada"
            return InputRecord(
                line: index + 2,
                columns: [("phone", national), ("first_name", name), ("last_name", "Lovelace")])
        }
    }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func peakKiB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}

func client() -> ContactorClient {
    var logger = Logger(label: "contactor-sync-bench")
    logger.logLevel = .critical
    return ContactorClient(
        configuration: .init(
            transport: MockTransport.unreachable,
            providers: ProviderRegistry([
                InMemoryProvider(
                    descriptor: InMemoryProvider.descriptor(batchSize: 100), keepsHistory: false)
            ]), logger: logger))
}

/// Runs one phase here and prints `phase rows wall cpu peakKiB statuses`.
func child(_ phase: String, rows: Int, ledgerPath: String) async throws {
    let started = ContinuousClock.now
    let cpu = cpuSeconds()
    var counts: [String: Int] = [:]
    let client = client()
    let run: ImportRun
    switch phase {
    case "validate":
        run = try await client.validate(
            Rows(count: rows, changed: false), provider: "memory", options: RunOptions(region: "FR")
        )
    default:
        run = try await client.sync(
            Rows(count: rows, changed: phase == "resync"), provider: "memory", list: "l",
            ledger: try SQLiteLedger(path: ledgerPath),
            options: SyncOptions(run: RunOptions(region: "FR")))
    }
    for try await outcome in run { counts[outcome.result.status.rawValue, default: 0] += 1 }
    let wall = (ContinuousClock.now - started).seconds
    let summary = counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        .joined(separator: ",")
    print("\(phase) \(rows) \(wall) \(cpuSeconds() - cpu) \(peakKiB()) \(summary)")
}

func parent(rows: Int) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "contactor-sync-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let ledger = directory.appendingPathComponent("ledger.sqlite").path
    var results: [String: [Substring]] = [:]
    print("| phase | rows | wall | CPU | rows per CPU-second | peak RSS | outcomes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for phase in ["validate", "fill", "resync"] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["child", phase, String(rows), ledger]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let fields = String(decoding: data, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard fields.count == 6, let wall = Double(fields[2]), let cpu = Double(fields[3]),
            let peak = Int(fields[4])
        else {
            print("\(phase): unexpected output \(String(decoding: data, as: UTF8.self))")
            exit(1)
        }
        results[phase] = fields
        print(
            "| \(phase) | \(rows) | \(String(format: "%.2f s", wall)) | \(String(format: "%.2f s", cpu)) | \(Int(Double(rows) / cpu)) | \(peak / 1024) MiB | \(fields[5]) |"
        )
    }
    if let validate = results["validate"].flatMap({ Double($0[3]) }),
        let resync = results["resync"].flatMap({ Double($0[3]) })
    {
        print("")
        print("resync / validate CPU: \(String(format: "%.2f", resync / validate))×")
    }
}

let arguments = CommandLine.arguments
if arguments.count >= 5, arguments[1] == "child" {
    try await child(arguments[2], rows: Int(arguments[3]) ?? 0, ledgerPath: arguments[4])
} else {
    try parent(rows: arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000)
}
