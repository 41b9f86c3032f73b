import Contactor
import Foundation

/// Reads a CSV file as input records, streaming, in bounded memory.
///
/// The format, as the command line's contract describes it:
/// - The first non-empty line is a header naming every column (names are trimmed of
///   spaces and tabs); a column with no name, or a name holding a control character
///   (C0, DEL or C1, so also a tab inside a name, or a line break in a quoted name), is
///   ``CSVReadError/Code/missingHeader``; a name given twice is
///   ``CSVReadError/Code/duplicateHeader``.
/// - UTF-8, with or without a byte order mark. An input that is not UTF-8 text fails at
///   once with ``CSVReadError/Code/encoding`` and a message naming what it looks like:
///   UTF-16 or UTF-32 (by their byte order marks, or NUL bytes between the characters of
///   the first line), NUL bytes only, two UTF-8 byte order marks (or one encoded twice,
///   `ï»¿`, or a U+FEFF inside a header name), a first line with NUL bytes, or a header
///   that is not valid UTF-8.
/// - The separator is `;` when the header line holds more unquoted `;` than unquoted `,`,
///   else `,`. Quotes in the header are honoured, so a quoted `"a,b"` counts no comma.
/// - Fields may be quoted with `"`; a quoted field may hold separators, line breaks
///   and doubled quotes (`""` is one `"`). Bytes between a closing quote and the next
///   separator are kept (`"a"b` reads `ab`); a quote inside an unquoted field is data.
/// - Lines end with `\n`, `\r\n` or `\r`; the last line may end without one.
/// - Empty lines (nothing between two line breaks) are skipped, wherever they are; a
///   line of separators only (`,,,`) is a row of empty fields, not an empty line.
/// - An empty file, or a header alone, reads as zero records.
/// - Values are data: bytes are kept as they are (control characters included), except
///   that a NUL byte makes its row a problem.
///
/// Each record's ``Contactor/InputRecord/line`` is the physical line of the file where
/// it starts (the header is line 1), so a record after a quoted field holding two line
/// breaks starts two lines later than its predecessor's start plus one. These records
/// have a `problem` (`invalid_field`) and are read on after:
/// - longer than ``CSVReaderOptions/maximumRecordBytes`` (2 MiB by default):
///   `line N: record longer than M bytes`, with no columns; its end is found as for any
///   record, by following its quotes, without keeping its bytes;
/// - invalid UTF-8: `line N: not valid UTF-8` (its values have U+FFFD in place of the
///   bad bytes);
/// - a NUL byte: `line N: holds a NUL byte (...)`;
/// - a quoted field left open at the end of the file: `line N: quoted field not closed
///   before the end of the file`;
/// - a different number of fields than the header: `line N: expected X columns, found Y`
///   (its columns are the fields that have a header name).
///
/// ## Why not CSV.swift's `CSVReader`
/// The design names yaslab/CSV.swift, and the tests use it as an independent oracle for
/// field splitting, but the reader does not build on it: `CSVReader` decodes the whole
/// input through one Unicode iterator and stops at the first invalid UTF-8 byte (the
/// rest of the file is lost instead of one row), reports no line numbers (so a record's
/// start line cannot be known once quoted fields hold line breaks), and walks one
/// `Unicode.Scalar` at a time through a type-erased iterator. Splitting the bytes
/// first and handing each record to it would parse every record twice. The scanner here
/// is a small quote-aware, resumable state machine over bytes that validates UTF-8 per
/// field and examines each byte once.
///
/// Reading is blocking I/O in chunks of ``chunkSize`` bytes; memory holds one chunk plus
/// the record being read (at most ``CSVReaderOptions/maximumRecordBytes``).
///
/// A reader made with ``init(path:options:)`` opens its file anew each time it is
/// iterated. To read an input exactly once (standard input, a pipe, a FIFO, a process
/// substitution) with its header first, use ``CSVInput``.
public struct CSVRecordReader: AsyncSequence, Sendable {
    /// Records, in file order.
    public typealias Element = InputRecord
    /// The error that ends the reading.
    public typealias Failure = CSVReadError

    /// How many bytes are read from a file at a time by default.
    public static let chunkSize = 1 << 16

    enum Source: Sendable {
        case file(String)
        case bytes([UInt8])
        case handle(FileHandle, name: String)
    }

    let source: Source
    /// The options the reader reads with.
    public var options: CSVReaderOptions

    /// A reader of the file at `path`; the file is opened when reading starts.
    ///
    /// - Parameters:
    ///   - path: The file; `-` or `/dev/stdin` is standard input (readable once).
    ///   - options: The record size limit and read size.
    public init(path: String, options: CSVReaderOptions = CSVReaderOptions()) {
        source = .file(path)
        self.options = options
    }

    /// A reader of a byte stream: standard input, a pipe, a socket, an open file.
    ///
    /// The handle is read until its end and is not closed; iterate the reader once.
    /// - Parameters:
    ///   - fileHandle: The stream to read.
    ///   - name: What errors call the input (`<stdin>`).
    ///   - options: The record size limit and read size.
    public init(
        fileHandle: FileHandle, name: String = "<stream>",
        options: CSVReaderOptions = CSVReaderOptions()
    ) {
        source = .handle(fileHandle, name: name)
        self.options = options
    }

    /// A reader of CSV bytes held in memory.
    public init(bytes: some Sequence<UInt8>, options: CSVReaderOptions = CSVReaderOptions()) {
        source = .bytes(Array(bytes))
        self.options = options
    }

    /// A reader of CSV text held in memory.
    public init(string: String, options: CSVReaderOptions = CSVReaderOptions()) {
        source = .bytes(Array(string.utf8))
        self.options = options
    }

    /// Opens the input and reads its header, for reading the records synchronously.
    ///
    /// - Throws: ``CSVReadError`` when the input cannot be read, is not UTF-8 text, or has
    ///   no usable header.
    public func makeCursor() throws(CSVReadError) -> CSVRecordCursor {
        try CSVRecordCursor(source: makeSource(hashes: false), options: options)
    }

    func makeSource(hashes: Bool) throws(CSVReadError) -> InputSource {
        switch source {
        case .file(let path):
            return try InputSource.open(path: path, hashes: hashes)
        case .bytes(let bytes):
            return InputSource.memory(bytes, name: "<input>", hashes: hashes)
        case .handle(let handle, let name):
            return InputSource.descriptor(
                handle.fileDescriptor, name: name, closes: false, hashes: hashes, owner: handle)
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
        /// - Throws: ``CSVReadError`` when the input cannot be read or has no usable
        ///   header.
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
/// Not `Sendable`: it owns an open file and a buffer. Use it from one task, or use
/// ``CSVInput``, which can be shared.
public final class CSVRecordCursor: IteratorProtocol, Sequence {
    /// The header's column names, in order (empty for an empty input).
    public let header: [String]
    /// The separator detected from the header line (`,` or `;`).
    public let separator: Character
    /// The path of the file read, `<input>`, `<stdin>` or the stream's name.
    public let path: String
    /// The line of the header (after any empty lines), `nil` for an empty input.
    public let headerLine: Int?

    let reader: CSVRowReader
    let source: InputSource
    private var failure: CSVReadError?

    init(source: InputSource, options: CSVReaderOptions) throws(CSVReadError) {
        self.source = source
        reader = try CSVRowReader(source: source, name: source.name, options: options)
        header = reader.header
        headerLine = reader.headerLine
        separator = Character(Unicode.Scalar(reader.separator))
        path = source.name
    }

    /// Bytes the scanner examined so far (each input byte once; for tests).
    var bytesExamined: Int { reader.bytesExamined }
    /// The most bytes buffered at once (for tests of bounded memory).
    var maximumBufferedBytes: Int { reader.maximumBufferedBytes }

    /// The next record, or `nil` at the end of the input.
    ///
    /// - Throws: ``CSVReadError/Code/unreadable`` when reading the input fails midway.
    public func nextRecord() throws(CSVReadError) -> InputRecord? {
        do {
            guard let row = try reader.nextRow() else { return nil }
            return InputRecord(
                line: row.line, columns: row.columns,
                problem: row.problem.map { ContactError(.invalidField, $0.message(line: row.line)) }
            )
        } catch {
            failure = error
            throw error
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
}
