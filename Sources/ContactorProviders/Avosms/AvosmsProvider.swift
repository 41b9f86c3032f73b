import Contactor
import Foundation

/// The Avosms adapter: one form-encoded `POST` per contact, credentials in the body.
///
/// Avosms's `contact/add`, `contact/update` and `contact/delete` take one contact each, so
/// their batch sizes are 1; `contact/list/information` gives a whole list at once, so
/// ``list(_:cursor:context:)`` returns one page. A contact is keyed by its phone number
/// within a list (Avosms returns no contact id). Every answer is JSON `{status, code}`:
/// `OK` on an HTTP 2xx is success, the documented `ERR_1xx` codes map to the taxonomy (see
/// the table in `AvosmsResponseCodes`), `ERR_9XX` is a transient processing error.
/// `ERR_100` (how bad credentials look) and `ERR_103` (unknown list) throw, since no
/// contact of the batch can succeed. Anything else (a redirect, HTML, an `OK` on an error
/// status, an unknown code) is a `failed` `provider_error` that quotes the answer.
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
    /// Credentials `id` (account e-mail) and `key`; region `FR`; batch size 1 for `add`,
    /// `update` and `delete`; `list` too; standard fields `first_name`, `last_name`, `email`, `birthday`,
    /// `civility`; custom field `other`. Avosms documents no length limits.
    public static let descriptor = ProviderDescriptor(
        name: name,
        summary: "Avosms (api.avosms.com): form-encoded, one contact per request",
        credentialKeys: ["id", "key"], publicCredentialKeys: ["id"],
        defaultEndpoint: defaultEndpoint,
        defaultRegion: "FR",
        batchSizes: [.add: 1, .delete: 1, .update: 1], operations: [.add, .delete, .update, .list],
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

    /// Updates each contact of `batch` in the list whose id is `list`, one
    /// `POST /v1/contact/update` each.
    ///
    /// Avosms empties the optional fields an update leaves out, so every field the contact
    /// has is sent, as for an add.
    /// - Returns: One result per contact, in order: `updated`, `skipped` / `not_in_list`
    ///   (`ERR_104`: the number is not in the list, so nothing was changed), `rejected` or
    ///   `failed` as for ``add(_:to:context:)``.
    /// - Throws: As ``add(_:to:context:)``.
    public func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        try await perform(.update, batch, list: list, context: context)
    }

    /// Reads the list whose id is `list` with `POST /v1/contact/list/information`.
    ///
    /// Avosms gives the whole list in one answer, so the page's ``ContactPage/next`` is
    /// always `nil` and `cursor` is ignored. Each contact maps back field by field:
    /// `contactTelephoneNumber` → phone, `contactFirstName` → first name, `contactName` →
    /// last name, `contactEmail`, `contactBirthday`, `contactCivility`, and `contactOther` →
    /// the custom field `other`; Avosms has no contact id, so ``ContactDraft/providerID``
    /// is `nil`.
    /// - Throws: `auth_failed` (`ERR_100`, 401/403), `list_not_found` (`ERR_103`),
    ///   `rate_limited` and transient `provider_error` (429, 5xx, `ERR_9XX`), a
    ///   `provider_error` for any other answer (quoted), and transport errors.
    public func list(
        _ list: String, cursor: String?, context: ProviderContext
    ) async throws -> ContactPage {
        let body = AvosmsPayload(fields: ["listContactId": list]).formBody(
            id: context.credentials["id"] ?? "", key: context.credentials["key"] ?? "")
        let response = try await ProviderSupport.send(
            .post, context.url("/v1/contact/list/information"),
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            body: body, context: context, provider: Self.name, operation: .list)
        return try Self.page(response, list: list, context: context)
    }

    /// Reads a `contact/list/information` answer.
    static func page(
        _ response: ProviderResponse, list: String, context: ProviderContext
    ) throws(ContactError) -> ContactPage {
        let json = response.json
        let code = json?["code"]?.stringValue.map(AvosmsResponseCodes.normalised)
        func failure(
            _ kind: ContactError.Code, _ message: String, transient: Bool = false
        ) -> ContactError {
            ContactError(
                kind, message, providerCode: code.map { context.quote($0, limit: 40) },
                provider: name, operation: .list, isTransient: transient,
                retryAfter: transient ? response.retryAfter : nil)
        }
        if let error = ProviderSupport.transientError(
            response, context: context, provider: name, display: "Avosms", operation: .list)
        {
            throw error
        }
        switch code {
        case "ERR_100"?:
            throw failure(
                .authFailed,
                "Avosms did not recognise the API call (ERR_100), which is how it answers bad "
                    + "credentials: check the credentials 'id' (account e-mail) and 'key'")
        case "ERR_101"?:
            throw failure(.missingField, "Avosms says the contact list ID is empty")
        case "ERR_103"?:
            throw failure(.listNotFound, "Avosms has no contact list with ID '\(list)'")
        case let code? where AvosmsResponseCodes.isProcessingError(code):
            throw failure(
                .providerError, "Avosms had a processing error (\(code)) listing '\(list)'",
                transient: true)
        default:
            break
        }
        if response.status == 401 || response.status == 403 {
            throw failure(
                .authFailed,
                "Avosms refused the credentials 'id' and 'key' (HTTP \(response.status))"
                    + ProviderSupport.quotedBody(response, context: context))
        }
        guard ProviderSupport.isSuccess(response.status), code == AvosmsResponseCodes.ok,
            let items = json?["contacts"]?.arrayValue
        else {
            throw ProviderSupport.unreadable(
                response, display: "Avosms", provider: name, operation: .list,
                expected: "{\"code\": \"OK\", \"contacts\": [...]}", context: context,
                providerCode: code.map { context.quote($0, limit: 40) })
        }
        var contacts: [ContactDraft] = []
        for (index, item) in items.enumerated() {
            guard let phone = item["contactTelephoneNumber"]?.stringValue, !phone.isEmpty else {
                throw failure(
                    .providerError,
                    "Avosms listed contact \(index + 1) of '\(list)' without a "
                        + "contactTelephoneNumber: "
                        + context.quote(item.jsonText))
            }
            func text(_ key: String) -> String? {
                guard let value = item[key]?.stringValue, !value.isEmpty else { return nil }
                return value
            }
            var fields: [String: String] = [:]
            fields[otherField] = text("contactOther")
            contacts.append(
                ContactDraft(
                    phone: phone, firstName: text("contactFirstName"),
                    lastName: text("contactName"), email: text("contactEmail"),
                    birthday: text("contactBirthday"), civility: text("contactCivility"),
                    fields: fields))
        }
        return ContactPage(contacts: contacts, next: nil)
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
        let path =
            switch operation {
            case .add: "/v1/contact/add"
            case .update: "/v1/contact/update"
            default: "/v1/contact/delete"
            }
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

    /// The payload for one contact; on `add` and `update` (which take the same fields),
    /// passed through the payload hook.
    private func payload(
        for contact: Contact, _ operation: ContactOperation, list: String,
        context: ProviderContext
    ) async -> Result<AvosmsPayload, ContactError> {
        guard operation != .delete else { return .success(.delete(contact, list: list)) }
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

    /// Reads one Avosms answer: its `code` first, then the status. `OK` proves success
    /// only on an HTTP 2xx; an error code counts whatever the status.
    static func interpret(
        _ response: ProviderResponse, operation: ContactOperation, contact: Contact, list: String,
        context: ProviderContext
    ) throws(ContactError) -> ContactResult {
        let json = response.json
        let code = json?["code"]?.stringValue
        let contradictory =
            code.map { AvosmsResponseCodes.normalised($0) == AvosmsResponseCodes.ok } == true
            && !ProviderSupport.isSuccess(response.status)
        if let code, !contradictory,
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
        case 300...399:
            return .failed(
                ProviderSupport.unreadable(
                    response, display: "Avosms", provider: Self.name, operation: operation,
                    expected: "{\"status\", \"code\"}", context: context,
                    providerCode: code.map { context.quote($0, limit: 40) }))
        default:
            if contradictory {
                return .failed(
                    error(
                        .providerError,
                        "Avosms answered \(AvosmsResponseCodes.ok) with HTTP \(status), an error "
                            + "status, for \(phone): the outcome is unknown\(said)"))
            }
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
