import Foundation

/// What a journal records about one run.
public struct RunInfo: Sendable, Hashable, Codable {
    /// The operation (`add`, `delete`).
    public var operation: ContactOperation
    /// The provider's name.
    public var provider: String
    /// The list.
    public var list: String
    /// The input file's path as given.
    public var inputPath: String
    /// The SHA-256 of the input file's bytes, hex.
    public var inputDigest: String
    /// When the run started.
    public var startedAt: Date

    /// Creates run information.
    public init(
        operation: ContactOperation, provider: String, list: String, inputPath: String,
        inputDigest: String, startedAt: Date = Date()
    ) {
        self.operation = operation
        self.provider = provider
        self.list = list
        self.inputPath = inputPath
        self.inputDigest = inputDigest
        self.startedAt = startedAt
    }
}

/// The recorded outcome of one input line.
public struct JournalEntry: Sendable, Hashable {
    /// The input line where the record starts.
    public var line: Int
    /// The E.164 phone, once it parsed.
    public var phone: String?
    /// The result.
    public var result: ContactResult

    /// Creates an entry.
    public init(line: Int, phone: String?, result: ContactResult) {
        self.line = line
        self.phone = phone
        self.result = result
    }

    /// Whether the line needs nothing more: every status but `failed` is final.
    public var isFinal: Bool { result.status != .failed }
}

/// A durable record of import runs and the outcome of every line, for `--resume`.
///
/// ## Implementation requirements
/// - ``record(_:run:)`` returns only once the entries are durable (a crash or `kill -9`
///   right after loses none of them).
/// - Store no credential.
/// - Be safe to call from many tasks at once.
public protocol RunJournal: Sendable {
    /// Records the start of a new run and returns its identifier.
    func startRun(_ info: RunInfo) async throws -> Int64
    /// The most recent run that has not finished, if any.
    func lastUnfinishedRun() async throws -> (id: Int64, info: RunInfo)?
    /// The lines of `run` that already have a final outcome.
    func finishedLines(run: Int64) async throws -> IndexSet
    /// Records outcomes of `run` (a later entry for a line replaces an earlier one).
    func record(_ entries: [JournalEntry], run: Int64) async throws
    /// Marks `run` finished.
    func finishRun(_ run: Int64) async throws
    /// Every recorded entry of `run`, in line order.
    func entries(run: Int64) async throws -> [JournalEntry]
    /// The recorded entries of `run` whose line is in `lines`, in line order. A resumed
    /// run reads its old outcomes through this, a window at a time, so that its memory
    /// does not grow with the lines already done. The default filters
    /// ``entries(run:)``; journals that can, answer from an index instead.
    func entries(run: Int64, lines: ClosedRange<Int>) async throws -> [JournalEntry]
    /// Takes the journal for one run, so that no second run (in this process or another)
    /// writes it at the same time; `nil` when the journal needs no lock (the default).
    ///
    /// - Parameter holder: Who takes it (`pid 4242`), for the message a second run gets.
    /// - Throws: ``ContactorError`` `busy` naming the holder when another run has it.
    func lock(holder: String) async throws -> (any StoreLease)?
}

extension RunJournal {
    public func lock(holder: String) async throws -> (any StoreLease)? { nil }

    public func entries(run: Int64, lines: ClosedRange<Int>) async throws -> [JournalEntry] {
        try await entries(run: run).filter { lines.contains($0.line) }
    }
}
