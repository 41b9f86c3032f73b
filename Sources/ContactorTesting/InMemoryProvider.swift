import Contactor
import Foundation

/// A ``ContactProvider`` that keeps its lists in memory, for tests and for embedders'
/// own tests.
///
/// It answers like a well-behaved provider — `added`, `skipped` (`already_in_list`),
/// `deleted`, `skipped` (`not_in_list`) — and can be told to misbehave: give a number a
/// fixed result, fail a number transiently a few times, throw for batches, answer with the
/// wrong number of results, refuse credentials or unknown lists. It records every batch
/// it receives and can hold a batch back (``onBatch(_:)``) so tests control timing
/// without sleeping.
///
/// ```swift
/// let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 2))
/// await provider.failTransiently("+33612345678", times: 2)
/// ```
public struct InMemoryProvider: ContactProvider {
    /// A batch the provider received.
    public struct ReceivedBatch: Sendable, Hashable {
        /// The 0-based position of the batch among all batches received.
        public var index: Int
        /// The operation.
        public var operation: ContactOperation
        /// The list.
        public var list: String
        /// The contacts' phones, E.164, in order.
        public var phones: [String]
        /// The engine's 1-based attempt for the batch (``RequestContext/attempt``).
        public var attempt: Int = 1
    }

    /// Runs before a batch is answered; it may suspend to hold the batch back.
    public typealias BatchHook = @Sendable (ReceivedBatch) async -> Void

    /// What the provider is and accepts.
    public let descriptor: ProviderDescriptor
    private let storage: Storage

    /// Creates a provider described by `descriptor`.
    /// - Parameters:
    ///   - descriptor: What the provider is and accepts.
    ///   - keepsHistory: Whether it keeps its lists and the batches it received (the
    ///     default). Without them — for benchmarks that push millions of records through
    ///     the engine and must not measure the provider's own memory — every add answers
    ///     `added`, every delete `deleted`, ``receivedBatches`` stays empty and lists stay
    ///     empty; the misbehaviours still apply and ``waitUntilReceived(batches:)`` still
    ///     counts.
    public init(
        descriptor: ProviderDescriptor = InMemoryProvider.descriptor(), keepsHistory: Bool = true
    ) {
        self.descriptor = descriptor
        self.storage = Storage(keepsHistory: keepsHistory)
    }

    /// A descriptor for an in-memory provider supporting `add` and `delete`.
    /// - Parameters:
    ///   - name: The provider's name.
    ///   - batchSize: The batch size of both operations.
    ///   - credentialKeys: The credentials it needs.
    ///   - defaultRegion: The region for national numbers.
    ///   - standardFields: The standard fields it sends.
    ///   - customFields: The custom fields it has a place for.
    ///   - maxLengths: The longest value per field.
    ///   - operations: The operations it supports: add, delete, update and list by default.
    public static func descriptor(
        name: String = "memory", batchSize: Int = 10, credentialKeys: [String] = [],
        defaultRegion: String? = "FR",
        standardFields: [String] = ["first_name", "last_name", "email", "birthday", "civility"],
        customFields: [String] = [], maxLengths: [String: Int] = [:],
        operations: Set<ContactOperation> = [.add, .delete, .update, .list]
    ) -> ProviderDescriptor {
        ProviderDescriptor(
            name: name, summary: "In-memory lists for tests", credentialKeys: credentialKeys,
            defaultEndpoint: URL(string: "memory://\(name)")!, defaultRegion: defaultRegion,
            batchSizes: [.add: batchSize, .delete: batchSize, .update: batchSize],
            operations: operations, standardFields: standardFields,
            customFields: customFields, maxLengths: maxLengths)
    }

    /// How many contacts one page of ``list(_:cursor:context:)`` holds.
    public static let pageSize = 20

    // MARK: ContactProvider

    public func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        try await perform(.add, batch, list: list, context: context)
    }

    public func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        try await perform(.delete, batch, list: list, context: context)
    }

    /// Replaces the stored fields of contacts already in the list (`updated`), or answers
    /// `skipped` / `not_in_list`.
    public func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        guard descriptor.supports(.update) else { throw unsupported(.update) }
        return try await perform(.update, batch, list: list, context: context)
    }

    /// The list's contacts in phone order, ``pageSize`` a page; the cursor is the index of
    /// the page's first contact.
    public func list(
        _ list: String, cursor: String?, context: ProviderContext
    ) async throws -> ContactPage {
        guard descriptor.supports(.list) else { throw unsupported(.list) }
        let all = await contacts(in: list)
        let start = cursor.flatMap(Int.init) ?? 0
        let end = min(all.count, start + Self.pageSize)
        let page = start < end ? Array(all[start..<end]) : []
        return ContactPage(
            contacts: page.map { contact in
                ContactDraft(
                    phone: contact.phone.e164, firstName: contact.firstName,
                    lastName: contact.lastName, email: contact.email,
                    birthday: contact.birthday?.description, civility: contact.civility,
                    fields: contact.fields, providerID: contact.phone.e164)
            },
            next: end < all.count ? String(end) : nil)
    }

    /// Removes `phone` from `list` behind the engine's back (a contact deleted by hand at
    /// the provider).
    public func removeByHand(_ phone: String, from list: String) async {
        await storage.removeByHand(phone, from: list)
    }

    private func perform(
        _ operation: ContactOperation, _ batch: [Contact], list: String,
        context: ProviderContext
    ) async throws -> [ContactResult] {
        // A dry run changes nothing and is not a batch received.
        if context.isDryRun { return batch.map { _ in .added() } }
        let (received, hook) = await storage.receive(
            operation: operation, list: list, phones: batch.map(\.phone.e164),
            attempt: context.request.attempt)
        if let hook { await hook(received) }
        return try await storage.answer(
            operation, batch, list: list, credentials: context.credentials,
            provider: descriptor.name)
    }

    // MARK: Behaviour

    /// Answers `result` for the number `phone` (E.164) in every batch.
    public func setResult(_ result: ContactResult, for phone: String) async {
        await storage.set { $0.fixedResults[phone] = result }
    }

    /// Answers `failed` with `error` (transient by default) for `phone` the next `times`
    /// times it is sent, then normally.
    public func failTransiently(
        _ phone: String, times: Int,
        error: ContactError = ContactError(
            .providerError, "temporarily unavailable", isTransient: true)
    ) async {
        await storage.set { $0.transientFailures[phone] = (times, error) }
    }

    /// Throws `error` for every batch that contains `phone`.
    public func throwForBatches(containing phone: String, _ error: ContactError) async {
        await storage.set { $0.throwingPhones[phone] = error }
    }

    /// Throws `error` for the next `count` batches, whatever they contain.
    public func throwForNextBatches(_ count: Int, _ error: ContactError) async {
        await storage.set { $0.throwNext = (count, error) }
    }

    /// Answers the next `count` batches with one result too few.
    public func answerWithWrongCount(nextBatches count: Int = 1) async {
        await storage.set { $0.wrongCountBatches = count }
    }

    /// Throws `auth_failed` for every batch whose credentials are not exactly `expected`.
    public func requireCredentials(_ expected: [String: String]) async {
        await storage.set { $0.expectedCredentials = expected }
    }

    /// Throws `list_not_found` for every list not in `lists`.
    public func restrictLists(to lists: Set<String>) async {
        await storage.set { $0.knownLists = lists }
    }

    /// Calls `hook` for every batch received, before answering it.
    public func onBatch(_ hook: @escaping BatchHook) async {
        await storage.set { $0.hook = hook }
    }

    // MARK: Inspection

    /// Every batch received so far, in order of arrival.
    public var receivedBatches: [ReceivedBatch] {
        get async { await storage.received }
    }

    /// The contacts in `list`, sorted by phone.
    public func contacts(in list: String) async -> [Contact] {
        await storage.contacts(in: list)
    }

    /// Returns once at least `count` batches have been received.
    public func waitUntilReceived(batches count: Int) async {
        await storage.waitUntilReceived(count)
    }
}

extension InMemoryProvider {
    fileprivate actor Storage {
        struct Settings {
            var fixedResults: [String: ContactResult] = [:]
            var transientFailures: [String: (times: Int, error: ContactError)] = [:]
            var throwingPhones: [String: ContactError] = [:]
            var throwNext: (count: Int, error: ContactError)?
            var wrongCountBatches = 0
            var expectedCredentials: [String: String]?
            var knownLists: Set<String>?
            var hook: BatchHook?
        }

        let keepsHistory: Bool
        var settings = Settings()
        var receivedCount = 0
        var lists: [String: [String: Contact]] = [:]
        var received: [ReceivedBatch] = []
        var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        init(keepsHistory: Bool) { self.keepsHistory = keepsHistory }

        func set(_ change: (inout Settings) -> Void) { change(&settings) }

        func receive(
            operation: ContactOperation, list: String, phones: [String], attempt: Int
        ) -> (
            ReceivedBatch, BatchHook?
        ) {
            let batch = ReceivedBatch(
                index: receivedCount, operation: operation, list: list, phones: phones,
                attempt: attempt)
            receivedCount += 1
            if keepsHistory { received.append(batch) }
            let ready = waiters.filter { $0.count <= receivedCount }
            waiters.removeAll { $0.count <= receivedCount }
            for waiter in ready { waiter.continuation.resume() }
            return (batch, settings.hook)
        }

        func waitUntilReceived(_ count: Int) async {
            if receivedCount >= count { return }
            await withCheckedContinuation { waiters.append((count, $0)) }
        }

        func removeByHand(_ phone: String, from list: String) {
            lists[list]?[phone] = nil
        }

        func contacts(in list: String) -> [Contact] {
            (lists[list] ?? [:]).values.sorted { $0.phone.e164 < $1.phone.e164 }
        }

        func answer(
            _ operation: ContactOperation, _ batch: [Contact], list: String,
            credentials: Credentials, provider: String
        ) throws(ContactError) -> [ContactResult] {
            if let (count, error) = settings.throwNext, count > 0 {
                settings.throwNext = count > 1 ? (count - 1, error) : nil
                throw error
            }
            for contact in batch {
                if let error = settings.throwingPhones[contact.phone.e164] { throw error }
            }
            if let expected = settings.expectedCredentials {
                let given = Dictionary(
                    uniqueKeysWithValues: credentials.keys.map { ($0, credentials[$0] ?? "") })
                guard given == expected else {
                    throw ContactError(
                        .authFailed, "\(provider) refused the credentials", providerCode: "401",
                        provider: provider, operation: operation)
                }
            }
            if let known = settings.knownLists, !known.contains(list) {
                throw ContactError(
                    .listNotFound, "\(provider) has no list '\(list)'", provider: provider,
                    operation: operation)
            }
            var results = batch.map { contact in result(operation, contact, list: list) }
            if settings.wrongCountBatches > 0 {
                settings.wrongCountBatches -= 1
                results.removeLast()
            }
            return results
        }

        private func result(
            _ operation: ContactOperation, _ contact: Contact, list: String
        )
            -> ContactResult
        {
            let phone = contact.phone.e164
            if let fixed = settings.fixedResults[phone] { return fixed }
            if let (times, error) = settings.transientFailures[phone], times > 0 {
                settings.transientFailures[phone] = (times - 1, error)
                return .failed(error)
            }
            if !keepsHistory {
                switch operation {
                case .delete: return .deleted()
                case .update: return .updated(id: phone)
                default: return .added(id: phone)
                }
            }
            switch operation {
            case .update:
                guard lists[list]?[phone] != nil else {
                    return .skipped(ContactError(.notInList, "\(phone) is not in \(list)"))
                }
                lists[list, default: [:]][phone] = contact
                return .updated(id: phone)
            case .delete:
                guard lists[list]?.removeValue(forKey: phone) != nil else {
                    return .skipped(ContactError(.notInList, "\(phone) is not in \(list)"))
                }
                return .deleted()
            default:
                if lists[list, default: [:]][phone] != nil {
                    return .skipped(
                        ContactError(.alreadyInList, "\(phone) is already in \(list)"))
                }
                lists[list, default: [:]][phone] = contact
                return .added(id: phone)
            }
        }
    }
}
