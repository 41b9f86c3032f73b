/// The outcome of one operation on one contact.
///
/// A provider returns exactly one result per input contact, in input order.
public struct ContactResult: Sendable, Hashable {
    /// What happened to the contact.
    public enum Status: String, Sendable, Hashable, CaseIterable, Codable,
        CustomStringConvertible
    {
        /// The contact was added to the list.
        case added
        /// The contact existed and was updated.
        case updated
        /// The contact was deleted from the list.
        case deleted
        /// Nothing to do: already in the list, or not in the list.
        case skipped
        /// This contact can never succeed as it is (invalid phone, field too long, ...).
        case rejected
        /// It could not be done now (auth, unknown list, transport, provider error).
        case failed
        /// Checked and accepted, and nothing sent: `validate`, or a dry run (where
        /// ``RecordOutcome/operation`` says what would have been sent).
        case valid

        public var description: String { rawValue }

        /// Whether the operation reached the state the user asked for.
        public var isSuccess: Bool {
            switch self {
            case .added, .updated, .deleted, .skipped, .valid: true
            case .rejected, .failed: false
            }
        }
    }

    /// What happened.
    public var status: Status
    /// The provider's identifier of the contact, when it returned one.
    public var id: String?
    /// Why the contact was skipped, rejected or failed; `nil` on success.
    public var error: ContactError? {
        get { errorBox?.error }
        set { errorBox = newValue.map(ErrorBox.init) }
    }

    /// The error behind one reference: most results have none, and every outcome carries
    /// a result from stage to stage of the engine, where an error held inline would more
    /// than double what is copied.
    private var errorBox: ErrorBox?

    private final class ErrorBox: Sendable, Hashable {
        let error: ContactError

        init(_ error: ContactError) { self.error = error }

        static func == (left: ErrorBox, right: ErrorBox) -> Bool { left.error == right.error }

        func hash(into hasher: inout Hasher) { hasher.combine(error) }
    }

    /// Creates a result.
    public init(status: Status, id: String? = nil, error: ContactError? = nil) {
        self.status = status
        self.id = id
        self.errorBox = error.map(ErrorBox.init)
    }

    /// The contact was added.
    public static func added(id: String? = nil) -> ContactResult { .init(status: .added, id: id) }
    /// The contact existed and was updated.
    public static func updated(id: String? = nil) -> ContactResult {
        .init(status: .updated, id: id)
    }
    /// The contact was deleted.
    public static func deleted(id: String? = nil) -> ContactResult {
        .init(status: .deleted, id: id)
    }
    /// Nothing to do, for the reason given.
    public static func skipped(_ error: ContactError, id: String? = nil) -> ContactResult {
        .init(status: .skipped, id: id, error: error)
    }
    /// The contact can never succeed as it is.
    public static func rejected(_ error: ContactError) -> ContactResult {
        .init(status: .rejected, error: error)
    }
    /// The operation could not be done now.
    public static func failed(_ error: ContactError) -> ContactResult {
        .init(status: .failed, error: error)
    }
    /// Checked and accepted; nothing was sent.
    public static let valid = ContactResult(status: .valid)
}
