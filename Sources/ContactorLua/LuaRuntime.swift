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
    /// The context of calls made without one: no HTTP, logs to the plugin's logger.
    private let defaultContext: LuaCallContext

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
        self.defaultContext = LuaCallContext(
            http: nil, allowedOrigins: [], logger: logger, redactor: .none, plugin: name)
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
        try await run(entry, encoded: LuaCodec.encode(args), context: context)
    }

    /// Calls plugin method `method` without a ctx, with arguments written by `write` after
    /// the plugin id, the method and the absent ctx: the hot path of `map` and `validate`,
    /// which encodes records straight from Swift values.
    func call<Result>(
        _ method: String, arguments count: Int, capacity: Int = 256,
        _ write: (inout LuaCodecWriter) -> Void,
        decode: (UnsafeRawBufferPointer) throws(LuaCodec.Malformed) -> Result
    ) async throws(LuaFailure) -> Result {
        var writer = LuaCodecWriter(count: 3 + count, capacity: capacity)
        writer.write(1 as Int64)
        writer.write(method)
        writer.writeNil()
        write(&writer)
        return try await run("call", encoded: writer.bytes, decode: decode)
    }

    /// ``run(_:_:context:)`` with the arguments already encoded.
    func run(
        _ entry: String, encoded: [UInt8], context: LuaCallContext? = nil
    )
        async throws(LuaFailure) -> [LuaValue]
    {
        try await run(entry, encoded: encoded, context: context, decode: LuaCodec.decode)
    }

    /// ``run(_:encoded:context:)`` with the results read by `decode`.
    func run<Result>(
        _ entry: String, encoded: [UInt8], context: LuaCallContext? = nil,
        decode: (UnsafeRawBufferPointer) throws(LuaCodec.Malformed) -> Result
    )
        async throws(LuaFailure) -> Result
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
        let context = context ?? defaultContext
        do {
            let values = try await state.call(
                entry, encoded: encoded, context: context, decode: decode)
            pool.checkIn(state)
            return values
        } catch {
            pool.checkIn(state)
            throw error
        }
    }

    /// The `plugin_error` for a failed call: the first line of the Lua message with
    /// `file:line:` (for a value that is not a string, where it was raised, what it was
    /// and the shape expected: ``LuaRaisedError/summary(of:)``), the full traceback logged.
    func pluginError(
        _ failure: LuaFailure, doing what: String, redactor: Redactor = Redactor(secrets: []),
        provider: String? = nil, operation: ContactOperation? = nil
    ) -> ContactError {
        let full = redactor.redact(failure.message)
        let first = redactor.redact(LuaRaisedError.summary(of: failure))
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
    /// Writes the contact as ``luaValue`` would encode, without building it.
    func writeLua(into writer: inout LuaCodecWriter) {
        let count =
            3 + (phone.region == nil ? 0 : 1) + (firstName == nil ? 0 : 1)
            + (lastName == nil ? 0 : 1) + (email == nil ? 0 : 1) + (birthday == nil ? 0 : 1)
            + (civility == nil ? 0 : 1) + (providerID == nil ? 0 : 1)
        writer.writeMapHeader(count: count)
        writer.write("phone")
        writer.write(phone.e164)
        writer.write("type")
        writer.write(phone.type.rawValue)
        writer.write("fields")
        writer.writeMapHeader(count: fields.count)
        for (key, value) in fields {
            writer.write(key)
            writer.write(value)
        }
        if let region = phone.region {
            writer.write("region")
            writer.write(region)
        }
        if let firstName {
            writer.write("first_name")
            writer.write(firstName)
        }
        if let lastName {
            writer.write("last_name")
            writer.write(lastName)
        }
        if let email {
            writer.write("email")
            writer.write(email)
        }
        if let birthday {
            writer.write("birthday")
            writer.write(birthday.description)
        }
        if let civility {
            writer.write("civility")
            writer.write(civility)
        }
        if let providerID {
            writer.write("id")
            writer.write(providerID)
        }
    }

    /// The contact as a Lua table (`phone`, `first_name`, ..., `fields`, `region`, `type`,
    /// and `id`, the provider's id, when known).
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
        if let providerID { members["id"] = .text(providerID) }
        return .record(members)
    }
}
