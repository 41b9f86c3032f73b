import Foundation
import HTTPTypes
import Logging

/// What a provider is and what it accepts: everything the host needs before calling it.
public struct ProviderDescriptor: Sendable, Hashable {
    /// The provider's name, as given to `--provider` (`octopush`).
    public var name: String
    /// A short human description.
    public var summary: String
    /// The credential keys it needs (`api_login`, `api_key`).
    public var credentialKeys: [String]
    /// The credential keys whose values identify the account rather than prove it
    /// (`api_login`, a client id): readable in messages, never masked, and the account's
    /// name in the ledger and rate limits. Every other credential is a secret.
    public var publicCredentialKeys: Set<String>
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
    /// name. Any other custom field cannot be sent, unless ``acceptsAnyCustomField``.
    public var customFields: [String]
    /// Whether every custom field can be sent (a Lua plugin that declared no
    /// `custom_fields`).
    public var acceptsAnyCustomField: Bool
    /// The longest value accepted per field (`first_name`: 32), in characters.
    public var maxLengths: [String: Int]
    /// The provider's documented request rate, if it gives one (requests per second).
    public var defaultRateLimit: Double?

    /// Creates a descriptor.
    public init(
        name: String, summary: String = "", credentialKeys: [String],
        publicCredentialKeys: Set<String> = [], defaultEndpoint: URL,
        defaultRegion: String? = nil, batchSizes: [ContactOperation: Int],
        operations: Set<ContactOperation>? = nil, standardFields: [String] = [],
        customFields: [String] = [], acceptsAnyCustomField: Bool = false,
        maxLengths: [String: Int] = [:], defaultRateLimit: Double? = nil
    ) {
        self.name = name
        self.summary = summary
        self.credentialKeys = credentialKeys
        self.publicCredentialKeys = publicCredentialKeys
        self.defaultEndpoint = defaultEndpoint
        self.defaultRegion = defaultRegion
        self.batchSizes = batchSizes
        self.operations = operations ?? Set(batchSizes.keys)
        self.standardFields = standardFields
        self.customFields = customFields
        self.acceptsAnyCustomField = acceptsAnyCustomField
        self.maxLengths = maxLengths
        self.defaultRateLimit = defaultRateLimit
    }

    /// The batch size for `operation` (1 when not set).
    public func batchSize(for operation: ContactOperation) -> Int {
        max(1, batchSizes[operation] ?? 1)
    }

    /// Whether the provider supports `operation`.
    public func supports(_ operation: ContactOperation) -> Bool { operations.contains(operation) }

    /// The fields of `contact` this provider has no place for: standard fields outside
    /// ``standardFields`` and custom fields outside ``customFields``, sorted.
    public func unsendableFields(of contact: Contact) -> [String] {
        var names: [String] = []
        for name in Contact.standardFieldNames.dropFirst() where contact.hasValue(field: name) {
            if !standardFields.contains(name) { names.append(name) }
        }
        if !acceptsAnyCustomField, !contact.fields.isEmpty {
            for name in contact.fields.keys.sorted() where !customFields.contains(name) {
                names.append(name)
            }
        }
        return names
    }
}

/// Everything a provider may use while performing one batch.
public struct ProviderContext: Sendable {
    /// The provider's credentials, resolved and checked by the client before the run: every
    /// key of ``ProviderDescriptor/credentialKeys`` has a value. Setting them also sets the
    /// request context's redactor and account.
    public var credentials: Credentials {
        didSet {
            request.redactor = credentials.redactor
            request.account = credentials.account
        }
    }
    /// The base URL in force (the default or `--endpoint`).
    public var endpoint: URL
    /// Provider-specific options (`tag_name`, `do_not_overwrite`, ...), as text, already
    /// accepted by ``ContactProvider/checkList(_:options:for:)``.
    public var options: [String: String]
    /// Where to log; never log a credential.
    public var logger: Logger
    /// An optional hook that may edit a built-in provider's payload for one contact just
    /// before it is encoded (a Lua mapping's `payload` function).
    public var payloadHook: PayloadHook?
    /// Whether this is a dry run: requests are recorded, not sent, and every one is answered
    /// `200` with an empty body. The engine ignores what the provider makes of it.
    public var isDryRun: Bool
    /// The middlewares and the transport: the only way to the network.
    public var pipeline: RequestPipeline
    /// What the middlewares and the transport learn about each request (provider,
    /// operation, account, attempt, secrets, logger).
    public var request: RequestContext

    /// Creates a context over `transport`, as tests and direct callers of an adapter do.
    public init(
        transport: any HTTPTransport, credentials: Credentials, endpoint: URL,
        options: [String: String] = [:], logger: Logger = Logger(label: "contactor"),
        payloadHook: PayloadHook? = nil, middlewares: [any ClientMiddleware] = [],
        isDryRun: Bool = false
    ) {
        self.init(
            pipeline: RequestPipeline(transport: transport, middlewares: middlewares),
            request: RequestContext(
                provider: credentials.provider, account: credentials.account,
                redactor: credentials.redactor, logger: logger),
            credentials: credentials, endpoint: endpoint, options: options, logger: logger,
            payloadHook: payloadHook, isDryRun: isDryRun)
    }

    /// Creates a context with its pipeline and request context made by the caller (the
    /// engine).
    public init(
        pipeline: RequestPipeline, request: RequestContext, credentials: Credentials,
        endpoint: URL, options: [String: String], logger: Logger, payloadHook: PayloadHook?,
        isDryRun: Bool
    ) {
        self.pipeline = pipeline
        self.request = request
        self.credentials = credentials
        self.endpoint = endpoint
        self.options = options
        self.logger = logger
        self.payloadHook = payloadHook
        self.isDryRun = isDryRun
    }

    /// The transport at the end of the pipeline.
    public var transport: any HTTPTransport { pipeline.transport }

    /// The URL of a documented `path` (`/v1/contact/add`) under ``endpoint``, keeping any
    /// path prefix the endpoint has (`http://127.0.0.1:8080/octopush` + `/v1/...`).
    public func url(_ path: String, query: [(String, String)] = []) -> URL {
        Endpoint.url(base: endpoint, path: path, query: query)
    }

    /// Sends `request` with `body` through the middlewares and the transport.
    ///
    /// - Parameter timeout: How long to wait for the whole response; the transport's
    ///   default when `nil`.
    /// - Returns: The response's head and whole body, whatever its status.
    /// - Throws: What the transport throws (a `transport_error` or `timeout`
    ///   ``ContactError``), or `CancellationError`.
    public func send(
        _ request: HTTPRequest, body: Data? = nil, timeout: Duration? = nil
    ) async throws -> (HTTPResponse, Data) {
        var context = self.request
        if let timeout { context.timeout = timeout }
        return try await pipeline.send(request, body: body, context: context)
    }

    /// `text` (a provider's message, a body excerpt) with the run's secrets masked, then
    /// cut to `limit` characters: what an adapter puts in an error message.
    public func quote(_ text: String, limit: Int = Redactor.defaultLimit) -> String {
        request.redactor.quote(text, limit: limit)
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
/// - Reach the network only through `context.send` (the client's middlewares and
///   transport). A provider that keeps state of its own changes nothing when
///   `context.isDryRun` is set.
/// - Report per-contact outcomes as results; throw a ``ContactError`` only when the whole
///   batch failed for one reason (`auth_failed`, `list_not_found`, `transport_error`,
///   `rate_limited`, ...), with `isTransient` set when sending again later may help.
/// - Never put a credential in a result, an error or a log line.
/// - Do not check contacts, the list or the credentials again: the client runs
///   ``check(_:for:)`` and ``checkList(_:options:for:)`` once, before anything is sent,
///   and resolves every credential key before the run. An adapter receives a validated
///   batch and only builds requests and interprets responses.
/// - An operation not in ``ProviderDescriptor/operations`` throws
///   `unsupported_operation`; the defaults of ``delete(_:from:context:)``,
///   ``update(_:in:context:)`` and ``list(_:cursor:context:)`` do that.
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

    /// Changes the fields of the contacts of `batch` (at most the update batch size),
    /// already in `list`, to the values given; ``Contact/providerID`` holds the provider's
    /// id of each when it is known.
    func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws -> [ContactResult]

    /// Reads one page of the contacts of `list`: the first when `cursor` is `nil`, else
    /// the one ``ContactPage/next`` named.
    func list(
        _ list: String, cursor: String?, context: ProviderContext
    ) async throws -> ContactPage

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
        throw unsupported(.delete)
    }

    public func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        throw unsupported(.update)
    }

    public func list(
        _ list: String, cursor: String?, context: ProviderContext
    ) async throws -> ContactPage {
        throw unsupported(.list)
    }

    /// The `unsupported_operation` error for `operation`.
    public func unsupported(_ operation: ContactOperation) -> ContactError {
        ContactError(
            .unsupportedOperation, "\(operation) is not supported by \(descriptor.name)",
            provider: descriptor.name, operation: operation)
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
        // Read once: through an existential, each read of `descriptor` is a copy of it.
        let descriptor = self.descriptor
        let name = descriptor.name
        if operation == .add || operation == .update, !descriptor.acceptsAnyCustomField,
            contact.fields.keys.contains(where: { !descriptor.customFields.contains($0) })
        {
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
        // The first field too long in name order; sorted only when there is one.
        // (No more characters than UTF-8 bytes: most values are decided by their length
        // in bytes, without counting characters.)
        func tooLong(_ field: String, _ limit: Int) -> Bool {
            guard let value = contact[field: field] else { return false }
            return value.utf8.count > limit && value.count > limit
        }
        guard descriptor.maxLengths.contains(where: { tooLong($0.key, $0.value) }) else {
            return nil
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

/// One page of a provider's list: the contacts as the provider holds them, and where the
/// next page starts.
public struct ContactPage: Sendable, Hashable {
    /// The contacts, phones as the provider gave them, with ``ContactDraft/providerID``.
    public var contacts: [ContactDraft]
    /// The cursor of the next page, or `nil` on the last page.
    public var next: String?

    /// Creates a page.
    public init(contacts: [ContactDraft], next: String?) {
        self.contacts = contacts
        self.next = next
    }
}
