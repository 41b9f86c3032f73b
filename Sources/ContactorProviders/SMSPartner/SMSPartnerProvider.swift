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
/// - A contact whose ``Contact/providerID`` is known (the ledger's `contactId`) is deleted by
///   that id without the list scan.
/// - After an `auth_failed` or `rate_limited` answer to one delete, the remaining
///   deletes of the batch are not sent and fail with the same error.
/// - What proves success: an HTTP 2xx whose JSON says `success: true` (or `code: 200`).
///   A success body on another status (a 400, a redirect), HTML, garbage, an empty body or
///   a 204 prove nothing: the contacts end `failed` / `provider_error` with the answer
///   quoted (resumable), and the batch is not split.
/// - SMS Partner documents no update. ``update(_:in:context:)`` is refused unless the run
///   sets the option `update=replace` (or ``Configuration/updateMode`` is
///   ``UpdateMode/replace``): then each contact is deleted and added again, which is not
///   atomic (see the method).
/// - ``list(_:cursor:context:)`` reads `GET /v1/contact/list` one page (20 contacts) at a
///   time; the cursor is the next page number.
/// - `url` and `shortUrlPartnr` must start with `http://` or `https://` in lower case, as
///   the documentation words it.
public struct SMSPartnerProvider: ContactProvider {
    /// How ``update(_:in:context:)`` changes a contact, since SMS Partner documents no
    /// update call.
    public struct UpdateMode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The mode's name, as the option `update` gives it (`replace`).
        public let rawValue: String

        /// Creates a mode from its name.
        public init(rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        /// Update is refused with `unsupported_operation` (the default).
        public static let unsupported = UpdateMode(rawValue: "unsupported")
        /// Update deletes the contact and adds it again: not atomic.
        public static let replace = UpdateMode(rawValue: "replace")
    }

    /// The provider option that chooses the update mode: `update` (`--option update=replace`).
    public static let updateOption = "update"

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
        /// How updates are made when the run's options do not say (`update=replace`).
        public var updateMode: UpdateMode

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - addBatchSize: Contacts per add request, clamped to 1...500.
        ///   - deleteBatchSize: Contacts per delete (and update) batch; values below 1 count
        ///     as 1.
        ///   - maxListPages: The bound on one list scan; values below 1 count as 1.
        ///   - requestTimeout: The per-request timeout, or `nil` for the transport's.
        ///   - updateMode: ``UpdateMode/unsupported`` (the default) or
        ///     ``UpdateMode/replace``.
        public init(
            addBatchSize: Int = SMSPartnerProvider.maxAddBatchSize,
            deleteBatchSize: Int = SMSPartnerProvider.defaultDeleteBatchSize,
            maxListPages: Int = SMSPartnerProvider.defaultMaxListPages,
            requestTimeout: Duration? = nil, updateMode: UpdateMode = .unsupported
        ) {
            self.updateMode = updateMode
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

    /// The contacts on one page of `GET /v1/contact/list`, as documented: 20.
    public static let listPageSize = 20

    /// The default bound on the pages read to find numbers to delete: 10,000 pages of 20
    /// contacts.
    public static let defaultMaxListPages = 10_000

    /// The longest first and last names SMS Partner accepts, 32 characters.
    public static let maxNameLength = 32

    /// The adapter's configuration.
    public var configuration: Configuration {
        didSet { descriptor = Self.describe(configuration) }
    }

    /// Creates the adapter.
    ///
    /// - Parameter configuration: Batch sizes, paging bound and timeout.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.descriptor = Self.describe(configuration)
    }

    /// What SMS Partner is and accepts.
    ///
    /// Add, delete, list, and update (which ``checkList(_:options:for:)`` refuses unless
    /// the update mode is ``UpdateMode/replace``), default region `FR`, the standard fields
    /// `first_name`, `last_name` (each at most 32 characters) and `birthday` (sent as
    /// `date`), and the custom fields `custom1` … `custom4`, `url` and `shortUrlPartnr`.
    public private(set) var descriptor: ProviderDescriptor

    /// The descriptor for `configuration` (built once per configuration: the engine reads
    /// it for every contact).
    private static func describe(_ configuration: Configuration) -> ProviderDescriptor {
        ProviderDescriptor(
            name: Self.name,
            summary: "SMS Partner: JSON, API key in the body",
            credentialKeys: Self.credentialKeys,
            defaultEndpoint: Self.defaultEndpoint,
            defaultRegion: "FR",
            batchSizes: [
                .add: configuration.addBatchSize, .delete: configuration.deleteBatchSize,
                .update: configuration.deleteBatchSize,
            ],
            operations: [.add, .delete, .update, .list],
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
        let json: JSONValue
        switch try answer(response, list: list, context: context, operation: .add) {
        case .success(let value): json = value
        case .failure(let error): return .failed(error)
        }
        if SMSPartnerPayload.isSuccess(json) {
            return .added(id: SMSPartnerPayload.contactID(json["contact"] ?? json))
        }
        return SMSPartnerErrorCode.result(
            code: SMSPartnerPayload.code(json), message: message(json, context), operation: .add,
            context: context)
    }

    /// The results of a bulk add, matched to the contacts by phone number.
    private func bulkAddOutcome(
        _ response: ProviderResponse, sent: [(contact: Contact, phone: String?)], list: String,
        context: ProviderContext
    ) throws(ContactError) -> [ContactResult] {
        let name = Self.name
        let json: JSONValue
        switch try answer(response, list: list, context: context, operation: .add) {
        case .success(let value): json = value
        case .failure(let error): return ProviderSupport.failedAll(error, count: sent.count)
        }
        guard let items = json["results"]?.arrayValue else {
            if !SMSPartnerPayload.isSuccess(json), SMSPartnerPayload.code(json) != nil {
                // The whole request was refused for its contents (a control code at the
                // top): the engine splits the batch to learn each contact's outcome.
                throw ContactError(
                    .providerError,
                    "\(name) refused the bulk add: \(message(json, context))",
                    providerCode: ProviderSupport.code(json["code"], context: context),
                    provider: name, operation: .add)
            }
            return ProviderSupport.failedAll(
                ProviderSupport.unreadable(
                    response, display: name, provider: name, operation: .add,
                    expected: "a bulk answer with results", context: context,
                    providerCode: ProviderSupport.code(json["code"], context: context)),
                count: sent.count)
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
                    operation: .add, context: context)
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

    /// Deletes `batch` from group `list`.
    ///
    /// A contact whose ``Contact/providerID`` is known is deleted by that id at once; for
    /// the others, `GET /v1/contact/list` is scanned once for their numbers. Each is then
    /// deleted with `POST /v1/contact/delete {apiKey, contactId}`.
    /// - Returns: one result per contact, in order: `deleted` with the `contactId`,
    ///   `skipped` / `not_in_list` for numbers not in the list (or a 404 from delete),
    ///   `failed` when one delete could not be done (its error), when the scan hit
    ///   ``Configuration/maxListPages`` before finding the number, or when an answer proved
    ///   nothing (quoted).
    /// - Throws: ``ContactError`` when the scan fails: `list_not_found` (code 1),
    ///   `auth_failed` (code 10, 401/403, a missing credential), `rate_limited` (429),
    ///   `provider_error`, or the transport's error.
    public func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard !batch.isEmpty else { return [] }
        let found = try await contactIDs(batch, in: list, operation: .delete, context: context)
        var results: [ContactResult] = []
        var stop: ContactError?
        for (index, contact) in batch.enumerated() {
            guard case .found(let contactID) = found[index] else {
                results.append(Self.notFound(found[index], contact, list: list, operation: .delete))
                continue
            }
            if let stop {
                results.append(.failed(stop))
                continue
            }
            let result = await deleteOne(contactID, operation: .delete, context: context)
            if let error = result.error, result.status == .failed,
                error.code == .authFailed || error.code == .rateLimited
            {
                stop = error
            }
            results.append(result)
        }
        return results
    }

    /// Where one contact of a batch is in the list.
    private enum Lookup {
        /// Its `contactId`, from ``Contact/providerID`` or the list.
        case found(String)
        /// The whole list was read and it is not there.
        case absent
        /// The scan stopped at ``Configuration/maxListPages`` before finding it.
        case notReached(pages: Int)
        /// A page of the list could not be read (quoted).
        case unreadable(ContactError)
    }

    /// The result for a contact the lookup did not find.
    private static func notFound(
        _ lookup: Lookup, _ contact: Contact, list: String, operation: ContactOperation
    ) -> ContactResult {
        switch lookup {
        case .found, .absent:
            return .skipped(
                ContactError(
                    .notInList,
                    "\(contact.phone.e164) is not in \(name) group '\(list)'"
                        + (operation == .update ? ", so it was not updated" : ""),
                    provider: name, operation: operation))
        case .notReached(let pages):
            return .failed(
                ContactError(
                    .providerError,
                    "\(contact.phone.e164) was not found in the first \(pages) page(s) of \(name) "
                        + "group '\(list)', the most one scan reads",
                    provider: name, operation: operation))
        case .unreadable(let error):
            return .failed(error)
        }
    }

    /// The `contactId` of each contact of `batch`: its ``Contact/providerID`` when known,
    /// else from one scan of the list for all the others.
    private func contactIDs(
        _ batch: [Contact], in list: String, operation: ContactOperation,
        context: ProviderContext
    ) async throws(ContactError) -> [Lookup] {
        var lookups = batch.map { contact -> Lookup? in
            guard let id = contact.providerID, !id.isEmpty else { return nil }
            return .found(id)
        }
        let wanted = batch.indices.filter { lookups[$0] == nil }
        guard !wanted.isEmpty else { return lookups.map { $0! } }
        let scan = try await findContactIDs(
            wanted.map { batch[$0] }, in: list, operation: operation, context: context)
        for (position, index) in wanted.enumerated() {
            if let id = scan.ids[position] {
                lookups[index] = .found(id)
            } else if let error = scan.unreadable {
                lookups[index] = .unreadable(error)
            } else {
                lookups[index] = scan.complete ? .absent : .notReached(pages: scan.pagesRead)
            }
        }
        return lookups.map { $0! }
    }

    /// The outcome of a list scan: the `contactId` found per batch index, and whether
    /// the whole list was read (so that a number not found is surely not in it).
    private struct Scan {
        var ids: [String?]
        var complete: Bool
        var pagesRead: Int
        /// Why a page could not be read, when the scan stopped on one.
        var unreadable: ContactError?
    }

    /// Pages through the list until every number of `batch` has an id, or the list ends.
    private func findContactIDs(
        _ batch: [Contact], in list: String, operation: ContactOperation,
        context: ProviderContext
    ) async throws(ContactError) -> Scan {
        var ids = [String?](repeating: nil, count: batch.count)
        let wanted = batch.map { SMSPartnerPayload.phoneKeys($0.phone.e164) }
        var seen: Set<String> = []
        var seenCount = 0
        var firstPageCount: Int?
        var page = 1
        while true {
            let listing: SMSPartnerListPage
            switch try await listPage(page, of: list, operation: operation, context: context) {
            case .success(let value): listing = value
            case .failure(let error):
                return Scan(ids: ids, complete: false, pagesRead: page, unreadable: error)
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

    /// Reads page `page` of group `list`: the page, or the error of an answer that proves
    /// nothing (a redirect, HTML, a success without `datas`, contacts without ids).
    /// - Throws: What fails the whole operation: 429/5xx (transient), codes 1 and 10,
    ///   401/403, another control code, and transport errors.
    private func listPage(
        _ page: Int, of list: String, operation: ContactOperation, context: ProviderContext
    ) async throws(ContactError) -> Result<SMSPartnerListPage, ContactError> {
        let name = Self.name
        let response = try await send(
            .get,
            context.url(
                "/v1/contact/list",
                query: [
                    ("apiKey", context.credentials["api_key"] ?? ""), ("groupId", list),
                    ("page", String(page)),
                ]),
            json: nil, context: context, operation: operation)
        let json: JSONValue
        switch try answer(response, list: list, context: context, operation: operation) {
        case .success(let value): json = value
        case .failure(let error): return .failure(error)
        }
        if !SMSPartnerPayload.isSuccess(json), SMSPartnerPayload.code(json) != nil {
            throw SMSPartnerErrorCode.error(
                .providerError, code: SMSPartnerPayload.code(json),
                message: "listing group '\(list)' failed: \(message(json, context))",
                operation: operation, context: context)
        }
        guard let listing = SMSPartnerListPage(json),
            listing.count == 0 || !listing.entries.isEmpty
        else {
            return .failure(
                ProviderSupport.unreadable(
                    response, display: name, provider: name, operation: operation,
                    expected: "page \(page) of group '\(list)' with datas of contacts "
                        + "{contactId, phone}", context: context))
        }
        return .success(listing)
    }

    /// Deletes one contact by id; every outcome is a result, never a throw.
    private func deleteOne(
        _ contactID: String, operation: ContactOperation, context: ProviderContext
    ) async -> ContactResult {
        let name = Self.name
        do throws(ContactError) {
            let response = try await send(
                .post, context.url("/v1/contact/delete"),
                json: [
                    "apiKey": .string(context.credentials["api_key"] ?? ""),
                    "contactId": .string(contactID),
                ],
                context: context, operation: operation)
            if response.status == 404 {
                return .skipped(
                    ContactError(
                        .notInList,
                        "\(name) no longer knows contact \(context.quote(contactID, limit: 40)) "
                            + "(HTTP 404)",
                        providerCode: ProviderSupport.code(
                            response.json?["code"], context: context),
                        provider: name, operation: operation))
            }
            let json: JSONValue
            switch try answer(response, list: nil, context: context, operation: operation) {
            case .success(let value): json = value
            case .failure(let error): return .failed(error)
            }
            if SMSPartnerPayload.isSuccess(json) { return .deleted(id: contactID) }
            return SMSPartnerErrorCode.result(
                code: SMSPartnerPayload.code(json), message: message(json, context),
                operation: operation, context: context)
        } catch {
            return .failed(error)
        }
    }

    // MARK: Update

    /// Updates `batch` in group `list` by deleting each contact and adding it again, when
    /// the update mode is ``UpdateMode/replace`` (`--option update=replace`).
    ///
    /// SMS Partner documents no update call. Each contact is found (by ``Contact/providerID``
    /// when known, else by one scan of the list), deleted with `POST /v1/contact/delete`,
    /// then the deleted ones are added again in one `POST /v1/contact/add`. **This is not
    /// atomic**: between the two requests the contact is not in the group, and when the add
    /// fails after the delete succeeded, the contact is gone (its result says so).
    /// - Returns: one result per contact, in order: `updated` with the new `contactId`,
    ///   `skipped` / `not_in_list` when the contact is not in the group (nothing is sent),
    ///   `failed` when the delete or the add failed (the message says whether the contact
    ///   was deleted), or `rejected` when the add refused it after the delete (likewise).
    /// - Throws: `unsupported_operation` when the update mode is not `replace`; otherwise
    ///   as ``delete(_:from:context:)``.
    public func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard try updateMode(context.options, operation: .update) == .replace else {
            throw updateRefusal()
        }
        guard !batch.isEmpty else { return [] }
        let found = try await contactIDs(batch, in: list, operation: .update, context: context)
        var results = [ContactResult?](repeating: nil, count: batch.count)
        var deleted: [Int] = []
        var stop: ContactError?
        for (index, contact) in batch.enumerated() {
            guard case .found(let contactID) = found[index] else {
                results[index] = Self.notFound(
                    found[index], contact, list: list, operation: .update)
                continue
            }
            if let stop {
                results[index] = .failed(stop)
                continue
            }
            let result = await deleteOne(contactID, operation: .update, context: context)
            switch result.status {
            case .deleted:
                deleted.append(index)
            case .skipped:
                results[index] = .skipped(
                    ContactError(
                        .notInList,
                        "\(contact.phone.e164) is not in \(Self.name) group '\(list)' (its id "
                            + "\(context.quote(contactID, limit: 40)) is unknown), so it was not "
                            + "updated", provider: Self.name, operation: .update))
            default:
                if let error = result.error,
                    error.code == .authFailed || error.code == .rateLimited
                {
                    stop = error
                }
                results[index] =
                    result.error.map { .failed($0.appending(" (not updated; it was not deleted)")) }
                    ?? result
            }
        }
        if !deleted.isEmpty {
            let added: [ContactResult]
            do {
                added = try await add(deleted.map { batch[$0] }, to: list, context: context)
            } catch {
                let reason = (error as? ContactError)?.message ?? "\(type(of: error))"
                added = deleted.map { _ in
                    .failed(
                        ContactError(
                            .providerError, context.quote(reason), provider: Self.name,
                            operation: .update))
                }
            }
            for (index, result) in zip(deleted, added) {
                let phone = batch[index].phone.e164
                switch result.status {
                case .added:
                    results[index] = .updated(id: result.id)
                default:
                    let why = result.error?.message ?? "\(result.status)"
                    let error = ContactError(
                        result.error?.code ?? .providerError,
                        "\(phone) was deleted from \(Self.name) group '\(list)' but adding it "
                            + "again failed, so it is no longer in the group: \(why)",
                        providerCode: result.error?.providerCode, provider: Self.name,
                        operation: .update, field: result.error?.field)
                    results[index] =
                        result.status == .rejected ? .rejected(error) : .failed(error)
                }
            }
        }
        return results.map {
            $0
                ?? .failed(
                    ContactError(
                        .providerError, "the SMS Partner adapter produced no result",
                        provider: Self.name, operation: .update))
        }
    }

    /// The update mode in force: the option `update` when given, else the configuration's.
    /// - Throws: `invalid_field` for a value other than `replace` or `unsupported`.
    private func updateMode(
        _ options: [String: String], operation: ContactOperation
    ) throws(ContactError) -> UpdateMode {
        guard let text = options[Self.updateOption] else { return configuration.updateMode }
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case UpdateMode.replace.rawValue: return .replace
        case UpdateMode.unsupported.rawValue: return .unsupported
        default:
            throw ContactError(
                .invalidField,
                "the SMS Partner option update must be replace or unsupported, not "
                    + "'\(Redactor.none.quote(text, limit: 40))'",
                provider: Self.name, operation: operation, field: Self.updateOption)
        }
    }

    /// The `unsupported_operation` error of an update without `update=replace`.
    private func updateRefusal() -> ContactError {
        ContactError(
            .unsupportedOperation,
            "update is not supported by smspartner: SMS Partner documents no update; with "
                + "--option update=replace Contactor deletes each contact and adds it again "
                + "(not atomic)", provider: Self.name, operation: .update)
    }

    // MARK: List

    /// Reads one page of group `list` with `GET /v1/contact/list` (20 contacts a page).
    ///
    /// The cursor is the page number as text (`nil` for page 1). ``ContactPage/next`` is the
    /// next page number, or `nil` on the last page: one with fewer than
    /// ``listPageSize`` contacts, or once `total` contacts have been listed. Each contact
    /// maps back as `phone`, `firstname`, `lastname`, `date` (birthday), `custom1` …
    /// `custom4`, `url`, `shortUrlPartnr`, and `contactId` as ``ContactDraft/providerID``.
    /// - Throws: `invalid_field` for a cursor that is not a page number, `list_not_found`
    ///   (code 1), `auth_failed` (code 10, 401/403), `rate_limited` and transient
    ///   `provider_error` (429, 5xx), a `provider_error` for an answer that cannot be read
    ///   (quoted), and transport errors.
    public func list(
        _ list: String, cursor: String?, context: ProviderContext
    ) async throws -> ContactPage {
        let page: Int
        if let cursor {
            guard let number = Int(cursor), number >= 1 else {
                throw ContactError(
                    .invalidField,
                    "the SMS Partner list cursor must be a page number, not "
                        + "'\(Redactor.none.quote(cursor, limit: 40))'",
                    provider: Self.name, operation: .list, field: "cursor")
            }
            page = number
        } else {
            page = 1
        }
        switch try await listPage(page, of: list, operation: .list, context: context) {
        case .failure(let error):
            throw error
        case .success(let listing):
            let listed = (page - 1) * Self.listPageSize + listing.count
            let last =
                listing.count < Self.listPageSize || listing.total.map { listed >= $0 } == true
            return ContactPage(contacts: listing.drafts, next: last ? nil : String(page + 1))
        }
    }

    // MARK: Answers

    /// The answer's JSON, or the error of an answer that proves nothing (returned, for the
    /// caller to report per contact), after throwing what fails the whole request: 429 and
    /// 5xx (transient), control codes 1 and 10, and 401/403.
    ///
    /// Proof needs an HTTP 2xx: a success body on another status (a 400, a 302) is
    /// contradictory, and a redirect, HTML, garbage, an empty body or a 204 are unreadable.
    /// An error body (`success: false` with a code) is read on any status.
    private func answer(
        _ response: ProviderResponse, list: String?, context: ProviderContext,
        operation: ContactOperation
    ) throws(ContactError) -> Result<JSONValue, ContactError> {
        let name = Self.name
        let json = response.json
        if let error = ProviderSupport.transientError(
            response, context: context, provider: name, display: name, operation: operation)
        {
            throw error
        }
        func unreadable(_ what: String) -> Result<JSONValue, ContactError> {
            .failure(
                ProviderSupport.unreadable(
                    response, display: name, provider: name, operation: operation,
                    expected: what, context: context,
                    providerCode: ProviderSupport.code(json?["code"], context: context)))
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
                    operation: operation, context: context)
            }
            if SMSPartnerPayload.isSuccess(json), !ProviderSupport.isSuccess(response.status) {
                if (300...399).contains(response.status) {
                    return unreadable("a JSON answer on HTTP 2xx")
                }
                return unreadable(
                    "a JSON answer (it says success, but on an error status, which proves nothing)")
            }
            if code != nil || json["success"] != nil || json["results"] != nil
                || json["datas"] != nil
            {
                if (300...399).contains(response.status) {
                    return unreadable("a JSON answer on HTTP 2xx")
                }
                return .success(json)
            }
        }
        if response.status == 401 || response.status == 403 {
            throw ContactError(
                .authFailed,
                "\(name) refused the API key (HTTP \(response.status))"
                    + ProviderSupport.quotedBody(response, context: context),
                provider: name, operation: operation)
        }
        return unreadable("a JSON answer {success, code, ...}")
    }

    /// The provider's message in `json` with any credential redacted: the `message`
    /// member, else the code's documented meaning.
    private func message(_ json: JSONValue, _ context: ProviderContext) -> String {
        if let text = json["message"]?.stringValue, !text.isEmpty {
            return context.quote(text)
        }
        return SMSPartnerErrorCode.summary(SMSPartnerPayload.code(json), context: context)
    }

    // MARK: Local rules

    /// Checks a contact before anything is sent.
    ///
    /// For `add`: custom fields must be `custom1` … `custom4`, `url` or `shortUrlPartnr`
    /// (`invalid_field`); first and last names at most 32 characters (`field_too_long`);
    /// `url` and `shortUrlPartnr` must start with `http://` or `https://`
    /// (`invalid_field`); the same for `update`, which adds the contact again. A delete
    /// sends only the number, so it has no local rules.
    public func check(_ contact: Contact, for operation: ContactOperation) -> ContactError? {
        guard operation == .add || operation == .update else { return nil }
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

    /// Refuses an empty or blank group id (`missing_field`), and an update unless the
    /// update mode is ``UpdateMode/replace`` (`unsupported_operation`, or `invalid_field`
    /// for an `update` option that is neither `replace` nor `unsupported`).
    public func checkList(
        _ list: String, options: [String: String], for operation: ContactOperation
    ) -> ContactError? {
        if let error = ProviderSupport.checkList(
            list, provider: Self.name, operation: operation, name: "groupId")
        {
            return error
        }
        guard operation == .update else { return nil }
        do {
            return try updateMode(options, operation: operation) == .replace
                ? nil : updateRefusal()
        } catch {
            return error
        }
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
