import ArgumentParser
import Contactor
import ContactorProviders
import Foundation
import Logging

/// The provider and how to reach it: what a worker needs (its runs carry the list, the
/// endpoint and the provider options).
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The provider: avosms, octopush, smsgatewayapi, smspartner, or a plugin's name.",
        completion: .list(BuiltInProviders.names))
    var provider: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Credential of the provider (repeatable), e.g. --credential api_key=...",
            valueName: "key=value"))
    var credential: [String] = []

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "The longest one request may take, connection and answer included (\(Limits.format(Limits.timeout.lowerBound)) to \(Limits.format(Limits.timeout.upperBound)); default 30).",
            valueName: "seconds"),
        transform: {
            try Limits.number($0, option: "--timeout", unit: "seconds", in: Limits.timeout)
        })
    var timeout: Double?

    @OptionGroup var cassette: CassetteOptions
}

/// The list, and where and how to send to it.
struct TargetOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The contact list (Avosms list id, Octopush list name, SMS Gateway API group id, SMS Partner group id)."
    )
    var list: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Replace the provider's base URL (scheme, host, port, optional path prefix); the documented paths are appended.",
            valueName: "url"))
    var endpoint: String?

    @Flag(name: .long, help: "Run against the built-in sandbox emulators (no account needed).")
    var sandbox = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Provider option (repeatable), e.g. --option tag_name=vip", valueName: "key=value"))
    var option: [String] = []
}

/// Options every command that sends to a provider shares.
struct ProviderOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var target: TargetOptions

    @Flag(
        name: .long,
        help:
            "Validate, map and print the requests that would be sent (secrets as ***); send nothing."
    )
    var dryRun = false

    var provider: String? {
        get { connection.provider }
        set { connection.provider = newValue }
    }
    var credential: [String] { connection.credential }
    var timeout: Double? { connection.timeout }
    var cassette: CassetteOptions { connection.cassette }
    var list: String? { target.list }
    var endpoint: String? { target.endpoint }
    var sandbox: Bool { target.sandbox }
    var option: [String] { target.option }

    /// No provider options, for commands that take none (`providers`, `validate`).
    ///
    /// Parsed from no arguments: a value made with `init()` has no values behind its
    /// property wrappers, and reading one crashes.
    static var none: ProviderOptions {
        // Every option has a default or is optional, so parsing nothing cannot fail.
        try! ProviderOptions.parse([])
    }

    /// The options of a command that takes only some of them (the rest as if not given).
    static func with(
        connection: ConnectionOptions? = nil, target: TargetOptions? = nil
    ) -> ProviderOptions {
        var options = none
        if let connection { options.connection = connection }
        if let target { options.target = target }
        return options
    }
}

/// `--plugins DIR`.
struct PluginsOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("A directory of Lua plugins (repeatable).", valueName: "dir"),
        completion: .directory)
    var plugins: [String] = []
}

/// Where plugins and settings come from.
struct SetupOptions: ParsableArguments {
    @OptionGroup var pluginsOption: PluginsOption

    @Option(
        name: .long,
        help: ArgumentHelp("A JSON config file with named profiles.", valueName: "file"),
        completion: .file(extensions: ["json"]))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The profile of the config file to use (default: \"default\").", valueName: "name"))
    var profile: String?

    var plugins: [String] { pluginsOption.plugins }
}

/// `--output`.
struct OutputOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Output format: table (default on a terminal) or json (JSON Lines); contactor list also takes csv (its default).",
            valueName: "table|json|csv"), completion: .list(["table", "json", "csv"]))
    var output: OutputFormat?
}

/// What is logged on stderr.
struct LoggingOptions: ParsableArguments {
    @Flag(
        name: [.customShort("v"), .long],
        help: "Log every request (method, path, status, duration) to stderr.")
    var verbose = false

    @Flag(
        name: [.customShort("q"), .long],
        help: "Print no summary, notice or progress on stderr: only errors.")
    var quiet = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The least level logged on stderr: trace, debug, info, notice, warning (default), error or critical; -v is debug.",
            valueName: "level"), completion: .list(LogLevel.allCases.map(\.rawValue)))
    var logLevel: LogLevel?
}

/// Options shared by every command that reads contacts.
struct GlobalOptions: ParsableArguments {
    @OptionGroup var setup: SetupOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Default region for national numbers (ISO 3166-1 alpha-2, e.g. FR).", valueName: "cc"))
    var region: String?

    @OptionGroup var outputOption: OutputOption
    @OptionGroup var logging: LoggingOptions

    var plugins: [String] { setup.plugins }
    var config: String? { setup.config }
    var profile: String? { setup.profile }
    var output: OutputFormat? { outputOption.output }
    var verbose: Bool { logging.verbose }
    var quiet: Bool { logging.quiet }
    var logLevel: LogLevel? { logging.logLevel }

    /// The options of a command that takes only some of them (the rest as if not given).
    static func with(
        setup: SetupOptions? = nil, output: OutputOption? = nil, logging: LoggingOptions
    ) -> GlobalOptions {
        // Every option has a default or is optional, so parsing nothing cannot fail.
        var options = try! GlobalOptions.parse([])
        if let setup { options.setup = setup }
        if let output { options.outputOption = output }
        options.logging = logging
        return options
    }

    /// `--output`, or `table` on a terminal and `json` otherwise. `csv` is `contactor
    /// list`'s only; elsewhere it is refused by ``validateOutput()``.
    ///
    /// `--output` is parsed with the arguments, so a bad value is a usage error before
    /// anything is sent.
    func outputFormat() -> OutputFormat { output ?? .automatic }

    /// Refuses `--output csv` for the commands that print outcomes.
    func validateOutput() throws {
        if output == .csv {
            throw ValidationError("--output csv is for contactor list; use table or json here")
        }
    }

    func validateRegion() throws {
        guard let region else { return }
        if region.count != 2 || !region.allSatisfy({ $0.isASCII && $0.isLetter }) {
            throw ValidationError(
                "--region must be a two-letter ISO 3166-1 code such as FR, not \(Limits.escaped(region))"
            )
        }
        if !PhoneNumber.isKnownRegion(region.uppercased()) {
            throw ValidationError(
                "--region \(region) is not a region libphonenumber knows (an ISO 3166-1 code such as FR, DE, US)"
            )
        }
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// A `--log-level` value.
enum LogLevel: String, CaseIterable, ExpressibleByArgument, Sendable {
    case trace, debug, info, notice, warning, error, critical

    /// swift-log's level.
    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .warning }
}

/// Parses `KEY=VALUE` pairs of a repeatable option.
func parsePairs(_ pairs: [String], option: String) throws -> [(String, String)] {
    try pairs.map { pair in
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw ValidationError(
                "\(option) expects KEY=VALUE, got '\(pair.split(separator: "=").first ?? "")'")
        }
        return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
    }
}
