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
    /// Distinct valid numbers the suite may add and delete (at least nine).
    ///
    /// Each check uses its own numbers, so checks may share one emulator: `numbers[0]`
    /// add, `[1]` duplicate add, `[2]` unknown list, `[3]` auth failure, `[4]` delete,
    /// `[5]` and `[6]` delete of an absent number (absent, and a bystander that must
    /// survive), `[7]` every field, `[8...]` the partial batch.
    public var numbers: [PhoneNumber]
    /// A number the provider must refuse (libphonenumber-invalid, built unchecked).
    public var invalidNumber: PhoneNumber
    /// Whether the emulator's `list` holds `e164`.
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

    /// Creates a target.
    public init(
        provider: any ContactProvider, context: ProviderContext, badCredentials: Credentials,
        list: String, unknownList: String, numbers: [PhoneNumber], invalidNumber: PhoneNumber,
        contains: @escaping @Sendable (_ list: String, _ e164: String) async throws -> Bool,
        duplicateAddStatuses: Set<ContactResult.Status> = [.skipped],
        absentDeleteStatuses: Set<ContactResult.Status> = [.skipped],
        refusesWholeRequestForInvalidNumber: Bool = false, fieldValues: [String: String] = [:],
        storedValues: (@Sendable (_ list: String, _ e164: String) async throws -> [String]?)? =
            nil
    ) {
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

/// The checks every provider must pass, after fluent-kit's benchmarker: add, duplicate add,
/// invalid number, unknown list, auth failure, delete, delete of an absent contact, every
/// declared field, and a partial batch failure.
///
/// Run each check from a test and expect no failures:
/// ```swift
/// @Test(arguments: ProviderConformance.Check.allCases)
/// func conformance(_ check: ProviderConformance.Check) async throws {
///     let failures = try await ProviderConformance.run(check, on: target)
///     #expect(failures.isEmpty, "\(failures)")
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

        public var description: String { rawValue }
    }

    /// Runs `check` against `target` and returns what went wrong (empty when it passed).
    /// Checks the provider cannot perform (delete where unsupported) pass when the provider
    /// says `unsupported_operation` clearly.
    public static func run(_ check: Check, on target: ConformanceTarget) async throws -> [String] {
        var failures: [String] = []
        func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition {
                failures.append("\(target.provider.descriptor.name) \(check): \(message())")
            }
        }
        let provider = target.provider
        let name = provider.descriptor.name
        let numbers = target.numbers
        precondition(
            numbers.count >= 9, "ConformanceTarget.numbers needs at least nine numbers")
        func contact(_ number: PhoneNumber, _ first: String = "Ada") -> Contact {
            Contact(phone: number, firstName: first, lastName: "Lovelace")
        }
        func thrownError(_ body: () async throws -> [ContactResult]) async -> ContactError? {
            do {
                let results = try await body()
                // A provider may also report a batch-wide failure per contact.
                return results.first(where: { $0.status == .failed })?.error
            } catch let error as ContactError {
                return error
            } catch {
                return ContactError(.providerError, "non-ContactError thrown: \(type(of: error))")
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
            expect(
                !error.isTransient, "a refusal for one bad number must not be transient: \(error)")
            expect(
                ![.authFailed, .listNotFound, .rateLimited].contains(error.code),
                "a refusal for one bad number must not blame the account or the list: \(error)")
            let invalid = target.invalidNumber
            expect(
                error.message.contains(invalid.e164)
                    || error.message.contains(invalid.internationalDigits),
                "the refusal must name the number \(invalid): \(error)")
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
                    "a skipped \(what) says \(skippedCode), got \(String(describing: result.error))"
                )
            }
        }
        func expectUnsupportedDelete(_ number: PhoneNumber) async {
            let error = await thrownError {
                try await provider.delete(
                    [contact(number)], from: target.list, context: target.context)
            }
            expect(
                error?.code == .unsupportedOperation,
                "an unsupported delete must say unsupported_operation, got \(String(describing: error))"
            )
            expect(error?.message.contains(name) == true, "the message names the provider")
        }

        switch check {
        case .add:
            let results = try await provider.add(
                [contact(numbers[0])], to: target.list, context: target.context)
            expect(results.count == 1, "expected 1 result, got \(results.count)")
            expect(
                results.first?.status == .added,
                "expected added, got \(String(describing: results.first))")
            expect(
                try await target.contains(target.list, numbers[0].e164),
                "\(numbers[0]) not in the list afterwards")

        case .duplicateAdd:
            let first = try await provider.add(
                [contact(numbers[1])], to: target.list, context: target.context)
            expect(
                first.map(\.status) == [.added],
                "setup: the first add should be added, got \(first)")
            let results = try await provider.add(
                [contact(numbers[1], "Again")], to: target.list, context: target.context)
            expectOneDocumentedStatus(
                results, allowed: target.duplicateAddStatuses, skippedCode: .alreadyInList,
                what: "duplicate")
            expect(
                try await target.contains(target.list, numbers[1].e164),
                "\(numbers[1]) is no longer in the list after the duplicate add")

        case .invalidNumber:
            let results: [ContactResult]
            do {
                results = try await provider.add(
                    [contact(target.invalidNumber)], to: target.list, context: target.context)
            } catch {
                expectWholeRequestRefusal(error)
                expect(
                    !(try await target.contains(target.list, target.invalidNumber.e164)),
                    "the invalid number was stored")
                break
            }
            expect(results.count == 1, "expected 1 result, got \(results.count)")
            expect(
                results.first?.status == .rejected,
                "expected rejected, got \(String(describing: results.first))")
            expect(
                results.first?.error?.code == .invalidPhone,
                "expected invalid_phone, got \(String(describing: results.first?.error))")
            expect(
                !(try await target.contains(target.list, target.invalidNumber.e164)),
                "the invalid number was stored")

        case .unknownList:
            let error = await thrownError {
                try await provider.add(
                    [contact(numbers[2])], to: target.unknownList, context: target.context)
            }
            expect(
                error?.code == .listNotFound,
                "expected list_not_found, got \(String(describing: error))")

        case .authFailure:
            var context = target.context
            context.credentials = target.badCredentials
            let error = await thrownError {
                try await provider.add([contact(numbers[3])], to: target.list, context: context)
            }
            expect(
                error?.code == .authFailed, "expected auth_failed, got \(String(describing: error))"
            )
            if let error {
                for secret in target.badCredentials.secrets + target.context.credentials.secrets {
                    expect(
                        !error.description.contains(secret.reveal()), "the error shows a credential"
                    )
                }
            }
            expect(
                !(try await target.contains(target.list, numbers[3].e164)),
                "added despite bad credentials")

        case .delete:
            guard provider.descriptor.supports(.delete) else {
                await expectUnsupportedDelete(numbers[4])
                break
            }
            _ = try await provider.add(
                [contact(numbers[4])], to: target.list, context: target.context)
            expect(
                try await target.contains(target.list, numbers[4].e164),
                "setup: \(numbers[4]) was not added")
            let results = try await provider.delete(
                [contact(numbers[4])], from: target.list, context: target.context)
            expect(results.count == 1, "expected 1 result, got \(results.count)")
            expect(
                results.first?.status == .deleted,
                "expected deleted, got \(String(describing: results.first))")
            expect(
                !(try await target.contains(target.list, numbers[4].e164)),
                "\(numbers[4]) still in the list")

        case .deleteAbsent:
            guard provider.descriptor.supports(.delete) else {
                await expectUnsupportedDelete(numbers[5])
                break
            }
            let bystander = try await provider.add(
                [contact(numbers[6])], to: target.list, context: target.context)
            expect(
                bystander.map(\.status) == [.added],
                "setup: \(numbers[6]) should be added, got \(bystander)")
            let results = try await provider.delete(
                [contact(numbers[5])], from: target.list, context: target.context)
            expectOneDocumentedStatus(
                results, allowed: target.absentDeleteStatuses, skippedCode: .notInList,
                what: "delete")
            expect(
                !(try await target.contains(target.list, numbers[5].e164)),
                "deleting \(numbers[5]) added it")
            expect(
                try await target.contains(target.list, numbers[6].e164),
                "deleting an absent number removed \(numbers[6]), which was in the list")

        case .allFields:
            let descriptor = provider.descriptor
            let samples: [String: String] = [
                "first_name": "Zoë & Ana+Bé=100% ok", "last_name": "O'Connor \"Ünï\" 😀;/?#",
                "email": "ada+list@example.org", "birthday": "1990-12-10", "civility": "Mme",
            ]
            func value(_ field: String) -> String? {
                target.fieldValues[field] ?? samples[field]
            }
            let standard = Set(descriptor.standardFields)
            func standardValue(_ field: String) -> String? {
                standard.contains(field) ? value(field) : nil
            }
            var fields: [String: String] = [:]
            for field in descriptor.customFields {
                fields[field] = target.fieldValues[field] ?? "sample \(field) & +=%"
            }
            let number = numbers[7]
            let full = Contact(
                phone: number, firstName: standardValue("first_name"),
                lastName: standardValue("last_name"), email: standardValue("email"),
                birthday: standardValue("birthday").flatMap(CalendarDate.init),
                civility: standardValue("civility"), fields: fields)
            expect(
                provider.check(full, for: .add) == nil,
                "the provider refuses its own fields locally: "
                    + "\(String(describing: provider.check(full, for: .add)))")
            let results = try await provider.add([full], to: target.list, context: target.context)
            expect(
                results.map(\.status) == [.added],
                "expected added, got \(results.map { "\($0.status) \($0.error.map { "\($0)" } ?? "")" })"
            )
            guard let storedValues = target.storedValues else { break }
            guard let stored = try await storedValues(target.list, number.e164) else {
                expect(false, "\(number) not in the list")
                break
            }
            let sent =
                descriptor.standardFields.compactMap { field in
                    standardValue(field).map { (field, $0) }
                } + fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            for (field, text) in sent where !stored.contains(text) {
                expect(false, "\(field) '\(text)' did not arrive; stored: \(stored.sorted())")
            }

        case .partialBatch:
            let batchSize = provider.descriptor.batchSize(for: .add)
            let good = Array(numbers.dropFirst(8))
            let batch = Array(
                ([good[0], target.invalidNumber] + good.dropFirst()).prefix(max(2, batchSize)))
            let sentGood = batch.filter { $0 != target.invalidNumber }
            guard batchSize >= 2 else {
                // One contact per request: a "batch" is a sequence of requests.
                var statuses: [ContactResult.Status] = []
                for number in batch {
                    let results = try await provider.add(
                        [contact(number)], to: target.list, context: target.context)
                    expect(results.count == 1, "\(number): expected 1 result, got \(results)")
                    statuses += results.map(\.status)
                }
                let expected = batch.map {
                    $0 == target.invalidNumber ? ContactResult.Status.rejected : .added
                }
                expect(statuses == expected, "expected \(expected), got \(statuses)")
                for number in sentGood {
                    expect(
                        try await target.contains(target.list, number.e164),
                        "\(number) not in the list")
                }
                expect(
                    !(try await target.contains(target.list, target.invalidNumber.e164)),
                    "the invalid number was stored")
                break
            }
            let results: [ContactResult]
            do {
                results = try await provider.add(
                    batch.map { contact($0) }, to: target.list, context: target.context)
            } catch {
                // Providers that refuse a whole batch for one bad record must say so clearly
                // and non-transiently (the engine then splits the batch), and must have
                // stored nothing: each good number sent again on its own is then `added`.
                expectWholeRequestRefusal(error)
                guard target.refusesWholeRequestForInvalidNumber else { break }
                for number in sentGood {
                    let alone = try await provider.add(
                        [contact(number)], to: target.list, context: target.context)
                    expect(
                        alone.map(\.status) == [.added],
                        "\(number) sent alone after the refused batch: expected added, got \(alone)"
                    )
                }
                break
            }
            expect(
                results.count == batch.count,
                "expected \(batch.count) results, got \(results.count)")
            for (number, result) in zip(batch, results) {
                if number == target.invalidNumber {
                    expect(
                        result.status == .rejected && result.error?.code == .invalidPhone,
                        "\(number): expected rejected invalid_phone, got \(result)")
                } else {
                    expect(result.status == .added, "\(number): expected added, got \(result)")
                    expect(
                        try await target.contains(target.list, number.e164),
                        "\(number) not in the list")
                }
            }
            expect(
                !(try await target.contains(target.list, target.invalidNumber.e164)),
                "the invalid number was stored")
        }
        return failures
    }
}
