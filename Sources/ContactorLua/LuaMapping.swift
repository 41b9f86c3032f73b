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
        let results: MapResults
        do {
            results = try await runtime.call(
                "map", arguments: 1,
                { writer in
                    // Every column in order: the bridge sets them one after the other, so a
                    // repeated name keeps its last value.
                    writer.writeMapHeader(count: record.columns.count)
                    for column in record.columns {
                        writer.write(column.name)
                        writer.write(column.value)
                    }
                }, decode: MapResults.decode)
        } catch {
            throw runtime.pluginError(error, doing: "map (line \(record.line))")
        }
        let values: [LuaValue]
        switch results {
        case .draft(let draft): return draft
        case .values(let generic): values = generic
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

    /// The keys a contact table may have.
    private static let knownKeys = Set(Contact.standardFieldNames + ["fields", "region", "type"])

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
        let known = Self.knownKeys
        if table.keys.contains(where: { !known.contains($0) }),
            let unknown = table.keys.sorted().first(where: { !known.contains($0) })
        {
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
            values = try await runtime.call(
                "validate", arguments: 1, { contact.writeLua(into: &$0) },
                decode: LuaCodec.decode)
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

/// What `map` returned, read straight from the bridge's encoding.
///
/// The common case, a contact table whose keys are standard fields with string (or
/// integer) values and an optional `fields` table, becomes a ``ContactDraft`` without
/// building ``LuaValue`` trees. Anything else (a rejection, an unknown key, a value of
/// the wrong type, no phone) is decoded generically, so that its handling and messages
/// stay those of `LuaMapping.draft(from:)`.
enum MapResults {
    case draft(ContactDraft)
    case values([LuaValue])

    static func decode(_ buffer: UnsafeRawBufferPointer) throws(LuaCodec.Malformed) -> MapResults {
        var reader = DraftReader(buffer: buffer)
        if let draft = reader.read() { return .draft(draft) }
        return .values(try LuaCodec.decode(buffer))
    }
}

/// Reads a contact table in the bridge's encoding; `nil` whenever the fast path does not
/// apply.
private struct DraftReader {
    let buffer: UnsafeRawBufferPointer
    var offset = 0

    mutating func byte() -> UInt8? {
        guard offset < buffer.count else { return nil }
        defer { offset += 1 }
        return buffer[offset]
    }

    mutating func u64() -> UInt64? {
        guard offset + 8 <= buffer.count else { return nil }
        defer { offset += 8 }
        return buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }

    /// The body of a string (after its tag), if it is valid UTF-8.
    mutating func stringBody() -> String? {
        guard let length = u64(), length <= UInt64(buffer.count - offset) else { return nil }
        let start = offset
        offset += Int(length)
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<offset])
            .assumingMemoryBound(to: UInt8.self)
        // ASCII needs no validation, and String(decoding:) takes it at memcpy speed;
        // anything else is validated (invalid UTF-8 goes to the generic path).
        var ascii: UInt8 = 0
        for byte in bytes { ascii |= byte }
        if ascii < 0x80 { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }

    /// A field value: `.some(nil)` for nil, the text of a string or integer; `nil` for
    /// anything else.
    mutating func text(booleans: Bool = false) -> String?? {
        switch byte() {
        case 0: return .some(nil)
        case 1 where booleans: return "false"
        case 2 where booleans: return "true"
        case 3: return u64().map { String(Int64(bitPattern: $0)) }
        case 5: return stringBody().map { $0 }
        default: return nil
        }
    }

    /// The standard keys of a contact table.
    enum Key {
        case phone, firstName, lastName, email, birthday, civility, fields
    }

    /// The body of a string that is one of the contact table's keys, compared as bytes
    /// (no `String` is made); `nil` for any other string.
    mutating func key() -> Key? {
        guard let length = u64(), length <= UInt64(buffer.count - offset) else { return nil }
        let start = offset
        offset += Int(length)
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<offset])
        func matches(_ name: StaticString) -> Bool {
            name.utf8CodeUnitCount == bytes.count
                && memcmp(name.utf8Start, bytes.baseAddress!, bytes.count) == 0
        }
        switch bytes.count {
        case 5: return matches("phone") ? .phone : matches("email") ? .email : nil
        case 6: return matches("fields") ? .fields : nil
        case 8: return matches("birthday") ? .birthday : matches("civility") ? .civility : nil
        case 9: return matches("last_name") ? .lastName : nil
        case 10: return matches("first_name") ? .firstName : nil
        default: return nil
        }
    }

    mutating func read() -> ContactDraft? {
        guard let count = u64(), count >= 1, byte() == 7, let members = u64() else { return nil }
        var draft = ContactDraft(phone: "")
        for _ in 0..<members {
            guard byte() == 5, let key = key() else { return nil }
            if key == .fields {
                switch byte() {
                case 0: continue
                case 6, 7:
                    guard let fields = u64() else { return nil }
                    if fields > 0 && buffer[offset - 9] == 6 { return nil }
                    for _ in 0..<fields {
                        guard byte() == 5, let name = stringBody(), let value = text(booleans: true)
                        else { return nil }
                        if let value { draft.fields[name] = value }
                    }
                    continue
                default: return nil
                }
            }
            guard let value = text() else { return nil }
            switch key {
            case .phone: draft.phone = value ?? ""
            case .firstName: draft.firstName = value
            case .lastName: draft.lastName = value
            case .email: draft.email = value
            case .birthday: draft.birthday = value
            case .civility: draft.civility = value
            case .fields: return nil
            }
        }
        return draft.phone.isEmpty ? nil : draft
    }
}
