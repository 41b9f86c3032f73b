/// The providers a client can use, by name: a value you build and pass around, not a
/// global.
///
/// The core cannot see the built-in adapters or Lua plugins, so the embedding program
/// registers them:
///
/// ```swift
/// var providers = ProviderRegistry()
/// providers.register(myProvider)
/// ```
public struct ProviderRegistry: Sendable {
    private var byName: [String: any ContactProvider] = [:]

    /// Creates a registry holding `providers` (a later provider replaces an earlier one of
    /// the same name).
    public init(_ providers: [any ContactProvider] = []) {
        for provider in providers { register(provider) }
    }

    /// Adds `provider`, replacing any provider of the same name (names are compared
    /// without regard to case).
    public mutating func register(_ provider: any ContactProvider) {
        byName[provider.descriptor.name.lowercased()] = provider
    }

    /// The provider named `name` (case-insensitive), or `nil`.
    public func provider(named name: String) -> (any ContactProvider)? {
        byName[name.lowercased()]
    }

    /// The provider named `name`.
    /// - Throws: ``ContactorError`` `unknown_provider` naming the known providers.
    public func resolve(_ name: String) throws(ContactorError) -> any ContactProvider {
        if let provider = provider(named: name) { return provider }
        let known = names.isEmpty ? "none is registered" : "known: \(names.joined(separator: ", "))"
        throw ContactorError(
            .unknownProvider, "unknown provider '\(name)' (\(known))", provider: name)
    }

    /// The registered providers' names, sorted.
    public var names: [String] { providers.map(\.descriptor.name) }

    /// The registered providers, sorted by name.
    public var providers: [any ContactProvider] {
        byName.sorted { $0.key < $1.key }.map(\.value)
    }
}
