import Contactor
import Foundation

/// The Avosms adapter: one form-encoded `POST` per contact, credentials in the body.
///
/// Avosms's `contact/add` and `contact/delete` take one contact each, so both batch sizes
/// are 1. A contact is keyed by its phone number within a list (Avosms returns no contact
/// id). Every answer is JSON `{status, code}`: `OK` is success, the documented `ERR_1xx`
/// codes map to the taxonomy (see the table in `AvosmsResponseCodes`), `ERR_9XX` is a
/// transient processing error. `ERR_100` (how bad credentials look) and `ERR_103`
/// (unknown list) throw, since no contact of the batch can succeed.
///
/// Standard fields sent: civility (`contactCivility`), last name (`contactName`), first
/// name (`contactFirstName`), e-mail (`contactEmail`) and birthday (`contactBirthday`,
/// `YYYY-MM-DD`); the one custom field is ``otherField`` (`other` → `contactOther`).
public struct AvosmsProvider: ContactProvider {
    /// Settings of the Avosms adapter.
    ///
    /// Avosms's contact calls take no option beyond the contact itself, so this is empty
    /// today; it exists so that options can be added without changing the initialiser.
    public struct Configuration: Sendable, Hashable {
        /// Creates the (empty) configuration.
        public init() {}
    }

    /// The provider's name, `avosms`.
    public static let name = "avosms"

    /// The custom field sent as `contactOther`, Avosms's only free field: `other`.
    public static let otherField = "other"

    /// Avosms's base URL, `https://api.avosms.com`.
    public static let defaultEndpoint = URL(string: "https://api.avosms.com")!

    /// What Avosms is and accepts.
    ///
    /// Credentials `id` (account e-mail) and `key`; region `FR`; batch size 1 for `add`
    /// and `delete`; standard fields `first_name`, `last_name`, `email`, `birthday`,
    /// `civility`; custom field `other`. Avosms documents no length limits.
    public static let descriptor = ProviderDescriptor(
        name: name,
        summary: "Avosms (api.avosms.com): form-encoded, one contact per request",
        credentialKeys: ["id", "key"], publicCredentialKeys: ["id"],
        defaultEndpoint: defaultEndpoint,
        defaultRegion: "FR",
        batchSizes: [.add: 1, .delete: 1], operations: [.add, .delete],
        standardFields: ["first_name", "last_name", "email", "birthday", "civility"],
        customFields: [otherField])

    /// The adapter's settings.
    public var configuration: Configuration

    /// Creates the adapter.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// What Avosms is and accepts: the static `descriptor`.
    public var descriptor: ProviderDescriptor { Self.descriptor }

    /// Adds each contact of `batch` to the list whose id is `list`, one request each.
    ///
    /// - Returns: One result per contact, in order: `added`, `skipped` (`ERR_104`,
    ///   already in the list), `rejected` (`ERR_101`, `ERR_102`, `ERR_105`...`ERR_107`, or
    ///   a local check) or `failed` (`ERR_9XX`, an unknown answer, a payload hook error).
    /// - Throws: `auth_failed` (`ERR_100`, HTTP 401/403, a missing credential),
    ///   `list_not_found` (`ERR_103`), `missing_field` (empty list id), `rate_limited`
    ///   (HTTP 429) and transient `provider_error` (HTTP 5xx) without a result code, and
    ///   transport errors.
    public func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        try await perform(.add, batch, list: list, context: context)
    }

    /// Deletes each contact of `batch` from the list whose id is `list`, one request each.
    ///
    /// - Returns: One result per contact, in order: `deleted`, `skipped` (`ERR_104`, not
    ///   in the list), `rejected` or `failed` as for ``add(_:to:context:)``.
    /// - Throws: As ``add(_:to:context:)``.
    public func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        try await perform(.delete, batch, list: list, context: context)
    }

    /// Accepts a list id that is not empty (nor only spaces); Avosms takes no options.
    public func checkList(
        _ list: String, options: [String: String], for operation: ContactOperation
    ) -> ContactError? {
        guard list.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return ContactError(
            .missingField, "the Avosms contact list id (listContactId) is empty",
            provider: Self.name, operation: operation, field: "list")
    }

    private func perform(
        _ operation: ContactOperation, _ batch: [Contact], list: String,
        context: ProviderContext
    ) async throws(ContactError) -> [ContactResult] {
        let id = context.credentials["id"] ?? ""
        let key = context.credentials["key"] ?? ""
        let path = operation == .add ? "/v1/contact/add" : "/v1/contact/delete"
        var results: [ContactResult] = []
        results.reserveCapacity(batch.count)
        for contact in batch {
            let payload: AvosmsPayload
            switch await self.payload(for: contact, operation, list: list, context: context) {
            case .success(let value): payload = value
            case .failure(let error):
                results.append(.failed(error))
                continue
            }
            let response = try await ProviderSupport.send(
                .post, context.url(path),
                headers: [
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Accept", "application/json"),
                ],
                body: payload.formBody(id: id, key: key), context: context, provider: Self.name,
                operation: operation)
            results.append(
                try Self.interpret(
                    response, operation: operation, contact: contact, list: list, context: context))
        }
        return results
    }

    /// The payload for one contact; on `add`, passed through the payload hook.
    private func payload(
        for contact: Contact, _ operation: ContactOperation, list: String,
        context: ProviderContext
    ) async -> Result<AvosmsPayload, ContactError> {
        guard operation == .add else { return .success(.delete(contact, list: list)) }
        let payload = AvosmsPayload.add(contact, list: list)
        guard context.payloadHook != nil else { return .success(payload) }
        switch await ProviderSupport.applyHook(
            payload.json, contact: contact, context: context, provider: Self.name,
            operation: operation)
        {
        case .success(let json):
            return Result { () throws(ContactError) in
                try AvosmsPayload(hookResult: json, phone: contact.phone.e164)
            }
        case .failure(let error):
            return .failure(error)
        }
    }

    /// Reads one Avosms answer: its `code` first, whatever the HTTP status, then the status.
    static func interpret(
        _ response: ProviderResponse, operation: ContactOperation, contact: Contact, list: String,
        context: ProviderContext
    ) throws(ContactError) -> ContactResult {
        let json = response.json
        let code = json?["code"]?.stringValue
        if let code,
            let outcome = AvosmsResponseCodes.outcome(
                for: code, operation: operation, contact: contact, list: list)
        {
            switch outcome {
            case .result(let result): return result
            case .batchFailure(let error): throw error
            }
        }
        let phone = contact.phone.e164
        let status = response.status
        let said = ProviderSupport.quotedBody(response, context: context)
        let retryAfter = response.retryAfter
        func error(
            _ kind: ContactError.Code, _ message: String, transient: Bool = false
        )
            -> ContactError
        {
            ContactError(
                kind, message,
                providerCode: code.map { context.quote($0, limit: 40) },
                provider: Self.name, operation: operation, isTransient: transient,
                retryAfter: transient ? retryAfter : nil)
        }
        switch status {
        case 401, 403:
            throw error(
                .authFailed,
                "Avosms refused the credentials 'id' and 'key' (HTTP \(status))\(said)")
        case 429:
            throw error(
                .rateLimited, "Avosms asked to slow down (HTTP 429)\(said)", transient: true)
        case 500...599:
            throw error(
                .providerError, "Avosms failed with HTTP \(status)\(said)", transient: true)
        default:
            if let code {
                let shown = context.quote(code, limit: 40)
                return .failed(
                    error(
                        .providerError,
                        "Avosms answered the unknown code '\(shown)' (HTTP \(status)) for \(phone)")
                )
            }
            let what = json == nil ? "a body that is not JSON" : "JSON without a result code"
            return .failed(
                error(
                    .providerError,
                    "Avosms answered HTTP \(status) with \(what) for \(phone)\(said)"))
        }
    }
}
