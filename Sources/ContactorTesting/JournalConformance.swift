import Contactor
import Foundation

/// The behaviour every ``RunJournal`` must have, as checks a test target runs against its
/// own implementation (in-memory, SQLite, PostgreSQL): one function per check, each
/// throwing a ``JournalConformance/Failure`` that says what went wrong.
///
/// ```swift
/// @Test(arguments: JournalConformance.Check.allCases)
/// func myJournalConforms(_ check: JournalConformance.Check) async throws {
///     try await JournalConformance.run(check) { MyJournal(...) }
/// }
/// ```
public enum JournalConformance {
    /// One check.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        case recordsRunsAndReadsThemBack
        case laterEntriesReplaceEarlierOnes
        case keepsRunsApart
        case readsALineRangeInOrder
        case findsTheNewestUnfinishedRun
        case refusesAnUnknownRun
        case keepsConcurrentRecords

        public var description: String { rawValue }
    }

    /// A check that did not hold.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
    }

    /// Runs `check` against a fresh journal from `make`.
    public static func run(
        _ check: Check, _ make: @Sendable () async throws -> any RunJournal
    ) async throws {
        let journal = try await make()
        switch check {
        case .recordsRunsAndReadsThemBack: try await recordsRunsAndReadsThemBack(journal)
        case .laterEntriesReplaceEarlierOnes: try await laterEntriesReplaceEarlierOnes(journal)
        case .keepsRunsApart: try await keepsRunsApart(journal)
        case .readsALineRangeInOrder: try await readsALineRangeInOrder(journal)
        case .findsTheNewestUnfinishedRun: try await findsTheNewestUnfinishedRun(journal)
        case .refusesAnUnknownRun: try await refusesAnUnknownRun(journal)
        case .keepsConcurrentRecords: try await keepsConcurrentRecords(journal)
        }
    }

    static let info = RunInfo(
        operation: .add, provider: "octopush", list: "customers", inputPath: "contacts.csv",
        inputDigest: String(repeating: "ab", count: 32),
        startedAt: Date(timeIntervalSince1970: 1_700_000_000.25))

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Failure(description: message()) }
    }

    static func entry(_ line: Int, _ result: ContactResult, phone: String? = nil) -> JournalEntry {
        JournalEntry(
            line: line, phone: phone ?? "+3361234\(String(format: "%04d", line))", result: result)
    }

    /// A run's information and entries are read back as written: every status, ids, error
    /// codes, messages and provider codes, a missing phone.
    public static func recordsRunsAndReadsThemBack(_ journal: any RunJournal) async throws {
        let run = try await journal.startRun(info)
        let last = try await journal.lastUnfinishedRun()
        try expect(last?.id == run, "the new run \(run) is not the last unfinished one")
        try expect(
            last?.info == info,
            "the run's information reads back as \(String(describing: last?.info))")
        let written = [
            entry(2, .added(id: "a")), entry(3, .updated(id: "b")), entry(4, .deleted()),
            entry(
                5, .rejected(ContactError(.invalidPhone, "'12' is too short", providerCode: "E1")),
                phone: nil),
            entry(6, .skipped(ContactError(.alreadyInList, "already there"), id: "6")),
            entry(7, .failed(ContactError(.timeout, "no answer in 30 s"))),
        ]
        try await journal.record(written, run: run)
        let read = try await journal.entries(run: run)
        try expect(read == written, "the entries read back as \(read)")
    }

    /// A later entry for a line replaces the earlier one, in the same call or a later
    /// one, whichever its status; only `failed` lines are not finished.
    public static func laterEntriesReplaceEarlierOnes(_ journal: any RunJournal) async throws {
        let run = try await journal.startRun(info)
        let timeout = ContactError(.timeout, "no answer in 30 s")
        try await journal.record(
            [
                entry(2, .added(id: "1")), entry(3, .failed(timeout)), entry(4, .added(id: "4")),
                entry(4, .failed(timeout)),  // the same call: the later one wins
            ], run: run)
        var finished = try await journal.finishedLines(run: run)
        try expect(finished == IndexSet([2]), "finished lines \(Array(finished)), not [2]")
        try await journal.record([entry(3, .added(id: "3")), entry(4, .added(id: "4"))], run: run)
        try await journal.record([entry(2, .failed(timeout))], run: run)
        finished = try await journal.finishedLines(run: run)
        try expect(finished == IndexSet([3, 4]), "finished lines \(Array(finished)), not [3, 4]")
        let lines = try await journal.entries(run: run).map(\.line)
        try expect(lines == [2, 3, 4], "lines \(lines), not [2, 3, 4]")
    }

    /// The entries of one run never show in another.
    public static func keepsRunsApart(_ journal: any RunJournal) async throws {
        let first = try await journal.startRun(info)
        let second = try await journal.startRun(info)
        try expect(first != second, "two runs got the same id \(first)")
        try await journal.record([entry(2, .added()), entry(3, .added())], run: first)
        try await journal.record([entry(3, .deleted())], run: second)
        let lines = try await journal.finishedLines(run: first)
        try expect(lines == IndexSet([2, 3]), "run \(first) has lines \(Array(lines))")
        let entries = try await journal.entries(run: second)
        try expect(entries == [entry(3, .deleted())], "run \(second) has \(entries)")
    }

    /// A window of lines is those lines of that run, in line order.
    public static func readsALineRangeInOrder(_ journal: any RunJournal) async throws {
        let run = try await journal.startRun(info)
        let other = try await journal.startRun(info)
        try await journal.record((2...20).reversed().map { entry($0, .added()) }, run: run)
        try await journal.record([entry(5, .deleted())], run: other)
        let window = try await journal.entries(run: run, lines: 5...8)
        try expect(window == (5...8).map { entry($0, .added()) }, "lines 5...8 read as \(window)")
        let none = try await journal.entries(run: run, lines: 30...40)
        try expect(none.isEmpty, "lines 30...40 read as \(none)")
    }

    /// The last unfinished run is the newest not finished; finishing twice is harmless.
    public static func findsTheNewestUnfinishedRun(_ journal: any RunJournal) async throws {
        var other = info
        other.list = "prospects"
        let first = try await journal.startRun(info)
        let second = try await journal.startRun(other)
        var last = try await journal.lastUnfinishedRun()
        try expect(last?.id == second, "the last unfinished run is \(String(describing: last?.id))")
        try await journal.finishRun(second)
        last = try await journal.lastUnfinishedRun()
        try expect(
            last?.id == first, "after finishing \(second), it is \(String(describing: last?.id))")
        try await journal.finishRun(first)
        try await journal.finishRun(first)
        last = try await journal.lastUnfinishedRun()
        try expect(last == nil, "after finishing both, it is \(String(describing: last?.id))")
    }

    /// Recording into, finishing or reading a run that was never started is an error that
    /// names the run.
    public static func refusesAnUnknownRun(_ journal: any RunJournal) async throws {
        let unknown: Int64 = 987_654
        let calls: [(String, @Sendable () async throws -> Void)] = [
            ("record", { try await journal.record([entry(2, .added())], run: unknown) }),
            ("finishRun", { try await journal.finishRun(unknown) }),
            ("finishedLines", { _ = try await journal.finishedLines(run: unknown) }),
            ("entries", { _ = try await journal.entries(run: unknown) }),
        ]
        for (name, call) in calls {
            do {
                try await call()
                throw Failure(description: "\(name) of an unknown run did not fail")
            } catch let error as Failure {
                throw error
            } catch {
                try expect(
                    "\(error)".contains("\(unknown)"),
                    "\(name) of an unknown run failed without naming it: \(error)")
            }
        }
    }

    /// Entries recorded by many tasks at once are all kept.
    public static func keepsConcurrentRecords(_ journal: any RunJournal) async throws {
        let run = try await journal.startRun(info)
        let tasks = 20
        let perTask = 10
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        let line = 2 + task * perTask + index
                        try await journal.record([entry(line, .added(id: "\(line)"))], run: run)
                    }
                }
            }
            try await group.waitForAll()
        }
        let lines = try await journal.entries(run: run).map(\.line)
        try expect(lines == Array(2..<(2 + tasks * perTask)), "\(lines.count) lines kept of 200")
    }
}
