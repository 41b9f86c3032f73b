import Contactor
import Foundation
import Logging

/// A contact provider written in Lua: a plugin with `kind = "provider"`.
///
/// Each call runs the plugin's `add`, `delete`, `update` or `list` in a coroutine on a Lua
/// state that no other call uses meanwhile (concurrent calls get their own states from a pool), so one
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

    /// Reads one page of `list` with the plugin's `list(ctx, list, page)`: `page` is
    /// `cursor` (`nil` for the first page), and the plugin returns
    /// `{ contacts = { { phone = ..., first_name = ..., id = ... }, ... }, next = ... }`.
    ///
    /// - Throws: `unsupported_operation` when the plugin has no `list`; a `plugin_error`
    ///   naming the file and line of `list` when it fails or returns another shape; and
    ///   what its `ctx.http` calls throw (transient for 408, 429, 5xx and transport
    ///   failures), as for ``add(_:to:context:)``.
    public func list(
        _ list: String, cursor: String?, context: ProviderContext
    ) async throws -> ContactPage {
        let name = descriptor.name
        guard descriptor.supports(.list) else { throw unsupported(.list) }
        let (ctxinfo, callContext) = callInfo(.list, list: list, context: context)
        let redactor = context.request.redactor
        let values: [LuaValue]
        do {
            values = try await runtime.call(
                "list", ctx: ctxinfo, [.text(list), cursor.map { .text($0) } ?? .nil],
                context: callContext)
        } catch {
            if let structured = Self.structuredError(error, redactor: redactor) {
                throw structured.attributed(to: name, operation: .list)
            }
            if let transport = error.transportError, error.kind == .runtime {
                throw transport.attributed(to: name, operation: .list)
            }
            throw runtime.pluginError(
                error, doing: "list", redactor: redactor, provider: name, operation: .list)
        }
        switch page(from: values.first ?? .nil) {
        case .success(let page): return page
        case .failure(let error): throw error
        }
    }

    /// The page `list` returned, checked strictly.
    private func page(from value: LuaValue) -> Result<ContactPage, ContactError> {
        let name = descriptor.name
        let line = PluginKeys.line(of: "list", in: runtime.source).map { ":\($0)" } ?? ""
        func bad(_ problem: String) -> Result<ContactPage, ContactError> {
            .failure(
                ContactError(
                    .pluginError,
                    "plugin \(name) (\(runtime.displayPath)\(line)): list \(problem)",
                    provider: name, operation: .list))
        }
        guard let table = value.stringMap, value.typeName == "table" else {
            return bad(
                "must return a table { contacts = { ... }, next = ... }; it returned "
                    + value.shortDescription)
        }
        if let unknown = table.keys.sorted().first(where: { !PluginKeys.listPage.contains($0) }) {
            return bad(
                "returned a page with "
                    + PluginKeys.unknownKey(unknown, known: PluginKeys.listPage))
        }
        var next: String?
        switch table["next"] ?? .nil {
        case .nil: next = nil
        case .integer(let number): next = String(number)
        case .string:
            guard let text = table["next"]?.stringValue else {
                return bad("returned a next that is not valid UTF-8")
            }
            next = text.isEmpty ? nil : text
        case let other:
            return bad(
                "returned next = \(other.shortDescription); expected a string, an integer or nil")
        }
        guard let contactsValue = table["contacts"], !contactsValue.isNil else {
            return bad("returned a page without contacts (use contacts = {} for an empty page)")
        }
        guard let items = contactsValue.arrayValue else {
            return bad("returned contacts that is not a list of contact tables")
        }
        var contacts: [ContactDraft] = []
        for (index, item) in items.enumerated() {
            let position = "contact \(index + 1)"
            guard let contact = item.stringMap, item.typeName == "table" else {
                return bad(
                    "returned \(position) = \(item.shortDescription); expected a table { phone = ... }"
                )
            }
            if let unknown = contact.keys.sorted().first(where: {
                !PluginKeys.listContact.contains($0)
            }) {
                return bad(
                    "returned \(position) with "
                        + PluginKeys.unknownKey(unknown, known: PluginKeys.listContact)
                        + " (put custom fields in fields = { ... })")
            }
            var failure: String?
            func text(_ key: String, _ element: LuaValue?) -> String? {
                switch element ?? .nil {
                case .nil: return nil
                case .integer(let number): return String(number)
                case .string:
                    if let value = element?.stringValue { return value }
                    failure = "\(position) has \(key) that is not valid UTF-8"
                    return nil
                case let other:
                    failure =
                        "\(position) has \(key) = \(other.shortDescription); expected a string"
                    return nil
                }
            }
            let phone = text("phone", contact["phone"])
            var draft = ContactDraft(
                phone: phone ?? "", firstName: text("first_name", contact["first_name"]),
                lastName: text("last_name", contact["last_name"]),
                email: text("email", contact["email"]),
                birthday: text("birthday", contact["birthday"]),
                civility: text("civility", contact["civility"]),
                providerID: text("id", contact["id"]))
            if let fieldsValue = contact["fields"], !fieldsValue.isNil {
                guard let map = fieldsValue.stringMap, fieldsValue.typeName == "table" else {
                    return bad("returned \(position) with fields that is not a table of names")
                }
                for key in map.keys.sorted() {
                    draft.fields[key] = text("field \(key)", map[key])
                }
            }
            if let failure { return bad("returned \(failure)") }
            guard phone?.isEmpty == false else {
                return bad("returned \(position) without a phone")
            }
            contacts.append(draft)
        }
        return .success(ContactPage(contacts: contacts, next: next))
    }

    /// The `ctx` table and the call context of one call for `operation` on `list`.
    private func callInfo(
        _ operation: ContactOperation, list: String, context: ProviderContext
    ) -> (LuaValue, LuaCallContext) {
        let name = descriptor.name
        var credentials: [String: LuaValue] = [:]
        for key in descriptor.credentialKeys {
            credentials[key] = .text(context.credentials[key] ?? "")
        }
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
            redactor: context.request.redactor, plugin: name)
        return (ctxinfo, callContext)
    }

    private func perform(
        _ operation: ContactOperation, _ batch: [Contact], list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        let name = descriptor.name
        guard descriptor.supports(operation) else { throw unsupported(operation) }
        if batch.isEmpty { return [] }
        let (ctxinfo, callContext) = callInfo(operation, list: list, context: context)
        let redactor = context.request.redactor
        let values: [LuaValue]
        do {
            values = try await runtime.call(
                operation.rawValue, ctx: ctxinfo, [.text(list), .array(batch.map(\.luaValue))],
                context: callContext)
        } catch {
            let unrepeatable = callContext.sentUnrepeatable.withLock { $0 }
            var thrown: ContactError?
            if let structured = Self.structuredError(error, redactor: redactor) {
                thrown = structured.attributed(to: name, operation: operation)
            } else if let transport = error.transportError, error.kind == .runtime {
                thrown = transport.attributed(to: name, operation: operation)
            }
            if let thrown {
                // A call that sent a request with retry = false is not run again: neither
                // retried (transient) nor split (any other thrown error), so each contact
                // ends failed; errors that stop the run still do.
                guard unrepeatable, !Self.runStoppingCodes.contains(thrown.code) else {
                    throw thrown
                }
                return Array(repeating: .failed(Self.notRepeated(thrown)), count: batch.count)
            }
            let pluginError = runtime.pluginError(
                error, doing: operation.rawValue, redactor: redactor, provider: name,
                operation: operation)
            return Array(repeating: .failed(pluginError), count: batch.count)
        }
        switch results(from: values.first ?? .nil, count: batch.count, operation: operation) {
        case .success(let results):
            guard callContext.sentUnrepeatable.withLock({ $0 }) else { return results }
            return results.map { result in
                guard result.status == .failed, let error = result.error, error.isTransient else {
                    return result
                }
                return ContactResult(
                    status: .failed, id: result.id, error: Self.notRepeated(error))
            }
        case .failure(let error):
            return Array(repeating: .failed(error), count: batch.count)
        }
    }

    /// The codes of a thrown error that stop the whole run (the engine's stop codes).
    static let runStoppingCodes: Set<ContactError.Code> = [
        .authFailed, .listNotFound, .unsupportedOperation,
    ]

    /// `error`, final, saying why it is not retried.
    static func notRepeated(_ error: ContactError) -> ContactError {
        error.final().appending(" (not retried: the call sent a request with retry = false)")
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
                let fallback: ContactError.Code =
                    operation == .add ? .alreadyInList : .notInList
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
