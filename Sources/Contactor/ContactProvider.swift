import Foundation
import Logging

/// What a provider is and what it accepts: everything the host needs before calling it.
public struct ProviderDescriptor: Sendable, Hashable {
    /// The provider's name, as given to `--provider` (`octopush`).
    public var name: String
    /// A short human description.
    public var summary: String
    /// The credential keys it needs (`api_login`, `api_key`).
    public var credentialKeys: [String]
    /// The base URL the documented paths are appended to; `--endpoint` replaces it.
    public var defaultEndpoint: URL
    /// The region used for national numbers when `--region` is not given (`FR`).
    public var defaultRegion: String?
    /// The most contacts one request may carry, per operation.
    public var batchSizes: [ContactOperation: Int]
    /// The operations it supports.
    public var operations: Set<ContactOperation>
    /// The standard contact fields it can send (`first_name`, `email`, ...); the phone
    /// is always sent. A standard field outside this list is not sent, and the host says so.
    public var standardFields: [String]
    /// The custom fields it has a place for (`param1`...`param5`), sent under the same
    /// name. Any other custom field cannot be sent.
    public var customFields: [String]
    /// The longest value accepted per field (`first_name`: 32), in characters.
    public var maxLengths: [String: Int]
    /// The provider's documented request rate, if it gives one (requests per second).
    public var defaultRateLimit: Double?

    /// Creates a descriptor.
    public init(
        name: String, summary: String = "", credentialKeys: [String], defaultEndpoint: URL,
        defaultRegion: String? = nil, batchSizes: [ContactOperation: Int],
        operations: Set<ContactOperation>? = nil, standardFields: [String] = [],
        customFields: [String] = [],
        maxLengths: [String: Int] = [:], defaultRateLimit: Double? = nil
    ) {
        self.name = name
        self.summary = summary
        self.credentialKeys = credentialKeys
        self.defaultEndpoint = defaultEndpoint
        self.defaultRegion = defaultRegion
        self.batchSizes = batchSizes
        self.operations = operations ?? Set(batchSizes.keys)
        self.standardFields = standardFields
        self.customFields = customFields
        self.maxLengths = maxLengths
        self.defaultRateLimit = defaultRateLimit
    }

    /// The batch size for `operation` (1 when not set).
    public func batchSize(for operation: ContactOperation) -> Int {
        max(1, batchSizes[operation] ?? 1)
    }

    /// Whether the provider supports `operation`.
    public func supports(_ operation: ContactOperation) -> Bool { operations.contains(operation) }
}

/// Everything a provider may use while performing one batch.
public struct ProviderContext: Sendable {
    /// The only way to the network.
    public var transport: any HTTPTransport
    /// The provider's credentials.
    public var credentials: Credentials
    /// The base URL in force (the default or `--endpoint`).
    public var endpoint: URL
    /// Provider-specific options (`tag_name`, `do_not_overwrite`, ...), as text.
    public var options: [String: String]
    /// Where to log; never log a credential.
    public var logger: Logger
    /// An optional hook that may edit a built-in provider's payload for one contact just
    /// before it is encoded (a Lua mapping's `payload` function).
    public var payloadHook: PayloadHook?

    /// Creates a context.
    public init(
        transport: any HTTPTransport, credentials: Credentials, endpoint: URL,
        options: [String: String] = [:], logger: Logger = Logger(label: "contactor"),
        payloadHook: PayloadHook? = nil
    ) {
        self.transport = transport
        self.credentials = credentials
        self.endpoint = endpoint
        self.options = options
        self.logger = logger
        self.payloadHook = payloadHook
    }

    /// The URL of a documented `path` (`/v1/contact/add`) under ``endpoint``, keeping any
    /// path prefix the endpoint has (`http://127.0.0.1:8080/octopush` + `/v1/...`).
    public func url(_ path: String, query: [(String, String)] = []) -> URL {
        Endpoint.url(base: endpoint, path: path, query: query)
    }

    /// Sends `request` through the transport and returns the response.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await transport.send(request)
    }
}

/// Edits a built-in provider's payload for one contact before it is sent.
///
/// The payload is the provider's own JSON object for the contact (for form-encoded
/// providers, an object of strings). Throw to fail the contact with `plugin_error`.
public typealias PayloadHook =
    @Sendable (_ provider: String, _ contact: Contact, _ payload: JSONValue) async throws ->
    JSONValue

/// Joining a base URL and a documented path: the `--endpoint` contract.
public enum Endpoint {
    /// `base` (scheme, host, port and an optional path prefix) with `path` appended and
    /// `query` added, percent-encoded.
    public static func url(base: URL, path: String, query: [(String, String)] = []) -> URL {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        text += path.hasPrefix("/") ? path : "/" + path
        if !query.isEmpty {
            text += "?" + FormEncoding.encode(query)
        }
        guard let url = URL(string: text) else {
            preconditionFailure("invalid URL built from base \(base) and path \(path)")
        }
        return url
    }
}

/// A contact-list service Contactor can add contacts to and delete them from.
///
/// ## Implementation requirements
/// - Return exactly one ``ContactResult`` per input contact, in input order.
/// - Reach the network only through `context.transport`.
/// - Report per-contact outcomes as results; throw a ``ContactError`` only when the whole
///   batch failed for one reason (`auth_failed`, `list_not_found`, `transport_error`,
///   `rate_limited`, ...), with `isTransient` set when sending again later may help.
/// - Never put a credential in a result, an error or a log line.
/// - An operation not in ``ProviderDescriptor/operations`` throws
///   `unsupported_operation`; the default ``delete(_:from:context:)`` does that.
public protocol ContactProvider: Sendable {
    /// What the provider is and accepts.
    var descriptor: ProviderDescriptor { get }

    /// Adds `batch` (at most the add batch size) to `list`.
    func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws
        -> [ContactResult]

    /// Deletes `batch` (at most the delete batch size) from `list`.
    func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    ) async throws
        -> [ContactResult]

    /// Checks a contact against the provider's local rules before anything is sent.
    ///
    /// Returns the error that makes the contact `rejected` (`field_too_long`,
    /// `invalid_field`, ...), or `nil`. The default checks ``ProviderDescriptor/maxLengths``
    /// and that every custom field is one of ``ProviderDescriptor/customFields``.
    func check(_ contact: Contact, for operation: ContactOperation) -> ContactError?

    /// Checks the list name and options before anything is sent; the default accepts any
    /// non-empty list.
    func checkList(
        _ list: String, options: [String: String], for operation: ContactOperation
    )
        -> ContactError?
}

extension ContactProvider {
    public func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    )
        async throws -> [ContactResult]
    {
        throw ContactError(
            .unsupportedOperation, "delete is not supported by \(descriptor.name)",
            provider: descriptor.name, operation: .delete)
    }

    public func check(_ contact: Contact, for operation: ContactOperation) -> ContactError? {
        checkFields(contact, for: operation)
    }

    public func checkList(
        _ list: String, options: [String: String], for operation: ContactOperation
    ) -> ContactError? {
        list.isEmpty
            ? ContactError(
                .missingField, "the list is empty", provider: descriptor.name,
                operation: operation, field: "list")
            : nil
    }

    /// The default field checks: custom fields the provider has a place for, and
    /// ``ProviderDescriptor/maxLengths``.
    public func checkFields(_ contact: Contact, for operation: ContactOperation) -> ContactError? {
        let name = descriptor.name
        if operation == .add {
            for key in contact.fields.keys.sorted() where !descriptor.customFields.contains(key) {
                return ContactError(
                    .invalidField,
                    "\(name) has no field '\(key)'"
                        + (descriptor.customFields.isEmpty
                            ? ""
                            : " (its custom fields: \(descriptor.customFields.joined(separator: ", ")))"),
                    provider: name, operation: operation, field: key)
            }
        }
        for (field, limit) in descriptor.maxLengths.sorted(by: { $0.key < $1.key }) {
            if let value = contact[field: field], value.count > limit {
                return ContactError(
                    .fieldTooLong,
                    "\(field) is \(value.count) characters long; \(name) accepts at most \(limit)",
                    provider: name, operation: operation, field: field)
            }
        }
        return nil
    }
}
