import Contactor

/// The providers built into Contactor.
public enum BuiltInProviders {
    /// One instance of each built-in provider with its default configuration, by name
    /// order: `avosms`, `octopush`, `smsgatewayapi`, `smspartner`.
    public static var all: [any ContactProvider] {
        [AvosmsProvider(), OctopushProvider(), SMSGatewayAPIProvider(), SMSPartnerProvider()]
    }

    /// The names of the built-in providers, which plugins may not reuse.
    public static var names: [String] { all.map(\.descriptor.name) }

    /// The built-in provider called `name`, or `nil`.
    public static func named(_ name: String) -> (any ContactProvider)? {
        all.first { $0.descriptor.name == name }
    }
}
