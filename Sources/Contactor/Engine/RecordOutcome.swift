/// A contact ready to send, with the input line it came from.
public struct PreparedContact: Sendable, Hashable {
    /// The 1-based input line where its record starts.
    public var line: Int
    /// The contact, normalised and checked.
    public var contact: Contact

    /// Creates a prepared contact.
    public init(line: Int, contact: Contact) {
        self.line = line
        self.contact = contact
    }
}

/// The outcome of one input record (or, in a sync, of one contact the input no longer
/// holds): its line, its phone once parsed, and its result.
///
/// A run yields one outcome per input record, in input order, locally rejected records
/// included at their position; a sync's deletions follow, with no line.
public struct RecordOutcome: Sendable, Hashable {
    /// The 1-based input line where the record starts (for arrays of drafts or contacts,
    /// the 1-based position in the array); `nil` for a contact that comes from no input
    /// line (a sync deleting what the file no longer holds).
    public var line: Int?
    /// The phone in E.164 form, once it parsed.
    public var phone: String?
    /// What happened to the record.
    public var result: ContactResult
    /// The operation sent (or, in a dry run, that would have been sent) for the record;
    /// `nil` when nothing was to be sent (rejected locally, unchanged in a sync, a
    /// duplicate, `validate`).
    public var operation: ContactOperation?
    /// For a record whose phone appeared earlier in the same input, the line of that
    /// earlier record: this one was not sent (`skipped`, `already_in_list`).
    public var duplicateOf: Int?
    /// In a dry run, the requests that would have been sent for the batch this record
    /// opens (the batch's first record carries them; the others have none), in the
    /// order the provider made them. Empty otherwise.
    public var requests: [SentRequest] {
        get { extras?.requests ?? [] }
        set { extras = Extras.make(requests: newValue, contact: contact) }
    }
    /// Whether this outcome comes from the journal of an earlier, resumed run (the record
    /// was not sent again).
    public var isReplayed: Bool
    /// From ``ContactorClient/prepare(_:operation:provider:list:options:)``, the contact of
    /// a `valid` record as it would be sent; `nil` otherwise.
    public var contact: Contact? {
        get { extras?.contact }
        set { extras = Extras.make(requests: requests, contact: newValue) }
    }

    /// The parts that most outcomes do not have, behind one reference: an outcome is
    /// copied from stage to stage of the engine, and these would double its size.
    private var extras: Extras?

    private final class Extras: Sendable, Hashable {
        let requests: [SentRequest]
        let contact: Contact?

        private init(requests: [SentRequest], contact: Contact?) {
            self.requests = requests
            self.contact = contact
        }

        /// `nil` when there is nothing to hold, so that equal outcomes are equal.
        static func make(requests: [SentRequest], contact: Contact?) -> Extras? {
            requests.isEmpty && contact == nil
                ? nil : Extras(requests: requests, contact: contact)
        }

        static func == (left: Extras, right: Extras) -> Bool {
            left.requests == right.requests && left.contact == right.contact
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(requests)
            hasher.combine(contact)
        }
    }

    /// Creates an outcome.
    public init(
        line: Int?, phone: String?, result: ContactResult, operation: ContactOperation? = nil,
        duplicateOf: Int? = nil, requests: [SentRequest] = [], isReplayed: Bool = false
    ) {
        self.line = line
        self.phone = phone
        self.result = result
        self.operation = operation
        self.duplicateOf = duplicateOf
        self.extras = Extras.make(requests: requests, contact: nil)
        self.isReplayed = isReplayed
    }

    /// Creates the outcome of a journal entry recorded by an earlier run.
    public init(replaying entry: JournalEntry) {
        self.init(line: entry.line, phone: entry.phone, result: entry.result, isReplayed: true)
    }

    /// The journal entry that records this outcome, or `nil` for one without a line.
    public var journalEntry: JournalEntry? {
        line.map { JournalEntry(line: $0, phone: phone, result: result) }
    }
}
