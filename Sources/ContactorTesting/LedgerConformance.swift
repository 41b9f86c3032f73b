import Contactor
import Foundation

/// The behaviour every ``Ledger`` must have, as checks a test target runs against its own
/// implementation (in-memory, SQLite, PostgreSQL): one function per check, each throwing a
/// ``LedgerConformance/Failure`` that says what went wrong.
///
/// ```swift
/// @Test(arguments: LedgerConformance.Check.allCases)
/// func myLedgerConforms(_ check: LedgerConformance.Check) async throws {
///     try await LedgerConformance.run(check) { MyLedger(...) }
/// }
/// ```
public enum LedgerConformance {
    /// One check.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        case recordsAndReadsBack
        case replacesAnEntryOfTheSamePhone
        case keepsScopesApart
        case removes
        case pagesInPhoneOrderByOrigin
        case refusesASecondHolder

        public var description: String { rawValue }
    }

    /// A check that did not hold.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
    }

    /// Runs `check` against a fresh ledger from `make`.
    public static func run(
        _ check: Check, _ make: @Sendable () async throws -> any Ledger
    ) async throws {
        let ledger = try await make()
        switch check {
        case .recordsAndReadsBack: try await recordsAndReadsBack(ledger)
        case .replacesAnEntryOfTheSamePhone: try await replacesAnEntryOfTheSamePhone(ledger)
        case .keepsScopesApart: try await keepsScopesApart(ledger)
        case .removes: try await removes(ledger)
        case .pagesInPhoneOrderByOrigin: try await pagesInPhoneOrderByOrigin(ledger)
        case .refusesASecondHolder: try await refusesASecondHolder(ledger)
        }
    }

    static let scope = LedgerScope(provider: "memory", account: "me@example.com", list: "l")

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Failure(description: message()) }
    }

    static func entry(
        _ phone: String, _ fingerprint: String = "f1", id: String? = nil,
        origin: LedgerEntry.Origin = .added, pending: Bool = false
    ) -> LedgerEntry {
        LedgerEntry(
            phone: phone, fingerprint: fingerprint, providerID: id, origin: origin,
            isPending: pending, updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    /// What is recorded is read back whole: fingerprint, id, origin, pending, time.
    public static func recordsAndReadsBack(_ ledger: any Ledger) async throws {
        let written = [
            entry("+33612345678", "a", id: "9"),
            entry("+33612345679", "", origin: .added, pending: true),
            entry("+33612345680", "c", origin: .found),
        ]
        try await ledger.record(written, in: scope)
        let read = try await ledger.entries(
            for: ["+33612345678", "+33612345679", "+33612345680", "+33600000000"], in: scope)
        try expect(read.count == 3, "expected 3 entries back, got \(read.count)")
        for original in written {
            try expect(
                read[original.phone] == original,
                "\(original.phone) read back as \(String(describing: read[original.phone]))")
        }
    }

    /// A second record of a phone replaces the first.
    public static func replacesAnEntryOfTheSamePhone(_ ledger: any Ledger) async throws {
        try await ledger.record([entry("+33612345678", "a", pending: true)], in: scope)
        try await ledger.record([entry("+33612345678", "b", id: "7")], in: scope)
        let read = try await ledger.entries(for: ["+33612345678"], in: scope)
        try expect(
            read["+33612345678"] == entry("+33612345678", "b", id: "7"),
            "the second record did not replace the first: \(read)")
    }

    /// Scopes that differ by provider, account or list share nothing.
    public static func keepsScopesApart(_ ledger: any Ledger) async throws {
        let others = [
            LedgerScope(provider: "other", account: scope.account, list: scope.list),
            LedgerScope(provider: scope.provider, account: "you@example.com", list: scope.list),
            LedgerScope(provider: scope.provider, account: scope.account, list: "m"),
        ]
        try await ledger.record([entry("+33612345678")], in: scope)
        for other in others {
            let read = try await ledger.entries(for: ["+33612345678"], in: other)
            try expect(read.isEmpty, "\(other) sees an entry of \(scope)")
            let page = try await ledger.entries(in: other, origin: nil, after: nil, limit: 10)
            try expect(page.isEmpty, "\(other) pages an entry of \(scope)")
        }
    }

    /// Removed phones are gone; others stay.
    public static func removes(_ ledger: any Ledger) async throws {
        try await ledger.record([entry("+33612345678"), entry("+33612345679")], in: scope)
        try await ledger.remove(["+33612345678", "+33699999999"], in: scope)
        let read = try await ledger.entries(for: ["+33612345678", "+33612345679"], in: scope)
        try expect(Array(read.keys) == ["+33612345679"], "after remove: \(read.keys.sorted())")
    }

    /// Pages come in phone order, after the cursor, of one origin when asked.
    public static func pagesInPhoneOrderByOrigin(_ ledger: any Ledger) async throws {
        let phones = (0..<25).map { "+336123456" + String(format: "%02d", $0) }
        try await ledger.record(
            phones.enumerated().map { index, phone in
                entry(phone, origin: index % 5 == 0 ? .found : .added)
            }.shuffled(), in: scope)
        var seen: [String] = []
        var cursor: String?
        while true {
            let page = try await ledger.entries(in: scope, origin: .added, after: cursor, limit: 7)
            guard let last = page.last else { break }
            try expect(page.count <= 7, "a page of \(page.count) for a limit of 7")
            seen += page.map(\.phone)
            cursor = last.phone
        }
        let added = phones.enumerated().filter { $0.offset % 5 != 0 }.map(\.element)
        try expect(seen == added, "paged added entries \(seen), expected \(added)")
        let all = try await ledger.entries(in: scope, origin: nil, after: nil, limit: 100)
        try expect(all.map(\.phone) == phones, "all entries not in phone order")
    }

    /// A second holder is refused with `busy` until the first releases.
    public static func refusesASecondHolder(_ ledger: any Ledger) async throws {
        let lease = try await ledger.acquire(for: scope, holder: "first run")
        do {
            _ = try await ledger.acquire(for: scope, holder: "second run")
            await lease.release()
            throw Failure(description: "a second holder was let in")
        } catch let error as ContactorError {
            try expect(error.code == .busy, "a second holder got \(error.code), not busy")
            try expect(error.message.contains("first run"), "the refusal does not name the holder")
        }
        await lease.release()
        let again = try await ledger.acquire(for: scope, holder: "third run")
        await again.release()
    }
}
