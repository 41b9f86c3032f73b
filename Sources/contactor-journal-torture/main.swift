// A test helper for ContactorStoreTests: opens the journal at argv[1], starts a run,
// records argv[2] entries in batches of argv[3], prints "recorded <run id>" on stdout,
// then blocks until it is killed. The test kills it with SIGKILL and checks that every
// entry recorded before the line was printed is in the journal.
import Contactor
import ContactorStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[2]), let batchSize = Int(arguments[3]),
    count >= 0, batchSize > 0
else {
    FileHandle.standardError.write(
        Data("usage: contactor-journal-torture JOURNAL COUNT BATCH_SIZE\n".utf8))
    exit(2)
}

do {
    let journal = try SQLiteJournal(path: arguments[1])
    let run = try await journal.startRun(
        RunInfo(
            operation: .add, provider: "octopush", list: "torture", inputPath: "torture.csv",
            inputDigest: String(repeating: "0", count: 64)))
    var line = 2
    while line < count + 2 {
        let end = min(line + batchSize, count + 2)
        let entries = (line..<end).map { line in
            JournalEntry(
                line: line, phone: "+336\(String(format: "%08d", line))",
                result: .added(id: "id-\(line)"))
        }
        try await journal.record(entries, run: run)
        line = end
    }
    // Unbuffered: the line is out before the wait starts.
    FileHandle.standardOutput.write(Data("recorded \(run)\n".utf8))
} catch {
    FileHandle.standardError.write(Data("contactor-journal-torture: \(error)\n".utf8))
    exit(1)
}

while true { pause() }
