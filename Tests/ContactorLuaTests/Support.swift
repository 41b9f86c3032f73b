import Contactor
import Foundation
import Logging
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

/// Runs `body` and returns how long it took.
func elapsed(_ body: () async throws -> Void) async rethrows -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    try await body()
    return clock.now - start
}
