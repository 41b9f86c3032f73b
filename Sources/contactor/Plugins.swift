import ArgumentParser
import Contactor
import ContactorLua
import ContactorProviders
import Foundation
import Logging

/// The Lua plugins of one command: from `--plugins`, `CONTACTOR_PLUGIN_PATH` and the
/// bundled `plugins/` directory.
struct PluginSet: Sendable {
    var loader: PluginLoader
    var loaded: LuaPlugins

    /// Loads every plugin; any problem is a plugin-load error (exit 2).
    static func load(
        directories: [String], environment: [String: String], logger: Logger
    )
        async throws -> PluginSet
    {
        let loader = makeLoader(directories: directories, environment: environment, logger: logger)
        do {
            return PluginSet(loader: loader, loaded: try await loader.load())
        } catch {
            throw CLIError.usage(error.message)
        }
    }

    static func makeLoader(
        directories: [String], environment: [String: String], logger: Logger
    )
        -> PluginLoader
    {
        PluginLoader(
            configuration: .init(
                pluginDirectories: directories.map { URL(fileURLWithPath: $0, isDirectory: true) },
                environment: environment,
                bundledDirectory: BundledPlugins.directory(environment: environment),
                builtinProviderNames: Set(BuiltInProviders.names), logger: logger))
    }

    /// `searched: DIR, DIR (no plugin directory found)`: where plugins were looked for, so
    /// that `0 plugins loaded` says where it looked.
    static func searchedLine(_ directories: [URL]) -> String {
        let manager = FileManager.default
        let names = directories.map { directory in
            TerminalText.escaped(directory.path)
                + (manager.fileExists(atPath: directory.path) ? "" : " (absent)")
        }
        return "searched: "
            + (names.isEmpty
                ? "no plugin directory (pass --plugins DIR or set CONTACTOR_PLUGIN_PATH)"
                : names.joined(separator: ", "))
    }

    /// The plugin providers.
    var providers: [any ContactProvider] {
        loaded.providers.keys.sorted().compactMap { loaded.providers[$0] }
    }

    /// The file a plugin provider comes from, or `nil` for a built-in.
    func source(ofProvider name: String) -> String? {
        loaded.providers[name]?.file.path
    }

    /// The validators named by `--validator`, in order.
    func validators(named names: [String]) throws -> [any ContactValidator] {
        try names.map { name in
            guard let validator = loaded.validators[name] else {
                let known = loaded.validators.keys.sorted()
                throw CLIError.usage(
                    "no validator plugin named '\(name)'"
                        + (known.isEmpty
                            ? " (no validator plugins found)"
                            : " (known: \(known.joined(separator: ", ")))"))
            }
            return validator
        }
    }

    /// The mapping plugin in `path` (`--mapping FILE.lua`), or one found by name.
    func mapping(at path: String) async throws -> LuaMapping {
        if !FileManager.default.fileExists(atPath: path), let named = loaded.mappings[path] {
            return named
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError.usage("--mapping \(path): no such file")
        }
        do {
            let plugins = try await loader.loadFile(URL(fileURLWithPath: path), expecting: .mapping)
            guard let mapping = plugins.mappings.values.first else {
                throw CLIError.usage("--mapping \(path): not a mapping plugin")
            }
            return mapping
        } catch let error as ContactError {
            throw CLIError.usage(error.message)
        }
    }
}

/// Finds the project's bundled `plugins/` directory.
enum BundledPlugins {
    /// `CONTACTOR_BUNDLED_PLUGINS` if set; else the `plugins/` of the checkout the binary
    /// was built in (a parent directory holding `Package.swift` and `plugins/`); else
    /// `share/contactor/plugins` next to an installed binary.
    static func directory(environment: [String: String]) -> URL? {
        if let path = environment["CONTACTOR_BUNDLED_PLUGINS"] {
            return URL(fileURLWithPath: path, isDirectory: true)
        }
        let manager = FileManager.default
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        if let executable = Bundle.main.executableURL {
            directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        }
        let installed = directory.deletingLastPathComponent()
            .appendingPathComponent("share/contactor/plugins")
        for _ in 0..<8 {
            let plugins = directory.appendingPathComponent("plugins")
            if manager.fileExists(atPath: directory.appendingPathComponent("Package.swift").path),
                manager.fileExists(atPath: plugins.path)
            {
                return plugins
            }
            directory.deleteLastPathComponent()
        }
        return manager.fileExists(atPath: installed.path) ? installed : nil
    }
}

/// `contactor plugins`: check and create plugins.
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Check and test Lua plugins, or start a new one from a template.",
        discussion: """

            Examples:
              contactor plugins new provider acme --dir ./my-plugins
              contactor plugins check ./my-plugins
              contactor plugins test ./my-plugins/providers/acme.lua \\
                --endpoint http://127.0.0.1:8099 --list test --phone ... (12 numbers)
            """,
        subcommands: [PluginsCheckCommand.self, PluginsNewCommand.self, PluginsTestCommand.self])
}

/// `contactor plugins check [DIR]`.
struct PluginsCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract:
            "Load every plugin and report each problem with its file and line (exit 2 if any).",
        discussion: """

            Example:
              contactor plugins check ./my-plugins
            """)

    @Argument(
        help: ArgumentHelp(
            "A plugin directory to check (default: every plugin directory).", valueName: "dir"),
        completion: .directory)
    var directory: String?

    @OptionGroup var pluginsOption: PluginsOption

    func run() async throws {
        var directories = pluginsOption.plugins
        var environment = ProcessInfo.processInfo.environment
        if let directory {
            guard FileManager.default.fileExists(atPath: directory) else {
                throw CLIError.usage("\(directory): no such directory")
            }
            directories = [directory]
            environment["CONTACTOR_PLUGIN_PATH"] = nil
            environment["CONTACTOR_BUNDLED_PLUGINS"] = "/nonexistent"
        }
        let loader = PluginSet.makeLoader(
            directories: directories, environment: environment,
            logger: Logger(label: "contactor.plugins"))
        let report = await loader.check()
        Console.out(PluginSet.searchedLine(loader.directories))
        for plugin in report.plugins {
            Console.out("ok       \(plugin.kind) \(plugin.name)  \(plugin.file.path)")
        }
        for problem in report.problems {
            Console.out("problem  \(problem.description)")
        }
        Console.out(
            "\(report.plugins.count) plugin\(report.plugins.count == 1 ? "" : "s") loaded, \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")"
        )
        throw ExitCode(report.problems.isEmpty ? 0 : 2)
    }
}
