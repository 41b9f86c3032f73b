/// What refuses or stops a run as a whole: thrown by ``ContactorClient`` before anything
/// is sent (an unknown provider, a missing credential, a list the provider refuses, a
/// journal run that cannot be resumed), or while a run is iterated (the journal or the
/// ledger failing).
///
/// A contact's own outcome is never a `ContactorError`: it is a ``ContactResult`` whose
/// reason is a ``ContactError``. The set of codes is closed and documented (``Code``),
/// matched with `==` against its static members. Messages say what is wrong in the
/// library's terms; a command line adds its own hints (which flag to pass).
public struct ContactorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of a run error. The set is closed: only Contactor makes codes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unknownProvider = "unknown_provider"
            case unsupportedOperation = "unsupported_operation"
            case invalidList = "invalid_list"
            case missingCredential = "missing_credential"
            case invalidOptions = "invalid_options"
            case cannotResume = "cannot_resume"
            case journalFailed = "journal_failed"
            case ledgerFailed = "ledger_failed"
            case tooManyDeletes = "too_many_deletes"
            case invalidInput = "invalid_input"
            case busy = "busy"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The snake-case name of the code (`missing_credential`).
        public var description: String { base.rawValue }

        /// No provider of that name is registered.
        public static let unknownProvider = Code(.unknownProvider)
        /// The provider does not support the operation asked for.
        public static let unsupportedOperation = Code(.unsupportedOperation)
        /// The provider refuses the list name (empty, too long, ...); ``ContactorError/reason``
        /// holds its own error.
        public static let invalidList = Code(.invalidList)
        /// A credential the provider needs has no value; ``ContactorError/credentialKey``
        /// names it.
        public static let missingCredential = Code(.missingCredential)
        /// A run option is out of range or the provider refuses a provider option.
        public static let invalidOptions = Code(.invalidOptions)
        /// `resume` was asked for but the journal has no run to continue, or the run it
        /// holds was made with another input, provider, list or operation.
        public static let cannotResume = Code(.cannotResume)
        /// The journal could not be written or read.
        public static let journalFailed = Code(.journalFailed)
        /// The ledger could not be written or read.
        public static let ledgerFailed = Code(.ledgerFailed)
        /// A sync would delete more contacts than it is allowed to.
        public static let tooManyDeletes = Code(.tooManyDeletes)
        /// The input cannot be used (no phone column, an encoding problem, ...).
        public static let invalidInput = Code(.invalidInput)
        /// Another run holds the journal or the ledger.
        public static let busy = Code(.busy)
    }

    /// What kind of error this is.
    public let code: Code
    /// What is wrong, in words.
    public let message: String
    /// The provider concerned, if any.
    public let provider: String?
    /// The credential key that has no value, for ``Code/missingCredential``.
    public let credentialKey: String?
    /// The provider's own error behind this one, if any (the refusal of a list).
    public let reason: ContactError?
    /// How many contacts a sync would delete, for ``Code/tooManyDeletes``.
    public let count: Int?

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, provider: String? = nil, credentialKey: String? = nil,
        reason: ContactError? = nil, count: Int? = nil
    ) {
        self.code = code
        self.message = message
        self.provider = provider
        self.credentialKey = credentialKey
        self.reason = reason
        self.count = count
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}
