/// An error opening or using a run journal, or reading the input file to digest it.
///
/// Like ``Contactor/ContactError`` it is a struct with an opaque, extensible ``Code``.
/// Its ``description`` names the file and says what went wrong; it never contains a
/// credential (the journal stores none).
public struct JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable kind of a journal error.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The snake-case name of the code (`not_a_journal`).
        public let rawValue: String

        /// Creates a code from its snake-case name.
        public init(rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        /// The file could not be opened or created (missing directory, permissions, a
        /// directory in its place).
        public static let cannotOpen = Code(rawValue: "cannot_open")
        /// The file exists but is not a Contactor journal (not SQLite, or another
        /// program's SQLite database).
        public static let notAJournal = Code(rawValue: "not_a_journal")
        /// The journal was written by a newer Contactor whose schema this one does not know.
        public static let newerSchema = Code(rawValue: "newer_schema")
        /// No run with the given identifier is recorded in the journal.
        public static let unknownRun = Code(rawValue: "unknown_run")
        /// The input file could not be read (to compute its digest).
        public static let unreadableInput = Code(rawValue: "unreadable_input")
        /// SQLite failed while reading or writing the journal (disk full, I/O error,
        /// unexpected content).
        public static let storageFailed = Code(rawValue: "storage_failed")
    }

    /// What kind of error this is.
    public var code: Code
    /// The file concerned: the journal, or the input file for ``Code/unreadableInput``.
    public var path: String
    /// What went wrong, in words.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    /// `path: message`.
    public var description: String { "\(path): \(message)" }
}
