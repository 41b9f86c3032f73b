/// An error that stops a CSV input from being read at all: no usable header, an encoding
/// that is not UTF-8, or an input that cannot be opened or read.
///
/// Problems with one row (wrong number of columns, invalid UTF-8, a NUL byte, a record
/// over the size limit) are not errors: that row's ``Contactor/InputRecord/problem`` says
/// so and the reading goes on.
public struct CSVReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable kind of a CSV read error.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The snake-case name of the code (`missing_header`).
        public let rawValue: String

        /// Creates a code from its snake-case name.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The snake-case name.
        public var description: String { rawValue }

        /// The first line is not a header naming every column: a column has no name, a
        /// name holds a control character or a line break, a quoted name is not closed, or
        /// the header is longer than the record size limit.
        public static let missingHeader = Code(rawValue: "missing_header")
        /// Two columns of the header have the same name.
        public static let duplicateHeader = Code(rawValue: "duplicate_header")
        /// The input is not UTF-8 text: UTF-16 or UTF-32 (with or without a byte order
        /// mark), NUL bytes only, a doubled UTF-8 byte order mark, or a header that is not
        /// valid UTF-8. The message names the problem and how to fix the file.
        public static let encoding = Code(rawValue: "encoding")
        /// The input could not be opened or read; the message gives the system's reason.
        public static let unreadable = Code(rawValue: "unreadable")
    }

    /// What kind of error this is.
    public var code: Code
    /// The file's path, `<input>` for bytes in memory, `<stdin>` for standard input, or a
    /// stream's name.
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

/// How a CSV input is read: the record size limit and the read size.
public struct CSVReaderOptions: Sendable, Hashable {
    /// The default ``maximumRecordBytes``: 2 MiB, so that a record with a field of a
    /// whole mebibyte is still read (and can be refused by a provider's own field limit
    /// with its usual error), while memory stays bounded.
    public static let defaultMaximumRecordBytes = 2 << 20

    /// The longest record kept, in bytes, from its first byte to its line break (the line
    /// break excluded; quotes, separators and line breaks inside quotes included).
    ///
    /// A longer record is rejected with the problem `invalid_field: line N: record longer
    /// than M bytes` and reading goes on after its end, which is found as for any record:
    /// the first line break outside quotes. Its bytes are not kept, so memory stays
    /// bounded: a quote opened in it and never closed makes it run to the end of the
    /// input, like any unclosed quote. A header longer than this is a
    /// ``CSVReadError/Code/missingHeader`` error.
    public var maximumRecordBytes: Int

    /// How many bytes are read from the input at a time.
    public var chunkSize: Int

    /// Creates options.
    ///
    /// - Parameters:
    ///   - maximumRecordBytes: The record size limit (at least 1).
    ///   - chunkSize: The read size (at least 1).
    public init(
        maximumRecordBytes: Int = CSVReaderOptions.defaultMaximumRecordBytes,
        chunkSize: Int = 1 << 16
    ) {
        self.maximumRecordBytes = max(1, maximumRecordBytes)
        self.chunkSize = max(1, chunkSize)
    }
}
