import Contactor
import Foundation
import HTTPTypes

/// The Octopush adapter: JSON requests, credentials in the `api-login` and `api-key`
/// headers.
///
/// `add` sends `POST /v1/public/contact/create` with up to ``addBatchSize`` contacts and
/// matches the answer's `items` back to the contacts by phone number, not by position:
/// `added`, `updated`, or `skipped` (`already_in_list`, what `do_not_overwrite` gives), and
/// `failed` for a number the answer does not report. A batch holding the same number more
/// than once is sent in several requests, each number once per request, so that every
/// answer item belongs to exactly one contact.
///
/// `update` sends the same `contact/create`, overwriting (`do_not_overwrite` false, as
/// documented, whatever the run's option): `updated`, or `added` when Octopush says the
/// number was not there.
///
/// `delete` sends `DELETE /v1/public/contact/delete` with a JSON body of up to
/// ``deleteBatchSize`` numbers; `204` (or any 2xx with an empty body) means every one was
/// deleted. A 2xx with a body, a redirect or another undocumented answer leaves every
/// contact of the request `failed` with the answer quoted: the outcome is unknown.
///
/// Octopush documents no list endpoint, so `list` is not supported.
///
/// Octopush does not document its error bodies, so failures are mapped by HTTP status
/// (see `OctopushErrors`), and each throws for the whole batch: `auth_failed` (401/403),
/// `list_not_found` (404), a non-transient `provider_error` (400/422: the whole request was
/// refused, so the caller may split the batch to find the bad contact), `rate_limited`
/// (429) and a transient `provider_error` (5xx).
///
/// Standard fields sent: `first_name`, `last_name` (Octopush has no civility, e-mail or
/// birthday field); custom fields `param1`...`param5`.
public struct OctopushProvider: ContactProvider {
    /// Settings of the Octopush adapter: the optional members of `contact/create`.
    ///
    /// Each can be overridden per run by the `context.options` key of the same name as in
    /// the API (``optionNames``); booleans are given as the text `true` or `false`. A value
    /// left `nil` is not sent, so Octopush's own default applies.
    public struct Configuration: Sendable, Hashable {
        /// `tag_name`: the tag attached to each added contact (at most
        /// ``OctopushProvider/maxTagNameLength`` characters). An empty tag is not sent.
        public var tagName: String?
        /// `do_not_overwrite`: when `true`, a number already in the list is left as it is
        /// and reported `skipped` instead of being updated.
        public var doNotOverwrite: Bool?
        /// `auto_remove_blacklisted_numbers`: when `true`, Octopush removes blacklisted
        /// numbers from the list.
        public var autoRemoveBlacklistedNumbers: Bool?

        /// The `context.options` keys that override the settings: `tag_name`,
        /// `do_not_overwrite`, `auto_remove_blacklisted_numbers`.
        public static let optionNames = [
            "tag_name", "do_not_overwrite", "auto_remove_blacklisted_numbers",
        ]

        /// Creates a configuration; every member defaults to "not sent".
        public init(
            tagName: String? = nil, doNotOverwrite: Bool? = nil,
            autoRemoveBlacklistedNumbers: Bool? = nil
        ) {
            self.tagName = tagName
            self.doNotOverwrite = doNotOverwrite
            self.autoRemoveBlacklistedNumbers = autoRemoveBlacklistedNumbers
        }

        /// This configuration with the values of `options` (keys ``optionNames``) in place
        /// of its own; other keys are ignored.
        ///
        /// - Throws: `invalid_field` naming the option when a boolean option is neither
        ///   `true` nor `false` (case and surrounding spaces do not matter).
        public func overridden(
            by options: [String: String]
        ) throws(ContactError)
            -> Configuration
        {
            func flag(_ name: String) throws(ContactError) -> Bool?? {
                guard let text = options[name] else { return .none }
                switch text.trimmingCharacters(in: .whitespaces).lowercased() {
                case "true": return .some(true)
                case "false": return .some(false)
                default:
                    throw ContactError(
                        .invalidField,
                        "the Octopush option \(name) must be true or false, not '\(text)'",
                        provider: OctopushProvider.name, field: name)
                }
            }
            var copy = self
            if let tag = options["tag_name"] { copy.tagName = tag }
            if let value = try flag("do_not_overwrite") { copy.doNotOverwrite = value }
            if let value = try flag("auto_remove_blacklisted_numbers") {
                copy.autoRemoveBlacklistedNumbers = value
            }
            return copy
        }
    }

    /// The provider's name, `octopush`.
    public static let name = "octopush"

    /// Octopush's base URL, `https://api.octopush.com`.
    public static let defaultEndpoint = URL(string: "https://api.octopush.com")!

    /// The most contacts one `contact/create` request carries: 200.
    ///
    /// Octopush documents no limit for `contact/create`; 200 is its documented limit for
    /// `contact/delete`, a size its API is known to accept and small enough that a refused
    /// batch is cheap to split.
    public static let addBatchSize = 200

    /// The most numbers one `contact/delete` request carries: 200, as documented.
    public static let deleteBatchSize = 200

    /// The longest `list_name` Octopush accepts, in characters: 30.
    public static let maxListNameLength = 30

    /// The longest `tag_name` Octopush accepts, in characters: 20.
    public static let maxTagNameLength = 20

    /// The custom fields Octopush has a place for: `param1`...`param5`.
    public static let customFieldNames = ["param1", "param2", "param3", "param4", "param5"]

    /// What Octopush is and accepts.
    ///
    /// Credentials `api_login` and `api_key`; region `FR`; batch sizes ``addBatchSize``
    /// and ``deleteBatchSize``; standard fields `first_name` and `last_name`; custom fields
    /// ``customFieldNames``. No per-field length limit is documented; the list and tag
    /// limits are checked by ``checkList(_:options:for:)``.
    public static let descriptor = ProviderDescriptor(
        name: name, summary: "Octopush (api.octopush.com): JSON, up to 200 contacts per request",
        credentialKeys: ["api_login", "api_key"], publicCredentialKeys: ["api_login"],
        defaultEndpoint: defaultEndpoint,
        defaultRegion: "FR",
        batchSizes: [.add: addBatchSize, .delete: deleteBatchSize, .update: addBatchSize],
        operations: [.add, .delete, .update], standardFields: ["first_name", "last_name"],
        customFields: customFieldNames)

    /// The adapter's settings, before `context.options` overrides.
    public var configuration: Configuration

    /// Creates the adapter.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// What Octopush is and accepts: the static `descriptor`.
    public var descriptor: ProviderDescriptor { Self.descriptor }

    /// Adds `batch` to the list named `list`.
    ///
    /// - Returns: One result per contact, in order: `added`, `updated`, `skipped`,
    ///   `rejected` (a local check) or `failed` (not reported by Octopush, an unknown
    ///   status, a payload hook error).
    /// - Throws: `missing_field`, `field_too_long` or `invalid_field` for the list and
    ///   options (nothing is sent), `auth_failed` (also for a missing credential),
    ///   `list_not_found`, `provider_error`, `rate_limited`, and transport errors.
    public func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        try await create(batch, list: list, operation: .add, context: context)
    }

    /// Updates `batch` in the list named `list`: `contact/create` overwriting what Octopush
    /// holds (`do_not_overwrite` is sent `false`, whatever the run's option says).
    ///
    /// - Returns: One result per contact, in order: `updated`, `added` (Octopush says the
    ///   number was not in the list and added it), or `failed` as for ``add(_:to:context:)``.
    /// - Throws: As ``add(_:to:context:)``.
    public func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        try await create(batch, list: list, operation: .update, context: context)
    }

    /// `contact/create` for `add` or `update`.
    private func create(
        _ batch: [Contact], list: String, operation: ContactOperation, context: ProviderContext
    ) async throws(ContactError) -> [ContactResult] {
        guard !batch.isEmpty else { return [] }
        var configuration: Configuration
        do {
            configuration = try self.configuration.overridden(by: context.options)
        } catch {
            throw error.attributed(to: Self.name, operation: operation)
        }
        if operation == .update { configuration.doNotOverwrite = false }
        let headers = Self.headers(context.credentials)

        var results = [ContactResult?](repeating: nil, count: batch.count)
        var entries: [Entry] = []
        for (index, contact) in batch.enumerated() {
            var payload = OctopushPayload.contact(contact)
            if context.payloadHook != nil {
                switch await ProviderSupport.applyHook(
                    payload, contact: contact, context: context, provider: Self.name,
                    operation: operation)
                {
                case .success(let edited): payload = edited
                case .failure(let error):
                    results[index] = .failed(error)
                    continue
                }
            }
            do {
                let phone = try OctopushPayload.phoneNumber(of: payload, contact: contact)
                entries.append(
                    Entry(index: index, key: OctopushPayload.matchKey(phone), payload: payload))
            } catch {
                results[index] = .failed(error)
            }
        }

        for request in Self.requests(entries, size: Self.addBatchSize) {
            let body = OctopushPayload.createBody(
                contacts: request.map(\.payload), list: list, configuration: configuration)
            let response: ProviderResponse
            switch try await send(
                .post, "/v1/public/contact/create", body: body, headers: headers,
                operation: operation, list: list, context: context)
            {
            case .success(let value): response = value
            case .failure(let error):
                for entry in request { results[entry.index] = .failed(error) }
                continue
            }
            let statuses = OctopushPayload.reportedStatuses(response.body)
            for entry in request {
                results[entry.index] = Self.result(
                    reported: statuses, key: entry.key, response: response,
                    contact: batch[entry.index], list: list, operation: operation,
                    context: context)
            }
        }
        return results.map {
            $0
                ?? .failed(
                    ContactError(
                        .providerError, "the Octopush adapter produced no result",
                        provider: Self.name, operation: operation))
        }
    }

    /// Deletes `batch` from the list named `list`.
    ///
    /// Each number is sent once, at most ``deleteBatchSize`` per request. What proves the
    /// delete is the documented `204 No Content` (any 2xx with an empty body, or `{}`, is read
    /// the same way); a 2xx with any other body (`{"error": "delete failed"}`, HTML) or a
    /// redirect proves nothing, so the contacts of that request end `failed`, quoted.
    /// - Returns: `deleted` for every contact of a request that succeeded, `failed` for the
    ///   others.
    /// - Throws: As ``add(_:to:context:)``.
    public func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard !batch.isEmpty else { return [] }
        let headers = Self.headers(context.credentials)

        var results: [ContactResult] = Array(repeating: .deleted(), count: batch.count)
        var entries: [Entry] = []
        var indices: [String: [Int]] = [:]
        for (index, contact) in batch.enumerated() {
            let phone = contact.phone.e164
            if indices[phone] == nil {
                entries.append(Entry(index: index, key: phone, payload: .string(phone)))
            }
            indices[phone, default: []].append(index)
        }
        for start in stride(from: 0, to: entries.count, by: Self.deleteBatchSize) {
            let numbers = entries[start..<min(start + Self.deleteBatchSize, entries.count)]
                .map(\.key)
            var failure: ContactError?
            switch try await send(
                .delete, "/v1/public/contact/delete",
                body: OctopushPayload.deleteBody(phoneNumbers: numbers, list: list),
                headers: headers, operation: .delete, list: list, context: context)
            {
            case .failure(let error): failure = error
            case .success(let response) where !ProviderSupport.isEmptyBody(response):
                failure = ProviderSupport.unreadable(
                    response, display: "Octopush", provider: Self.name, operation: .delete,
                    expected: "204 No Content", context: context,
                    providerCode: ProviderSupport.code(response.json?["code"], context: context))
            case .success:
                break
            }
            guard let failure else { continue }
            for number in numbers {
                for index in indices[number] ?? [] { results[index] = .failed(failure) }
            }
        }
        return results
    }

    /// Checks the list name (not empty, at most ``maxListNameLength`` characters) and,
    /// for `add`, the options (`tag_name` at most ``maxTagNameLength`` characters, booleans
    /// `true` or `false`), so that a request Octopush would refuse is never sent.
    public func checkList(
        _ list: String, options: [String: String], for operation: ContactOperation
    ) -> ContactError? {
        do {
            _ = try settings(list, options: options, for: operation)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Internals

    /// One contact ready to send: its place in the batch, its match key and its payload.
    private struct Entry {
        var index: Int
        var key: String
        var payload: JSONValue
    }

    /// The configuration in force for `operation` on `list`, after the local checks.
    private func settings(
        _ list: String, options: [String: String], for operation: ContactOperation
    ) throws(ContactError) -> Configuration {
        func tooLong(_ field: String, _ value: String, _ limit: Int) -> ContactError {
            ContactError(
                .fieldTooLong,
                "\(field) '\(value)' is \(value.count) characters long; Octopush accepts at "
                    + "most \(limit)", provider: Self.name, operation: operation, field: field)
        }
        if list.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ContactError(
                .missingField, "the Octopush list_name is empty", provider: Self.name,
                operation: operation, field: "list_name")
        }
        if list.count > Self.maxListNameLength {
            throw tooLong("list_name", list, Self.maxListNameLength)
        }
        guard operation == .add else { return configuration }
        let resolved: Configuration
        do {
            resolved = try configuration.overridden(by: options)
        } catch {
            throw error.attributed(to: Self.name, operation: operation)
        }
        if let tag = resolved.tagName, tag.count > Self.maxTagNameLength {
            throw tooLong("tag_name", tag, Self.maxTagNameLength)
        }
        return resolved
    }

    /// The request headers, credentials included.
    private static func headers(_ credentials: Credentials) -> [(String, String)] {
        [
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
            ("api-login", credentials["api_login"] ?? ""),
            ("api-key", credentials["api_key"] ?? ""),
        ]
    }

    /// Sends one JSON request and returns its `2xx` response, or the `failed` error of
    /// every contact it carried for an answer that proves nothing (a redirect, an
    /// undocumented status).
    /// - Throws: The error `OctopushErrors` maps a failing status to.
    private func send(
        _ method: HTTPRequest.Method, _ path: String, body: JSONValue,
        headers: [(String, String)], operation: ContactOperation, list: String,
        context: ProviderContext
    ) async throws(ContactError) -> Result<ProviderResponse, ContactError> {
        let response = try await ProviderSupport.send(
            method, context.url(path), headers: headers, body: body.encoded(), context: context,
            provider: Self.name, operation: operation)
        if ProviderSupport.isSuccess(response.status) { return .success(response) }
        if OctopushErrors.failsBatch(response.status) {
            throw OctopushErrors.batchError(
                for: response, operation: operation, list: list, context: context)
        }
        return .failure(
            ProviderSupport.unreadable(
                response, display: "Octopush", provider: Self.name, operation: operation,
                expected: operation == .delete ? "204 No Content" : "201 with items",
                context: context,
                providerCode: ProviderSupport.code(response.json?["code"], context: context)))
    }

    /// Splits `entries` into requests of at most `size`, each holding a number once: the
    /// n-th occurrence of a number goes to the n-th round.
    private static func requests(_ entries: [Entry], size: Int) -> [[Entry]] {
        var rounds: [[Entry]] = []
        var occurrences: [String: Int] = [:]
        for entry in entries {
            let round = occurrences[entry.key, default: 0]
            occurrences[entry.key] = round + 1
            if round == rounds.count { rounds.append([]) }
            rounds[round].append(entry)
        }
        return rounds.flatMap { round in
            stride(from: 0, to: round.count, by: size).map {
                Array(round[$0..<min($0 + size, round.count)])
            }
        }
    }

    /// The result of one contact from the statuses `contact/create` reported.
    private static func result(
        reported statuses: [String: String]?, key: String, response: ProviderResponse,
        contact: Contact, list: String, operation: ContactOperation, context: ProviderContext
    ) -> ContactResult {
        let phone = contact.phone.e164
        func failure(_ message: String, providerCode: String? = nil) -> ContactResult {
            .failed(
                ContactError(
                    .providerError, message, providerCode: providerCode, provider: name,
                    operation: operation))
        }
        guard let statuses else {
            return .failed(
                ProviderSupport.unreadable(
                    response, display: "Octopush", provider: name, operation: operation,
                    expected: "{\"items\": [{\"phone_number\", \"status\"}]}", context: context))
        }
        guard let status = statuses[key] else {
            return failure("Octopush did not report \(phone) in its answer for list '\(list)'")
        }
        switch status.lowercased() {
        case "added": return .added()
        case "updated": return .updated()
        case "skipped":
            return .skipped(
                ContactError(
                    .alreadyInList,
                    "\(phone) is already in Octopush list '\(list)' and was left as it is",
                    providerCode: "skipped", provider: name, operation: operation))
        default:
            let shown = context.quote(status, limit: 40)
            return failure(
                "Octopush reported the unknown status '\(shown)' for \(phone)",
                providerCode: shown)
        }
    }
}
