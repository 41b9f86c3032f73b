import Contactor
import Foundation

/// A ``RunJournal`` kept in memory, for tests: durable for as long as the value lives.
///
/// Besides the protocol, it tells tests whether a run is finished and how many times
/// outcomes were recorded.
public actor InMemoryJournal: RunJournal {
    private struct Run {
        var info: RunInfo
        var finished = false
        var entries: [Int: JournalEntry] = [:]
    }

    private var runs: [Int64: Run] = [:]
    private var nextID: Int64 = 1

    /// How many times ``record(_:run:)`` was called.
    public private(set) var recordCalls = 0

    /// Creates an empty journal.
    public init() {}

    public func startRun(_ info: RunInfo) -> Int64 {
        defer { nextID += 1 }
        runs[nextID] = Run(info: info)
        return nextID
    }

    public func lastUnfinishedRun() -> (id: Int64, info: RunInfo)? {
        runs.filter { !$0.value.finished }.max { $0.key < $1.key }.map { ($0.key, $0.value.info) }
    }

    public func finishedLines(run: Int64) throws -> IndexSet {
        IndexSet(try existing(run).entries.values.filter(\.isFinal).map(\.line))
    }

    public func record(_ entries: [JournalEntry], run: Int64) throws {
        _ = try existing(run)
        recordCalls += 1
        for entry in entries { runs[run]?.entries[entry.line] = entry }
    }

    public func finishRun(_ run: Int64) throws {
        _ = try existing(run)
        runs[run]?.finished = true
    }

    public func entries(run: Int64) throws -> [JournalEntry] {
        try existing(run).entries.values.sorted { $0.line < $1.line }
    }

    /// Whether `run` is marked finished.
    public func isFinished(_ run: Int64) -> Bool { runs[run]?.finished ?? false }

    private func existing(_ run: Int64) throws -> Run {
        guard let found = runs[run] else {
            throw ContactorError(.journalFailed, "the journal has no run \(run)")
        }
        return found
    }
}
