/// Why one contact was skipped, rejected or failed, or why a provider refused a whole
/// batch: a code from Contactor's fixed taxonomy, a message and context.
///
/// This is the per-contact reason; what stops a run as a whole before or while it runs is
/// a ``ContactorError``. The set of codes is closed and documented (``Code``); a code is
/// matched with `==` against its static members, the AsyncHTTPClient `HTTPClientError`
/// way. Every member is a `let`: an error is built once, with its final message. Its
/// ``description`` holds Contactor's own text and what the provider said, after the
/// engine has masked the run's secrets in it.
public struct ContactError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable kind of an error: one of the taxonomy's values.
    ///
    /// The set is closed: codes are made only by Contactor (the static members), or read
    /// back from their names with ``init(rawValue:)``, which refuses any other name.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The snake-case name of the code, as printed in JSON output (`invalid_phone`).
        public let rawValue: String

        private init(_ name: String) { self.rawValue = name }

        /// The code named `rawValue` (`invalid_phone`), or `nil` when the taxonomy has no
        /// such code.
        public init?(rawValue: String) {
            guard let code = Code.byName[rawValue] else { return nil }
            self = code
        }

        public var description: String { rawValue }

        /// The phone number could not be parsed or is not a valid number.
        public static let invalidPhone = Code("invalid_phone")
        /// The number's country is not the one the list or provider accepts.
        public static let wrongCountry = Code("wrong_country")
        /// The number's line type (fixed line, VoIP, ...) is not allowed.
        public static let numberTypeNotAllowed = Code("number_type_not_allowed")
        /// A required field is missing.
        public static let missingField = Code("missing_field")
        /// A field is longer than the provider accepts.
        public static let fieldTooLong = Code("field_too_long")
        /// A field has a value the provider does not accept (format, unknown field).
        public static let invalidField = Code("invalid_field")
        /// A validator rejected the contact.
        public static let validationFailed = Code("validation_failed")
        /// The contact is already in the list (nothing to do), or appears earlier in the
        /// same input.
        public static let alreadyInList = Code("already_in_list")
        /// The contact is not in the list (nothing to delete).
        public static let notInList = Code("not_in_list")
        /// The list does not exist at the provider.
        public static let listNotFound = Code("list_not_found")
        /// The provider refused the credentials.
        public static let authFailed = Code("auth_failed")
        /// The provider asked to slow down.
        public static let rateLimited = Code("rate_limited")
        /// The provider answered with an error that fits no other code, or an answer that
        /// could not be read.
        public static let providerError = Code("provider_error")
        /// The request could not be sent or its answer could not be received.
        public static let transportError = Code("transport_error")
        /// The request took longer than allowed.
        public static let timeout = Code("timeout")
        /// The provider does not support the operation.
        public static let unsupportedOperation = Code("unsupported_operation")
        /// A Lua plugin failed or returned something malformed.
        public static let pluginError = Code("plugin_error")

        /// Every code of the taxonomy, in the order of the design.
        public static let all: [Code] = [
            .invalidPhone, .wrongCountry, .numberTypeNotAllowed, .missingField, .fieldTooLong,
            .invalidField, .validationFailed, .alreadyInList, .notInList, .listNotFound,
            .authFailed, .rateLimited, .providerError, .transportError, .timeout,
            .unsupportedOperation, .pluginError,
        ]

        private static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.rawValue, $0) })
    }

    /// A finer reason within a code, where one helps a caller react (a front end offering
    /// to set a region). The set is closed: only Contactor makes them.
    public struct Detail: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        public var description: String { name }

        /// `invalid_phone`: a national number, and no region to read it in.
        public static let regionNeeded = Detail("region_needed")
        /// `invalid_phone`: a national number, and the region given is not one
        /// libphonenumber knows.
        public static let unknownRegion = Detail("unknown_region")
    }

    /// What kind of error this is.
    public let code: Code
    /// A finer reason within ``code``, when there is one.
    public let detail: Detail?
    /// A human-readable explanation.
    public let message: String
    /// The provider's own error code, when it gave one (`ERR_104`, `15`).
    public let providerCode: String?
    /// The provider involved, if any (`octopush`).
    public let provider: String?
    /// The operation that failed, if any.
    public let operation: ContactOperation?
    /// The contact field concerned, if any (`first_name`, `param1`).
    public let field: String?
    /// Whether the same request may succeed if sent again later (5xx, 429, `ERR_9XX`,
    /// connection failures, an answer cut short).
    public let isTransient: Bool
    /// How long the provider asked to wait before trying again, when it said.
    public let retryAfter: Duration?

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, providerCode: String? = nil, provider: String? = nil,
        operation: ContactOperation? = nil, field: String? = nil, isTransient: Bool = false,
        retryAfter: Duration? = nil, detail: Detail? = nil
    ) {
        self.code = code
        self.detail = detail
        self.message = message
        self.providerCode = providerCode
        self.provider = provider
        self.operation = operation
        self.field = field
        self.isTransient = isTransient
        self.retryAfter = retryAfter
    }

    /// `code: message`, followed by the provider, the operation and the provider's code
    /// when known.
    public var description: String {
        var text = "\(code): \(message)"
        var context: [String] = []
        if let provider { context.append(provider) }
        if let operation { context.append(operation.rawValue) }
        if let providerCode { context.append("provider code \(providerCode)") }
        if !context.isEmpty { text += " (\(context.joined(separator: ", ")))" }
        return text
    }
}

extension ContactError {
    /// A copy with the provider and operation filled in where they were missing.
    public func attributed(to provider: String, operation: ContactOperation) -> ContactError {
        guard self.provider == nil || self.operation == nil else { return self }
        return ContactError(
            code, message, providerCode: providerCode, provider: self.provider ?? provider,
            operation: self.operation ?? operation, field: field, isTransient: isTransient,
            retryAfter: retryAfter, detail: detail)
    }

    /// A copy whose message and provider code went through `redactor` (masked, then cut
    /// to `limit` characters), so that no secret of the run reaches output, logs or the
    /// journal, whoever built the error.
    public func redacted(by redactor: Redactor, limit: Int = Redactor.defaultLimit) -> ContactError
    {
        let message = redactor.quote(self.message, limit: limit)
        let providerCode = self.providerCode.map { redactor.quote($0, limit: 80) }
        guard message != self.message || providerCode != self.providerCode else { return self }
        return ContactError(
            code, message, providerCode: providerCode, provider: provider, operation: operation,
            field: field, isTransient: isTransient, retryAfter: retryAfter, detail: detail)
    }

    /// A copy with `suffix` appended to the message (`" (gave up after 3 attempts)"`).
    public func appending(_ suffix: String) -> ContactError {
        ContactError(
            code, message + suffix, providerCode: providerCode, provider: provider,
            operation: operation, field: field, isTransient: isTransient, retryAfter: retryAfter,
            detail: detail)
    }

    /// A copy that is not transient (the engine gave up retrying it).
    public func final() -> ContactError {
        ContactError(
            code, message, providerCode: providerCode, provider: provider, operation: operation,
            field: field, isTransient: false, retryAfter: retryAfter, detail: detail)
    }
}
