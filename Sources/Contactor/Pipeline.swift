import Foundation

/// One record of input (a CSV row), before mapping.
public struct InputRecord: Sendable, Hashable {
    /// The 1-based line of the input file where the record starts (the header is line 1).
    public var line: Int
    /// The record's values by column name, in column order.
    public var columns: [(name: String, value: String)]
    /// Why the record could not be read (invalid UTF-8, wrong number of columns), if so;
    /// such a record ends `rejected` with this error and is never sent.
    public var problem: ContactError?

    /// Creates a record.
    public init(line: Int, columns: [(name: String, value: String)], problem: ContactError? = nil) {
        self.line = line
        self.columns = columns
        self.problem = problem
    }

    /// The value of column `name`, or `nil`.
    public subscript(column name: String) -> String? {
        columns.first { $0.name == name }?.value
    }

    public static func == (lhs: InputRecord, rhs: InputRecord) -> Bool {
        lhs.line == rhs.line && lhs.problem == rhs.problem
            && lhs.columns.elementsEqual(rhs.columns) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(line)
        for column in columns {
            hasher.combine(column.name)
            hasher.combine(column.value)
        }
    }
}

/// A contact as a mapping produced it, before the phone is normalised and fields checked.
///
/// This is also the shape of a contact in Lua (`{ phone = "...", first_name = ..., fields
/// = {...} }`).
public struct ContactDraft: Sendable, Hashable {
    /// The phone number as typed.
    public var phone: String
    /// The first name.
    public var firstName: String?
    /// The last name.
    public var lastName: String?
    /// The e-mail address.
    public var email: String?
    /// The birthday as `YYYY-MM-DD`.
    public var birthday: String?
    /// The civility.
    public var civility: String?
    /// Custom fields.
    public var fields: [String: String]

    /// Creates a draft.
    public init(
        phone: String, firstName: String? = nil, lastName: String? = nil, email: String? = nil,
        birthday: String? = nil, civility: String? = nil, fields: [String: String] = [:]
    ) {
        self.phone = phone
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.birthday = birthday
        self.civility = civility
        self.fields = fields
    }
}

/// Turns an input record into a contact draft (built-in columns or a Lua `map`).
///
/// ## Implementation requirements
/// - Return the draft, or throw a ``ContactError`` that rejects the record
///   (`validation_failed` with the mapping's reason, `missing_field`, ...) or fails it
///   (`plugin_error` when the mapping itself broke).
/// - Be safe to call from many tasks at once.
public protocol RecordMapper: Sendable {
    /// Maps one record.
    func map(_ record: InputRecord) async throws -> ContactDraft
}

/// Checks a normalised contact before it is sent (a Lua validator).
///
/// ## Implementation requirements
/// Return `nil` to accept, or the error that rejects the contact (`validation_failed` with
/// the validator's reason); throw only when the validator itself broke (`plugin_error`).
public protocol ContactValidator: Sendable {
    /// The validator's name, for messages.
    var name: String { get }
    /// Checks one contact.
    func validate(_ contact: Contact) async throws -> ContactError?
}

/// When and how often to send a failed request again.
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts per request, the first included (1 = no retries).
    public var maxAttempts: Int
    /// The wait before the first retry.
    public var initialBackoff: Duration
    /// The longest wait between two attempts.
    public var maxBackoff: Duration
    /// How much the wait grows per attempt.
    public var multiplier: Double
    /// The fraction of each wait that is random (0 = none, 1 = "full jitter").
    public var jitter: Double
    /// The most time to spend on one request, all attempts and waits included.
    public var totalBudget: Duration

    /// Creates a policy.
    public init(
        maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(200),
        maxBackoff: Duration = .seconds(30), multiplier: Double = 2, jitter: Double = 0.5,
        totalBudget: Duration = .seconds(120)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
        self.totalBudget = totalBudget
    }

    /// The default: 5 attempts, 200 ms doubling to at most 30 s, half jitter, 2 minutes.
    public static let standard = RetryPolicy()

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
    /// the provider's `retryAfter` when it gave one (capped by ``maxBackoff``; callers give
    /// up instead when `retryAfter` exceeds it, never sending sooner than asked), else
    /// exponential back-off with jitter.
    public func delay(
        afterAttempt attempt: Int, retryAfter: Duration? = nil,
        random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) -> Duration {
        if let retryAfter { return min(retryAfter, maxBackoff) }
        let exponent = Double(max(0, attempt - 1))
        let base = min(
            initialBackoff.seconds * pow(multiplier, exponent), maxBackoff.seconds)
        let wait = base * (1 - jitter) + base * jitter * random(0...1)
        return .nanoseconds(Int64(wait * 1e9))
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

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
}

extension RunJournal {
    public func entries(run: Int64, lines: ClosedRange<Int>) async throws -> [JournalEntry] {
        try await entries(run: run).filter { lines.contains($0.line) }
    }
}
