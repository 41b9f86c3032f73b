import Contactor
import Foundation

/// A provider wired to a loopback emulator, for ``ProviderConformance``.
///
/// The suite talks to the provider only through its ``ContactProvider`` API and checks
/// the emulator's state through ``contains``, so the same checks run against every
/// built-in adapter and every Lua provider.
public struct ConformanceTarget: Sendable {
    /// The provider under test.
    public var provider: any ContactProvider
    /// A context with valid credentials whose endpoint points at the emulator.
    public var context: ProviderContext
    /// Credentials the emulator refuses.
    public var badCredentials: Credentials
    /// A list that exists at the emulator and accepts the numbers of ``numbers``.
    public var list: String
    /// A list that does not exist at the emulator.
    public var unknownList: String
    /// Distinct valid numbers the suite may add and delete (at least twelve).
    ///
    /// Each check uses its own numbers, so checks may share one emulator (or one real
    /// list): `numbers[0]` add, `[1]` duplicate add, `[2]` unknown list, `[3]` auth
    /// failure, `[4]` delete, `[5]` and `[6]` delete of an absent number (absent, and a
    /// bystander that must survive), `[7]` every field, `[8]` update, `[9]` list,
    /// `[10...]` the partial batch.
    public var numbers: [PhoneNumber]
    /// A number the provider must refuse (libphonenumber-invalid, built unchecked).
    public var invalidNumber: PhoneNumber
    /// Whether the emulator's `list` holds `e164`.
    ///
    /// The convenience initialiser without it reads the list through the provider's own
    /// `list` (``ProviderConformance/listed(_:in:provider:context:)``), for a target made of
    /// a plugin file, an endpoint and numbers.
    public var contains: @Sendable (_ list: String, _ e164: String) async throws -> Bool
    /// The statuses this provider documents for adding a number already in the list.
    public var duplicateAddStatuses: Set<ContactResult.Status>
    /// The statuses this provider documents for deleting a number not in the list.
    public var absentDeleteStatuses: Set<ContactResult.Status>
    /// Whether the provider refuses a whole request for one number it cannot read, rather
    /// than answering per contact.
    ///
    /// Set it only for providers that document no per-number error (Octopush): their
    /// adapters then throw a non-transient error for the batch, which the engine splits
    /// until the bad contact is `rejected` on its own. The invalid-number and partial-batch
    /// checks then accept such a refusal, provided it is not transient, does not blame the
    /// account or the list, names the number, and stored nothing. Otherwise they demand a
    /// per-contact `rejected` / `invalid_phone`.
    public var refusesWholeRequestForInvalidNumber: Bool
    /// Values for the fields the provider declares, by field name (`url`,
    /// `unsubscribed`, ...), where the suite's samples would not be valid for it.
    ///
    /// The suite's samples: `first_name` `Ada`, `last_name` `Lovelace`, `email`
    /// `ada@example.org`, `birthday` `1990-12-10`, `civility` `Mme`, and
    /// `sample-<field>` for a custom field.
    public var fieldValues: [String: String]
    /// The values the emulator stored for `e164` in `list` (whatever it names the
    /// fields), or `nil` when it has no such contact; when set, ``ProviderConformance``
    /// checks that every field sent arrived.
    public var storedValues: (@Sendable (_ list: String, _ e164: String) async throws -> [String]?)?

    /// The statuses this provider documents for an update of a number in the list.
    public var updateStatuses: Set<ContactResult.Status>

    /// Whether ``contains`` can tell what the list holds. When it cannot (a target made
    /// from a plugin without `list`), the checks judge the provider by its answers alone,
    /// and each look at the list they skip is named in ``ConformanceReport/unverified``.
    public var readsState: Bool = true

    /// Creates a target.
    public init(
        provider: any ContactProvider, context: ProviderContext, badCredentials: Credentials,
        list: String, unknownList: String, numbers: [PhoneNumber], invalidNumber: PhoneNumber,
        contains: @escaping @Sendable (_ list: String, _ e164: String) async throws -> Bool,
        duplicateAddStatuses: Set<ContactResult.Status> = [.skipped],
        absentDeleteStatuses: Set<ContactResult.Status> = [.skipped],
        refusesWholeRequestForInvalidNumber: Bool = false, fieldValues: [String: String] = [:],
        storedValues: (@Sendable (_ list: String, _ e164: String) async throws -> [String]?)? =
            nil, updateStatuses: Set<ContactResult.Status> = [.updated]
    ) {
        self.updateStatuses = updateStatuses
        self.provider = provider
        self.context = context
        self.badCredentials = badCredentials
        self.list = list
        self.unknownList = unknownList
        self.numbers = numbers
        self.invalidNumber = invalidNumber
        self.contains = contains
        self.duplicateAddStatuses = duplicateAddStatuses
        self.absentDeleteStatuses = absentDeleteStatuses
        self.refusesWholeRequestForInvalidNumber = refusesWholeRequestForInvalidNumber
        self.fieldValues = fieldValues
        self.storedValues = storedValues
    }
}

extension ConformanceTarget {
    /// A target whose state is read through the provider's own `list`: what a command line
    /// builds from a plugin file, an endpoint, credentials and numbers, with no emulator
    /// to look into.
    ///
    /// ``contains`` and ``storedValues`` page through `provider.list`. A provider without
    /// `list` can only be checked for what its answers say: ``readsState`` is then `false`
    /// and ``storedValues`` `nil`, and each report names the looks at the list it skipped
    /// (``ConformanceReport/unverified``).
    public init(
        provider: any ContactProvider, context: ProviderContext, badCredentials: Credentials,
        list: String, unknownList: String, numbers: [PhoneNumber], invalidNumber: PhoneNumber,
        duplicateAddStatuses: Set<ContactResult.Status> = [.skipped],
        absentDeleteStatuses: Set<ContactResult.Status> = [.skipped],
        refusesWholeRequestForInvalidNumber: Bool = false, fieldValues: [String: String] = [:],
        updateStatuses: Set<ContactResult.Status> = [.updated]
    ) {
        let listed: @Sendable (String, String) async throws -> ContactDraft? = { list, e164 in
            guard provider.descriptor.supports(.list) else { return nil }
            return try await ProviderConformance.listed(
                e164, in: list, provider: provider, context: context)
        }
        let stored: @Sendable (String, String) async throws -> [String]? = { list, e164 in
            try await listed(list, e164).map { draft in
                [
                    draft.firstName, draft.lastName, draft.email, draft.birthday,
                    draft.civility,
                ].compactMap { $0 } + Array(draft.fields.values)
            }
        }
        self.init(
            provider: provider, context: context, badCredentials: badCredentials, list: list,
            unknownList: unknownList, numbers: numbers, invalidNumber: invalidNumber,
            contains: { list, e164 in try await listed(list, e164) != nil },
            duplicateAddStatuses: duplicateAddStatuses,
            absentDeleteStatuses: absentDeleteStatuses,
            refusesWholeRequestForInvalidNumber: refusesWholeRequestForInvalidNumber,
            fieldValues: fieldValues,
            storedValues: provider.descriptor.supports(.list) ? stored : nil,
            updateStatuses: updateStatuses)
        readsState = provider.descriptor.supports(.list)
    }
}

/// What one conformance check sent and what came back, for its report.
public struct ConformanceExchange: Sendable, Hashable, CustomStringConvertible {
    /// The operation called (`add`, `delete`, `update`, `list`).
    public var operation: ContactOperation
    /// The list it was called on.
    public var list: String
    /// What was sent: one line per contact (`+33612340100 first_name=Ada`), or the cursor
    /// of a list call.
    public var sent: [String]
    /// What came back: one line per result (`added id=12`, `skipped already_in_list: ...`),
    /// the page read, or the error thrown (`threw auth_failed: ...`).
    public var received: [String]

    /// Creates an exchange.
    public init(
        operation: ContactOperation, list: String, sent: [String], received: [String]
    ) {
        self.operation = operation
        self.list = list
        self.sent = sent
        self.received = received
    }

    public var description: String {
        "\(operation) on '\(list)': sent [\(sent.joined(separator: "; "))] -> "
            + "[\(received.joined(separator: "; "))]"
    }
}

/// The outcome of one conformance check: whether it passed, what went wrong, and every
/// call it made with what it sent and received.
public struct ConformanceReport: Sendable, Hashable, CustomStringConvertible {
    /// The check.
    public var check: ProviderConformance.Check
    /// The provider's name.
    public var provider: String
    /// What went wrong, one sentence each; empty when the check passed.
    public var failures: [String]
    /// The calls the check made, in order.
    public var exchanges: [ConformanceExchange]
    /// Why the check did not apply, when the provider does not support its operation and
    /// says so clearly (`update is not supported by octopush`); it then passes.
    public var notApplicable: String?
    /// What the check could not verify because the target cannot read the list
    /// (``ConformanceTarget/readsState``): `+33612345670 in the list afterwards`.
    public var unverified: [String] = []

    /// Creates a report.
    public init(
        check: ProviderConformance.Check, provider: String, failures: [String] = [],
        exchanges: [ConformanceExchange] = [], notApplicable: String? = nil
    ) {
        self.check = check
        self.provider = provider
        self.failures = failures
        self.exchanges = exchanges
        self.notApplicable = notApplicable
    }

    /// Whether the check passed.
    public var passed: Bool { failures.isEmpty }

    public var description: String {
        var lines = [
            "\(provider) \(check): "
                + (passed ? (notApplicable.map { "not applicable (\($0))" } ?? "passed") : "FAILED")
        ]
        lines += failures.map { "  - \($0)" }
        lines += unverified.map { "  not verified: \($0)" }
        lines += exchanges.map { "  \($0)" }
        return lines.joined(separator: "\n")
    }
}

/// The checks every provider must pass, after fluent-kit's benchmarker: add, duplicate add,
/// invalid number, unknown list, auth failure, delete, delete of an absent contact, every
/// declared field, a partial batch failure, update and list.
///
/// Each check is its own function; ``report(_:on:)`` runs one and returns a
/// ``ConformanceReport`` with what it sent and received. Run each check from a test and
/// expect it to pass:
/// ```swift
/// @Test(arguments: ProviderConformance.Check.allCases)
/// func conformance(_ check: ProviderConformance.Check) async throws {
///     let report = try await ProviderConformance.report(check, on: target)
///     #expect(report.passed, "\(report)")
/// }
/// ```
public enum ProviderConformance {
    /// One behaviour every provider must have.
    public enum Check: String, Sendable, CaseIterable, CustomStringConvertible {
        /// A new number is `added` and present at the provider afterwards.
        case add
        /// Adding a number twice answers one of the documented duplicate statuses.
        case duplicateAdd
        /// A number the provider refuses is `rejected` with `invalid_phone`.
        case invalidNumber
        /// An unknown list fails the batch with `list_not_found`.
        case unknownList
        /// Bad credentials fail the batch with `auth_failed`.
        case authFailure
        /// A present number is `deleted` and gone afterwards.
        case delete
        /// Deleting an absent number answers one of the documented statuses and leaves the
        /// rest of the list alone.
        case deleteAbsent
        /// A contact with every standard and custom field the provider declares is
        /// `added`, and (with ``ConformanceTarget/storedValues``) every value arrived.
        case allFields
        /// A batch with one bad number: the others are added, the bad one rejected, in
        /// order; or, for providers that refuse a whole request for one bad record, a
        /// clear non-transient refusal that stored nothing.
        case partialBatch
        /// An added contact updated with a new first name is `updated` (one of
        /// ``ConformanceTarget/updateStatuses``) and the provider then holds the new name.
        case update
        /// An added contact is found by paging through `list`, with its first name.
        case list

        public var description: String { rawValue }
    }

    /// Runs `check` against `target` and returns what went wrong (empty when it passed):
    /// ``report(_:on:)``'s failures. Checks the provider cannot perform (delete where
    /// unsupported) pass when the provider says `unsupported_operation` clearly.
    public static func run(_ check: Check, on target: ConformanceTarget) async throws -> [String] {
        try await report(check, on: target).failures
    }

    /// Runs `check` against `target`.
    ///
    /// - Returns: The check's report: its failures (empty when it passed) and every call it
    ///   made with what was sent and received.
    /// - Throws: What the target's `contains` or `storedValues` throw, and errors a check
    ///   does not expect from the provider (a setup add that throws).
    public static func report(
        _ check: Check, on target: ConformanceTarget
    ) async throws -> ConformanceReport {
        precondition(
            target.numbers.count >= 12, "ConformanceTarget.numbers needs at least twelve numbers")
        let run = CheckRun(check: check, target: target)
        switch check {
        case .add: try await add(run)
        case .duplicateAdd: try await duplicateAdd(run)
        case .invalidNumber: try await invalidNumber(run)
        case .unknownList: try await unknownList(run)
        case .authFailure: try await authFailure(run)
        case .delete: try await delete(run)
        case .deleteAbsent: try await deleteAbsent(run)
        case .allFields: try await allFields(run)
        case .partialBatch: try await partialBatch(run)
        case .update: try await update(run)
        case .list: try await list(run)
        }
        return run.report
    }

    /// The contact `e164` as `provider` lists it in `list`, paging through every page (at
    /// most 10,000), or `nil` when it is not there. Numbers are compared by their digits.
    public static func listed(
        _ e164: String, in list: String, provider: any ContactProvider, context: ProviderContext
    ) async throws -> ContactDraft? {
        let wanted = digits(e164)
        var cursor: String?
        for _ in 0..<10_000 {
            let page = try await provider.list(list, cursor: cursor, context: context)
            if let draft = page.contacts.first(where: { samePhone(digits($0.phone), wanted) }) {
                return draft
            }
            guard let next = page.next, next != cursor else { return nil }
            cursor = next
        }
        return nil
    }

    // MARK: - The checks

    /// `add`: a new number is `added` and in the list afterwards.
    static func add(_ run: CheckRun) async throws {
        let number = run.numbers[0]
        let results = try await run.add([run.contact(number)])
        run.expect(results.count == 1, "expected 1 result, got \(results.count)")
        run.expect(
            results.first?.status == .added,
            "expected added, got \(String(describing: results.first))")
        try await run.expectListed(number, "\(number) not in the list afterwards")
    }

    /// `duplicateAdd`: adding a number twice answers a documented duplicate status.
    static func duplicateAdd(_ run: CheckRun) async throws {
        let number = run.numbers[1]
        let first = try await run.add([run.contact(number)])
        run.expect(
            first.map(\.status) == [.added], "setup: the first add should be added, got \(first)")
        let results = try await run.add([run.contact(number, "Again")])
        run.expectOneDocumentedStatus(
            results, allowed: run.target.duplicateAddStatuses, skippedCode: .alreadyInList,
            what: "duplicate")
        try await run.expectListed(
            number, "\(number) is no longer in the list after the duplicate add")
    }

    /// `invalidNumber`: a number the provider refuses is `rejected` / `invalid_phone` (or
    /// the whole request is refused, for providers documented to do so).
    static func invalidNumber(_ run: CheckRun) async throws {
        let invalid = run.target.invalidNumber
        let results: [ContactResult]
        do {
            results = try await run.add([run.contact(invalid)])
        } catch {
            run.expectWholeRequestRefusal(error)
            try await run.expectNotListed(invalid, "the invalid number was stored")
            return
        }
        run.expect(results.count == 1, "expected 1 result, got \(results.count)")
        run.expect(
            results.first?.status == .rejected,
            "expected rejected, got \(String(describing: results.first))")
        run.expect(
            results.first?.error?.code == .invalidPhone,
            "expected invalid_phone, got \(String(describing: results.first?.error))")
        try await run.expectNotListed(invalid, "the invalid number was stored")
    }

    /// `unknownList`: an unknown list fails the batch with `list_not_found`.
    static func unknownList(_ run: CheckRun) async throws {
        let error = await run.failure {
            try await run.add([run.contact(run.numbers[2])], to: run.target.unknownList)
        }
        run.expect(
            error?.code == .listNotFound,
            "expected list_not_found, got \(String(describing: error))")
    }

    /// `authFailure`: bad credentials fail the batch with `auth_failed`, and the error shows
    /// no credential.
    static func authFailure(_ run: CheckRun) async throws {
        let number = run.numbers[3]
        var context = run.target.context
        context.credentials = run.target.badCredentials
        let error = await run.failure {
            try await run.add([run.contact(number)], context: context)
        }
        run.expect(
            error?.code == .authFailed, "expected auth_failed, got \(String(describing: error))")
        if let error {
            for secret in run.target.badCredentials.secrets + run.target.context.credentials.secrets
            {
                run.expect(
                    !error.description.contains(secret.reveal()), "the error shows a credential")
            }
        }
        try await run.expectNotListed(number, "added despite bad credentials")
    }

    /// `delete`: a present number is `deleted` and gone afterwards.
    static func delete(_ run: CheckRun) async throws {
        let number = run.numbers[4]
        guard await run.supports(.delete, probe: number) else { return }
        _ = try await run.add([run.contact(number)])
        try await run.expectListed(number, "setup: \(number) was not added")
        let results = try await run.delete([run.contact(number)])
        run.expect(results.count == 1, "expected 1 result, got \(results.count)")
        run.expect(
            results.first?.status == .deleted,
            "expected deleted, got \(String(describing: results.first))")
        try await run.expectNotListed(number, "\(number) still in the list")
    }

    /// `deleteAbsent`: deleting an absent number answers a documented status and leaves the
    /// rest of the list alone.
    static func deleteAbsent(_ run: CheckRun) async throws {
        let absent = run.numbers[5]
        let bystander = run.numbers[6]
        guard await run.supports(.delete, probe: absent) else { return }
        let added = try await run.add([run.contact(bystander)])
        run.expect(
            added.map(\.status) == [.added], "setup: \(bystander) should be added, got \(added)")
        let results = try await run.delete([run.contact(absent)])
        run.expectOneDocumentedStatus(
            results, allowed: run.target.absentDeleteStatuses, skippedCode: .notInList,
            what: "delete")
        try await run.expectNotListed(absent, "deleting \(absent) added it")
        try await run.expectListed(
            bystander, "deleting an absent number removed \(bystander), which was in the list")
    }

    /// `allFields`: a contact with every declared field is `added`, and every value arrived.
    static func allFields(_ run: CheckRun) async throws {
        let number = run.numbers[7]
        let (full, sent) = run.fullContact(number)
        run.expect(
            run.provider.check(full, for: .add) == nil,
            "the provider refuses its own fields locally: "
                + "\(String(describing: run.provider.check(full, for: .add)))")
        let results = try await run.add([full])
        run.expect(
            results.map(\.status) == [.added],
            "expected added, got \(results.map { "\($0.status) \($0.error.map { "\($0)" } ?? "")" })"
        )
        guard let storedValues = run.target.storedValues else { return }
        guard let stored = try await storedValues(run.target.list, number.e164) else {
            run.expect(false, "\(number) not in the list")
            return
        }
        for (field, text) in sent where !stored.contains(text) {
            run.expect(false, "\(field) '\(text)' did not arrive; stored: \(stored.sorted())")
        }
    }

    /// `partialBatch`: one bad number among good ones.
    static func partialBatch(_ run: CheckRun) async throws {
        let target = run.target
        let invalid = target.invalidNumber
        let batchSize = run.provider.descriptor.batchSize(for: .add)
        let good = Array(run.numbers.dropFirst(10))
        let batch = Array(([good[0], invalid] + good.dropFirst()).prefix(max(2, batchSize)))
        let sentGood = batch.filter { $0 != invalid }
        guard batchSize >= 2 else {
            // One contact per request: a "batch" is a sequence of requests.
            var statuses: [ContactResult.Status] = []
            for number in batch {
                let results = try await run.add([run.contact(number)])
                run.expect(results.count == 1, "\(number): expected 1 result, got \(results)")
                statuses += results.map(\.status)
            }
            let expected = batch.map { $0 == invalid ? ContactResult.Status.rejected : .added }
            run.expect(statuses == expected, "expected \(expected), got \(statuses)")
            for number in sentGood {
                try await run.expectListed(number, "\(number) not in the list")
            }
            try await run.expectNotListed(invalid, "the invalid number was stored")
            return
        }
        let results: [ContactResult]
        do {
            results = try await run.add(batch.map { run.contact($0) })
        } catch {
            // Providers that refuse a whole batch for one bad record must say so clearly
            // and non-transiently (the engine then splits the batch), and must have
            // stored nothing: each good number sent again on its own is then `added`.
            run.expectWholeRequestRefusal(error)
            guard target.refusesWholeRequestForInvalidNumber else { return }
            for number in sentGood {
                let alone = try await run.add([run.contact(number)])
                run.expect(
                    alone.map(\.status) == [.added],
                    "\(number) sent alone after the refused batch: expected added, got \(alone)")
            }
            return
        }
        run.expect(
            results.count == batch.count, "expected \(batch.count) results, got \(results.count)")
        for (number, result) in zip(batch, results) {
            if number == invalid {
                run.expect(
                    result.status == .rejected && result.error?.code == .invalidPhone,
                    "\(number): expected rejected invalid_phone, got \(result)")
            } else {
                run.expect(result.status == .added, "\(number): expected added, got \(result)")
                try await run.expectListed(number, "\(number) not in the list")
            }
        }
        try await run.expectNotListed(invalid, "the invalid number was stored")
    }

    /// `update`: an added contact updated with a new first name is `updated`, and the
    /// provider then holds the new name (through ``ConformanceTarget/storedValues``).
    static func update(_ run: CheckRun) async throws {
        let number = run.numbers[8]
        guard await run.supports(.update, probe: number) else { return }
        let added = try await run.add([run.contact(number)])
        run.expect(
            added.map(\.status) == [.added], "setup: \(number) should be added, got \(added)")
        var changed = run.contact(number, "Grace")
        changed.providerID = added.first?.id
        let results = try await run.update([changed])
        run.expectOneDocumentedStatus(
            results, allowed: run.target.updateStatuses, skippedCode: .notInList, what: "update")
        try await run.expectListed(number, "\(number) is not in the list after the update")
        guard let storedValues = run.target.storedValues else { return }
        let stored = try await storedValues(run.target.list, number.e164) ?? []
        run.expect(
            stored.contains("Grace"),
            "the new first name 'Grace' did not arrive; stored: \(stored.sorted())")
        run.expect(
            !stored.contains("Ada"), "the old first name 'Ada' is still stored: \(stored.sorted())")
    }

    /// `list`: an added contact is found by paging through `list`, with its first name.
    static func list(_ run: CheckRun) async throws {
        let number = run.numbers[9]
        guard run.provider.descriptor.supports(.list) else {
            let error = await run.failure {
                _ = try await run.list(cursor: nil)
                return []
            }
            run.expectUnsupported(error, .list)
            return
        }
        let added = try await run.add([run.contact(number)])
        run.expect(
            added.map(\.status) == [.added], "setup: \(number) should be added, got \(added)")
        let wanted = digits(number.e164)
        var cursor: String?
        var found: ContactDraft?
        var pages = 0
        while pages < 1_000 {
            pages += 1
            let page = try await run.list(cursor: cursor)
            if let draft = page.contacts.first(where: { samePhone(digits($0.phone), wanted) }) {
                found = draft
                break
            }
            guard let next = page.next else { break }
            run.expect(next != cursor, "page \(pages) names itself as the next page (\(next))")
            guard next != cursor else { break }
            cursor = next
        }
        guard let found else {
            run.expect(false, "\(number) was added but not listed (\(pages) page(s) read)")
            return
        }
        run.expect(
            found.firstName == "Ada",
            "listed with first name \(String(describing: found.firstName)), not Ada")
    }

    // MARK: - Helpers

    /// The digits of `phone`.
    static func digits(_ phone: String) -> String {
        String(phone.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init))
    }

    /// Whether two digit strings are one number: the same, or one a national form (a
    /// leading `0` for the country code's digits) of the other.
    static func samePhone(_ listed: String, _ wanted: String) -> Bool {
        if listed == wanted { return true }
        guard listed.hasPrefix("0"), listed.count >= 8 else { return false }
        let national = listed.dropFirst()
        return (1...3).contains(wanted.count - national.count) && wanted.hasSuffix(national)
    }
}

/// The state of one running check: the target, its failures and its exchanges.
final class CheckRun {
    let check: ProviderConformance.Check
    let target: ConformanceTarget
    private(set) var failures: [String] = []
    private(set) var exchanges: [ConformanceExchange] = []
    private(set) var notApplicable: String?

    init(check: ProviderConformance.Check, target: ConformanceTarget) {
        self.check = check
        self.target = target
    }

    var provider: any ContactProvider { target.provider }
    var name: String { provider.descriptor.name }
    var numbers: [PhoneNumber] { target.numbers }

    private(set) var unverified: [String] = []

    var report: ConformanceReport {
        var report = ConformanceReport(
            check: check, provider: name, failures: failures, exchanges: exchanges,
            notApplicable: notApplicable)
        report.unverified = unverified
        return report
    }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { failures.append("\(name) \(check): \(message())") }
    }

    func contact(_ number: PhoneNumber, _ first: String = "Ada") -> Contact {
        Contact(phone: number, firstName: first, lastName: "Lovelace")
    }

    func contains(_ number: PhoneNumber) async throws -> Bool {
        try await target.contains(target.list, number.e164)
    }

    /// Expects `number` in the list, or notes that it could not be verified.
    func expectListed(_ number: PhoneNumber, _ message: @autoclosure () -> String) async throws {
        guard target.readsState else {
            unverified.append("\(number) in the list")
            return
        }
        expect(try await contains(number), message())
    }

    /// Expects `number` not in the list, or notes that it could not be verified.
    func expectNotListed(_ number: PhoneNumber, _ message: @autoclosure () -> String) async throws {
        guard target.readsState else {
            unverified.append("\(number) not in the list")
            return
        }
        expect(!(try await contains(number)), message())
    }

    // MARK: Calls, recorded

    private static func describe(_ contact: Contact) -> String {
        var parts = [contact.phone.e164]
        for name in Contact.standardFieldNames.dropFirst() {
            if let value = contact[field: name] { parts.append("\(name)=\(value)") }
        }
        for (key, value) in contact.fields.sorted(by: { $0.key < $1.key }) {
            parts.append("\(key)=\(value)")
        }
        if let id = contact.providerID { parts.append("id=\(id)") }
        return parts.joined(separator: " ")
    }

    private static func describe(_ result: ContactResult) -> String {
        var text = result.status.rawValue
        if let id = result.id { text += " id=\(id)" }
        if let error = result.error { text += " \(error.code): \(error.message)" }
        return text
    }

    private func record(
        _ operation: ContactOperation, list: String, sent: [String],
        _ body: () async throws -> [String]
    ) async throws {
        do {
            let received = try await body()
            exchanges.append(
                ConformanceExchange(
                    operation: operation, list: list, sent: sent, received: received))
        } catch {
            let text =
                (error as? ContactError).map { "threw \($0.code): \($0.message)" }
                ?? "threw \(type(of: error))"
            exchanges.append(
                ConformanceExchange(operation: operation, list: list, sent: sent, received: [text]))
            throw error
        }
    }

    private func batchCall(
        _ operation: ContactOperation, _ batch: [Contact], list: String,
        _ body: () async throws -> [ContactResult]
    ) async throws -> [ContactResult] {
        var results: [ContactResult] = []
        try await record(operation, list: list, sent: batch.map(Self.describe)) {
            results = try await body()
            return results.map(Self.describe)
        }
        return results
    }

    func add(
        _ batch: [Contact], to list: String? = nil, context: ProviderContext? = nil
    ) async throws -> [ContactResult] {
        let list = list ?? target.list
        return try await batchCall(.add, batch, list: list) {
            try await provider.add(batch, to: list, context: context ?? target.context)
        }
    }

    func delete(_ batch: [Contact]) async throws -> [ContactResult] {
        try await batchCall(.delete, batch, list: target.list) {
            try await provider.delete(batch, from: target.list, context: target.context)
        }
    }

    func update(_ batch: [Contact]) async throws -> [ContactResult] {
        try await batchCall(.update, batch, list: target.list) {
            try await provider.update(batch, in: target.list, context: target.context)
        }
    }

    func list(cursor: String?) async throws -> ContactPage {
        var page = ContactPage(contacts: [], next: nil)
        try await record(.list, list: target.list, sent: ["cursor=\(cursor ?? "nil")"]) {
            page = try await provider.list(target.list, cursor: cursor, context: target.context)
            return page.contacts.prefix(50).map {
                [
                    $0.phone, $0.firstName.map { "first_name=\($0)" },
                    $0.providerID.map { "id=\($0)" },
                ]
                .compactMap { $0 }.joined(separator: " ")
            } + (page.contacts.count > 50 ? ["... \(page.contacts.count) contacts"] : [])
                + ["next=\(page.next ?? "nil")"]
        }
        return page
    }

    // MARK: Expectations

    /// The error a call threw, or the first `failed` result's error (a provider may report
    /// a batch-wide failure per contact).
    func failure(_ body: () async throws -> [ContactResult]) async -> ContactError? {
        do {
            return try await body().first(where: { $0.status == .failed })?.error
        } catch let error as ContactError {
            return error
        } catch {
            return ContactError(.providerError, "non-ContactError thrown: \(type(of: error))")
        }
    }

    /// Whether the provider performs `operation`; when it does not, checks that it says so
    /// clearly (`unsupported_operation` naming the provider) and marks the check not
    /// applicable. A provider that lists the operation but refuses it for this list and
    /// these options (``ContactProvider/checkList(_:options:for:)`` answering
    /// `unsupported_operation`) counts as not supporting it.
    func supports(_ operation: ContactOperation, probe number: PhoneNumber) async -> Bool {
        let refusal = provider.checkList(
            target.list, options: target.context.options, for: operation)
        if provider.descriptor.supports(operation), refusal?.code != .unsupportedOperation {
            return true
        }
        if let refusal {
            expectUnsupported(refusal, operation)
        }
        let batch = [contact(number)]
        let error = await failure {
            if operation == .delete { return try await delete(batch) }
            return try await update(batch)
        }
        expectUnsupported(error, operation)
        return false
    }

    func expectUnsupported(_ error: ContactError?, _ operation: ContactOperation) {
        expect(
            error?.code == .unsupportedOperation,
            "an unsupported \(operation) must say unsupported_operation, got "
                + String(describing: error))
        expect(error?.message.contains(name) == true, "the message names the provider")
        notApplicable = "\(operation) is not supported by \(name)"
    }

    /// One result, with a status the provider documents for this case; a `skipped` one
    /// must give `skippedCode` as its reason.
    func expectOneDocumentedStatus(
        _ results: [ContactResult], allowed: Set<ContactResult.Status>,
        skippedCode: ContactError.Code, what: String
    ) {
        expect(results.count == 1, "expected 1 result, got \(results.count)")
        guard let result = results.first else { return }
        expect(allowed.contains(result.status), "expected one of \(allowed), got \(result)")
        if result.status == .skipped {
            expect(
                result.error?.code == skippedCode,
                "a skipped \(what) says \(skippedCode), got \(String(describing: result.error))")
        }
    }

    /// Checks a whole-request refusal for one bad number (see
    /// ``ConformanceTarget/refusesWholeRequestForInvalidNumber``).
    func expectWholeRequestRefusal(_ error: any Error) {
        guard target.refusesWholeRequestForInvalidNumber else {
            expect(
                false,
                "expected a rejected invalid_phone result for \(target.invalidNumber), but the "
                    + "whole batch failed: \(error)")
            return
        }
        guard let error = error as? ContactError else {
            expect(false, "non-ContactError thrown: \(type(of: error))")
            return
        }
        expect(!error.isTransient, "a refusal for one bad number must not be transient: \(error)")
        expect(
            ![.authFailed, .listNotFound, .rateLimited].contains(error.code),
            "a refusal for one bad number must not blame the account or the list: \(error)")
        let invalid = target.invalidNumber
        expect(
            error.message.contains(invalid.e164)
                || error.message.contains(invalid.internationalDigits),
            "the refusal must name the number \(invalid): \(error)")
    }

    /// A contact with every field the provider declares, and the (field, value) pairs sent.
    func fullContact(_ number: PhoneNumber) -> (Contact, [(String, String)]) {
        let descriptor = provider.descriptor
        let samples: [String: String] = [
            "first_name": "Zoë & Ana+Bé=100% ok", "last_name": "O'Connor \"Ünï\" 😀;/?#",
            "email": "ada+list@example.org", "birthday": "1990-12-10", "civility": "Mme",
        ]
        let standard = Set(descriptor.standardFields)
        func standardValue(_ field: String) -> String? {
            standard.contains(field) ? (target.fieldValues[field] ?? samples[field]) : nil
        }
        var fields: [String: String] = [:]
        for field in descriptor.customFields {
            fields[field] = target.fieldValues[field] ?? "sample \(field) & +=%"
        }
        let full = Contact(
            phone: number, firstName: standardValue("first_name"),
            lastName: standardValue("last_name"), email: standardValue("email"),
            birthday: standardValue("birthday").flatMap(CalendarDate.init),
            civility: standardValue("civility"), fields: fields)
        let sent =
            descriptor.standardFields.compactMap { field in
                standardValue(field).map { (field, $0) }
            } + fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return (full, sent)
    }
}
