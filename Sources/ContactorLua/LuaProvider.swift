import Contactor
import Foundation
import Logging

/// A contact provider written in Lua: a plugin with `kind = "provider"`.
///
/// Each call runs the plugin's `add` or `delete` in a coroutine on a Lua state that no
/// other call uses meanwhile (concurrent calls get their own states from a pool), so one
/// `LuaProvider` can serve many tasks at once. `ctx.http.request` goes through
/// `context.transport` and may reach only the origins of `context.endpoint` and of the
/// plugin's `hosts`.
public struct LuaProvider: ContactProvider {
    /// What the plugin declared: name, credentials, endpoint, region, batch sizes,
    /// operations (those of `add`/`delete` that are functions).
    public let descriptor: ProviderDescriptor
    /// The plugin file.
    public var file: URL { runtime.file }
    /// The extra origins (`https://host[:port]`) `ctx.http` may reach besides the endpoint.
    public let extraOrigins: [String]
    /// Whether the plugin accepts any custom field (it declared no `custom_fields`).
    public let acceptsAnyCustomField: Bool
    let runtime: LuaPluginRuntime

    init(
        descriptor: ProviderDescriptor, extraOrigins: [String], acceptsAnyCustomField: Bool,
        runtime: LuaPluginRuntime
    ) {
        self.descriptor = descriptor
        self.extraOrigins = extraOrigins
        self.acceptsAnyCustomField = acceptsAnyCustomField
        self.runtime = runtime
    }

    public func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws
        -> [ContactResult]
    {
        try await perform(.add, batch, list: list, context: context)
    }

    public func delete(
        _ batch: [Contact], from list: String, context: ProviderContext
    )
        async throws -> [ContactResult]
    {
        try await perform(.delete, batch, list: list, context: context)
    }

    public func update(
        _ batch: [Contact], in list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        try await perform(.update, batch, list: list, context: context)
    }

    private func perform(
        _ operation: ContactOperation, _ batch: [Contact], list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        let name = descriptor.name
        guard descriptor.supports(operation) else { throw unsupported(operation) }
        if batch.isEmpty { return [] }
        var credentials: [String: LuaValue] = [:]
        for key in descriptor.credentialKeys {
            credentials[key] = .text(context.credentials[key] ?? "")
        }
        let redactor = context.request.redactor
        var endpoint = context.endpoint.absoluteString
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        var origins: [String] = []
        if let origin = LuaHTTP.origin(of: context.endpoint) { origins.append(origin) }
        origins += extraOrigins
        let ctxinfo = LuaValue.record([
            "credentials": .record(credentials),
            "endpoint": .text(endpoint),
            "list": .text(list),
            "operation": .text(operation.rawValue),
            "provider": .text(name),
            "options": .record(context.options.mapValues { .text($0) }),
            "dry_run": .boolean(context.isDryRun),
        ])
        let callContext = LuaCallContext(
            http: context, allowedOrigins: origins, logger: context.logger,
            redactor: redactor, plugin: name)
        let values: [LuaValue]
        do {
            values = try await runtime.call(
                operation.rawValue, ctx: ctxinfo, [.text(list), .array(batch.map(\.luaValue))],
                context: callContext)
        } catch {
            if let structured = Self.structuredError(error, redactor: redactor) {
                throw structured.attributed(to: name, operation: operation)
            }
            if let transport = error.transportError, error.kind == .runtime {
                throw transport.attributed(to: name, operation: operation)
            }
            let pluginError = runtime.pluginError(
                error, doing: operation.rawValue, redactor: redactor, provider: name,
                operation: operation)
            return Array(repeating: .failed(pluginError), count: batch.count)
        }
        switch results(from: values.first ?? .nil, count: batch.count, operation: operation) {
        case .success(let results): return results
        case .failure(let error):
            return Array(repeating: .failed(error), count: batch.count)
        }
    }

    private static func text(_ value: LuaValue) -> String? {
        switch value {
        case .string: value.stringValue
        case .integer(let number): String(number)
        default: nil
        }
    }

    private func results(
        from value: LuaValue, count: Int, operation: ContactOperation
    )
        -> Result<[ContactResult], ContactError>
    {
        let name = descriptor.name
        let what = "\(operation)"
        func bad(_ problem: String) -> Result<[ContactResult], ContactError> {
            .failure(runtime.malformed(problem, in: what, provider: name, operation: operation))
        }
        guard let items = value.arrayValue else {
            return bad(
                "must return a list of results, one per contact; it returned \(value.typeName == "table" ? "a table that is not a list" : value.shortDescription)"
            )
        }
        guard items.count == count else {
            return bad(
                "returned \(items.count) result\(items.count == 1 ? "" : "s") for \(count) contact\(count == 1 ? "" : "s")"
            )
        }
        var results: [ContactResult] = []
        for (index, item) in items.enumerated() {
            let position = "result \(index + 1)"
            guard let table = item.stringMap else {
                return bad(
                    "\(position) must be a table { status = ... }, got \(item.shortDescription)")
            }
            guard let statusText = table["status"]?.stringValue,
                let status = ContactResult.Status(rawValue: statusText), status != .valid
            else {
                return bad(
                    "\(position) has status \(table["status"]?.shortDescription ?? "nil"); expected one of "
                        + ContactResult.Status.allCases.filter { $0 != .valid }.map(\.rawValue)
                        .joined(separator: ", "))
            }
            var id: String?
            if let idValue = table["id"], !idValue.isNil {
                guard let text = Self.text(idValue) else {
                    return bad("\(position) has an id that is not a string or integer")
                }
                id = text
            }
            var providerCode: String?
            if let codeValue = table["provider_code"], !codeValue.isNil {
                guard let text = Self.text(codeValue) else {
                    return bad("\(position) has a provider_code that is not a string or integer")
                }
                providerCode = text
            }
            if let message = table["message"], !message.isNil, message.stringValue == nil {
                return bad("\(position) has a message that is not a string")
            }
            var error: ContactError?
            if let codeValue = table["error"], !codeValue.isNil {
                guard let codeText = codeValue.stringValue,
                    let code = ContactError.Code(rawValue: codeText)
                else {
                    return bad(
                        "\(position) has error \(codeValue.shortDescription), which is not one of Contactor's error codes"
                    )
                }
                error = ContactError(
                    code, table["message"]?.stringValue ?? "\(name) reported \(codeText)",
                    providerCode: providerCode, provider: name, operation: operation,
                    isTransient: table["transient"] == .boolean(true))
            }
            switch status {
            case .added, .updated, .deleted:
                results.append(ContactResult(status: status, id: id))
            case .skipped:
                let fallback: ContactError.Code = operation == .delete ? .notInList : .alreadyInList
                results.append(
                    .skipped(
                        error
                            ?? ContactError(
                                fallback, table["message"]?.stringValue ?? "nothing to do",
                                providerCode: providerCode, provider: name, operation: operation),
                        id: id))
            case .rejected, .failed, .valid:
                guard let error else {
                    return bad(
                        "\(position) is \(statusText) but has no error code (error = \"...\")")
                }
                results.append(ContactResult(status: status, id: id, error: error))
            }
        }
        return .success(results)
    }
}
