import Contactor
import Foundation
import Testing

@testable import ContactorCSV

/// A temporary directory, removed at the end of the test.
final class Scratch {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("contactor-csv-\(UUID().uuidString)")

    init() throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A CSV body of `count` rows after a `phone;note` header.
func sampleCSV(rows count: Int) -> [UInt8] {
    var text = "phone;note\n"
    for index in 0..<count { text += "+336\(String(format: "%08d", index));\"a;b \(index)\"\n" }
    return Array(text.utf8)
}

/// Writes `bytes` to `handle` from another thread (a pipe's buffer is smaller than them),
/// then closes it.
func writeInBackground(_ bytes: [UInt8], to handle: FileHandle) {
    let data = Data(bytes)
    let writing = Thread {
        handle.write(data)
        try? handle.close()
    }
    writing.start()
}

/// The SHA-256 of `bytes`, computed by the system's `sha256sum` (an independent oracle).
func systemSHA256(_ bytes: [UInt8]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    writeInBackground(bytes, to: input.fileHandleForWriting)
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return String(text.prefix(64))
}

/// Inputs opened once and read once (issue 11 defect 1).
@Suite struct CSVInputTests {
    @Test func aPipeGivesItsHeaderFirstThenEveryRecordFromTheSameStream() async throws {
        let bytes = sampleCSV(rows: 5_000)
        let pipe = Pipe()
        writeInBackground(bytes, to: pipe.fileHandleForWriting)
        // Opened by path, like a process substitution (`<(cat f.csv)` is /dev/fd/63).
        let input = try CSVInput.open(path: "/dev/fd/\(pipe.fileHandleForReading.fileDescriptor)")
        #expect(input.header == ["phone", "note"])
        #expect(input.size == nil)
        #expect(input.digest == nil)
        var count = 0
        for try await record in input {
            #expect(record.line == count + 2)
            #expect(record[column: "note"] == "a;b \(count)")
            count += 1
        }
        #expect(count == 5_000)
        #expect(input.isAtEnd)
        #expect(input.bytesRead == bytes.count)
        #expect(input.digest == (try systemSHA256(bytes)))
    }

    @Test func aFIFOIsReadOnce() async throws {
        let scratch = try Scratch()
        let path = scratch.url.appendingPathComponent("input.fifo").path
        #expect(mkfifo(path, 0o600) == 0)
        let bytes = sampleCSV(rows: 3_000)
        let writing = Thread {
            // Opening a FIFO for writing waits for its reader.
            if let handle = FileHandle(forWritingAtPath: path) {
                handle.write(Data(bytes))
                try? handle.close()
            }
        }
        writing.start()
        let input = try CSVInput.open(path: path)
        #expect(input.header == ["phone", "note"])
        var count = 0
        while try input.nextRecord() != nil { count += 1 }
        #expect(count == 3_000)
        #expect(input.digest == (try systemSHA256(bytes)))
    }

    @Test func aRegularFileReportsItsSizeUpFrontAndItsDigestAtTheEnd() throws {
        let scratch = try Scratch()
        let bytes = sampleCSV(rows: 20_000)
        let path = try scratch.file("contacts.csv", bytes)
        let input = try CSVInput.open(path: path)
        #expect(input.size == bytes.count)
        #expect(input.bytesRead > 0 && input.bytesRead <= CSVReaderOptions().chunkSize)
        #expect(input.digest == nil)
        var count = 0
        var progress: [Int] = []
        while try input.nextRecord() != nil {
            count += 1
            if count.isMultiple(of: 5_000) { progress.append(input.bytesRead) }
        }
        #expect(count == 20_000)
        #expect(progress == progress.sorted() && Set(progress).count > 1)
        #expect(input.bytesRead == bytes.count)
        #expect(input.digest == (try systemSHA256(bytes)))
    }

    @Test func theDigestOfAnInputIsTheSHA256OfAllItsBytes() throws {
        // "abc" is a header alone: the standard test vector.
        let input = try CSVInput(bytes: Array("abc".utf8))
        #expect(try input.nextRecord() == nil)
        #expect(input.digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let empty = try CSVInput(bytes: [])
        #expect(empty.header.isEmpty)
        #expect(try empty.nextRecord() == nil)
        #expect(empty.digest == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func theDigestOfAStreamCanBeHadBeforeItsRecordsWhichThenAllFollow() throws {
        let bytes = sampleCSV(rows: 10_000)
        let pipe = Pipe()
        writeInBackground(bytes, to: pipe.fileHandleForWriting)
        let input = try CSVInput(fileHandle: pipe.fileHandleForReading, name: "<stdin>")
        let digest = try input.digestWholeInput()
        #expect(digest == (try systemSHA256(bytes)))
        #expect(input.digest == digest)
        #expect(input.size == bytes.count)
        var lines: [Int] = []
        while let record = try input.nextRecord() { lines.append(record.line) }
        #expect(lines == Array(2..<10_002))
        #expect(input.digest == digest)
    }

    @Test func theDigestOfARegularFileCanBeHadBeforeItsRecords() throws {
        let scratch = try Scratch()
        let bytes = sampleCSV(rows: 10_000)
        let path = try scratch.file("contacts.csv", bytes)
        let input = try CSVInput.open(path: path, options: CSVReaderOptions(chunkSize: 4096))
        #expect(try input.digestWholeInput() == (try systemSHA256(bytes)))
        var count = 0
        while try input.nextRecord() != nil { count += 1 }
        #expect(count == 10_000)
        #expect(input.bytesRead == bytes.count)
    }

    @Test func aFileChangedAfterItsDigestWasTakenFailsAtItsEnd() throws {
        let scratch = try Scratch()
        let bytes = sampleCSV(rows: 10_000)
        let path = try scratch.file("contacts.csv", bytes)
        let input = try CSVInput.open(path: path, options: CSVReaderOptions(chunkSize: 4096))
        _ = try input.digestWholeInput()
        // Same size, one byte changed far from the header's chunk.
        let writer = try #require(FileHandle(forWritingAtPath: path))
        try writer.seek(toOffset: UInt64(bytes.count - 10))
        writer.write(Data("9".utf8))
        try writer.close()
        let error = #expect(throws: CSVReadError.self) {
            while try input.nextRecord() != nil {}
        }
        #expect(error?.code == .unreadable)
        #expect(error?.message.contains("changed while it was being read") == true)
    }

    @Test(arguments: [
        ("/nonexistent/contacts.csv", "/nonexistent/contacts.csv: no such file"),
        ("/", "/: is a directory"),
    ])
    func anInputThatCannotBeOpenedIsUnreadableWithTheReason(_ path: String, _ message: String) {
        let error = #expect(throws: CSVReadError.self) { try CSVInput.open(path: path) }
        #expect(error?.code == .unreadable)
        #expect(error?.description == message)
    }

    @Test func dashAndDevStdinAreStandardInputAndAreLeftOpen() throws {
        let before = fcntl(STDIN_FILENO, F_GETFD)
        do {
            let dash = try InputSource.open(path: "-", hashes: false)
            #expect(dash.name == "<stdin>")
            let stdin = try InputSource.open(path: "/dev/stdin", hashes: false)
            #expect(stdin.name == "/dev/stdin")
        }
        // Neither closed descriptor 0 when it went away. (When the test runs without a
        // standard input, descriptor 0 may be any file that a test opens meanwhile.)
        if before != -1 { #expect(fcntl(STDIN_FILENO, F_GETFD) == before) }
    }

    @Test func aStreamIsReadEvenWhenItsFileHandleIsNoLongerHeldByTheCaller() throws {
        let bytes = sampleCSV(rows: 2_000)
        let input: CSVInput
        do {
            let pipe = Pipe()
            writeInBackground(bytes, to: pipe.fileHandleForWriting)
            input = try CSVInput(fileHandle: pipe.fileHandleForReading)
        }
        var count = 0
        while try input.nextRecord() != nil { count += 1 }
        #expect(count == 2_000)
    }

    @Test func anInputCanBeSharedAcrossTasksAndEachRecordIsReadOnce() async throws {
        let input = try CSVInput(bytes: sampleCSV(rows: 4_000))
        let lines = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var lines: [Int] = []
                    while let record = try input.nextRecord() { lines.append(record.line) }
                    return lines
                }
            }
            var all: [Int] = []
            for try await part in group { all += part }
            return all
        }
        #expect(lines.sorted() == Array(2..<4_002))
    }
}
