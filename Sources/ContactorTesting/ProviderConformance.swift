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
    /// Distinct valid numbers the suite may add and delete (at least six).
    public var numbers: [PhoneNumber]
    /// A number the provider must refuse (libphonenumber-invalid, built unchecked).
    public var invalidNumber: PhoneNumber
    /// Whether the emulator's `list` holds `e164`.
    public var contains: @Sendable (_ list: String, _ e164: String) async throws -> Bool
    /// The statuses this provider documents for adding a number already in the list.
    public var duplicateAddStatuses: Set<ContactResult.Status>
    /// The statuses this provider documents for deleting a number not in the list.
    public var absentDeleteStatuses: Set<ContactResult.Status>

    /// Creates a target.
    public init(
        provider: any ContactProvider, context: ProviderContext, badCredentials: Credentials,
        list: String, unknownList: String, numbers: [PhoneNumber], invalidNumber: PhoneNumber,
        contains: @escaping @Sendable (_ list: String, _ e164: String) async throws -> Bool,
        duplicateAddStatuses: Set<ContactResult.Status> = [.skipped],
        absentDeleteStatuses: Set<ContactResult.Status> = [.skipped]
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
    }
}

/// The checks every provider must pass, after fluent-kit's benchmarker: add, duplicate add,
/// invalid number, unknown list, auth failure, delete, delete of an absent contact and a
/// partial batch failure.
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
        /// Deleting an absent number answers one of the documented statuses.
        case deleteAbsent
        /// A batch with one bad number: the others are added, the bad one rejected, in
        /// order.
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
        precondition(numbers.count >= 6, "ConformanceTarget.numbers needs at least six numbers")
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
            _ = try await provider.add(
                [contact(numbers[1])], to: target.list, context: target.context)
            let results = try await provider.add(
                [contact(numbers[1], "Again")], to: target.list, context: target.context)
            expect(results.count == 1, "expected 1 result, got \(results.count)")
            if let result = results.first {
                expect(
                    target.duplicateAddStatuses.contains(result.status),
                    "expected one of \(target.duplicateAddStatuses), got \(result)")
                if result.status == .skipped {
                    expect(
                        result.error?.code == .alreadyInList,
                        "a skipped duplicate says already_in_list, got \(String(describing: result.error))"
                    )
                }
            }

        case .invalidNumber:
            let results = try await provider.add(
                [contact(target.invalidNumber)], to: target.list, context: target.context)
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
                    expect(!error.description.contains(secret), "the error shows a credential")
                }
            }
            expect(
                !(try await target.contains(target.list, numbers[3].e164)),
                "added despite bad credentials")

        case .delete:
            guard provider.descriptor.supports(.delete) else {
                let error = await thrownError {
                    try await provider.delete(
                        [contact(numbers[4])], from: target.list, context: target.context)
                }
                expect(
                    error?.code == .unsupportedOperation,
                    "an unsupported delete must say unsupported_operation, got \(String(describing: error))"
                )
                expect(error?.message.contains(name) == true, "the message names the provider")
                break
            }
            _ = try await provider.add(
                [contact(numbers[4])], to: target.list, context: target.context)
            expect(
                try await target.contains(target.list, numbers[4].e164),
                "setup: \(numbers[4]) was not added")
            let results = try await provider.delete(
                [contact(numbers[4])], from: target.list, context: target.context)
            expect(
                results.first?.status == .deleted,
                "expected deleted, got \(String(describing: results.first))")
            expect(
                !(try await target.contains(target.list, numbers[4].e164)),
                "\(numbers[4]) still in the list")

        case .deleteAbsent:
            guard provider.descriptor.supports(.delete) else { break }
            let results = try await provider.delete(
                [contact(numbers[5])], from: target.list, context: target.context)
            expect(results.count == 1, "expected 1 result, got \(results.count)")
            if let result = results.first {
                expect(
                    target.absentDeleteStatuses.contains(result.status),
                    "expected one of \(target.absentDeleteStatuses), got \(result)")
                if result.status == .skipped {
                    expect(
                        result.error?.code == .notInList,
                        "a skipped delete says not_in_list, got \(String(describing: result.error))"
                    )
                }
            }

        case .partialBatch:
            let batchSize = provider.descriptor.batchSize(for: .add)
            let fresh = Array(numbers.dropFirst(6))
            let good = fresh.isEmpty ? [numbers[2]] : fresh
            let batch = Array(
                ([good[0], target.invalidNumber] + good.dropFirst()).prefix(max(2, batchSize)))
            guard batchSize >= 2 else {
                // One contact per request: a "batch" is a sequence of requests.
                var statuses: [ContactResult.Status] = []
                for number in batch {
                    statuses += try await provider.add(
                        [contact(number)], to: target.list, context: target.context
                    ).map(\.status)
                }
                expect(
                    statuses.first == .added && statuses.dropFirst().first == .rejected,
                    "expected added then rejected, got \(statuses)")
                break
            }
            let results: [ContactResult]
            do {
                results = try await provider.add(
                    batch.map { contact($0) }, to: target.list, context: target.context)
            } catch let error as ContactError {
                // Providers that refuse a whole batch for one bad record must say so clearly
                // and non-transiently: the engine splits such batches.
                expect(!error.isTransient, "a whole-batch refusal must not be transient: \(error)")
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
        }
        return failures
    }
}
