import Contactor
import Foundation

/// A ``Ledger`` in memory, for tests and for embedders' own tests.
///
/// Its lease refuses a second holder of the same scope with `busy` until the first
/// releases it.
public actor InMemoryLedger: Ledger {
    private var scopes: [LedgerScope: [String: LedgerEntry]] = [:]
    private var holders: [LedgerScope: String] = [:]

    /// Creates an empty ledger.
    public init() {}

    public func entries(
        for phones: [String], in scope: LedgerScope
    ) -> [String: LedgerEntry] {
        guard let held = scopes[scope] else { return [:] }
        var found: [String: LedgerEntry] = [:]
        for phone in phones { if let entry = held[phone] { found[phone] = entry } }
        return found
    }

    public func record(_ entries: [LedgerEntry], in scope: LedgerScope) {
        for entry in entries { scopes[scope, default: [:]][entry.phone] = entry }
    }

    public func remove(_ phones: [String], in scope: LedgerScope) {
        for phone in phones { scopes[scope]?[phone] = nil }
    }

    public func entries(
        in scope: LedgerScope, origin: LedgerEntry.Origin?, after phone: String?, limit: Int
    ) -> [LedgerEntry] {
        let held = (scopes[scope] ?? [:]).values.sorted { $0.phone < $1.phone }
        return Array(
            held.lazy.filter { entry in
                (origin == nil || entry.origin == origin)
                    && (phone.map { entry.phone > $0 } ?? true)
            }.prefix(max(0, limit)))
    }

    public func acquire(for scope: LedgerScope, holder: String) throws -> any StoreLease {
        if let current = holders[scope] {
            throw ContactorError(
                .busy, "the ledger of \(scope) is in use by \(current)",
                provider: scope.provider)
        }
        holders[scope] = holder
        return Lease(ledger: self, scope: scope)
    }

    /// Every entry of `scope`, in phone order.
    public func all(in scope: LedgerScope) -> [LedgerEntry] {
        (scopes[scope] ?? [:]).values.sorted { $0.phone < $1.phone }
    }

    fileprivate func release(_ scope: LedgerScope) { holders[scope] = nil }

    private struct Lease: StoreLease {
        let ledger: InMemoryLedger
        let scope: LedgerScope
        func release() async { await ledger.release(scope) }
    }
}
