import Contactor
import ContactorTesting
import Foundation
import Logging
import Synchronization
import Testing

@testable import ContactorLua

enum Fixtures {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func directory(_ name: String) -> URL { root.appendingPathComponent(name) }

    static func loader(
        _ directories: [String], builtins: Set<String> = [], limits: LuaSandboxLimits = .standard
    ) -> PluginLoader {
        PluginLoader(
            configuration: .init(
                pluginDirectories: directories.map(directory), environment: [:],
                builtinProviderNames: builtins, limits: limits))
    }
}

/// Loads an inline plugin source into a fresh state as plugin 1.
func makeState(
    _ source: String, limits: LuaSandboxLimits = .standard, modulePaths: [URL] = []
) async throws -> LuaState {
    try await LuaPluginRuntime.loadState(
        source: Array(source.utf8), chunkName: "@inline.lua", limits: limits,
        modulePaths: modulePaths, logger: Logger(label: "test")
    ).0
}

extension LuaState {
    /// Calls `method` of plugin `id` without a ctx.
    func invoke(
        _ method: String, _ args: LuaValue..., plugin id: Int64 = 1
    ) async throws
        -> [LuaValue]
    {
        try await call("call", [.integer(id), .text(method), .nil] + args)
    }
}

/// A phone number for tests.
func phone(_ e164: String = "+33612345678") -> PhoneNumber {
    try! PhoneNumber(parsing: e164)
}

/// A plugin directory in the temporary folder holding `files` (path → source), removed
/// when the value is.
final class PluginDirectory: Sendable {
    let url: URL

    init(_ files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-lua-\(UUID().uuidString)")
        for (path, source) in files {
            let file = url.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(source.utf8).write(to: file)
        }
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    var loader: PluginLoader {
        PluginLoader(configuration: .init(pluginDirectories: [url], environment: [:]))
    }

    /// The loaded plugins (throws the load error).
    func load() async throws -> LuaPlugins { try await loader.load() }

    /// Every problem `plugins check` reports.
    func problems() async -> [PluginProblem] { await loader.check().problems }
}

/// A provider context with `transport`, `credentials` and `endpoint`, logging to `logger`.
func providerContext(
    _ transport: any HTTPTransport = MockTransport.unreachable,
    credentials: [String: String] = [:], endpoint: String = "https://api.test.example",
    logger: Logger = Logger(label: "test")
) -> ProviderContext {
    var context = ProviderContext(
        transport: transport, credentials: Credentials(credentials),
        endpoint: URL(string: endpoint)!)
    context.logger = logger
    return context
}
