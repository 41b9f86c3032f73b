import Contactor
import Foundation
import Synchronization

/// A CSV input opened once and read once: its header is there as soon as it is opened,
/// its records continue from the same stream, and while they are read it counts the
/// bytes and computes their SHA-256, in the same pass.
///
/// This is the reader for inputs that can be read only once — standard input (`-`), a
/// pipe, a FIFO, a process substitution (`/dev/fd/63`) — and for every input of a
/// command that needs the header first and the records after it. The format is
/// ``CSVRecordReader``'s.
///
/// ```swift
/// let input = try CSVInput.open(path: "-")       // or a path
/// print(input.header)                              // read from the stream already
/// let digest = try input.digestWholeInput()        // only when it is needed up front
/// for try await record in input { ... }            // the records, once
/// print(input.bytesRead, input.size ?? -1, input.digest ?? "")
/// ```
///
/// It is `Sendable`: one task reads the records (a second iteration, or a concurrent
/// one, continues from where the stream is; records are never read twice), while others
/// may watch ``bytesRead``, ``size`` and ``digest``. Reading blocks the calling thread in
/// `read(2)`, chunk by chunk, as ``CSVRecordReader`` does.
public final class CSVInput: AsyncSequence, Sendable {
    /// Records, in input order.
    public typealias Element = InputRecord
    /// The error that ends the reading.
    public typealias Failure = CSVReadError

    /// The path as given, `<stdin>` for `-`, `<input>` for bytes in memory, or the
    /// stream's name; errors use it.
    public let name: String
    /// The header's column names, trimmed, in order; empty for an empty input.
    public let header: [String]
    /// The line of the header (after any empty lines), `nil` for an empty input.
    public let headerLine: Int?
    /// The separator detected from the header line (`,` or `;`).
    public let separator: Character

    private let cursor: Mutex<CSVRecordCursor>
    private let progress: InputProgress

    private init(cursor: sending CSVRecordCursor) {
        name = cursor.path
        header = cursor.header
        headerLine = cursor.headerLine
        separator = cursor.separator
        progress = cursor.source.progress
        self.cursor = Mutex(cursor)
    }

    /// Opens an input once and reads its header from it.
    ///
    /// - Parameters:
    ///   - path: `-` or `/dev/stdin` for standard input (left open), or a path: a regular
    ///     file, a FIFO, `/dev/fd/N`, a device.
    ///   - options: The record size limit and read size.
    /// - Returns: The input, its header read, positioned at its first record.
    /// - Throws: ``CSVReadError``: ``CSVReadError/Code/unreadable`` (with the system's
    ///   reason: `no such file`, `permission denied`, `is a directory`, ...) when it
    ///   cannot be opened or read, ``CSVReadError/Code/encoding`` when it is not UTF-8
    ///   text, ``CSVReadError/Code/missingHeader`` or
    ///   ``CSVReadError/Code/duplicateHeader`` when its header is unusable.
    public static func open(
        path: String, options: CSVReaderOptions = CSVReaderOptions()
    ) throws(CSVReadError) -> CSVInput {
        let source = try InputSource.open(path: path, hashes: true)
        return CSVInput(cursor: try CSVRecordCursor(source: source, options: options))
    }

    /// Reads a stream that is already open (standard input, a pipe, a socket, a file),
    /// from where it is to its end; the handle is not closed.
    ///
    /// - Parameters:
    ///   - fileHandle: The stream.
    ///   - name: What errors call it.
    ///   - options: The record size limit and read size.
    /// - Throws: ``CSVReadError`` as ``open(path:options:)`` does.
    public convenience init(
        fileHandle: FileHandle, name: String = "<stream>",
        options: CSVReaderOptions = CSVReaderOptions()
    ) throws(CSVReadError) {
        let source = InputSource.descriptor(
            fileHandle.fileDescriptor, name: name, closes: false, hashes: true, owner: fileHandle)
        self.init(cursor: try CSVRecordCursor(source: source, options: options))
    }

    /// Reads CSV bytes held in memory.
    ///
    /// - Parameters:
    ///   - bytes: The input.
    ///   - name: What errors call it.
    ///   - options: The record size limit and read size.
    /// - Throws: ``CSVReadError`` as ``open(path:options:)`` does.
    public convenience init(
        bytes: some Sequence<UInt8>, name: String = "<input>",
        options: CSVReaderOptions = CSVReaderOptions()
    ) throws(CSVReadError) {
        let source = InputSource.memory(Array(bytes), name: name, hashes: true)
        self.init(cursor: try CSVRecordCursor(source: source, options: options))
    }

    /// The number of bytes read from the input so far (the header's chunk included), for
    /// a progress bar.
    public var bytesRead: Int { progress.bytesRead.load(ordering: .relaxed) }

    /// The input's whole size in bytes (from where it was opened), the total that
    /// ``bytesRead`` goes to, when it is known without reading it: a regular file, bytes
    /// in memory, or a stream once ``digestWholeInput()`` copied it; `nil` for a stream.
    public var size: Int? {
        let size = progress.size.load(ordering: .relaxed)
        return size < 0 ? nil : size
    }

    /// Whether the end of the input was reached.
    public var isAtEnd: Bool { progress.atEnd.load(ordering: .relaxed) }

    /// The SHA-256 of all the input's bytes, 64 lower-case hexadecimal digits (as
    /// `InputDigest` in ContactorStore writes it), once known: after the last record was
    /// read, or after ``digestWholeInput()``; `nil` before.
    public var digest: String? { progress.digest.withLock { $0 } }

    /// Computes the SHA-256 of the whole input now, before its records are read, for a
    /// journal that records or compares it before anything is sent.
    ///
    /// The input is still opened once, but its bytes are read ahead: the rest of a
    /// regular file is read and the file is read again from where it was (if its bytes
    /// then differ, the reading fails at its end with ``CSVReadError/Code/unreadable``:
    /// the file changed); a stream is copied to an unlinked temporary file (in `TMPDIR`,
    /// else `/tmp`) as it is digested, and its records are read from that copy. Memory
    /// stays at one chunk. ``digest`` and ``size`` are known from then on.
    ///
    /// - Returns: The digest, as ``digest`` has it.
    /// - Throws: ``CSVReadError/Code/unreadable`` when the input cannot be read or copied.
    public func digestWholeInput() throws(CSVReadError) -> String {
        try cursor.withLock { cursor throws(CSVReadError) -> String in
            try cursor.source.digestRest()
        }
    }

    /// The next record, or `nil` at the end of the input.
    ///
    /// - Throws: ``CSVReadError/Code/unreadable`` when reading fails midway (and again on
    ///   every later call).
    public func nextRecord() throws(CSVReadError) -> InputRecord? {
        try cursor.withLock { cursor throws(CSVReadError) -> InputRecord? in
            try cursor.nextRecord()
        }
    }

    /// Bytes the scanner examined so far (for tests: each byte once).
    var bytesExamined: Int { cursor.withLock { $0.bytesExamined } }

    /// Creates an iterator over the records not read yet.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(input: self)
    }

    /// Iterates over the records not read yet.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let input: CSVInput

        /// The next record, or `nil` at the end of the input.
        ///
        /// - Throws: ``CSVReadError/Code/unreadable`` when reading fails midway.
        public mutating func next() async throws(CSVReadError) -> InputRecord? {
            try input.nextRecord()
        }

        /// The next record, or `nil` at the end of the input.
        public mutating func next(
            isolation actor: isolated (any Actor)?
        ) async throws(CSVReadError) -> InputRecord? {
            try input.nextRecord()
        }
    }
}
