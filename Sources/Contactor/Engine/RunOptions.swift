import Foundation
import Logging

/// The options of one run.
public struct RunOptions: Sendable {
    /// Whether a run sends, or only shows what it would send.
    public enum Mode: Sendable, Hashable {
        /// Send the requests.
        case send
        /// Prepare and check every record and let the provider build its requests, then
        /// send nothing: each contact that would be sent ends `valid`, with the
        /// operation, and the first contact of each batch carries the batch's requests
        /// (``RecordOutcome/requests``). Nothing is journalled.
        case dryRun
    }

    /// Send, or dry run.
    public var mode: Mode
    /// The region national numbers are read in (`--region`); the provider's default when
    /// `nil`.
    public var region: String?
    /// The base URL that replaces the provider's (`--endpoint`).
    public var endpoint: URL?
    /// Provider-specific options (`tag_name`, ...), checked by the provider.
    public var providerOptions: [String: String]
    /// Turns records into drafts; the CSV contract's columns by default.
    public var mapper: any RecordMapper
    /// Extra checks after the provider's, in order (`--validator`).
    public var validators: [any ContactValidator]
    /// What to do with fields the provider has no place for (``UnsupportedFieldPolicy``):
    /// drop them and say so once (the default, as the command line does), or reject the
    /// contacts that have one.
    public var unsupportedFields: UnsupportedFieldPolicy
    /// Whether a phone met again in the input is reported (`skipped`, with the line it
    /// repeats) instead of being sent again. On by default.
    public var detectsDuplicates: Bool
    /// A batch size smaller than the provider's (`--batch-size`); larger values are capped.
    public var batchSize: Int?
    /// The most batches in flight (`--concurrency`); the client's setting when `nil`.
    public var concurrency: Int?
    /// The rate for this run, in place of the client's policy.
    public var rateLimit: RateLimitPolicy?
    /// Edits a built-in provider's payload before it is sent (a Lua mapping's `payload`).
    public var payloadHook: PayloadHook?
    /// Credential values that take precedence over every other source, by key (a
    /// tenant's own credentials, for one call).
    public var credentials: [String: String]
    /// Where this run logs, in place of the client's logger (a request handler's own).
    public var logger: Logger?
    /// Told of things worth saying once that are not any one contact's outcome (fields not
    /// sent). Called from any task.
    public var onNotice: (@Sendable (RunNotice) -> Void)?
    /// A ledger an import, update or delete keeps up to date (what it added, with the
    /// fields sent; what it deleted is forgotten), so that a later sync knows. A sync takes
    /// its ledger as an argument instead.
    public var ledger: (any Ledger)?
    /// What the journal records about the run; without it, nothing is recorded.
    public var runInfo: RunInfo?
    /// Whether to continue the journal's last unfinished run instead of starting anew.
    public var resume: Bool

    /// Creates options.
    public init(
        mode: Mode = .send, region: String? = nil, endpoint: URL? = nil,
        providerOptions: [String: String] = [:],
        mapper: any RecordMapper = StandardColumnsMapper(),
        validators: [any ContactValidator] = [],
        unsupportedFields: UnsupportedFieldPolicy = .drop, detectsDuplicates: Bool = true,
        batchSize: Int? = nil, concurrency: Int? = nil, rateLimit: RateLimitPolicy? = nil,
        payloadHook: PayloadHook? = nil, credentials: [String: String] = [:],
        logger: Logger? = nil, onNotice: (@Sendable (RunNotice) -> Void)? = nil,
        ledger: (any Ledger)? = nil, runInfo: RunInfo? = nil, resume: Bool = false
    ) {
        self.mode = mode
        self.region = region
        self.endpoint = endpoint
        self.providerOptions = providerOptions
        self.mapper = mapper
        self.validators = validators
        self.unsupportedFields = unsupportedFields
        self.detectsDuplicates = detectsDuplicates
        self.batchSize = batchSize
        self.concurrency = concurrency
        self.rateLimit = rateLimit
        self.payloadHook = payloadHook
        self.credentials = credentials
        self.logger = logger
        self.onNotice = onNotice
        self.ledger = ledger
        self.runInfo = runInfo
        self.resume = resume
    }
}

/// Something a run says once that is not any one contact's outcome.
public struct RunNotice: Sendable, Hashable, CustomStringConvertible {
    /// The kind of a notice. The set is closed.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        public var description: String { name }

        /// Fields the provider has no place for were left out of what is sent
        /// (``RunNotice/fields`` names them).
        public static let fieldsNotSent = Kind("fields_not_sent")
    }

    /// What kind of notice this is.
    public let kind: Kind
    /// The provider concerned.
    public let provider: String
    /// The fields concerned, for ``Kind/fieldsNotSent``.
    public let fields: [String]

    /// Creates a notice.
    public init(kind: Kind, provider: String, fields: [String]) {
        self.kind = kind
        self.provider = provider
        self.fields = fields
    }

    /// `avosms has no place for vip, param9: not sent`.
    public var description: String {
        "\(provider) has no place for \(fields.joined(separator: ", ")): not sent"
    }
}
