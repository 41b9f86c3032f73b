import Contactor
import Foundation

/// A record mapper written in Lua: a plugin with `kind = "mapping"`.
///
/// `map(row)` gets the record's columns as a table of strings and returns a contact table
/// (`{ phone = ..., first_name = ..., fields = { ... } }`) or `nil, "reason"`, which
/// rejects the record with `validation_failed`. An optional
/// `payload(provider, contact, payload)` becomes ``payloadHook``.
public struct LuaMapping: RecordMapper {
    /// The mapping's name.
    public var name: String { runtime.name }
    /// The plugin file.
    public var file: URL { runtime.file }
    /// Whether the plugin has a `payload` function.
    public let hasPayload: Bool
    let runtime: LuaPluginRuntime

    init(runtime: LuaPluginRuntime, hasPayload: Bool) {
        self.runtime = runtime
        self.hasPayload = hasPayload
    }

    public func map(_ record: InputRecord) async throws -> ContactDraft {
        var row: [String: LuaValue] = [:]
        for column in record.columns { row[column.name] = .text(column.value) }
        let values: [LuaValue]
        do {
            values = try await runtime.call("map", [.record(row)])
        } catch {
            throw runtime.pluginError(error, doing: "map (line \(record.line))")
        }
        let first = values.first ?? .nil
        if first.isNil || first == .boolean(false) {
            let reason =
                values.dropFirst().first?.stringValue ?? "the mapping \(name) rejected the row"
            throw ContactError(.validationFailed, reason)
        }
        return try draft(from: first)
    }

    /// The mapping's `payload` function as a ``PayloadHook``, or `nil` when it has none.
    public var payloadHook: PayloadHook? {
        guard hasPayload else { return nil }
        let runtime = self.runtime
        return { provider, contact, payload in
            let values: [LuaValue]
            do throws(LuaFailure) {
                values = try await runtime.run(
                    "payload",
                    [.integer(1), .text(provider), contact.luaValue, .text(payload.jsonText)])
            } catch {
                throw runtime.pluginError(error, doing: "payload")
            }
            guard let text = values.first?.bytesValue,
                let json = try? JSONValue.decode(Data(text))
            else {
                throw runtime.malformed("did not return a JSON-encodable payload", in: "payload")
            }
            return json
        }
    }

    private func draft(from value: LuaValue) throws(ContactError) -> ContactDraft {
        guard let table = value.stringMap else {
            throw runtime.malformed(
                "must return a contact table or nil, \"reason\"; it returned \(value.shortDescription)",
                in: "map")
        }
        func field(_ key: String) throws(ContactError) -> String? {
            guard let element = table[key], !element.isNil else { return nil }
            switch element {
            case .string:
                guard let text = element.stringValue else {
                    throw runtime.malformed("returned \(key) that is not valid UTF-8", in: "map")
                }
                return text
            case .integer(let number): return String(number)
            default:
                throw runtime.malformed(
                    "returned \(key) = \(element.shortDescription); expected a string", in: "map")
            }
        }
        let known = Set(Contact.standardFieldNames + ["fields", "region", "type"])
        if let unknown = table.keys.sorted().first(where: { !known.contains($0) }) {
            throw runtime.malformed(
                "returned an unknown key '\(unknown)' (put custom fields in fields = { ... })",
                in: "map")
        }
        guard let phone = try field("phone"), !phone.isEmpty else {
            throw ContactError(
                .missingField, "the mapping \(name) returned no phone", field: "phone")
        }
        var fields: [String: String] = [:]
        if let fieldsValue = table["fields"], !fieldsValue.isNil {
            guard let map = fieldsValue.stringMap else {
                throw runtime.malformed("returned fields that is not a table of names", in: "map")
            }
            for (key, element) in map {
                switch element {
                case .string:
                    guard let text = element.stringValue else {
                        throw runtime.malformed(
                            "returned field \(key) that is not valid UTF-8", in: "map")
                    }
                    fields[key] = text
                case .integer(let number): fields[key] = String(number)
                case .boolean(let flag): fields[key] = String(flag)
                default:
                    throw runtime.malformed(
                        "returned field \(key) = \(element.shortDescription); expected a string",
                        in: "map")
                }
            }
        }
        return ContactDraft(
            phone: phone, firstName: try field("first_name"), lastName: try field("last_name"),
            email: try field("email"), birthday: try field("birthday"),
            civility: try field("civility"), fields: fields)
    }
}

/// A contact validator written in Lua: a plugin with `kind = "validator"`.
///
/// `validate(contact)` returns `true` to accept, or `false, "reason"` to reject the
/// contact with `validation_failed`.
public struct LuaValidator: ContactValidator {
    /// The validator's name, as given to `--validator`.
    public var name: String { runtime.name }
    /// The plugin file.
    public var file: URL { runtime.file }
    let runtime: LuaPluginRuntime

    init(runtime: LuaPluginRuntime) { self.runtime = runtime }

    public func validate(_ contact: Contact) async throws -> ContactError? {
        let values: [LuaValue]
        do {
            values = try await runtime.call("validate", [contact.luaValue])
        } catch {
            throw runtime.pluginError(error, doing: "validate")
        }
        switch values.first ?? .nil {
        case .boolean(true): return nil
        case .boolean(false), .nil:
            let reason =
                values.dropFirst().first?.stringValue ?? "rejected by validator \(name)"
            return ContactError(.validationFailed, reason, field: nil)
        default:
            throw runtime.malformed(
                "must return true, or false and a reason; it returned \(values.first?.shortDescription ?? "nothing")",
                in: "validate")
        }
    }
}
