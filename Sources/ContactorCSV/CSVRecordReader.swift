import Contactor
import Foundation

/// An error that stops a CSV file from being read at all: no usable header, or the
/// file cannot be read.
///
/// Problems with one row (wrong number of columns, invalid UTF-8) are not errors: that
/// row's ``Contactor/InputRecord/problem`` says so and the reading goes on.
public struct CSVReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable kind of a CSV read error.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The snake-case name of the code (`missing_header`).
        public let rawValue: String

        /// Creates a code from its snake-case name.
        public init(rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        /// The first line is not a header naming every column (a column has no name, or
        /// the header is not valid UTF-8).
        public static let missingHeader = Code(rawValue: "missing_header")
        /// Two columns of the header have the same name.
        public static let duplicateHeader = Code(rawValue: "duplicate_header")
        /// The file could not be opened or read.
        public static let unreadable = Code(rawValue: "unreadable")
    }

    /// What kind of error this is.
    public var code: Code
    /// The file's path, `<input>` for bytes in memory, or a stream's name.
    public var path: String
    /// The 1-based line concerned, when there is one.
    public var line: Int?
    /// What went wrong, in words.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, path: String, line: Int? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.line = line
        self.message = message
    }

    /// `path:line: message`.
    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}

/// Reads a CSV file as input records, streaming, in constant memory.
///
/// The format, as the command line's contract describes it:
/// - The first non-empty line is a header naming every column (names are trimmed of
///   spaces and tabs); a column with no name is ``CSVReadError/Code/missingHeader``, a
///   name given twice is ``CSVReadError/Code/duplicateHeader``.
/// - UTF-8, with or without a byte order mark.
/// - The separator is `;` when the header line holds more unquoted `;` than unquoted `,`,
///   else `,`. Quotes in the header are honoured, so a quoted `"a,b"` counts no comma.
/// - Fields may be quoted with `"`; a quoted field may hold separators, line breaks
///   and doubled quotes (`""` is one `"`). Bytes between a closing quote and the next
///   separator are kept (`"a"b` reads `ab`); a quote inside an unquoted field is data.
/// - Lines end with `\n`, `\r\n` or `\r`; the last line may end without one.
/// - Empty lines (nothing between two line breaks) are skipped, wherever they are; a
///   line of separators only (`,,,`) is a row of empty fields, not an empty line.
/// - An empty file, or a header alone, reads as zero records.
///
/// Each record's ``Contactor/InputRecord/line`` is the physical line of the file where
/// it starts (the header is line 1), so a record after a quoted field holding two line
/// breaks starts two lines later than its predecessor's start plus one. A record with a
/// different number of fields than the header has the `problem`
/// `invalid_field: line N: expected X columns, found Y` (its columns are the fields that
/// have a header name); a record with invalid UTF-8 has `invalid_field: line N: not
/// valid UTF-8` (its values have U+FFFD in place of the bad bytes); a quoted field left
/// open at the end of the file has `invalid_field: line N: quoted field not closed before
/// the end of the file`. Reading goes on after all of them.
///
/// ## Why not CSV.swift's `CSVReader`
/// The design names yaslab/CSV.swift, and the tests use it as an independent oracle for
/// field splitting, but the reader does not build on it: `CSVReader` decodes the whole
/// input through one Unicode iterator and stops at the first invalid UTF-8 byte (the
/// rest of the file is lost instead of one row), reports no line numbers (so a record's
/// start line cannot be known once quoted fields hold line breaks), and walks one
/// `Unicode.Scalar` at a time through a type-erased iterator. Splitting the bytes
/// first and handing each record to it would parse every record twice. The scanner here
/// is a small quote-aware state machine over bytes that validates UTF-8 per field.
///
/// Reading is blocking file I/O in chunks of ``chunkSize`` bytes; memory holds one chunk
/// plus the record being read (a single record may be as long as it needs).
public struct CSVRecordReader: AsyncSequence, Sendable {
    /// Records, in file order.
    public typealias Element = InputRecord
    /// The error that ends the reading.
    public typealias Failure = CSVReadError

    /// How many bytes are read from a file at a time.
    public static let chunkSize = 1 << 16

    enum Source: Sendable {
        case file(String)
        case bytes([UInt8])
        case handle(FileHandle, name: String)
    }

    let source: Source

    /// A reader of the file at `path`; the file is opened when reading starts.
    public init(path: String) {
        source = .file(path)
    }

    /// A reader of a byte stream: standard input, a pipe, a socket, an open file.
    ///
    /// The handle is read until its end and is not closed; iterate the reader once.
    /// - Parameters:
    ///   - fileHandle: The stream to read.
    ///   - name: What errors call the input (`<stdin>`).
    public init(fileHandle: FileHandle, name: String = "<stream>") {
        source = .handle(fileHandle, name: name)
    }

    /// A reader of CSV bytes held in memory.
    public init(bytes: some Sequence<UInt8>) {
        source = .bytes(Array(bytes))
    }

    /// A reader of CSV text held in memory.
    public init(string: String) {
        source = .bytes(Array(string.utf8))
    }

    /// Opens the input and reads its header, for reading the records synchronously.
    ///
    /// - Throws: ``CSVReadError`` when the file cannot be read or has no usable header.
    public func makeCursor() throws(CSVReadError) -> CSVRecordCursor {
        switch source {
        case .file(let path):
            return try CSVRecordCursor(chunks: try FileChunks(path: path), path: path)
        case .bytes(let bytes):
            return try CSVRecordCursor(chunks: BytesChunks(bytes: bytes), path: "<input>")
        case .handle(let handle, let name):
            return try CSVRecordCursor(
                chunks: FileChunks(handle: handle, path: name, closes: false), path: name)
        }
    }

    /// Creates the iterator; the input is opened by the first call to `next()`.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: self)
    }

    /// Iterates over the records; the first call opens the input and reads the header.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: CSVRecordReader
        var cursor: CSVRecordCursor?

        init(reader: CSVRecordReader) {
            self.reader = reader
        }

        /// The next record, or `nil` at the end of the input.
        ///
        /// - Throws: ``CSVReadError`` when the file cannot be read or has no usable header.
        public mutating func next() async throws(CSVReadError) -> InputRecord? {
            try advance()
        }

        /// The next record, or `nil` at the end of the input.
        public mutating func next(
            isolation actor: isolated (any Actor)?
        ) async throws(CSVReadError) -> InputRecord? {
            try advance()
        }

        private mutating func advance() throws(CSVReadError) -> InputRecord? {
            if cursor == nil { cursor = try reader.makeCursor() }
            return try cursor?.nextRecord()
        }
    }
}

/// Reads records one at a time, synchronously, after the header was read.
///
/// Not `Sendable`: it owns an open file and a buffer. Use it from one task.
public final class CSVRecordCursor: IteratorProtocol, Sequence {
    /// The header's column names, in order.
    public let header: [String]
    /// The separator detected from the header line (`,` or `;`).
    public let separator: Character
    /// The path of the file read, or `<input>`.
    public let path: String

    private var scanner = CSVScanner()
    private let chunks: any ChunkSource
    private var failure: CSVReadError?

    init(chunks: any ChunkSource, path: String) throws(CSVReadError) {
        self.chunks = chunks
        self.path = path
        var scanner = CSVScanner()
        func fill() throws(CSVReadError) {
            if let chunk = try chunks.nextChunk() {
                scanner.append(chunk)
            } else {
                scanner.isComplete = true
            }
        }
        while !scanner.skipByteOrderMark() { try fill() }
        while !scanner.detectSeparator() { try fill() }
        var headerRecord: CSVScanner.Record?
        scan: while true {
            switch scanner.next() {
            case .record(let record):
                headerRecord = record
                break scan
            case .needMore: try fill()
            case .end: break scan
            }
        }
        separator = Character(Unicode.Scalar(scanner.separator))
        guard let headerRecord else {
            header = []
            self.scanner = scanner
            return
        }
        let line = headerRecord.line
        guard headerRecord.isValidUTF8, !headerRecord.hasUnclosedQuote else {
            throw CSVReadError(
                .missingHeader, path: path, line: line,
                headerRecord.isValidUTF8
                    ? "the header has a quoted name not closed before the end of the file"
                    : "the header is not valid UTF-8")
        }
        let names = headerRecord.fields.map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        }
        var seen: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            guard !name.isEmpty else {
                throw CSVReadError(
                    .missingHeader, path: path, line: line,
                    "column \(index + 1) of the header has no name: the first line must be "
                        + "a header row naming every column (phone, first_name, ...)")
            }
            if let first = seen[name] {
                throw CSVReadError(
                    .duplicateHeader, path: path, line: line,
                    "column '\(name)' appears twice in the header (columns \(first + 1) "
                        + "and \(index + 1))")
            }
            seen[name] = index
        }
        header = names
        self.scanner = scanner
    }

    /// The next record, or `nil` at the end of the input.
    ///
    /// - Throws: ``CSVReadError/Code/unreadable`` when reading the file fails midway.
    public func nextRecord() throws(CSVReadError) -> InputRecord? {
        if let failure { throw failure }
        if header.isEmpty { return nil }
        while true {
            switch scanner.next() {
            case .record(let record): return makeRecord(record)
            case .end: return nil
            case .needMore:
                do {
                    if let chunk = try chunks.nextChunk() {
                        scanner.append(chunk)
                    } else {
                        scanner.isComplete = true
                    }
                } catch {
                    failure = error
                    throw error
                }
            }
        }
    }

    /// `IteratorProtocol`'s `next()`: ends the iteration at a read error, which
    /// ``readError`` then holds. Prefer ``nextRecord()`` (throwing) where you can.
    public func next() -> InputRecord? {
        do {
            return try nextRecord()
        } catch {
            return nil
        }
    }

    /// The read error that ended a non-throwing iteration, if any.
    public var readError: CSVReadError? { failure }

    private func makeRecord(_ record: CSVScanner.Record) -> InputRecord {
        let fields = record.fields
        var columns: [(name: String, value: String)] = []
        columns.reserveCapacity(header.count)
        for (name, value) in zip(header, fields) { columns.append((name, value)) }
        let line = record.line
        var problem: ContactError? = nil
        if !record.isValidUTF8 {
            problem = ContactError(.invalidField, "line \(line): not valid UTF-8")
        } else if record.hasUnclosedQuote {
            problem = ContactError(
                .invalidField, "line \(line): quoted field not closed before the end of the file")
        } else if fields.count != header.count {
            problem = ContactError(
                .invalidField,
                "line \(line): expected \(header.count) columns, found \(fields.count)")
        }
        return InputRecord(line: line, columns: columns, problem: problem)
    }
}

// MARK: - Chunk sources

protocol ChunkSource {
    /// The next chunk of input, or `nil` at its end.
    func nextChunk() throws(CSVReadError) -> [UInt8]?
}

final class BytesChunks: ChunkSource {
    private var bytes: [UInt8]?

    init(bytes: [UInt8]) { self.bytes = bytes }

    func nextChunk() -> [UInt8]? {
        defer { bytes = nil }
        return bytes
    }
}

final class FileChunks: ChunkSource {
    private let handle: FileHandle
    private let path: String
    private let closes: Bool

    init(path: String) throws(CSVReadError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CSVReadError(.unreadable, path: path, "no such file")
        }
        guard !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: path) else {
            throw CSVReadError(
                .unreadable, path: path,
                isDirectory.boolValue ? "is a directory" : "cannot open the file for reading")
        }
        self.handle = handle
        self.path = path
        closes = true
    }

    init(handle: FileHandle, path: String, closes: Bool) {
        self.handle = handle
        self.path = path
        self.closes = closes
    }

    func nextChunk() throws(CSVReadError) -> [UInt8]? {
        do {
            guard let data = try handle.read(upToCount: CSVRecordReader.chunkSize), !data.isEmpty
            else { return nil }
            return [UInt8](data)
        } catch {
            throw CSVReadError(.unreadable, path: path, "cannot read the file: \(error)")
        }
    }

    deinit { if closes { try? handle.close() } }
}
