/// The outcome of one input record: its line, its phone once parsed, and its result.
///
/// An import run yields one outcome per input record, in input order, locally rejected
/// records included at their position.
public struct RecordOutcome: Sendable, Hashable {
    /// The 1-based input line where the record starts (for arrays of drafts or contacts,
    /// the 1-based position in the array).
    public var line: Int
    /// The phone in E.164 form, once it parsed.
    public var phone: String?
    /// What happened to the record.
    public var result: ContactResult
    /// Whether this outcome comes from the journal of an earlier, resumed run (the record
    /// was not sent again).
    public var isReplayed: Bool

    /// Creates an outcome.
    public init(line: Int, phone: String?, result: ContactResult, isReplayed: Bool = false) {
        self.line = line
        self.phone = phone
        self.result = result
        self.isReplayed = isReplayed
    }

    /// Creates the outcome of a journal entry recorded by an earlier run.
    public init(replaying entry: JournalEntry) {
        self.init(line: entry.line, phone: entry.phone, result: entry.result, isReplayed: true)
    }

    /// The journal entry that records this outcome.
    public var journalEntry: JournalEntry {
        JournalEntry(line: line, phone: phone, result: result)
    }
}
