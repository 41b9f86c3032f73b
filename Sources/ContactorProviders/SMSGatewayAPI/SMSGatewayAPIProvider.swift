import Contactor
import Foundation

/// The SMS Gateway API (Smstools) adapter: adds contacts to a group with
/// `POST /v1/contact`.
///
/// Requests are JSON, authenticated by the `X-Client-Id` and `X-Client-Secret` headers
/// (credentials `client_id` and `client_secret`). A batch of one is sent as one object,
/// a larger batch as an array. Phones go out as international digits without `+`
/// (`436501234567`); the list is the `groupid`.
///
/// What the provider's documentation leaves open, and what this adapter does:
/// - No batch limit is documented; the add batch size defaults to
///   ``defaultAddBatchSize`` (100), a conservative size for one JSON request.
/// - No delete endpoint is documented, so ``delete(_:from:context:)`` throws
///   `unsupported_operation` and sends nothing.
/// - An unknown group is assumed to answer HTTP 404, reported as `list_not_found`.
/// - `unsubscribed` is sent as the integer `1` or `0`, from `1`/`true`/`yes` or
///   `0`/`false`/`no` (any case); other values are refused locally.
/// - `groupid` is sent as a string, as in the documentation's JSON examples.
/// - Per-contact errors are matched to contacts by the phone number quoted in their
///   `errorMsg`; the returned IDs then belong, in order, to the other contacts. When the
///   answer does not add up, the unmatched contacts fail with `provider_error` rather than
///   being given a guessed id.
/// - What proves an add is an id: an HTTP 2xx whose `ID`/`IDs` is an array of integers or
///   of words. Anything else (`{"ID": true}`, `"1,2,3"`, HTML, a redirect) leaves the
///   contacts `failed` with the answer quoted.
/// - `update` is `PATCH /v1/contact` with an array of `{ID, fields...}`, the `ID` being
///   ``Contact/providerID`` (the ledger records the id an add returned); up to
///   ``Configuration/updateBatchSize`` contacts a request. `204` proves it. A `404` (some ID
///   is unknown; the whole request is rolled back) is `skipped` / `not_in_list` for a
///   request of one, and a non-transient error for more, so the engine splits the batch
///   until the unknown one is alone.
public struct SMSGatewayAPIProvider: ContactProvider {
    /// How the adapter behaves.
    ///
    /// The defaults suit the public service; tests and emulators may lower the batch size.
    public struct Configuration: Sendable, Hashable {
        /// The most contacts sent in one add request (at least 1).
        public var addBatchSize: Int
        /// The most contacts sent in one update request (at least 1).
        public var updateBatchSize: Int
        /// How long to wait for each response; `nil` for the transport's default.
        public var requestTimeout: Duration?

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - addBatchSize: The most contacts per add request; values below 1 count as 1.
        ///   - updateBatchSize: The most contacts per update request; values below 1 count
        ///     as 1.
        ///   - requestTimeout: The per-request timeout, or `nil` for the transport's.
        public init(
            addBatchSize: Int = SMSGatewayAPIProvider.defaultAddBatchSize,
            updateBatchSize: Int = SMSGatewayAPIProvider.defaultUpdateBatchSize,
            requestTimeout: Duration? = nil
        ) {
            self.addBatchSize = max(1, addBatchSize)
            self.updateBatchSize = max(1, updateBatchSize)
            self.requestTimeout = requestTimeout
        }
    }

    /// The provider's name, as given to `--provider`: `smsgatewayapi`.
    public static let name = "smsgatewayapi"

    /// The documented base URL, `https://api.smsgatewayapi.com`.
    public static let defaultEndpoint = URL(string: "https://api.smsgatewayapi.com")!

    /// The default add batch size, 100 (the documentation gives no limit).
    public static let defaultAddBatchSize = 100

    /// The default update batch size, 100: the documentation takes an array and gives no
    /// limit; since one unknown ID rolls the whole request back and the engine then splits
    /// it, a moderate size keeps that cheap.
    public static let defaultUpdateBatchSize = 100

    /// The credential keys: `client_id` and `client_secret`.
    public static let credentialKeys = ["client_id", "client_secret"]

    /// The adapter's configuration.
    public var configuration: Configuration {
        didSet { descriptor = Self.describe(configuration) }
    }

    /// Creates the adapter.
    ///
    /// - Parameter configuration: Batch size and timeout; the defaults suit the service.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.descriptor = Self.describe(configuration)
    }

    /// What SMS Gateway API is and accepts.
    ///
    /// Add and update (batch sizes from ``Configuration``), no default region, the
    /// standard fields `first_name`, `last_name` and `birthday`, and the custom fields
    /// `extra1` … `extra8` and `unsubscribed`. The documentation gives no length limits.
    public private(set) var descriptor: ProviderDescriptor

    /// The descriptor for `configuration` (built once per configuration: the engine reads
    /// it for every contact).
    private static func describe(_ configuration: Configuration) -> ProviderDescriptor {
        ProviderDescriptor(
            name: Self.name,
            summary: "SMS Gateway API (Smstools): JSON, X-Client-Id/X-Client-Secret headers",
            credentialKeys: Self.credentialKeys, publicCredentialKeys: ["client_id"],
            defaultEndpoint: Self.defaultEndpoint,
            defaultRegion: nil,
            batchSizes: [.add: configuration.addBatchSize, .update: configuration.updateBatchSize],
            operations: [.add, .update],
            standardFields: ["first_name", "last_name", "birthday"],
            customFields: SMSGatewayAPIPayload.extraFields + [
                SMSGatewayAPIPayload.unsubscribedField
            ]
        )
    }

    /// Adds `batch` to group `list` with one `POST /v1/contact`.
    ///
    /// - Returns: one result per contact, in order: `added` with the provider's id,
    ///   `rejected` for the contacts the answer's `errors` name (error 103 as
    ///   `invalid_phone`), `failed` / `plugin_error` for contacts the payload hook refused,
    ///   `failed` / `provider_error` when the answer does not say what became of a contact.
    /// - Throws: ``ContactError`` for the whole batch: `auth_failed` (401/403 or a missing
    ///   credential), `list_not_found` (404), `rate_limited` (429, transient),
    ///   `provider_error` (5xx transient; 400/422 and other statuses not transient),
    ///   or the transport's error.
    public func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard !batch.isEmpty else { return [] }
        let name = Self.name

        var results = [ContactResult?](repeating: nil, count: batch.count)
        var sentIndices: [Int] = []
        var payloads: [JSONValue] = []
        for (index, contact) in batch.enumerated() {
            let payload = SMSGatewayAPIPayload.object(for: contact, group: list)
            switch await ProviderSupport.applyHook(
                payload, contact: contact, context: context, provider: name, operation: .add)
            {
            case .success(let edited):
                sentIndices.append(index)
                payloads.append(edited)
            case .failure(let error):
                results[index] = .failed(error)
            }
        }
        guard !payloads.isEmpty else { return results.map { $0! } }

        let body: JSONValue = payloads.count == 1 ? payloads[0] : .array(payloads)
        let response = try await ProviderSupport.send(
            .post, context.url("/v1/contact"),
            headers: ProviderSupport.jsonHeaders(headers(context), hasBody: true),
            body: body.encoded(), timeout: configuration.requestTimeout, context: context,
            provider: name, operation: .add)

        let sentPhones = zip(sentIndices, payloads).map { index, payload in
            payload["phone"]?.stringValue.map(ProviderSupport.digits)
                ?? batch[index].phone.internationalDigits
        }
        let sentResults = try outcome(
            of: response, sentPhones: sentPhones, list: list, context: context)
        for (index, result) in zip(sentIndices, sentResults) { results[index] = result }
        return results.map { $0! }
    }

    /// Updates `batch` in group `list` with one `PATCH /v1/contact` carrying an array of
    /// `{ID, fields...}`.
    ///
    /// - Returns: one result per contact, in order: `updated` (HTTP 204) with the id,
    ///   `rejected` / `missing_field` for a contact without ``Contact/providerID`` (nothing
    ///   is sent for it), `skipped` / `not_in_list` for a request of one answered 404,
    ///   `failed` / `plugin_error` for contacts the payload hook refused, and `failed` /
    ///   `provider_error` for an answer that proves nothing (quoted).
    /// - Throws: `auth_failed` (401/403), `rate_limited` and transient `provider_error`
    ///   (429, 5xx), a non-transient `provider_error` for a 404 to a request of several
    ///   (one of its IDs is unknown and the whole request was rolled back: the engine splits
    ///   the batch) and for 400/422 (the request's contents were refused), and the
    ///   transport's error.
    public func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard !batch.isEmpty else { return [] }
        let name = Self.name
        var results = [ContactResult?](repeating: nil, count: batch.count)
        var sentIndices: [Int] = []
        var payloads: [JSONValue] = []
        for (index, contact) in batch.enumerated() {
            guard let id = contact.providerID, !id.isEmpty else {
                results[index] = .rejected(
                    ContactError(
                        .missingField,
                        "SMS Gateway API needs the contact's ID to update it, and "
                            + "\(contact.phone.e164) has none: the ledger records it when the add "
                            + "returned it", provider: name, operation: .update, field: "ID"))
                continue
            }
            switch await ProviderSupport.applyHook(
                SMSGatewayAPIPayload.update(for: contact, id: id, group: list), contact: contact,
                context: context, provider: name, operation: .update)
            {
            case .success(let edited):
                sentIndices.append(index)
                payloads.append(edited)
            case .failure(let error):
                results[index] = .failed(error)
            }
        }
        guard !payloads.isEmpty else { return results.map { $0! } }
        let response = try await ProviderSupport.send(
            .patch, context.url("/v1/contact"),
            headers: ProviderSupport.jsonHeaders(headers(context), hasBody: true),
            body: JSONValue.array(payloads).encoded(), timeout: configuration.requestTimeout,
            context: context, provider: name, operation: .update)
        let sentResults = try updateOutcome(
            of: response, batch: sentIndices.map { batch[$0] }, list: list, context: context)
        for (index, result) in zip(sentIndices, sentResults) { results[index] = result }
        return results.map { $0! }
    }

    /// The results of an update request, or the error for the whole request.
    private func updateOutcome(
        of response: ProviderResponse, batch: [Contact], list: String, context: ProviderContext
    ) throws(ContactError) -> [ContactResult] {
        let name = Self.name
        if let error = ProviderSupport.transientError(
            response, context: context, provider: name, display: name, operation: .update)
        {
            throw error
        }
        let status = response.status
        let detail = ProviderSupport.quotedBody(response, context: context)
        let code = ProviderSupport.code(response.json?["error"], context: context)
        switch status {
        case 204,
            200...299 where ProviderSupport.isEmptyBody(response):
            return batch.map { .updated(id: $0.providerID) }
        case 401, 403:
            throw ContactError(
                .authFailed, "\(name) refused the client id and secret (HTTP \(status))\(detail)",
                providerCode: code, provider: name, operation: .update)
        case 404 where batch.count == 1:
            let contact = batch[0]
            return [
                .skipped(
                    ContactError(
                        .notInList,
                        "\(name) has no contact with ID \(contact.providerID ?? "") "
                            + "(\(contact.phone.e164)) to update (HTTP 404)\(detail)",
                        providerCode: code, provider: name, operation: .update))
            ]
        case 404:
            throw ContactError(
                .providerError,
                "\(name) answered HTTP 404 to an update of \(batch.count) contacts: one of their "
                    + "IDs is unknown and nothing was changed\(detail)",
                providerCode: code, provider: name, operation: .update)
        case 400, 422:
            throw ContactError(
                .providerError, "\(name) refused the update (HTTP \(status))\(detail)",
                providerCode: code, provider: name, operation: .update)
        default:
            return ProviderSupport.failedAll(
                ProviderSupport.unreadable(
                    response, display: name, provider: name, operation: .update,
                    expected: "204 No Content", context: context, providerCode: code),
                count: batch.count)
        }
    }

    /// The credential headers.
    private func headers(_ context: ProviderContext) -> [(String, String)] {
        [
            ("X-Client-Id", context.credentials["client_id"] ?? ""),
            ("X-Client-Secret", context.credentials["client_secret"] ?? ""),
        ]
    }

    /// SMS Gateway API documents no delete endpoint, so this adapter cannot delete.
    ///
    /// - Throws: always ``ContactError`` `unsupported_operation` ("delete is not supported
    ///   by smsgatewayapi"); nothing is sent.
    public func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        throw unsupported(.delete)
    }

    /// Checks a contact before anything is sent.
    ///
    /// For `add` and `update`: custom fields must be `extra1` … `extra8` or
    /// `unsubscribed` (`invalid_field`), and `unsubscribed` must read as a yes/no value
    /// (`1`, `0`, `true`, `false`, `yes`, `no`). Other operations have no local rules.
    public func check(_ contact: Contact, for operation: ContactOperation) -> ContactError? {
        guard operation == .add || operation == .update else { return nil }
        if let error = checkFields(contact, for: operation) { return error }
        let field = SMSGatewayAPIPayload.unsubscribedField
        if let value = contact.fields[field],
            SMSGatewayAPIPayload.unsubscribedValues[value.lowercased()] == nil
        {
            return ContactError(
                .invalidField,
                "\(field) must be 1, 0, true, false, yes or no; got '\(Redactor.none.quote(value))'",
                provider: Self.name, operation: operation, field: field)
        }
        return nil
    }

    /// Refuses an empty or blank group id (`missing_field`).
    public func checkList(
        _ list: String, options: [String: String], for operation: ContactOperation
    ) -> ContactError? {
        ProviderSupport.checkList(list, provider: Self.name, operation: operation, name: "groupid")
    }

    /// The results for the sent contacts from the answer, or the error for the batch.
    private func outcome(
        of response: ProviderResponse, sentPhones: [String], list: String, context: ProviderContext
    ) throws(ContactError) -> [ContactResult] {
        let name = Self.name
        let json = response.json
        if let error = ProviderSupport.transientError(
            response, context: context, provider: name, display: name, operation: .add)
        {
            throw error
        }
        let detail = ProviderSupport.said(response, context: context).map { ": \($0)" } ?? ""
        let status = response.status
        switch status {
        case 200...299:
            guard let answer = SMSGatewayAPIAddAnswer(json, context: context),
                answer.unusable == nil
            else {
                let why = SMSGatewayAPIAddAnswer(json, context: context)?.unusable
                return ProviderSupport.failedAll(
                    ProviderSupport.unreadable(
                        response, display: name, provider: name, operation: .add,
                        expected: "{\"ID\": [id]} or {\"IDs\": [...]}"
                            + (why.map { " (\($0))" } ?? ""), context: context),
                    count: sentPhones.count)
            }
            return completed(
                answer.match(sentPhones: sentPhones), answer: answer, count: sentPhones.count)
        case 401, 403:
            throw ContactError(
                .authFailed,
                "\(name) refused the client id and secret (HTTP \(status))\(detail)",
                provider: name, operation: .add)
        case 404:
            throw ContactError(
                .listNotFound,
                "\(name) answered HTTP 404: group '\(list)' was not found\(detail)",
                provider: name, operation: .add, field: "list")
        case 400, 422:
            // A documented per-contact answer that accounts for every contact is kept;
            // anything else fails the batch, which the engine may split.
            if let answer = SMSGatewayAPIAddAnswer(json, context: context),
                !answer.failures.isEmpty, answer.unusable == nil
            {
                let matched = answer.match(sentPhones: sentPhones)
                if matched.complete { return matched.results.map { $0! } }
            }
            throw ContactError(
                .providerError, "\(name) refused the request (HTTP \(status))\(detail)",
                provider: name, operation: .add)
        default:
            return ProviderSupport.failedAll(
                ProviderSupport.unreadable(
                    response, display: name, provider: name, operation: .add,
                    expected: "{\"ID\": [id]} or {\"IDs\": [...]}", context: context,
                    providerCode: ProviderSupport.code(json?["error"], context: context)),
                count: sentPhones.count)
        }
    }

    /// Fills the contacts a partial answer leaves unexplained with `failed`.
    private func completed(
        _ matched: (results: [ContactResult?], complete: Bool), answer: SMSGatewayAPIAddAnswer,
        count: Int
    ) -> [ContactResult] {
        if matched.complete { return matched.results.map { $0! } }
        let reason =
            "\(Self.name) answered \(answer.ids.count) id(s) and \(answer.failures.count) "
            + "error(s) for \(count) contact(s), which do not match up; this contact's outcome "
            + "is unknown (it may have been added)"
        return matched.results.map { result in
            result
                ?? .failed(
                    ContactError(.providerError, reason, provider: Self.name, operation: .add))
        }
    }
}
