import Contactor
import ContactorStore
import ContactorTesting
import Foundation
import Testing

/// Records with a `phone` column, line `i + 2` for the `i`-th number.
private struct PhoneRecords: AsyncSequence, Sendable {
    let phones: [String]

    func makeAsyncIterator() -> Iterator { Iterator(phones: phones) }

    struct Iterator: AsyncIteratorProtocol {
        let phones: [String]
        var index = 0

        mutating func next() async -> InputRecord? {
            guard index < phones.count else { return nil }
            defer { index += 1 }
            return InputRecord(line: index + 2, columns: [("phone", phones[index])])
        }
    }
}

/// A run takes its SQLite journal: a second run on the same file waits for nothing and is
/// refused, naming the first; the lock goes with the first run's end.
@Suite struct JournalLockTests {
    @Test func aSecondRunOnTheSameJournalIsRefusedUntilTheFirstEnds() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("run.sqlite").path
        let phones = (0..<20).map { "+3361200\(String(format: "%04d", $0))" }
        let info = RunInfo(
            operation: .add, provider: "memory", list: "l", inputPath: "x.csv", inputDigest: "d")
        func client() throws -> ContactorClient {
            ContactorClient(
                configuration: .init(
                    transport: MockTransport.unreachable,
                    providers: ProviderRegistry([InMemoryProvider()]),
                    journal: try SQLiteJournal(path: path)))
        }

        let first = try await client().importRecords(
            PhoneRecords(phones: phones), provider: "memory", list: "l",
            options: RunOptions(runInfo: info))
        // Started, not yet read: it holds the journal.
        let error = await #expect(throws: ContactorError.self) {
            _ = try await client().importRecords(
                PhoneRecords(phones: phones), provider: "memory", list: "l",
                options: RunOptions(runInfo: info))
        }
        #expect(error?.code == .busy)
        #expect(error?.message.contains("the journal \(path) is in use by pid \(getpid())") == true)

        var outcomes = 0
        for try await _ in first { outcomes += 1 }
        #expect(outcomes == 20)
        // The first run ended: its lock went with it.
        let second = try await client().importRecords(
            PhoneRecords(phones: phones), provider: "memory", list: "l",
            options: RunOptions(runInfo: info))
        for try await _ in second {}
        #expect(try await SQLiteJournal(path: path).lastUnfinishedRun() == nil)
    }
}
