import Contactor
import Foundation
import HTTPTypes

/// The SMS Partner adapter: adds contacts to a group with `POST /v1/contact/add` and
/// deletes them by phone number.
///
/// Requests are JSON with the API key (credential `api_key`) in the body as `apiKey`, or
/// in the query string for `GET`. Phones go out in E.164 (`+33612345678`); the list is
/// the `groupId`.
///
/// What the provider's documentation leaves open, and what this adapter does:
/// - A batch of one is sent as `contact`, a larger one as `contactsList` (at most 500);
///   bulk results are matched back to contacts by `phoneNumber`, after reading national
///   French forms (`0612345678`) as E.164. A contact the answer says nothing about fails
///   with `provider_error`.
/// - A control code other than 1 or 10 at the top of a bulk answer fails the batch with a
///   non-transient `provider_error`, so the engine can split it and learn each contact's
///   outcome from single requests.
/// - Deleting by phone first pages through `GET /v1/contact/list` (one scan per batch)
///   to find each number's `contactId`, then sends one `POST /v1/contact/delete` per
///   contact found; the delete batch size defaults to 100. The scan stops when every
///   number is found, on an empty page, a page shorter than the first (the last one), a
///   page with no new contact (a server repeating itself), once `total` contacts were
///   seen, or after ``Configuration/maxListPages`` pages.
/// - After an `auth_failed` or `rate_limited` answer to one delete, the remaining
///   deletes of the batch are not sent and fail with the same error.
/// - `url` and `shortUrlPartnr` must start with `http://` or `https://` in lower case, as
///   the documentation words it.
public struct SMSPartnerProvider: ContactProvider {
    /// How the adapter behaves.
    ///
    /// The defaults suit the public service; tests and emulators may lower them.
    public struct Configuration: Sendable, Hashable {
        /// The most contacts sent in one add request, 1 to 500 (the documented maximum).
        public var addBatchSize: Int
        /// The most contacts deleted per batch (one list scan per batch), at least 1.
        public var deleteBatchSize: Int
        /// The most pages of `GET /v1/contact/list` read in one scan, at least 1.
        public var maxListPages: Int
        /// How long to wait for each response; `nil` for the transport's default.
        public var requestTimeout: Duration?

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - addBatchSize: Contacts per add request, clamped to 1...500.
        ///   - deleteBatchSize: Contacts per delete batch; values below 1 count as 1.
        ///   - maxListPages: The bound on one list scan; values below 1 count as 1.
        ///   - requestTimeout: The per-request timeout, or `nil` for the transport's.
        public init(
            addBatchSize: Int = SMSPartnerProvider.maxAddBatchSize,
            deleteBatchSize: Int = SMSPartnerProvider.defaultDeleteBatchSize,
            maxListPages: Int = SMSPartnerProvider.defaultMaxListPages,
            requestTimeout: Duration? = nil
        ) {
            self.addBatchSize = min(max(1, addBatchSize), SMSPartnerProvider.maxAddBatchSize)
            self.deleteBatchSize = max(1, deleteBatchSize)
            self.maxListPages = max(1, maxListPages)
            self.requestTimeout = requestTimeout
        }
    }

    /// The provider's name, as given to `--provider`: `smspartner`.
    public static let name = "smspartner"

    /// The documented base URL, `http://api.smspartner.fr` (the documentation uses http).
    public static let defaultEndpoint = URL(string: "https://api.smspartner.fr")!

    /// The credential keys: `api_key`.
    public static let credentialKeys = ["api_key"]

    /// The documented maximum of contacts per bulk add, 500 (also the default).
    public static let maxAddBatchSize = 500

    /// The default delete batch size, 100 (the documentation is silent).
    public static let defaultDeleteBatchSize = 100

    /// The default bound on the pages read to find numbers to delete: 10,000 pages of 20
    /// contacts.
    public static let defaultMaxListPages = 10_000

    /// The longest first and last names SMS Partner accepts, 32 characters.
    public static let maxNameLength = 32

    /// The adapter's configuration.
    public var configuration: Configuration

    /// Creates the adapter.
    ///
    /// - Parameter configuration: Batch sizes, paging bound and timeout.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// What SMS Partner is and accepts.
    ///
    /// Add and delete, default region `FR`, the standard fields `first_name`, `last_name`
    /// (each at most 32 characters) and `birthday` (sent as `date`), and the custom fields
    /// `custom1` … `custom4`, `url` and `shortUrlPartnr`.
    public var descriptor: ProviderDescriptor {
        ProviderDescriptor(
            name: Self.name,
            summary: "SMS Partner: JSON, API key in the body",
            credentialKeys: Self.credentialKeys,
            defaultEndpoint: Self.defaultEndpoint,
            defaultRegion: "FR",
            batchSizes: [.add: configuration.addBatchSize, .delete: configuration.deleteBatchSize],
            operations: [.add, .delete],
            standardFields: ["first_name", "last_name", "birthday"],
            customFields: SMSPartnerPayload.customFields,
            maxLengths: ["first_name": Self.maxNameLength, "last_name": Self.maxNameLength]
        )
    }

    // MARK: Add

    /// Adds `batch` to group `list`: one contact as `contact`, more as `contactsList`.
    ///
    /// - Returns: one result per contact, in order: `added` (with `contactId` when the
    ///   answer gives one), `skipped` / `already_in_list` (code 15), `rejected` /
    ///   `invalid_phone` (code 9), `rejected` / `missing_field` (code 2), `rejected` /
    ///   `provider_error` (other codes), `failed` / `plugin_error` for contacts the
    ///   payload hook refused.
    /// - Throws: ``ContactError`` for the whole batch: `list_not_found` (code 1),
    ///   `auth_failed` (code 10, 401/403 or a missing credential), `rate_limited` (429,
    ///   transient), `provider_error` (5xx transient; anything unreadable not transient),
    ///   or the transport's error.
    public func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard !batch.isEmpty else { return [] }
        let name = Self.name
        let apiKey = context.credentials["api_key"] ?? ""

        var results = [ContactResult?](repeating: nil, count: batch.count)
        var sentIndices: [Int] = []
        var payloads: [JSONValue] = []
        for (index, contact) in batch.enumerated() {
            switch await ProviderSupport.applyHook(
                SMSPartnerPayload.contact(contact), contact: contact, context: context,
                provider: name, operation: .add)
            {
            case .success(let edited):
                sentIndices.append(index)
                payloads.append(edited)
            case .failure(let error):
                results[index] = .failed(error)
            }
        }
        guard !payloads.isEmpty else { return results.map { $0! } }

        var body: [String: JSONValue] = ["apiKey": .string(apiKey), "groupId": .string(list)]
        if payloads.count == 1 {
            body["contact"] = payloads[0]
        } else {
            body["contactsList"] = .array(payloads)
        }
        let response = try await send(
            .post, context.url("/v1/contact/add"), json: .object(body), context: context,
            operation: .add)

        let sentResults: [ContactResult]
        if payloads.count == 1 {
            sentResults = [try singleAddOutcome(response, list: list, context: context)]
        } else {
            let sent = zip(sentIndices, payloads).map { index, payload in
                (contact: batch[index], phone: payload["phoneNumber"]?.stringValue)
            }
            sentResults = try bulkAddOutcome(response, sent: sent, list: list, context: context)
        }
        for (index, result) in zip(sentIndices, sentResults) { results[index] = result }
        return results.map { $0! }
    }

    /// The result of a single add, or the error for the batch.
    private func singleAddOutcome(
        _ response: ProviderResponse, list: String, context: ProviderContext
    ) throws(ContactError) -> ContactResult {
        let json = try answer(response, list: list, context: context, operation: .add)
        if SMSPartnerPayload.isSuccess(json) {
            return .added(id: SMSPartnerPayload.contactID(json["contact"] ?? json))
        }
        return SMSPartnerErrorCode.result(
            code: SMSPartnerPayload.code(json), message: message(json, context), operation: .add)
    }

    /// The results of a bulk add, matched to the contacts by phone number.
    private func bulkAddOutcome(
        _ response: ProviderResponse, sent: [(contact: Contact, phone: String?)], list: String,
        context: ProviderContext
    ) throws(ContactError) -> [ContactResult] {
        let name = Self.name
        let json = try answer(response, list: list, context: context, operation: .add)
        guard let items = json["results"]?.arrayValue else {
            let detail = json["message"]?.stringValue.map { ": " + context.quote($0) }
            throw ContactError(
                .providerError,
                "\(name) answered the bulk add without results"
                    + (detail ?? " (HTTP \(response.status))"),
                providerCode: SMSPartnerPayload.code(json), provider: name, operation: .add)
        }
        let keys = sent.map { item in
            SMSPartnerPayload.phoneKeys(item.contact.phone.e164).union(
                item.phone.map(SMSPartnerPayload.phoneKeys) ?? [])
        }
        var results = [ContactResult?](repeating: nil, count: sent.count)
        for item in items {
            guard let phone = item["phoneNumber"]?.stringValue ?? item["phone"]?.stringValue
            else { continue }
            let itemKeys = SMSPartnerPayload.phoneKeys(phone)
            guard
                let index = results.indices.first(where: {
                    results[$0] == nil && !keys[$0].isDisjoint(with: itemKeys)
                })
            else {
                context.logger.debug("\(name) bulk result for a number not sent: \(phone)")
                continue
            }
            results[index] =
                SMSPartnerPayload.isSuccess(item)
                ? .added(id: SMSPartnerPayload.contactID(item))
                : SMSPartnerErrorCode.result(
                    code: SMSPartnerPayload.code(item), message: message(item, context),
                    operation: .add)
        }
        return results.enumerated().map { index, result in
            result
                ?? .failed(
                    ContactError(
                        .providerError,
                        "\(name)'s bulk answer has no result for \(sent[index].contact.phone.e164); "
                            + "its outcome is unknown",
                        provider: name, operation: .add))
        }
    }

    // MARK: Delete

    /// Deletes `batch` from group `list` by phone number.
    ///
    /// Scans `GET /v1/contact/list` once for the batch's numbers, then sends
    /// `POST /v1/contact/delete {apiKey, contactId}` for each number found.
    /// - Returns: one result per contact, in order: `deleted` with the `contactId`,
    ///   `skipped` / `not_in_list` for numbers not in the list (or a 404 from delete),
    ///   `failed` when one delete could not be done (its error), or when the scan hit
    ///   ``Configuration/maxListPages`` before finding the number.
    /// - Throws: ``ContactError`` when the scan fails: `list_not_found` (code 1),
    ///   `auth_failed` (code 10, 401/403, a missing credential), `rate_limited` (429),
    ///   `provider_error`, or the transport's error.
    public func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard !batch.isEmpty else { return [] }
        let apiKey = context.credentials["api_key"] ?? ""
        let scan = try await findContactIDs(batch, in: list, apiKey: apiKey, context: context)

        var results: [ContactResult] = []
        var stop: ContactError?
        for (index, contact) in batch.enumerated() {
            guard let contactID = scan.ids[index] else {
                if scan.complete {
                    results.append(
                        .skipped(
                            ContactError(
                                .notInList,
                                "\(contact.phone.e164) is not in \(Self.name) group '\(list)'",
                                provider: Self.name, operation: .delete)))
                } else {
                    results.append(
                        .failed(
                            ContactError(
                                .providerError,
                                "\(contact.phone.e164) was not found in the first "
                                    + "\(scan.pagesRead) page(s) of \(Self.name) group '\(list)', "
                                    + "the most one scan reads",
                                provider: Self.name, operation: .delete)))
                }
                continue
            }
            if let stop {
                results.append(.failed(stop))
                continue
            }
            let result = await deleteOne(contactID, apiKey: apiKey, context: context)
            if let error = result.error, result.status == .failed,
                error.code == .authFailed || error.code == .rateLimited
            {
                stop = error
            }
            results.append(result)
        }
        return results
    }

    /// The outcome of a list scan: the `contactId` found per batch index, and whether
    /// the whole list was read (so that a number not found is surely not in it).
    private struct Scan {
        var ids: [String?]
        var complete: Bool
        var pagesRead: Int
    }

    /// Pages through the list until every number of `batch` has an id, or the list ends.
    private func findContactIDs(
        _ batch: [Contact], in list: String, apiKey: String, context: ProviderContext
    ) async throws(ContactError) -> Scan {
        var ids = [String?](repeating: nil, count: batch.count)
        let wanted = batch.map { SMSPartnerPayload.phoneKeys($0.phone.e164) }
        var seen: Set<String> = []
        var seenCount = 0
        var firstPageCount: Int?
        var page = 1
        while true {
            let response = try await send(
                .get,
                context.url(
                    "/v1/contact/list",
                    query: [("apiKey", apiKey), ("groupId", list), ("page", String(page))]),
                json: nil, context: context, operation: .delete)
            let json = try answer(response, list: list, context: context, operation: .delete)
            if !SMSPartnerPayload.isSuccess(json), SMSPartnerPayload.code(json) != nil {
                throw SMSPartnerErrorCode.error(
                    .providerError, code: SMSPartnerPayload.code(json),
                    message: "listing group '\(list)' failed: \(message(json, context))",
                    operation: .delete)
            }
            guard let listing = SMSPartnerListPage(json) else {
                throw ContactError(
                    .providerError,
                    "\(Self.name) answered page \(page) of group '\(list)' without datas",
                    provider: Self.name, operation: .delete)
            }
            if listing.count > 0, listing.entries.isEmpty {
                throw ContactError(
                    .providerError,
                    "\(Self.name) answered page \(page) of group '\(list)' with contacts that "
                        + "have no contactId or phone",
                    provider: Self.name, operation: .delete)
            }
            // An empty page ends the list; so does a page of contacts already seen (a
            // server that answers pages past the end with the last one again).
            let fresh = listing.entries.filter { seen.insert($0.contactID).inserted }
            if fresh.isEmpty {
                return Scan(ids: ids, complete: true, pagesRead: page)
            }
            for entry in fresh {
                let keys = SMSPartnerPayload.phoneKeys(entry.phone)
                if let index = ids.indices.first(where: {
                    ids[$0] == nil && !wanted[$0].isDisjoint(with: keys)
                }) {
                    ids[index] = entry.contactID
                }
            }
            seenCount += listing.count
            let first = firstPageCount ?? listing.count
            firstPageCount = first
            let allFound = !ids.contains(nil)
            let lastPage = listing.count < first
            let totalReached = listing.total.map { $0 >= first && seenCount >= $0 } ?? false
            if allFound || lastPage || totalReached {
                return Scan(ids: ids, complete: true, pagesRead: page)
            }
            if page >= configuration.maxListPages {
                return Scan(ids: ids, complete: false, pagesRead: page)
            }
            page += 1
        }
    }

    /// Deletes one contact by id; every outcome is a result, never a throw.
    private func deleteOne(
        _ contactID: String, apiKey: String, context: ProviderContext
    ) async -> ContactResult {
        let name = Self.name
        do throws(ContactError) {
            let response = try await send(
                .post, context.url("/v1/contact/delete"),
                json: ["apiKey": .string(apiKey), "contactId": .string(contactID)],
                context: context, operation: .delete)
            if response.status == 404 {
                return .skipped(
                    ContactError(
                        .notInList,
                        "\(name) no longer knows contact \(contactID) (HTTP 404)",
                        providerCode: SMSPartnerPayload.code(response.json),
                        provider: name, operation: .delete))
            }
            let json = try answer(response, list: nil, context: context, operation: .delete)
            if SMSPartnerPayload.isSuccess(json) { return .deleted(id: contactID) }
            return SMSPartnerErrorCode.result(
                code: SMSPartnerPayload.code(json), message: message(json, context),
                operation: .delete)
        } catch {
            return .failed(error)
        }
    }

    // MARK: Answers

    /// The answer's JSON, after handling what fails the whole request: 429 and 5xx
    /// (transient), control codes 1 and 10, 401/403, and bodies that are not JSON objects.
    private func answer(
        _ response: ProviderResponse, list: String?, context: ProviderContext,
        operation: ContactOperation
    ) throws(ContactError) -> JSONValue {
        let name = Self.name
        let json = response.json
        if let error = ProviderSupport.transientError(
            response, context: context, provider: name, display: name, operation: operation)
        {
            throw error
        }
        if let json, json.objectValue != nil {
            let code = SMSPartnerPayload.code(json)
            if !SMSPartnerPayload.isSuccess(json),
                case .batch(let taxonomy) = SMSPartnerErrorCode.disposition(code)
            {
                let what =
                    taxonomy == .listNotFound
                    ? "group '\(list ?? "")' is missing or unknown"
                    : "the API key was refused"
                throw SMSPartnerErrorCode.error(
                    taxonomy, code: code, message: "\(what): \(message(json, context))",
                    operation: operation)
            }
            if code != nil || json["success"] != nil || json["results"] != nil
                || json["datas"] != nil
            {
                return json
            }
        }
        let detail = ProviderSupport.said(response, context: context).map { ": \($0)" } ?? ""
        if response.status == 401 || response.status == 403 {
            throw ContactError(
                .authFailed, "\(name) refused the API key (HTTP \(response.status))\(detail)",
                provider: name, operation: operation)
        }
        throw ContactError(
            .providerError,
            "\(name) answered HTTP \(response.status) with neither a result nor a control "
                + "code\(detail)",
            provider: name, operation: operation)
    }

    /// The provider's message in `json` with any credential redacted: the `message`
    /// member, else the code's documented meaning.
    private func message(_ json: JSONValue, _ context: ProviderContext) -> String {
        if let text = json["message"]?.stringValue, !text.isEmpty {
            return context.quote(text)
        }
        return SMSPartnerErrorCode.summary(SMSPartnerPayload.code(json))
    }

    // MARK: Local rules

    /// Checks a contact before anything is sent.
    ///
    /// For `add`: custom fields must be `custom1` … `custom4`, `url` or `shortUrlPartnr`
    /// (`invalid_field`); first and last names at most 32 characters (`field_too_long`);
    /// `url` and `shortUrlPartnr` must start with `http://` or `https://`
    /// (`invalid_field`). A delete sends only the number, so it has no local rules.
    public func check(_ contact: Contact, for operation: ContactOperation) -> ContactError? {
        guard operation == .add else { return nil }
        if let error = checkFields(contact, for: operation) { return error }
        for field in SMSPartnerPayload.urlFields {
            guard let value = contact.fields[field] else { continue }
            if !(value.hasPrefix("http://") || value.hasPrefix("https://")) {
                return ContactError(
                    .invalidField,
                    "\(field) must start with http:// or https://; got '\(Redactor.none.quote(value))'",
                    provider: Self.name, operation: operation, field: field)
            }
        }
        return nil
    }

    /// Refuses an empty or blank group id (`missing_field`).
    public func checkList(
        _ list: String, options: [String: String], for operation: ContactOperation
    ) -> ContactError? {
        ProviderSupport.checkList(list, provider: Self.name, operation: operation, name: "groupId")
    }

    /// Sends a JSON request (`Accept: application/json`, and `Content-Type` with a body).
    private func send(
        _ method: HTTPRequest.Method, _ url: URL, json: JSONValue?, context: ProviderContext,
        operation: ContactOperation
    ) async throws(ContactError) -> ProviderResponse {
        try await ProviderSupport.send(
            method, url, headers: ProviderSupport.jsonHeaders([], hasBody: json != nil),
            body: json?.encoded(), timeout: configuration.requestTimeout, context: context,
            provider: Self.name, operation: operation)
    }
}
