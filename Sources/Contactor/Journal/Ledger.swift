import Foundation

/// One provider list of one account: where a ledger's entries belong.
public struct LedgerScope: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The provider's name (`octopush`).
    public var provider: String
    /// The account, a stable non-secret identity (``Credentials/account``).
    public var account: String
    /// The list at the provider.
    public var list: String

    /// Creates a scope.
    public init(provider: String, account: String, list: String) {
        self.provider = provider
        self.account = account
        self.list = list
    }

    /// `provider/account/list`.
    public var description: String { "\(provider)/\(account)/\(list)" }
}

/// What a ledger knows of one contact in one list: that Contactor put it there (or found it
/// there), with which fields, and under which id.
public struct LedgerEntry: Sendable, Hashable {
    /// How the contact came to be in the ledger.
    public enum Origin: String, Sendable, Hashable, Codable {
        /// Contactor added it: a sync may delete it when the file no longer holds it.
        case added
        /// It was already in the list when Contactor first sent it (or a list export showed
        /// it): a sync never deletes it.
        case found
    }

    /// The phone, E.164.
    public var phone: String
    /// The fingerprint of the fields last sent (``Contact/fingerprint(sentBy:)``); empty
    /// while ``isPending``.
    public var fingerprint: String
    /// The provider's id of the contact, when it gave one.
    public var providerID: String?
    /// How the contact came to be in the ledger.
    public var origin: Origin
    /// Whether an add was sent and its outcome is not known yet (a run killed before the
    /// answer): the next sync sends it again, and a provider's "already there" then still
    /// counts as added by Contactor.
    public var isPending: Bool
    /// When the entry was last written.
    public var updatedAt: Date

    /// Creates an entry.
    public init(
        phone: String, fingerprint: String, providerID: String? = nil, origin: Origin,
        isPending: Bool = false, updatedAt: Date = Date()
    ) {
        self.phone = phone
        self.fingerprint = fingerprint
        self.providerID = providerID
        self.origin = origin
        self.isPending = isPending
        self.updatedAt = updatedAt
    }
}

/// Held while a run uses a ledger or a journal: a second run on the same one is refused
/// until it is released (or its process ends).
public protocol StoreLease: Sendable {
    /// Releases the lease.
    func release() async
}

/// What Contactor has put in each provider list: the memory a `sync` compares the input
/// with, so that it sends only the difference and deletes only what it added.
///
/// ## Implementation requirements
/// - Keep entries per ``LedgerScope``; phones are E.164 and unique per scope.
/// - ``record(_:in:)`` and ``remove(_:in:)`` return only once the change is durable (a
///   crash or `kill -9` right after loses none of it).
/// - Store no credential: a scope's account is an identity, never a secret.
/// - Be safe to call from many tasks at once.
public protocol Ledger: Sendable {
    /// The entries of `phones` in `scope`, by phone; phones it does not hold are absent.
    func entries(for phones: [String], in scope: LedgerScope) async throws -> [String: LedgerEntry]

    /// Writes `entries` to `scope`, each replacing any entry of the same phone.
    func record(_ entries: [LedgerEntry], in scope: LedgerScope) async throws

    /// Removes the entries of `phones` from `scope`.
    func remove(_ phones: [String], in scope: LedgerScope) async throws

    /// The entries of `scope` in phone order, those of `origin` only when it is given,
    /// starting after `phone` (from the first when `nil`), at most `limit`.
    func entries(
        in scope: LedgerScope, origin: LedgerEntry.Origin?, after phone: String?, limit: Int
    ) async throws -> [LedgerEntry]

    /// Takes the ledger for one run, naming `holder` to whoever asks for it meanwhile.
    /// - Throws: ``ContactorError`` `busy`, naming the current holder.
    func acquire(for scope: LedgerScope, holder: String) async throws -> any StoreLease
}

extension Contact {
    /// A fingerprint of the fields `descriptor`'s provider sends for this contact: the
    /// standard fields it lists and every custom field, names and values (a hex SHA-256
    /// prefix). Two contacts with the same fingerprint send the same request fields, so a
    /// sync sends nothing when it has not changed.
    public func fingerprint(sentBy descriptor: ProviderDescriptor) -> String {
        // The digest of `name=value\0` for each standard field the provider takes, then
        // `field.name=value\0` for each custom field by name, fed without joining them.
        var hasher = Fingerprint.Hasher()
        for name in Contact.standardFieldNames.dropFirst()
        where descriptor.standardFields.contains(name) {
            if let value = self[field: name] {
                hasher.add(name)
                hasher.add(byte: UInt8(ascii: "="))
                hasher.add(value)
                hasher.add(byte: 0)
            }
        }
        if !fields.isEmpty {
            for name in fields.keys.sorted() {
                hasher.add("field.")
                hasher.add(name)
                hasher.add(byte: UInt8(ascii: "="))
                hasher.add(fields[name] ?? "")
                hasher.add(byte: 0)
            }
        }
        return hasher.hex()
    }
}
