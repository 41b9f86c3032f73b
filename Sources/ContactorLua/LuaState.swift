internal import CLua
internal import CLuaHelpers
import Contactor
import Foundation
import Logging
import Synchronization

/// The limits every Lua call runs under.
///
/// A call that runs more instructions than ``instructionBudget`` or makes its state hold
/// more than ``memoryLimit`` bytes ends with a `plugin_error`; a script's own `pcall`
/// cannot catch the instruction limit.
public struct LuaSandboxLimits: Sendable, Hashable {
    /// The most Lua VM instructions one call (one `add`, `map`, ...) may run, HTTP waits
    /// excluded. The default, 10 million, ends a runaway loop in a few tens of milliseconds.
    public var instructionBudget: Int
    /// The most memory, in bytes, one Lua state may hold while a script runs (64 MiB).
    public var memoryLimit: Int

    /// Creates limits.
    public init(instructionBudget: Int = 10_000_000, memoryLimit: Int = 64 << 20) {
        self.instructionBudget = max(1000, instructionBudget)
        self.memoryLimit = max(1 << 20, memoryLimit)
    }

    /// The defaults: 10 million instructions per call, 64 MiB per state.
    public static let standard = LuaSandboxLimits()
}

/// Why a Lua call failed.
struct LuaFailure: Error, CustomStringConvertible {
    enum Kind: Sendable {
        /// The chunk did not compile.
        case syntax
        /// The script raised an error.
        case runtime
        /// The instruction budget ran out.
        case budget
        /// The memory cap was hit (the state is closed).
        case memory
        /// The bridge itself failed (closed state, malformed values).
        case bridge
    }

    var kind: Kind
    /// The message, with `file:line:` and a traceback for runtime errors.
    var message: String
    /// The raw error value, when the script raised one.
    var value: LuaValue?
    /// A transport error that happened during the call and may have caused it.
    var transportError: ContactError?
    /// `file:line` of the script code that raised the error (for a budget failure, where
    /// the budget ran out), when known.
    var location: String?

    var description: String { message }
}

/// What a call may do besides computing: HTTP through the host's transport, logging.
///
/// A class, so that handing it to every call (``LuaHost/begin(_:)``) costs one reference
/// count rather than one per member.
final class LuaCallContext: Sendable {
    /// The provider context whose pipeline `ctx.http.request` goes through; `nil` where
    /// HTTP is not offered.
    let http: ProviderContext?
    /// The origins (`https://host:port`) requests may reach.
    let allowedOrigins: [String]
    /// Where `ctx.log` and `print` write.
    let logger: Logger
    /// Hides credentials in log lines and messages.
    let redactor: Redactor
    /// The plugin's name, for messages.
    let plugin: String
    /// Whether the call has sent a request with `retry = false`: then it is never run again
    /// (``LuaProvider`` makes its transient failures final).
    let sentUnrepeatable = Mutex(false)

    init(
        http: ProviderContext?, allowedOrigins: [String], logger: Logger,
        redactor: Redactor, plugin: String
    ) {
        self.http = http
        self.allowedOrigins = allowedOrigins
        self.logger = logger
        self.redactor = redactor
        self.plugin = plugin
    }
}

/// One Lua state with Contactor's sandbox, owned by one call at a time.
///
/// Not thread-safe: a `LuaState` is only ever used by the task that checked it out of a
/// ``LuaStatePool`` (or created it), one call after another, never by two at once. It is
/// `@unchecked Sendable` only so that the pool can hand it from one task to the next;
/// the pool's lock and check-out protocol are what make that safe. A task may resume on
/// another thread between two awaits, which is fine: Lua states are not bound to a
/// thread, they only must not be used concurrently.
final class LuaState: @unchecked Sendable {
    private var state: OpaquePointer?
    private let host: LuaHost
    let limits: LuaSandboxLimits

    /// Creates a state with the sandbox prelude loaded.
    /// - Parameters:
    ///   - limits: The budget and memory cap.
    ///   - modulePaths: The directories `require` may search.
    ///   - logger: Where scripts log outside of a call context.
    init(
        limits: LuaSandboxLimits = .standard, modulePaths: [URL] = [], logger: Logger
    )
        throws(LuaFailure)
    {
        self.limits = limits
        self.host = LuaHost(modulePaths: modulePaths, logger: logger)
        guard let state = clh_newstate(limits.memoryLimit) else {
            throw LuaFailure(kind: .memory, message: "could not create a Lua state")
        }
        self.state = state
        clh_set_budget(state, Int64(limits.instructionBudget))
        for function in LuaHost.Function.allCases {
            let box = Unmanaged.passRetained(HostBox(host: host, function: function)).toOpaque()
            let status = clh_register_host(
                state, function.rawValue,
                { context, args, length, out in
                    HostBox.invoke(context: context, args: args, length: length, out: out)
                },
                box,
                { context in
                    if let context { Unmanaged<HostBox>.fromOpaque(context).release() }
                })
            guard status == LUA_OK else {
                close()
                throw LuaFailure(kind: .memory, message: "could not register host functions")
            }
        }
        let source = Array(LuaPrelude.source.utf8)
        let status = source.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                clh_init_sandbox(state, $0.baseAddress, $0.count, "=contactor")
            }
        }
        guard status == LUA_OK else {
            let message = Self.takeMessage(state)
            close()
            throw LuaFailure(kind: .bridge, message: "the sandbox prelude failed: \(message)")
        }
    }

    deinit { close() }

    /// Whether the state was closed (after running out of memory).
    var isClosed: Bool { state == nil }

    /// Bytes the state holds.
    var memoryUsed: Int { state.map { Int(clh_memory_used($0)) } ?? 0 }

    /// Closes the state; every later call fails.
    func close() {
        if let state { clh_close(state) }
        state = nil
    }

    /// Calls the sandbox function `entry` with `args` in a new coroutine, under the limits,
    /// serving `ctx.http.request` yields through `context`'s transport.
    func call(
        _ entry: String, _ args: [LuaValue], context: LuaCallContext? = nil
    ) async throws(LuaFailure) -> [LuaValue] {
        try await call(entry, encoded: LuaCodec.encode(args), context: context)
    }

    /// ``call(_:_:context:)`` with the arguments already encoded (``LuaCodecWriter``).
    func call(
        _ entry: String, encoded: [UInt8], context: LuaCallContext? = nil
    ) async throws(LuaFailure) -> [LuaValue] {
        try await call(entry, encoded: encoded, context: context, decode: LuaCodec.decode)
    }

    /// Calls `entry` with encoded arguments and reads the results' encoding with `decode`
    /// (while the bytes are alive), for callers that turn results straight into their own
    /// types.
    func call<Result>(
        _ entry: String, encoded: [UInt8], context: LuaCallContext? = nil,
        decode: (UnsafeRawBufferPointer) throws(LuaCodec.Malformed) -> Result
    ) async throws(LuaFailure) -> Result {
        guard let state else {
            throw LuaFailure(kind: .bridge, message: "the Lua state was closed")
        }
        let base = lua_gettop(state)
        host.begin(context)
        defer {
            host.end()
            if let current = self.state { lua_settop(current, base) }
        }
        // Start, resume and (when the call returns) encode the results in one C call; a
        // yield goes on in the loop below.
        var thread: OpaquePointer?
        var count: Int32 = 0
        var started: Int32 = 0
        var results: UnsafePointer<CChar>?
        var resultsLength = 0
        var finished: Int32 = 0
        var status = encoded.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                clh_call(
                    state, entry, $0.baseAddress, $0.count, &started, &thread, &count, &results,
                    &resultsLength, &finished)
            }
        }
        guard started == LUA_OK, let thread else {
            let message = Self.takeMessage(state)
            if started == LUA_ERRMEM { close() }
            throw LuaFailure(kind: started == LUA_ERRMEM ? .memory : .bridge, message: message)
        }
        while true {
            switch status {
            case LUA_OK:
                let bytes = UnsafeRawBufferPointer(start: results, count: resultsLength)
                guard finished == 0 else {
                    throw LuaFailure(
                        kind: .bridge,
                        message: "could not read the script's values: "
                            + String(decoding: bytes, as: UTF8.self))
                }
                do {
                    return try decode(bytes)
                } catch {
                    throw LuaFailure(kind: .bridge, message: "malformed values from the bridge")
                }
            case LUA_YIELD:
                guard let request = host.takePending() else {
                    throw LuaFailure(
                        kind: .runtime, message: "a script yielded outside ctx.http.request")
                }
                let reply = await host.perform(request)
                let bytes = LuaCodec.encode(reply)
                var nargs: Int32 = 0
                let prepared = bytes.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) {
                        clh_prepare_resume(
                            state, thread, count, $0.baseAddress, $0.count, &nargs)
                    }
                }
                guard prepared == LUA_OK else {
                    let message = Self.takeMessage(state)
                    if prepared == LUA_ERRMEM { close() }
                    throw LuaFailure(
                        kind: prepared == LUA_ERRMEM ? .memory : .bridge,
                        message: "could not pass the HTTP response to the script: \(message)")
                }
                status = clh_resume(state, thread, nargs, &count)
                if status == LUA_OK {
                    finished = clh_finish(state, thread, count, &results, &resultsLength)
                }
            default:
                throw failure(status: status, thread: thread)
            }
        }
    }

    private func failure(status: Int32, thread: OpaquePointer) -> LuaFailure {
        guard let state else { return LuaFailure(kind: .bridge, message: "state closed") }
        let raw = try? Self.values(thread, count: 1).first
        let location = Self.errorLocation(thread)
        var bytes = clh_bytes()
        _ = clh_error_message(state, thread, &bytes)
        let message = Self.string(&bytes)
        let tripped = clh_budget_tripped(state) != 0
        // After an error raised from the count hook (budget) or out of memory, Lua leaves
        // the coroutine with hooks disabled, so its `__close` handlers could run without
        // limits: drop the coroutine unreset then. Otherwise reset it (closing its
        // to-be-closed variables under the remaining budget).
        if !tripped && status != LUA_ERRMEM { _ = clh_resetthread(thread) }
        var result: LuaFailure
        if tripped {
            // Named where the budget ran out (captured in the hook), not where the error
            // finally surfaced: a script's pcall may have unwound to a later line.
            let place = String(cString: clh_budget_where(state))
            let traceback = String(cString: clh_budget_traceback(state))
            result = LuaFailure(
                kind: .budget,
                message: (place.isEmpty ? "" : place + ": ")
                    + "the script ran more than \(limits.instructionBudget) instructions "
                    + "(an endless loop?)" + (traceback.isEmpty ? "" : "\n" + traceback))
            result.location = place.isEmpty ? nil : place
            if status == LUA_ERRMEM { close() }
        } else if status == LUA_ERRMEM {
            close()
            result = LuaFailure(
                kind: .memory,
                message: "the script used more than the memory limit of "
                    + "\(limits.memoryLimit >> 20) MiB: \(message)")
        } else {
            result = LuaFailure(kind: .runtime, message: message, value: raw)
            result.location = location
        }
        result.transportError = host.lastTransportError
        return result
    }

    /// `file:line` of the script code that raised the error that stopped `thread`.
    private static func errorLocation(_ thread: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 300)
        let found = buffer.withUnsafeMutableBufferPointer {
            clh_error_location(thread, $0.baseAddress, $0.count)
        }
        guard found != 0 else { return nil }
        return String(
            decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func values(
        _ thread: OpaquePointer, count: Int32
    ) throws(LuaFailure)
        -> [LuaValue]
    {
        try values(thread, count: count, decode: LuaCodec.decode)
    }

    private static func values<Result>(
        _ thread: OpaquePointer, count: Int32,
        decode: (UnsafeRawBufferPointer) throws(LuaCodec.Malformed) -> Result
    ) throws(LuaFailure)
        -> Result
    {
        var bytes = clh_bytes()
        let status = clh_encode_top(thread, count, &bytes)
        defer { clh_free(&bytes) }
        guard status == 0 else {
            let message = String(
                decoding: UnsafeRawBufferPointer(start: bytes.data, count: bytes.len),
                as: UTF8.self)
            throw LuaFailure(
                kind: .bridge, message: "could not read the script's values: \(message)")
        }
        do {
            return try decode(UnsafeRawBufferPointer(start: bytes.data, count: bytes.len))
        } catch {
            throw LuaFailure(kind: .bridge, message: "malformed values from the bridge")
        }
    }

    private static func takeMessage(_ state: OpaquePointer) -> String {
        var bytes = clh_bytes()
        clh_take_message(state, &bytes)
        return string(&bytes)
    }

    private static func string(_ bytes: inout clh_bytes) -> String {
        defer { clh_free(&bytes) }
        return String(
            decoding: UnsafeRawBufferPointer(start: bytes.data, count: bytes.len), as: UTF8.self)
    }
}

/// A host function's handle, kept alive by its Lua userdata until `__gc` releases it.
private final class HostBox {
    let host: LuaHost
    let function: LuaHost.Function

    init(host: LuaHost, function: LuaHost.Function) {
        self.host = host
        self.function = function
    }

    /// Runs on the C trampoline: decode, dispatch to Swift, encode; never calls into Lua.
    static func invoke(
        context: UnsafeMutableRawPointer?, args: UnsafePointer<CChar>?, length: Int,
        out: UnsafeMutablePointer<clh_bytes>?
    ) -> Int32 {
        guard let context, let out else { return Int32(CLH_HOST_ERROR) }
        let box = Unmanaged<HostBox>.fromOpaque(context).takeUnretainedValue()
        let values =
            (try? LuaCodec.decode(UnsafeRawBufferPointer(start: args, count: length))) ?? []
        let outcome = box.host.invoke(box.function, values)
        let result: [LuaValue]
        let code: Int32
        switch outcome {
        case .values(let values):
            result = values
            code = Int32(CLH_HOST_RETURN)
        case .error(let message):
            result = [.text(message)]
            code = Int32(CLH_HOST_ERROR)
        case .yield:
            return Int32(CLH_HOST_YIELD)
        }
        let bytes = LuaCodec.encode(result)
        guard let buffer = clh_alloc_bytes(bytes.count) else { return Int32(CLH_HOST_ERROR) }
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawPointer(buffer).copyMemory(
                from: source.baseAddress!, byteCount: bytes.count)
        }
        out.pointee = clh_bytes(data: buffer, len: bytes.count)
        return code
    }
}
