import Contactor
import Foundation
import HTTPTypes
import Logging

/// The Swift side of the host functions scripts reach (through the sandbox prelude).
///
/// Confined to its ``LuaState``: used only by the task running a call on that state.
final class LuaHost {
    /// The host functions, by their name in the prelude's `host` table.
    enum Function: String, CaseIterable {
        case log
        case http
        case phone
        case readModule = "read_module"
        case unknownKey = "unknown_key"
    }

    /// What the trampoline does after a host function returned.
    enum Outcome {
        case values([LuaValue])
        case error(String)
        case yield
    }

    let modulePaths: [URL]
    let logger: Logger
    private var context: LuaCallContext?
    private var pending: LuaHTTP.Outgoing?
    private(set) var lastTransportError: ContactError?

    init(modulePaths: [URL], logger: Logger) {
        self.modulePaths = modulePaths
        self.logger = logger
    }

    func begin(_ context: LuaCallContext?) {
        self.context = context
        pending = nil
        lastTransportError = nil
    }

    func end() {
        context = nil
        pending = nil
    }

    func takePending() -> LuaHTTP.Outgoing? {
        defer { pending = nil }
        return pending
    }

    func invoke(_ function: Function, _ args: [LuaValue]) -> Outcome {
        switch function {
        case .log: return log(args)
        case .http: return http(args)
        case .phone: return phone(args)
        case .readModule: return readModule(args)
        case .unknownKey: return unknownKey(args)
        }
    }

    // MARK: unknown keys

    /// `unknown_key(table, key)`: "an unknown key `key` (did you mean `...`?)" for a key the
    /// prelude found in a table (`result`, `pages`) that has no such key.
    private func unknownKey(_ args: [LuaValue]) -> Outcome {
        let table = args.first?.stringValue ?? ""
        let key = args.dropFirst().first?.stringValue ?? "?"
        return .values([
            .text(PluginKeys.unknownKey(key, known: PluginKeys.table(named: table) ?? []))
        ])
    }

    // MARK: log

    /// The longest log line a script may write, in bytes (after redaction).
    static let logLineLimit = 8000

    /// `log(level, text)`: one line at `level` on the call's logger (the provider context's
    /// during a provider call), with metadata `plugin`, credentials redacted first.
    private func log(_ args: [LuaValue]) -> Outcome {
        let level = args.first?.stringValue.flatMap(Logger.Level.init(rawValue:)) ?? .info
        let target = context?.logger ?? logger
        // No redaction work for a line nobody will see.
        guard target.logLevel <= level else { return .values([]) }
        let bytes = args.dropFirst().first?.bytesValue ?? []
        var text = String(decoding: bytes, as: UTF8.self)
        if let redactor = context?.redactor { text = redactor.redact(text) }
        if text.utf8.count > Self.logLineLimit {
            text = String(decoding: text.utf8.prefix(Self.logLineLimit), as: UTF8.self) + "..."
        }
        let plugin = context?.plugin ?? "lua"
        target.log(level: level, "\(text)", metadata: ["plugin": "\(plugin)"])
        return .values([])
    }

    // MARK: phone

    private func phone(_ args: [LuaValue]) -> Outcome {
        guard let text = args.first?.stringValue else {
            return .values([.nil, .text("phone.parse expects a string")])
        }
        let region = args.dropFirst().first?.stringValue
        do throws(ContactError) {
            let number = try PhoneNumber(parsing: text, defaultRegion: region)
            var members: [String: LuaValue] = [
                "e164": .text(number.e164), "type": .text(number.type.rawValue),
                "country_code": .integer(Int64(number.countryCode)),
            ]
            if let region = number.region { members["region"] = .text(region) }
            return .values([.record(members)])
        } catch {
            return .values([.nil, .text(error.message)])
        }
    }

    // MARK: require

    private func readModule(_ args: [LuaValue]) -> Outcome {
        guard let name = args.first?.stringValue,
            name.wholeMatch(of: /[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*/) != nil
        else {
            return .values([
                .nil,
                .text(
                    "require: invalid module name \(args.first?.shortDescription ?? "nil") "
                        + "(use letters, digits, _ and dots)"),
            ])
        }
        let relative = name.replacingOccurrences(of: ".", with: "/") + ".lua"
        for directory in modulePaths {
            for folder in [directory, directory.appendingPathComponent("lib")] {
                let file = folder.appendingPathComponent(relative)
                if let data = FileManager.default.contents(atPath: file.path) {
                    return .values([.string(Array(data)), .text("@" + file.path)])
                }
            }
        }
        let places =
            modulePaths.isEmpty
            ? "no plugin directory is configured"
            : "searched \(modulePaths.map { $0.path + "/" + relative }.joined(separator: ", "))"
        return .values([
            .nil, .text("module '\(name)' not found in the plugin directories: \(places)"),
        ])
    }

    // MARK: http

    private func http(_ args: [LuaValue]) -> Outcome {
        guard let context, context.http != nil else {
            return .values([.boolean(false), .text("ctx.http is not available here")])
        }
        switch LuaHTTP.request(from: args.first ?? .nil, allowedOrigins: context.allowedOrigins) {
        case .success(let request):
            pending = request
            return .yield
        case .failure(let message):
            return .values([.boolean(false), .text(message.text)])
        }
    }

    /// Sends the request a script yielded on, and returns the values `host.http` returns
    /// to the script: `true, response` or `false, message`.
    ///
    /// A 408, 429 or 5xx answer is not handed to the script unless the request said
    /// `retry = false`: it fails the call with a transient error (``lastTransportError``)
    /// that the provider rethrows, so that the engine retries the batch exactly as it
    /// retries a built-in adapter's. A request with `retry = false` marks the call
    /// (``LuaCallContext/sentUnrepeatable``): ``LuaProvider`` then never lets the engine run
    /// it again.
    func perform(_ request: LuaHTTP.Outgoing) async -> [LuaValue] {
        guard let context, let http = context.http else {
            return [.boolean(false), .text("ctx.http is not available here")]
        }
        let target =
            "\(request.head.method.rawValue) \(LuaHTTP.origin(of: request.url) ?? "?")\(request.url.path)"
        if !request.retries { context.sentUnrepeatable.withLock { $0 = true } }
        do {
            let (response, body) = try await http.send(
                request.head, body: request.body, timeout: request.timeout)
            let status = response.status.code
            if request.retries, LuaHTTP.isTransient(status) {
                let retryAfter = response.headerFields[.retryAfter].flatMap { RetryAfter.parse($0) }
                let error = ContactError(
                    status == 429 ? .rateLimited : .providerError,
                    context.redactor.quote("\(target) answered HTTP \(status)"),
                    provider: context.plugin, isTransient: true, retryAfter: retryAfter)
                lastTransportError = error
                return [.boolean(false), .text(error.message)]
            }
            return [.boolean(true), LuaHTTP.value(of: response, body: body)]
        } catch {
            let contactError =
                (error as? ContactError)
                ?? ContactError(.transportError, "the request failed", isTransient: true)
            lastTransportError = contactError
            let message = context.redactor.quote(
                "\(target) failed: \(contactError.code): \(contactError.message)")
            return [.boolean(false), .text(message)]
        }
    }
}
