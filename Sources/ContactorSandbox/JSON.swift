import Foundation

/// A JSON value as the emulators read and write it.
///
/// Equality is JSON's: object members in any order, `1` equal to `1.0`.
///
/// Reading keeps JSON's own types apart (a `true` is not a `1`, a `"5"` is not a `5`) so
/// that the emulators can refuse a field sent with the wrong type; writing keeps object
/// keys in the order they were given, so answers read like the providers' examples.
enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): Double(a) == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            // JSON objects are unordered: same keys, equal values.
            a.count == b.count
                && a.allSatisfy { key, value in b.contains { $0.0 == key && $0.1 == value } }
        default: false
        }
    }

    /// Parses a request body; `nil` when it is not JSON.
    static func parse(_ bytes: [UInt8]) -> JSON? {
        guard !bytes.isEmpty else { return nil }
        return try? JSONDecoder().decode(DecodedJSON.self, from: Data(bytes)).value
    }

    /// The members of an object, `nil` for any other value.
    var objectMembers: [(String, JSON)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The value's JSON type name, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The UTF-8 text of the value.
    var serialized: [UInt8] {
        var out = ""
        write(to: &out)
        return Array(out.utf8)
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value): out += value.isFinite ? String(value) : "null"
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(c.value, radix: 16).count)
                    + String(c.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSON {
    /// A string, or `null` when absent.
    static func optional(_ value: String?) -> JSON { value.map { .string($0) } ?? .null }
}

/// Decodes any JSON document into ``JSON`` without losing the difference between types.
private struct DecodedJSON: Decodable {
    let value: JSON

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            var members: [(String, JSON)] = []
            for key in keyed.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                members.append(
                    (key.stringValue, try keyed.decode(DecodedJSON.self, forKey: key).value))
            }
            value = .object(members)
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var values: [JSON] = []
            while !unkeyed.isAtEnd { values.append(try unkeyed.decode(DecodedJSON.self).value) }
            value = .array(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            value = .null
        } else if let bool = try? single.decode(Bool.self) {
            value = .bool(bool)
        } else if let int = try? single.decode(Int.self) {
            value = .int(int)
        } else if let double = try? single.decode(Double.self) {
            value = .double(double)
        } else {
            value = .string(try single.decode(String.self))
        }
    }
}

/// A wrong field in a JSON request: its message names the field and what was expected.
struct FieldError: Error {
    let message: String
    /// A short name of the kind of error, for providers whose error bodies carry one.
    let code: String
    init(_ message: String, code: String = "invalid_request") {
        self.message = message
        self.code = code
    }
}

/// Typed reads from a JSON object, refusing values of the wrong JSON type.
struct JSONObject {
    let members: [String: JSON]
    /// Prefix for messages (`contacts[2].`).
    let path: String

    init?(_ value: JSON, path: String = "") {
        guard let pairs = value.objectMembers else { return nil }
        members = Dictionary(pairs, uniquingKeysWith: { _, last in last })
        self.path = path
    }

    /// The first key (alphabetically) not in `allowed`.
    func unknownKey(allowed: Set<String>) -> String? {
        members.keys.sorted().first { !allowed.contains($0) }
    }

    func has(_ key: String) -> Bool { members[key] != nil }

    /// A string field; `nil` when absent or `null`.
    func string(_ key: String) throws(FieldError) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?:
            throw FieldError("'\(path)\(key)' must be a string, not a \(other.typeName)")
        }
    }

    /// A boolean field; `nil` when absent or `null`.
    func bool(_ key: String) throws(FieldError) -> Bool? {
        switch members[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?:
            throw FieldError("'\(path)\(key)' must be a boolean, not a \(other.typeName)")
        }
    }

    /// An id sent as a JSON integer or as a string of digits; `nil` when absent or `null`.
    func identifier(_ key: String) throws(FieldError) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .int(let value)?: return String(value)
        case .string(let value)?: return value
        case let other?:
            throw FieldError(
                "'\(path)\(key)' must be a string or an integer, not a \(other.typeName)")
        }
    }
}
