import Contactor
import ContactorStore
import ContactorTesting
import Foundation
import GRDB
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh directory for one test, removed when the value is dropped.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("contactor-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

let sampleInfo = RunInfo(
    operation: .add, provider: "octopush", list: "customers", inputPath: "contacts.csv",
    inputDigest: String(repeating: "ab", count: 32),
    startedAt: Date(timeIntervalSince1970: 1_700_000_000.25))

func entry(_ line: Int, _ result: ContactResult, phone: String? = nil) -> JournalEntry {
    JournalEntry(
        line: line, phone: phone ?? "+3361234\(String(format: "%04d", line))", result: result)
}

@Suite struct SQLiteJournalTests {
    @Test func createsTheFileInWALModeAndReopensWithItsRuns() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("journal.sqlite")
        #expect(!FileManager.default.fileExists(atPath: path))
        do {
            let journal = try SQLiteJournal(path: path)
            let run = try await journal.startRun(sampleInfo)
            try await journal.record([entry(2, .added(id: "a"))], run: run)
        }
        #expect(FileManager.default.fileExists(atPath: path))
        // Bytes 18 and 19 of an SQLite header are 2 when the database is in WAL mode.
        let header = try #require(FileHandle(forReadingAtPath: path)).readData(ofLength: 20)
        #expect(Array(header.prefix(16)) == Array("SQLite format 3\0".utf8))
        #expect(header[18] == 2 && header[19] == 2)

        let reopened = try SQLiteJournal(path: path)
        let last = try #require(try await reopened.lastUnfinishedRun())
        #expect(last.info == sampleInfo)
        #expect(try await reopened.entries(run: last.id) == [entry(2, .added(id: "a"))])
    }

    @Test func laterEntriesReplaceEarlierOnesAndFinishedLinesExcludeFailures() async throws {
        let directory = try TemporaryDirectory()
        let journal = try SQLiteJournal(path: directory.path("j.sqlite"))
        let run = try await journal.startRun(sampleInfo)
        let timeout = ContactError(.timeout, "no answer in 30 s", isTransient: true)
        let invalid = ContactError(.invalidPhone, "'12' is too short", providerCode: "ERR_104")
        try await journal.record(
            [
                entry(2, .added(id: "1")), entry(3, .failed(timeout)),
                entry(4, .rejected(invalid), phone: nil),
                entry(5, .skipped(ContactError(.alreadyInList, "already there"), id: "5")),
                entry(6, .failed(timeout)), entry(7, .added(id: "7")),
                entry(7, .failed(timeout)),  // same call: the later one wins
            ], run: run)
        #expect(try await journal.finishedLines(run: run) == IndexSet([2, 4, 5]))

        try await journal.record(
            [entry(3, .added(id: "3")), entry(7, .updated(id: "7"))], run: run)
        #expect(try await journal.finishedLines(run: run) == IndexSet([2, 3, 4, 5, 7]))
        // A final outcome can also be replaced by a failure (a retried line failing again).
        try await journal.record([entry(2, .failed(timeout))], run: run)
        #expect(try await journal.finishedLines(run: run) == IndexSet([3, 4, 5, 7]))

        let entries = try await journal.entries(run: run)
        #expect(entries.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(entries[0] == entry(2, .failed(ContactError(.timeout, "no answer in 30 s"))))
        #expect(entries[1] == entry(3, .added(id: "3")))
        #expect(entries[2] == entry(4, .rejected(invalid), phone: nil))
        #expect(entries[3].result.id == "5" && entries[3].result.error?.code == .alreadyInList)
        #expect(entries[5] == entry(7, .updated(id: "7")))
    }

    @Test func entriesOfOneRunDoNotLeakIntoAnother() async throws {
        let directory = try TemporaryDirectory()
        let journal = try SQLiteJournal(path: directory.path("j.sqlite"))
        let first = try await journal.startRun(sampleInfo)
        let second = try await journal.startRun(sampleInfo)
        try await journal.record([entry(2, .added()), entry(3, .added())], run: first)
        try await journal.record([entry(3, .deleted())], run: second)
        #expect(try await journal.finishedLines(run: first) == IndexSet([2, 3]))
        #expect(try await journal.finishedLines(run: second) == IndexSet([3]))
        #expect(try await journal.entries(run: second) == [entry(3, .deleted())])
    }

    @Test func entriesOfALineRangeAreThoseLinesOfThatRunInOrder() async throws {
        let directory = try TemporaryDirectory()
        let journal = try SQLiteJournal(path: directory.path("j.sqlite"))
        let run = try await journal.startRun(sampleInfo)
        let other = try await journal.startRun(sampleInfo)
        try await journal.record((2...20).reversed().map { entry($0, .added()) }, run: run)
        try await journal.record([entry(5, .deleted())], run: other)
        let window = try await journal.entries(run: run, lines: 5...8)
        #expect(window == (5...8).map { entry($0, .added()) })
        #expect(try await journal.entries(run: run, lines: 30...40).isEmpty)
        #expect(try await journal.entries(run: run, lines: 1...2) == [entry(2, .added())])
    }

    @Test func lastUnfinishedRunIsTheNewestRunNotYetFinished() async throws {
        let directory = try TemporaryDirectory()
        let journal = try SQLiteJournal(path: directory.path("j.sqlite"))
        #expect(try await journal.lastUnfinishedRun() == nil)
        var other = sampleInfo
        other.list = "prospects"
        let first = try await journal.startRun(sampleInfo)
        let second = try await journal.startRun(other)
        #expect(try await journal.lastUnfinishedRun()?.id == second)
        #expect(try await journal.lastUnfinishedRun()?.info == other)
        try await journal.finishRun(second)
        #expect(try await journal.lastUnfinishedRun()?.id == first)
        try await journal.finishRun(first)
        try await journal.finishRun(first)  // finishing twice is harmless
        #expect(try await journal.lastUnfinishedRun() == nil)
        // A finished run keeps its entries.
        #expect(try await journal.entries(run: first) == [])
    }

    @Test func unknownRunsAreRefusedWithAClearError() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("j.sqlite")
        let journal = try SQLiteJournal(path: path)
        let calls: [(String, @Sendable () async throws -> Void)] = [
            ("record", { try await journal.record([entry(2, .added())], run: 42) }),
            ("finishRun", { try await journal.finishRun(42) }),
            ("finishedLines", { _ = try await journal.finishedLines(run: 42) }),
            ("entries", { _ = try await journal.entries(run: 42) }),
        ]
        for (name, call) in calls {
            let error = await #expect(throws: JournalError.self, "\(name)") { try await call() }
            #expect(error?.code == .unknownRun)
            #expect(error?.description == "\(path): no run 42 is recorded in this journal")
        }
    }

    @Test func concurrentRecordCallsFromManyTasksAreAllKept() async throws {
        let directory = try TemporaryDirectory()
        let journal = try SQLiteJournal(path: directory.path("j.sqlite"))
        let run = try await journal.startRun(sampleInfo)
        let tasks = 40
        let perTask = 25
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        let line = 2 + task * perTask + index
                        let result: ContactResult =
                            line.isMultiple(of: 5)
                            ? .failed(ContactError(.rateLimited, "slow down"))
                            : .added(id: "\(line)")
                        try await journal.record([entry(line, result)], run: run)
                    }
                }
            }
            try await group.waitForAll()
        }
        let lines = 2..<(2 + tasks * perTask)
        #expect(try await journal.entries(run: run).compactMap(\.line) == Array(lines))
        #expect(
            try await journal.finishedLines(run: run)
                == IndexSet(lines.filter { !$0.isMultiple(of: 5) }))
    }

    @Test func entriesRecordedByAProcessKilledWithSIGKILLSurvive() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("torture.sqlite")
        let count = 500
        let helper = productsDirectory().appendingPathComponent("contactor-journal-torture")
        #expect(FileManager.default.isExecutableFile(atPath: helper.path))

        let process = Process()
        process.executableURL = helper
        process.arguments = [path, "\(count)", "7"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Blocks until the helper prints its line (or exits, which ends the read with EOF).
        var printed = Data()
        while !printed.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed.append(chunk)
        }
        let said = String(decoding: printed, as: UTF8.self)
        #expect(said.hasPrefix("recorded "))
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)

        let journal = try SQLiteJournal(path: path)
        let run = try #require(try await journal.lastUnfinishedRun())
        #expect(said == "recorded \(run.id)\n")
        let entries = try await journal.entries(run: run.id)
        #expect(entries.count == count)
        #expect(entries.map(\.line) == Array(2..<(count + 2)))
        #expect(entries.last?.result == .added(id: "id-\(count + 1)"))
        #expect(
            try await journal.finishedLines(run: run.id) == IndexSet(integersIn: 2..<(count + 2)))
    }

    @Test func theSchemaHasNoCredentialColumnAndTheFileHoldsNoSecret() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("j.sqlite")
        let secret = "s3cr3t-api-key-\(UUID().uuidString)"
        let credentials = Credentials(provider: "octopush", ["api_login": "me", "api_key": secret])
        #expect(credentials.secrets.map { $0.reveal() }.contains(secret))
        do {
            let journal = try SQLiteJournal(path: path)
            let run = try await journal.startRun(sampleInfo)
            // What a run would record for an authentication failure, with the message
            // redacted as providers do.
            let message = credentials.redactor.redact("key \(secret) refused")
            try await journal.record(
                [entry(2, .failed(ContactError(.authFailed, message, providerCode: "ERR_101")))],
                run: run)
            try await journal.finishRun(run)
        }
        let queue = try DatabaseQueue(path: path)
        let columns = try await queue.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
                    WHERE m.type = 'table' AND m.name IN ('runs', 'outcomes')
                    """)
        }
        #expect(
            Set(columns) == [
                "runs.id", "runs.operation", "runs.provider", "runs.list", "runs.input_path",
                "runs.input_digest", "runs.started_at", "runs.finished_at", "outcomes.run_id",
                "outcomes.line", "outcomes.phone", "outcomes.status", "outcomes.result_id",
                "outcomes.error_code", "outcomes.message", "outcomes.provider_code",
                "outcomes.updated_at",
            ])
        for column in columns {
            for word in ["credential", "secret", "key", "password", "token"] {
                #expect(!column.contains(word))
            }
        }
        try queue.close()
        for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file)")
        }
    }

    @Test func aFileThatIsNotSQLiteIsRefusedAndLeftUntouched() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("notes.txt")
        let content = Data(
            String(repeating: "phone,first_name\n+33612345678,Ada\n", count: 100).utf8)
        try content.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: JournalError.self) { try SQLiteJournal(path: path) }
        #expect(error?.code == .notAJournal)
        #expect(error?.description == "\(path): is not an SQLite database, so not a journal")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
    }

    @Test func anotherProgramsSQLiteDatabaseIsRefusedAndNotConvertedToWAL() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("other.sqlite")
        do {
            let other = try DatabaseQueue(path: path)
            try other.write { db in
                try db.execute(
                    sql: "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('x')")
            }
            try other.close()
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = #expect(throws: JournalError.self) { try SQLiteJournal(path: path) }
        #expect(error?.code == .notAJournal)
        #expect(
            error?.description
                == "\(path): is an SQLite database of another program, not a Contactor journal")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func aJournalFromANewerSchemaIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("j.sqlite")
        _ = try SQLiteJournal(path: path)
        do {
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v2: from the future')")
            }
            try queue.close()
        }
        let error = #expect(throws: JournalError.self) { try SQLiteJournal(path: path) }
        #expect(error?.code == .newerSchema)
        #expect(error?.description.hasPrefix("\(path): was written by a newer version") == true)
    }

    @Test(arguments: ["missing-directory/j.sqlite", ""])
    func aPathThatCannotBeCreatedIsACannotOpenError(_ name: String) throws {
        let directory = try TemporaryDirectory()
        let path = name.isEmpty ? directory.url.path : directory.path(name)
        let error = #expect(throws: JournalError.self) { try SQLiteJournal(path: path) }
        #expect(error?.code == .cannotOpen)
        #expect(error?.path == path)
    }
}

@Suite struct InputDigestTests {
    @Test func digestOfAKnownInputIsTheStandardSHA256() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("abc.csv")
        try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        #expect(try InputDigest.sha256(ofFileAt: path) == expected)
        #expect(InputDigest.sha256(of: Data("abc".utf8)) == expected)
    }

    @Test func aFileLargerThanOneChunkDigestsLikeItsBytes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("big.csv")
        let bytes = Data(
            (0..<(InputDigest.chunkSize * 3 + 17)).map { UInt8(truncatingIfNeeded: $0 * 31) })
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try InputDigest.sha256(ofFileAt: path) == InputDigest.sha256(of: bytes))
        #expect(
            InputDigest.sha256(of: Data())
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func aMissingFileIsAnUnreadableInputError() throws {
        let error = #expect(throws: JournalError.self) {
            try InputDigest.sha256(ofFileAt: "/nonexistent/contacts.csv")
        }
        #expect(error?.code == .unreadableInput)
        #expect(error?.description == "/nonexistent/contacts.csv: cannot open the file for reading")
    }
}

/// The directory the package's executables are built into (next to the test binary).
func productsDirectory() -> URL {
    #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
    #endif
    return Bundle.main.bundleURL
}

@Suite struct SQLiteLedgerConformanceTests {
    @Test(arguments: LedgerConformance.Check.allCases)
    func theSQLiteLedgerConforms(_ check: LedgerConformance.Check) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("state/ledger.sqlite")
        try await LedgerConformance.run(check) { try SQLiteLedger(path: path) }
    }

    @Test func aSecondProcessIsRefusedAndALockDiesWithItsHolder() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("ledger.sqlite")
        let scope = LedgerScope(provider: "p", account: "a", list: "l")
        let ledger = try SQLiteLedger(path: path)
        let lease = try await ledger.acquire(for: scope, holder: "pid 1")
        // Another open of the same file, as another process would.
        let other = try SQLiteLedger(path: path)
        await #expect(throws: ContactorError.self) {
            _ = try await other.acquire(for: scope, holder: "pid 2")
        }
        await lease.release()
        let second = try await other.acquire(for: scope, holder: "pid 2")
        await second.release()
    }

    @Test func entriesSurviveReopening() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("ledger.sqlite")
        let scope = LedgerScope(provider: "p", account: "a", list: "l")
        try await SQLiteLedger(path: path).record(
            [LedgerEntry(phone: "+33612345678", fingerprint: "f", providerID: "7", origin: .added)],
            in: scope)
        let read = try await SQLiteLedger(path: path).entries(for: ["+33612345678"], in: scope)
        #expect(read["+33612345678"]?.providerID == "7")
    }

    @Test func aJournalFileIsNotTakenForALedger() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("run.sqlite")
        _ = try SQLiteJournal(path: path)
        #expect(throws: JournalError.self) { _ = try SQLiteLedger(path: path) }
    }
}

@Suite struct SQLiteJournalConformanceTests {
    @Test(arguments: JournalConformance.Check.allCases)
    func theSQLiteJournalConforms(_ check: JournalConformance.Check) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("run.sqlite")
        try await JournalConformance.run(check) { try SQLiteJournal(path: path) }
    }
}

@Suite struct InMemoryJournalConformanceTests {
    @Test(arguments: JournalConformance.Check.allCases)
    func theInMemoryJournalConforms(_ check: JournalConformance.Check) async throws {
        try await JournalConformance.run(check) { InMemoryJournal() }
    }
}
