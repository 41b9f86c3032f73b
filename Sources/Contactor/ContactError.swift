/// An error about one contact or one request, with a code from Contactor's fixed taxonomy.
///
/// `ContactError` is a struct with an opaque, extensible ``Code`` rather than an enum, so
/// new codes can be added without breaking code that switches over them. Its
/// ``description`` is built only from Contactor's own text and the provider's code and
/// message; it never contains a credential.
public struct ContactError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable kind of an error, one of the taxonomy's values.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible,
        ExpressibleByStringLiteral
    {
        /// The snake-case name of the code, as printed in JSON output (`invalid_phone`).
        public let rawValue: String

        /// Creates a code from its snake-case name.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Creates a code from a string literal.
        public init(stringLiteral value: String) { self.rawValue = value }

        public var description: String { rawValue }

        /// The phone number could not be parsed or is not a valid number.
        public static let invalidPhone: Code = "invalid_phone"
        /// The number's country is not the one the list or provider accepts.
        public static let wrongCountry: Code = "wrong_country"
        /// The number's line type (fixed line, VoIP, ...) is not allowed.
        public static let numberTypeNotAllowed: Code = "number_type_not_allowed"
        /// A required field is missing.
        public static let missingField: Code = "missing_field"
        /// A field is longer than the provider accepts.
        public static let fieldTooLong: Code = "field_too_long"
        /// A field has a value the provider does not accept (format, unknown field).
        public static let invalidField: Code = "invalid_field"
        /// A validator rejected the contact.
        public static let validationFailed: Code = "validation_failed"
        /// The contact is already in the list (nothing to do).
        public static let alreadyInList: Code = "already_in_list"
        /// The contact is not in the list (nothing to delete).
        public static let notInList: Code = "not_in_list"
        /// The list does not exist at the provider.
        public static let listNotFound: Code = "list_not_found"
        /// The provider refused the credentials.
        public static let authFailed: Code = "auth_failed"
        /// The provider asked to slow down.
        public static let rateLimited: Code = "rate_limited"
        /// The provider answered with an error that fits no other code.
        public static let providerError: Code = "provider_error"
        /// The request could not be sent or its answer could not be read.
        public static let transportError: Code = "transport_error"
        /// The request took longer than allowed.
        public static let timeout: Code = "timeout"
        /// The provider does not support the operation.
        public static let unsupportedOperation: Code = "unsupported_operation"
        /// A Lua plugin failed or returned something malformed.
        public static let pluginError: Code = "plugin_error"

        /// The request was not sent because this is a dry run (`--dry-run`); never a
        /// contact's final outcome, so not in ``all``. The engine neither retries nor
        /// splits a batch that ended this way.
        public static let notSent: Code = "not_sent"

        /// Every code of the taxonomy, in the order of the design.
        public static let all: [Code] = [
            .invalidPhone, .wrongCountry, .numberTypeNotAllowed, .missingField, .fieldTooLong,
            .invalidField, .validationFailed, .alreadyInList, .notInList, .listNotFound,
            .authFailed, .rateLimited, .providerError, .transportError, .timeout,
            .unsupportedOperation, .pluginError,
        ]
    }

    /// What kind of error this is.
    public var code: Code
    /// A human-readable explanation, free of secrets.
    public var message: String
    /// The provider's own error code, when it gave one (`ERR_104`, `15`).
    public var providerCode: String?
    /// The provider involved, if any (`octopush`).
    public var provider: String?
    /// The operation that failed, if any.
    public var operation: ContactOperation?
    /// The contact field concerned, if any (`first_name`, `param1`).
    public var field: String?
    /// Whether the same request may succeed if sent again later (5xx, 429, `ERR_9XX`,
    /// connection failures).
    public var isTransient: Bool
    /// How long the provider asked to wait before trying again, when it said.
    public var retryAfter: Duration?

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, providerCode: String? = nil, provider: String? = nil,
        operation: ContactOperation? = nil, field: String? = nil, isTransient: Bool = false,
        retryAfter: Duration? = nil
    ) {
        self.code = code
        self.message = message
        self.providerCode = providerCode
        self.provider = provider
        self.operation = operation
        self.field = field
        self.isTransient = isTransient
        self.retryAfter = retryAfter
    }

    /// `code: message`, followed by the provider and its code when known.
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
    /// Returns a copy with the provider and operation filled in where they were missing.
    public func attributed(to provider: String, operation: ContactOperation) -> ContactError {
        var copy = self
        if copy.provider == nil { copy.provider = provider }
        if copy.operation == nil { copy.operation = operation }
        return copy
    }
}
