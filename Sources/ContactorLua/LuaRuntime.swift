import Contactor
import Foundation
import Logging
import Synchronization

/// Idle Lua states of one plugin, each checked out by exactly one call at a time.
final class LuaStatePool: Sendable {
    private let idle = Mutex<[LuaState]>([])
    private let maxIdle: Int

    init(maxIdle: Int = 16) { self.maxIdle = maxIdle }

    /// Takes an idle state, if any; the caller owns it until ``checkIn(_:)``.
    func checkOut() -> LuaState? { idle.withLock { $0.popLast() } }

    /// Gives a state back; closed states and states beyond the idle limit are dropped.
    func checkIn(_ state: LuaState) {
        guard !state.isClosed else { return }
        idle.withLock { states in
            if states.count < maxIdle { states.append(state) }
        }
    }

    /// How many states are idle.
    var idleCount: Int { idle.withLock { $0.count } }
}

/// A loaded plugin's code and the pool of states that run it.
final class LuaPluginRuntime: Sendable {
    let name: String
    let file: URL
    /// The file as shown in messages (relative to the working directory when under it).
    let displayPath: String
    let source: [UInt8]
    let limits: LuaSandboxLimits
    let modulePaths: [URL]
    let logger: Logger
    let pool = LuaStatePool()

    init(
        name: String, file: URL, source: [UInt8], limits: LuaSandboxLimits, modulePaths: [URL],
        logger: Logger
    ) {
        self.name = name
        self.file = file
        self.displayPath = LuaPluginRuntime.displayPath(of: file)
        self.source = source
        self.limits = limits
        self.modulePaths = modulePaths
        self.logger = logger
    }

    static func displayPath(of file: URL) -> String {
        let path = file.standardizedFileURL.path
        let cwd = FileManager.default.currentDirectoryPath
        if !cwd.isEmpty, path.hasPrefix(cwd + "/") { return String(path.dropFirst(cwd.count + 1)) }
        return path
    }

    /// The chunk name scripts' errors start with: `@path`.
    var chunkName: String { "@" + displayPath }

    /// Creates a state and runs the plugin file in it; returns the state and the table the
    /// file returned.
    static func loadState(
        source: [UInt8], chunkName: String, limits: LuaSandboxLimits, modulePaths: [URL],
        logger: Logger
    ) async throws(LuaFailure) -> (LuaState, LuaValue) {
        let state = try LuaState(limits: limits, modulePaths: modulePaths, logger: logger)
        let values = try await state.call(
            "load", [.integer(1), .string(source), .text(chunkName)])
        guard values.first == .boolean(true) else {
            throw LuaFailure(
                kind: .syntax, message: values.dropFirst().first?.stringValue ?? "syntax error")
        }
        return (state, values.count > 1 ? values[1] : .nil)
    }

    /// Calls `method` of the plugin (with a `ctx` built from `ctxinfo` when given).
    func call(
        _ method: String, ctx ctxinfo: LuaValue? = nil, _ args: [LuaValue],
        context: LuaCallContext? = nil
    ) async throws(LuaFailure) -> [LuaValue] {
        try await run(
            "call", [.integer(1), .text(method), ctxinfo ?? .nil] + args, context: context)
    }

    /// Calls the sandbox's `entry` on a state checked out for the duration of the call.
    func run(
        _ entry: String, _ args: [LuaValue], context: LuaCallContext? = nil
    )
        async throws(LuaFailure) -> [LuaValue]
    {
        let state: LuaState
        if let idle = pool.checkOut() {
            state = idle
        } else {
            state = try await Self.loadState(
                source: source, chunkName: chunkName, limits: limits, modulePaths: modulePaths,
                logger: logger
            ).0
        }
        let context =
            context
            ?? LuaCallContext(
                transport: nil, allowedOrigins: [], logger: logger, redactor: Redactor(secrets: []),
                plugin: name)
        do {
            let values = try await state.call(entry, args, context: context)
            pool.checkIn(state)
            return values
        } catch {
            pool.checkIn(state)
            throw error
        }
    }

    /// The `plugin_error` for a failed call: first line of the Lua message (with
    /// `file:line:`), the full traceback logged.
    func pluginError(
        _ failure: LuaFailure, doing what: String, redactor: Redactor = Redactor(secrets: []),
        provider: String? = nil, operation: ContactOperation? = nil
    ) -> ContactError {
        let full = redactor.redact(failure.message)
        let first = full.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? full
        if full.contains("\n") {
            logger.debug("\(full)", metadata: ["plugin": "\(name)"])
        }
        return ContactError(
            .pluginError, "plugin \(name) (\(displayPath)) failed in \(what): \(first)",
            provider: provider, operation: operation)
    }

    /// The `plugin_error` for a malformed value returned by `what`.
    func malformed(
        _ problem: String, in what: String, provider: String? = nil,
        operation: ContactOperation? = nil
    ) -> ContactError {
        ContactError(
            .pluginError, "plugin \(name) (\(displayPath)): \(what) \(problem)", provider: provider,
            operation: operation)
    }
}

extension Contact {
    /// The contact as a Lua table (`phone`, `first_name`, ..., `fields`, `region`, `type`).
    var luaValue: LuaValue {
        var members: [String: LuaValue] = [
            "phone": .text(phone.e164), "type": .text(phone.type.rawValue),
            "fields": .record(fields.mapValues { .text($0) }),
        ]
        if let region = phone.region { members["region"] = .text(region) }
        if let firstName { members["first_name"] = .text(firstName) }
        if let lastName { members["last_name"] = .text(lastName) }
        if let email { members["email"] = .text(email) }
        if let birthday { members["birthday"] = .text(birthday.description) }
        if let civility { members["civility"] = .text(civility) }
        return .record(members)
    }
}
