import Configuration
import Contactor
import Foundation
import SystemPackage

/// The settings of one command after flags, environment and config file are merged, in
/// that order of precedence.
struct Settings: Sendable {
    var provider: String?
    var list: String?
    var region: String?
    var endpoint: String?
    var mapping: String?
    var validators: [String] = []
    var batchSize: Int?
    var concurrency: Int?
    var rateLimit: Double?
    var options: [String: String] = [:]
    /// Credentials found in the config file (accepted only from a private file).
    var fileCredentials: [String: [String: String]] = [:]
    /// The config file read and the profile used, for `-v`.
    var configFile: (path: String, profile: String?)?
}

/// A problem with the configuration: exit status 2.
struct ConfigurationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads the config file's profile and the `CONTACTOR_*` environment variables with
/// swift-configuration.
///
/// The file is JSON:
/// ```json
/// { "profiles": { "default": { "provider": "octopush", "list": "demo", "region": "FR" } } }
/// ```
enum SettingsLoader {
    /// The keys a profile may hold.
    static let profileKeys: Set<String> = [
        "provider", "list", "region", "endpoint", "mapping", "validators", "batch_size",
        "concurrency", "rate_limit", "options", "credentials",
    ]

    static func load(
        flags: Settings, configPath: String?, profile: String?, environment: [String: String]
    ) async throws -> Settings {
        let env = ConfigReader(
            provider: EnvironmentVariablesProvider(environmentVariables: environment))
        var merged = flags
        func pick<T>(_ current: T?, _ key: String, _ read: (ConfigReader, String) -> T?) -> T? {
            current ?? read(env, "contactor.\(key)")
        }
        merged.provider = pick(merged.provider, "provider") { $0.string(forKey: ConfigKey($1)) }
        merged.list = pick(merged.list, "list") { $0.string(forKey: ConfigKey($1)) }
        merged.region = pick(merged.region, "region") { $0.string(forKey: ConfigKey($1)) }
        merged.endpoint = pick(merged.endpoint, "endpoint") { $0.string(forKey: ConfigKey($1)) }

        let explicitPath =
            configPath
            ?? environment["CONTACTOR_CONFIG"].flatMap {
                $0.isEmpty ? nil : $0
            }
        guard let path = explicitPath ?? discoveredConfigFile(environment: environment) else {
            let chosen =
                profile ?? environment["CONTACTOR_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
            if let chosen {
                throw ConfigurationError(
                    "profile '\(chosen)' asked for (\(profile != nil ? "--profile" : "CONTACTOR_PROFILE")) but there is no config file: pass --config FILE, set CONTACTOR_CONFIG, or create \(defaultConfigLocations(environment: environment).joined(separator: " or "))"
                )
            }
            return merged
        }
        merged.configFile = (path, nil)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError("config file \(path) does not exist")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(
                "config file \(path) cannot be read: \(error.localizedDescription)")
        }
        // Validate the shape first, to name unknown keys precisely.
        let root: JSONValue
        do {
            root = try JSONValue.decode(data)
        } catch {
            throw ConfigurationError("config file \(path) is not valid JSON")
        }
        guard let profiles = root["profiles"]?.objectValue else {
            throw ConfigurationError(
                "config file \(path): expected an object \"profiles\" holding named profiles")
        }
        let name = profile ?? environment["CONTACTOR_PROFILE"] ?? "default"
        guard let chosen = profiles[name]?.objectValue else {
            if profile == nil && environment["CONTACTOR_PROFILE"] == nil { return merged }
            throw ConfigurationError(
                "config file \(path) has no profile '\(name)' (profiles: \(profiles.keys.sorted().joined(separator: ", ")))"
            )
        }
        merged.configFile = (path, name)
        for key in chosen.keys.sorted() where !profileKeys.contains(key) {
            throw ConfigurationError(
                "config file \(path), profile '\(name)': unknown key '\(key)' (known: \(profileKeys.sorted().joined(separator: ", ")))"
            )
        }

        let fileProvider = try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
        let file = ConfigReader(provider: fileProvider).scoped(to: ConfigKey(["profiles", name]))
        func key(_ text: String) -> ConfigKey { ConfigKey(text) }
        merged.provider = merged.provider ?? file.string(forKey: key("provider"))
        merged.list = merged.list ?? file.string(forKey: key("list"))
        merged.region = merged.region ?? file.string(forKey: key("region"))
        merged.endpoint = merged.endpoint ?? file.string(forKey: key("endpoint"))
        merged.mapping =
            merged.mapping
            ?? file.string(forKey: key("mapping")).map {
                // A mapping path in the file is relative to the file.
                $0.hasPrefix("/")
                    ? $0
                    : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(
                        $0
                    ).path
            }
        if merged.validators.isEmpty {
            merged.validators = file.stringArray(forKey: key("validators")) ?? []
        }
        if merged.batchSize == nil, let value = chosen["batch_size"] {
            guard let size = value.intValue, Limits.batchSize.contains(Int(size)) else {
                throw ConfigurationError(
                    "config file \(path), profile '\(name)': batch_size must be a whole number from \(Limits.batchSize.lowerBound) to \(Limits.batchSize.upperBound)"
                )
            }
            merged.batchSize = Int(size)
        }
        if merged.concurrency == nil, let value = chosen["concurrency"] {
            guard let count = value.intValue, Limits.concurrency.contains(Int(count)) else {
                throw ConfigurationError(
                    "config file \(path), profile '\(name)': concurrency must be a whole number from \(Limits.concurrency.lowerBound) to \(Limits.concurrency.upperBound)"
                )
            }
            merged.concurrency = Int(count)
        }
        if merged.rateLimit == nil, let value = chosen["rate_limit"] {
            let rate: Double? =
                switch value {
                case .int(let number): Double(number)
                case .double(let number): number
                default: nil
                }
            guard let rate, Limits.rateLimit.contains(rate) else {
                throw ConfigurationError(
                    "config file \(path), profile '\(name)': rate_limit must be a number of requests per second from \(Limits.format(Limits.rateLimit.lowerBound)) to \(Limits.format(Limits.rateLimit.upperBound))"
                )
            }
            merged.rateLimit = rate
        }
        if let options = chosen["options"]?.objectValue {
            for (option, value) in options where merged.options[option] == nil {
                guard let text = value.stringValue else {
                    throw ConfigurationError(
                        "config file \(path), profile '\(name)': option '\(option)' must be a string, number or boolean"
                    )
                }
                merged.options[option] = text
            }
        }
        if let credentials = chosen["credentials"] {
            merged.fileCredentials = try fileCredentials(credentials, path: path, profile: name)
        }
        return merged
    }

    /// Where a config file is looked for when neither `--config` nor `CONTACTOR_CONFIG`
    /// names one: `$XDG_CONFIG_HOME/contactor/config.json`, else
    /// `~/.config/contactor/config.json` (XDG's default).
    static func defaultConfigLocations(environment: [String: String]) -> [String] {
        var locations: [String] = []
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            locations.append((xdg as NSString).appendingPathComponent("contactor/config.json"))
        }
        if let home = environment["HOME"], !home.isEmpty {
            let path = (home as NSString).appendingPathComponent(".config/contactor/config.json")
            if !locations.contains(path) { locations.append(path) }
        }
        return locations
    }

    /// The first of ``defaultConfigLocations(environment:)`` that exists.
    static func discoveredConfigFile(environment: [String: String]) -> String? {
        defaultConfigLocations(environment: environment).first {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    /// Credentials in the config file are accepted only when the file is private (no
    /// access for group or others), like ssh keys and `.pgpass`; otherwise refused, saying
    /// why.
    static func fileCredentials(
        _ value: JSONValue, path: String, profile: String
    ) throws
        -> [String: [String: String]]
    {
        guard let providers = value.objectValue else {
            throw ConfigurationError(
                "config file \(path), profile '\(profile)': credentials must be an object {\"provider\": {\"key\": \"value\"}}"
            )
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let mode = (attributes?[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o077 == 0 else {
            throw ConfigurationError(
                "config file \(path) holds credentials but other users can read it (mode \(String(mode, radix: 8))): "
                    + "refusing to use them. Pass them with --credential KEY=VALUE or CONTACTOR_<PROVIDER>_<KEY> "
                    + "environment variables, or make the file private with: chmod 600 \(path)")
        }
        var result: [String: [String: String]] = [:]
        for (provider, keys) in providers {
            guard let keys = keys.objectValue else {
                throw ConfigurationError(
                    "config file \(path), profile '\(profile)': credentials.\(provider) must be an object"
                )
            }
            result[provider] = keys.compactMapValues(\.stringValue)
        }
        return result
    }
}
