import Contactor
import ContactorSandbox
import ContactorStore
import ContactorTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `contactor import --journal` killed with SIGKILL in the middle of a run, then resumed.
@Suite("contactor import: resume after SIGKILL")
struct ResumeAfterKillTests {
    @Test(
        "a run killed mid-way resumes to completion: every contact once at Octopush, a final outcome per line; a changed input is refused"
    )
    func resumeAfterSIGKILL() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let phones = frenchMobiles(300)
        let csv = directory.appendingPathComponent("big.csv")
        let content =
            "phone,first_name\n"
            + phones.enumerated().map { "\($1),Name\($0)\n" }.joined()
        try Data(content.utf8).write(to: csv)
        let journalPath = directory.appendingPathComponent("run.sqlite").path

        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(120))) {
            server in
            let credentials = SandboxDemo.standard.credentials(for: "octopush")
            let arguments =
                [
                    "import", csv.path, "--provider", "octopush", "--list", "demo",
                    "--journal", journalPath, "--concurrency", "2", "--batch-size", "10",
                    "--endpoint", server.url(for: "octopush").absoluteString, "--output", "json",
                ]
                + credentials.sorted { $0.key < $1.key }.flatMap {
                    ["--credential", "\($0.key)=\($0.value)"]
                }
            let contactor = try CommandLineProcess.contactor()

            // 1. Start, wait until some outcomes are out (each is in the journal before it
            //    is printed), then SIGKILL.
            let out = directory.appendingPathComponent("first.out")
            let err = directory.appendingPathComponent("first.err")
            let process = try contactor.start(arguments, stdout: out, stderr: err)
            let printedSome = await poll(timeout: .seconds(60)) {
                let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").count >= 20 || !process.isRunning
            }
            #expect(printedSome)
            try #require(process.isRunning, "the import ended before it could be killed")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let printedBeforeKill =
                ((try? String(contentsOf: out, encoding: .utf8)) ?? "")
                .split(separator: "\n").count
            // The kill came in the middle: the emulator does not have everything yet.
            let storedAtKill = await server.contacts(provider: "octopush", list: "demo").count
            #expect(storedAtKill < phones.count)

            let journal = try SQLiteJournal(path: journalPath)
            let (runID, _) = try #require(try await journal.lastUnfinishedRun())
            let recorded = try await journal.entries(run: runID)
            #expect(recorded.count >= printedBeforeKill)
            #expect(recorded.count < phones.count)

            // 2. --resume with a changed input is refused (exit 2) with a clear message.
            let changed = content + "+33699999999,Extra\n"
            try Data(changed.utf8).write(to: csv)
            let refused = try await contactor.run(arguments + ["--resume"])
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("input's content differs"), "\(refused.stderr)")
            #expect(refused.stdout.isEmpty)
            try Data(content.utf8).write(to: csv)

            // 3. --resume runs to completion.
            let resumed = try await contactor.run(arguments + ["--resume"], timeout: .seconds(120))
            #expect(resumed.status == 0, "\(resumed.stderr)")
            // Every line is printed once: the replayed ones and the new ones.
            let lines = resumed.stdoutLines.compactMap { line -> Int? in
                guard let json = try? JSONValue.decode(Data(line.utf8)) else { return nil }
                return json["line"]?.intValue.map(Int.init)
            }
            #expect(lines == Array(2...301))

            let stored = await server.contacts(provider: "octopush", list: "demo").map(\.phone)
            #expect(stored.count == phones.count)
            #expect(Set(stored) == Set(phones))

            let entries = try await journal.entries(run: runID)
            #expect(Set(entries.map(\.line)) == Set(2...301))
            #expect(entries.allSatisfy { $0.isFinal })
            #expect(try await journal.lastUnfinishedRun() == nil)
        }
    }
}

/// `contactor import --rate-limit`: the CLI's own transport stack, measured at the server.
@Suite("contactor import: rate limit")
struct CommandLineRateLimitTests {
    /// Writes a CSV of `phones` in a fresh directory and returns its path.
    private func csvFile(_ phones: [String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let csv = directory.appendingPathComponent("contacts.csv")
        try Data(("phone\n" + phones.map { $0 + "\n" }.joined()).utf8).write(to: csv)
        return csv
    }

    @Test("--rate-limit 10 never lets 25 Avosms adds go faster than 10 req/s")
    func rateLimitFlagIsHeld() async throws {
        let phones = frenchMobiles(25)
        let csv = try csvFile(phones)
        defer { try? FileManager.default.removeItem(at: csv.deletingLastPathComponent()) }
        try await withSandbox { server in
            let credentials = SandboxDemo.standard.credentials(for: "avosms")
            let started = ContinuousClock.now
            let result = try await CommandLineProcess.contactor().run(
                [
                    "import", csv.path, "--provider", "avosms", "--list", "1001",
                    "--rate-limit", "10", "--concurrency", "4",
                    "--endpoint", server.url(for: "avosms").absoluteString,
                ]
                    + credentials.sorted { $0.key < $1.key }.flatMap {
                        ["--credential", "\($0.key)=\($0.value)"]
                    })
            let elapsed = ContinuousClock.now - started
            #expect(result.status == 0, "\(result.stderr)")
            #expect(server.requests.count == phones.count)
            // 25 requests at 10 req/s cannot be sent in less than 2.4 s, however fast the
            // machine: a bound that a loaded machine only makes safer. (How close a run
            // comes to the limit is measured alone by `contactor-bench ratelimit`.)
            #expect(elapsed >= .milliseconds(2400), "25 requests in \(elapsed)")
        }
    }

    @Test("the CLI slows down on the provider's 429s and still adds every contact exactly once")
    func rateLimitFlagAdaptsToProviderLimit() async throws {
        let phones = frenchMobiles(16)
        let csv = try csvFile(phones)
        defer { try? FileManager.default.removeItem(at: csv.deletingLastPathComponent()) }
        // Three a second allowed, four sent at once: a 429 even on a slow, loaded machine.
        try await withSandbox(faults: FaultConfiguration(rateLimit: 3)) { server in
            let credentials = SandboxDemo.standard.credentials(for: "avosms")

            let result = try await CommandLineProcess.contactor().run(
                [
                    "import", csv.path, "--provider", "avosms", "--list", "1001",
                    "--rate-limit", "20", "--concurrency", "4",
                    "--endpoint", server.url(for: "avosms").absoluteString,
                ]
                    + credentials.sorted { $0.key < $1.key }.flatMap {
                        ["--credential", "\($0.key)=\($0.value)"]
                    })
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdoutLines.count == phones.count)
            let stored = await server.contacts(provider: "avosms", list: "1001").map(\.phone)
            #expect(stored.sorted() == phones.sorted())
            #expect(server.requests.contains { $0.status == 429 })
        }
    }
}

/// `contactor sync` killed with SIGKILL in the middle, then run again.
@Suite struct SyncAfterKillTests {
    @Test func aSyncKilledMidwayIsFinishedByRunningItAgain() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let phones = frenchMobiles(300, from: 4000)
        let csv = directory.appendingPathComponent("list.csv")
        try Data(("phone,first_name\n" + phones.map { "\($0),Ada\n" }.joined()).utf8).write(to: csv)
        let ledger = directory.appendingPathComponent("ledger.sqlite").path

        try await withSandbox(faults: FaultConfiguration(latency: .milliseconds(120))) { server in
            let arguments =
                [
                    "sync", csv.path, "--provider", "octopush", "--list", "demo", "--ledger",
                    ledger,
                    "--concurrency", "2", "--batch-size", "10",
                    "--endpoint", server.url(for: "octopush").absoluteString, "--output", "json",
                ]
                + demoCredentialArguments(for: "octopush")
            let contactor = try CommandLineProcess.contactor()
            let out = directory.appendingPathComponent("first.out")
            let process = try contactor.start(
                arguments, stdout: out, stderr: directory.appendingPathComponent("first.err"))
            _ = await poll(timeout: .seconds(60)) {
                let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").count >= 30 || !process.isRunning
            }
            try #require(process.isRunning, "the sync ended before it could be killed")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(await server.contacts(provider: "octopush", list: "demo").count < phones.count)

            // Run again: it ends in step.
            let second = try await contactor.run(arguments, timeout: .seconds(120))
            #expect(second.status == 0, "\(second.stderr)")
            let stored = await server.contacts(provider: "octopush", list: "demo").map(\.phone)
            #expect(stored.count == phones.count)
            #expect(Set(stored) == Set(phones))
            let entries = try await SQLiteLedger(path: ledger).entries(
                in: LedgerScope(
                    provider: "octopush", account: SandboxDemo.standard.octopush.apiLogin,
                    list: "demo"), origin: nil, after: nil, limit: 1000)
            #expect(entries.count == phones.count)
            #expect(entries.allSatisfy { $0.origin == .added && !$0.isPending })

            // And once more: nothing left to send.
            server.clearRequests()
            let third = try await contactor.run(arguments, timeout: .seconds(120))
            #expect(third.status == 0, "\(third.stderr)")
            #expect(server.requests.isEmpty)
            #expect(third.stdoutLines.count == phones.count)
            #expect(third.stdoutLines.allSatisfy { $0.contains(#""status":"skipped""#) })
        }
    }
}
