import Contactor
import ContactorSandbox
import ContactorStore
import ContactorTesting
import Foundation
import Testing

/// The kill-and-resume trial of docs/transport.md: `contactor import --journal` killed
/// with SIGKILL at a random moment, then `--resume`d, as many times as
/// `CONTACTOR_KILL_TRIALS` says (2 in the suite; `scripts/kill-trials N` runs more). Each
/// trial prints `trial K: killed after N outcomes, lost 0, sent twice D (limit L)` and
/// must lose nothing and resend at most the batches in flight (concurrency × batch size).
@Suite struct KillTrialTests {
    static var trials: Int {
        Int(ProcessInfo.processInfo.environment["CONTACTOR_KILL_TRIALS"] ?? "") ?? 2
    }

    @Test func killedAndResumedImportsLoseNothingAndResendOnlyWhatWasInFlight() async throws {
        let seed =
            UInt64(ProcessInfo.processInfo.environment["CONTACTOR_KILL_SEED"] ?? "")
            ?? UInt64.random(in: 1...1_000_000)
        var random = SplitMix(seed: seed)
        print("kill trials: \(Self.trials), seed \(seed) (CONTACTOR_KILL_SEED repeats them)")
        for trial in 1...Self.trials {
            try await Self.trial(trial, killAfter: Int(random.next() % 150) + 1)
        }
    }

    /// One trial: 200 Avosms adds (one contact per request, so that the requests the
    /// emulator received count the contacts sent), 4 in flight.
    static func trial(_ number: Int, killAfter: Int) async throws {
        let concurrency = 4
        let batch = 1
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let phones = frenchMobiles(200, from: 7000)
        let csv = directory.appendingPathComponent("in.csv")
        try Data(("phone\n" + phones.map { $0 + "\n" }.joined()).utf8).write(to: csv)
        let journal = directory.appendingPathComponent("run.sqlite").path

        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(15))) { server in
            let arguments =
                [
                    "import", csv.path, "--provider", "avosms", "--list", "1001",
                    "--journal", journal, "--concurrency", "\(concurrency)",
                    "--endpoint", server.url(for: "avosms").absoluteString, "--output", "json",
                ]
                + demoCredentialArguments(for: "avosms")
            let contactor = try CommandLineProcess.contactor()
            let out = directory.appendingPathComponent("first.out")
            let process = try contactor.start(
                arguments, stdout: out, stderr: directory.appendingPathComponent("first.err"))
            _ = await poll(timeout: .seconds(60)) {
                let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").count >= killAfter || !process.isRunning
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let printed = ((try? String(contentsOf: out, encoding: .utf8)) ?? "")
                .split(separator: "\n").count

            let resumed = try await contactor.run(arguments + ["--resume"], timeout: .seconds(120))
            // A kill after the last outcome leaves a finished run: nothing to resume.
            let finishedFirst = resumed.stderr.contains("no unfinished run to resume")
            #expect(resumed.status == 0 || finishedFirst, "\(resumed.stderr)")

            let stored = Set(await server.contacts(provider: "avosms", list: "1001").map(\.phone))
            let lost = phones.filter { !stored.contains($0) }.count
            let adds = server.requests.filter { $0.path.hasSuffix("/contact/add") }.count
            let twice = adds - phones.count
            print(
                "trial \(number): killed after \(printed) outcomes, lost \(lost), sent twice \(twice) (limit \(concurrency * batch))"
            )
            #expect(lost == 0, "trial \(number)")
            #expect(twice <= concurrency * batch, "trial \(number)")
            let entries = try await SQLiteJournal(path: journal).entries(run: 1)
            #expect(Set(entries.map(\.line)) == Set(2...201), "trial \(number)")
        }
    }
}

/// A small seeded generator, so that a trial's kill points can be repeated.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
