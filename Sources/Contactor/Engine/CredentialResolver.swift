import Foundation

/// Finds a provider's credentials: explicit values first, then the environment, then the
/// configuration file.
///
/// For each key the provider needs (``ProviderDescriptor/credentialKeys``), the first
/// non-empty value found wins:
/// 1. ``explicit`` (`--credential KEY=VALUE`), keyed by credential key;
/// 2. the environment variable `CONTACTOR_<PROVIDER>_<KEY>` in ``environment``
///    (see ``Credentials/environmentVariable(provider:key:)``);
/// 3. ``file``, keyed by provider name, then credential key.
public struct CredentialResolver: Sendable {
    /// Values given explicitly for the provider in use, by credential key.
    public var explicit: [String: String]
    /// The environment to read `CONTACTOR_<PROVIDER>_<KEY>` from.
    public var environment: [String: String]
    /// Values from a configuration file: provider name, then credential key.
    public var file: [String: [String: String]]

    /// Creates a resolver.
    /// - Parameters:
    ///   - explicit: Values given explicitly (`--credential`), by credential key.
    ///   - environment: The environment; the process's by default.
    ///   - file: Values from a configuration file, by provider name then key.
    public init(
        explicit: [String: String] = [:],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        file: [String: [String: String]] = [:]
    ) {
        self.explicit = explicit
        self.environment = environment
        self.file = file
    }

    /// The credentials of `descriptor`'s provider, with `overrides` taking precedence
    /// over every other source.
    /// - Throws: ``ContactError`` `auth_failed` naming the environment variable of the
    ///   first missing key.
    public func resolve(
        for descriptor: ProviderDescriptor, overrides: [String: String] = [:]
    ) throws(ContactError) -> Credentials {
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
                throw ContactError(
                    .authFailed,
                    "missing credential '\(key)' for \(provider): set \(variable), pass --credential \(key)=..., or add it to the configuration file",
                    provider: provider)
            }
            values[key] = value
        }
        return Credentials(provider: provider, values)
    }
}
