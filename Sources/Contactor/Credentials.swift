import Crypto
import Foundation

/// The values a provider needs to authenticate (API keys, logins), with the secret ones
/// kept as ``Secret``s.
///
/// Keys listed as public (an account's login or client id, see
/// ``ProviderDescriptor/publicCredentialKeys``) identify the account: they stay readable in
/// messages and name the account in the ledger and rate limits. Every other value is a
/// secret: ``redactor`` masks it wherever it could be printed, and ``description`` shows
/// no value at all.
public struct Credentials: Sendable, Hashable, CustomStringConvertible,
    ExpressibleByDictionaryLiteral
{
    /// The provider the credentials belong to, for error messages (`octopush`).
    public var provider: String
    private var values: [String: Secret]
    /// The keys whose values are identifiers rather than secrets.
    public private(set) var publicKeys: Set<String>

    /// Creates credentials for `provider` from key–value pairs (`api_key`: ...);
    /// `publicKeys` names the values that are identifiers, not secrets.
    public init(provider: String = "", _ values: [String: String], publicKeys: Set<String> = []) {
        self.provider = provider
        self.values = values.mapValues(Secret.init)
        self.publicKeys = publicKeys
    }

    /// Creates credentials from a dictionary literal (every value secret).
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// The value for `key`, to put in a request, or `nil`.
    public subscript(key: String) -> String? { values[key]?.reveal() }

    /// The keys present, sorted.
    public var keys: [String] { values.keys.sorted() }

    /// The value for `key`.
    /// - Throws: ``ContactError`` `auth_failed` naming the missing key. A client resolves
    ///   every key a provider declares before a run, so adapters read values with the
    ///   subscript; this is for code that runs outside a client.
    public func require(_ key: String) throws(ContactError) -> String {
        guard let value = values[key], !value.isEmpty else {
            throw ContactError(
                .authFailed,
                "missing credential '\(key)'\(provider.isEmpty ? "" : " for \(provider)")",
                provider: provider.isEmpty ? nil : provider)
        }
        return value.reveal()
    }

    /// The values to hide: every non-empty value whose key is not public.
    public var secrets: [Secret] {
        values.filter { !publicKeys.contains($0.key) && !$0.value.isEmpty }.map(\.value)
    }

    /// A redactor for ``secrets``.
    public var redactor: Redactor { Redactor(secrets) }

    /// A stable, non-secret name of the account: the public values joined with `/` when
    /// there are any (`me@example.com`), else `key-` and the first 16 hex digits of the
    /// SHA-256 of the secret values (never the secret itself).
    public var account: String {
        let identifiers = publicKeys.sorted().compactMap { values[$0]?.reveal() }.filter {
            !$0.isEmpty
        }
        if !identifiers.isEmpty { return identifiers.joined(separator: "/") }
        var hash = SHA256()
        for key in keys {
            hash.update(data: Data(key.utf8))
            hash.update(data: [0])
            hash.update(data: Data((values[key]?.reveal() ?? "").utf8))
            hash.update(data: [0])
        }
        let hex = hash.finalize().map { String(format: "%02x", $0) }.joined()
        return "key-" + hex.prefix(16)
    }

    /// The environment variable that holds credential `key` of `provider`:
    /// `CONTACTOR_<PROVIDER>_<KEY>` in upper case, non-alphanumerics as `_`.
    public static func environmentVariable(provider: String, key: String) -> String {
        func clean(_ text: String) -> String {
            String(text.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        }
        return "CONTACTOR_\(clean(provider))_\(clean(key))"
    }

    /// Lists the keys, never the values.
    public var description: String {
        "Credentials(\(provider.isEmpty ? "" : provider + ": ")\(keys.map { "\($0)=***" }.joined(separator: ", ")))"
    }
}

/// Finds a provider's credentials: explicit values first, then an environment, then a
/// configuration file.
///
/// For each key the provider needs (``ProviderDescriptor/credentialKeys``), the first
/// non-empty value found wins:
/// 1. the run's own values (``RunOptions/credentials``), then ``explicit``, keyed by
///    credential key;
/// 2. the variable `CONTACTOR_<PROVIDER>_<KEY>` in ``environment``
///    (see ``Credentials/environmentVariable(provider:key:)``);
/// 3. ``file``, keyed by provider name, then credential key.
///
/// Nothing is read from the process environment unless it is passed in: a library
/// reads no global state of its own (the command line passes its environment).
public struct CredentialResolver: Sendable {
    /// Values given explicitly for the provider in use, by credential key.
    public var explicit: [String: String]
    /// The environment to read `CONTACTOR_<PROVIDER>_<KEY>` from (empty by default).
    public var environment: [String: String]
    /// Values from a configuration file: provider name, then credential key.
    public var file: [String: [String: String]]

    /// Creates a resolver.
    /// - Parameters:
    ///   - explicit: Values given explicitly, by credential key.
    ///   - environment: An environment to read `CONTACTOR_*` variables from; pass
    ///     `ProcessInfo.processInfo.environment` to use the process's.
    ///   - file: Values from a configuration file, by provider name then key.
    public init(
        explicit: [String: String] = [:], environment: [String: String] = [:],
        file: [String: [String: String]] = [:]
    ) {
        self.explicit = explicit
        self.environment = environment
        self.file = file
    }

    /// The credentials of `descriptor`'s provider, with `overrides` taking precedence
    /// over every other source.
    /// - Throws: ``ContactorError`` `missing_credential` naming the first missing key.
    public func resolve(
        for descriptor: ProviderDescriptor, overrides: [String: String] = [:]
    ) throws(ContactorError) -> Credentials {
        let provider = descriptor.name
        let fromFile =
            file[provider] ?? file.first { $0.key.lowercased() == provider.lowercased() }?.value
            ?? [:]
        var values: [String: String] = [:]
        for key in descriptor.credentialKeys {
            let variable = Credentials.environmentVariable(provider: provider, key: key)
            let candidates = [overrides[key], explicit[key], environment[variable], fromFile[key]]
            guard let value = candidates.lazy.compactMap({ $0 }).first(where: { !$0.isEmpty })
            else {
                throw ContactorError(
                    .missingCredential, "missing credential '\(key)' for \(provider)",
                    provider: provider, credentialKey: key)
            }
            values[key] = value
        }
        return Credentials(
            provider: provider, values, publicKeys: descriptor.publicCredentialKeys)
    }
}
