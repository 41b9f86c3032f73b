import Foundation

/// A Lua value copied out of (or into) a Lua state, as plain Swift data.
///
/// Strings are bytes: Lua strings may hold NULs and invalid UTF-8, and both survive the
/// bridge. Tables whose keys are exactly `1...n` are arrays; every other table is a map.
/// An empty table reads as an empty array. Functions, userdata and threads cannot leave
/// Lua; they read as ``opaque(_:)`` with their type name and are written back as `nil`.
enum LuaValue: Hashable, Sendable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string([UInt8])
    case array([LuaValue])
    case map([LuaValue: LuaValue])
    case opaque(String)

    /// A string value from Swift text (UTF-8).
    static func text(_ value: String) -> LuaValue { .string(Array(value.utf8)) }

    /// A map with string keys.
    static func record(_ members: [String: LuaValue]) -> LuaValue {
        .map(Dictionary(uniqueKeysWithValues: members.map { (LuaValue.text($0.key), $0.value) }))
    }

    /// The string as Swift text when it is valid UTF-8, else `nil`; also `nil` for non-strings.
    var stringValue: String? {
        guard case .string(let bytes) = self else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The bytes of a string.
    var bytesValue: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    /// The integer, also from a float with an integral value.
    var integerValue: Int64? {
        switch self {
        case .integer(let value): value
        case .number(let value) where value == value.rounded() && abs(value) < 9e18: Int64(value)
        default: nil
        }
    }

    /// The number as a `Double`.
    var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    var isNil: Bool { self == .nil }

    /// The member `key` of a map (string key), `nil` otherwise or when absent.
    subscript(key: String) -> LuaValue? {
        if case .map(let members) = self { return members[.text(key)] }
        return nil
    }

    /// The elements of an array (an empty map counts as an empty array).
    var arrayValue: [LuaValue]? {
        switch self {
        case .array(let values): values
        case .map(let members) where members.isEmpty: []
        default: nil
        }
    }

    /// The members of a map whose keys are all strings (an empty array counts as empty).
    var stringMap: [String: LuaValue]? {
        switch self {
        case .array(let values) where values.isEmpty: return [:]
        case .map(let members):
            var out: [String: LuaValue] = [:]
            for (key, value) in members {
                guard let name = key.stringValue else { return nil }
                out[name] = value
            }
            return out
        default: return nil
        }
    }

    /// Lua's name for the value's type (`string`, `table`, `function`, ...).
    var typeName: String {
        switch self {
        case .nil: "nil"
        case .boolean: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .array, .map: "table"
        case .opaque(let name): name
        }
    }

    /// A short rendering for error messages (strings quoted and cut at 60 bytes).
    var shortDescription: String {
        switch self {
        case .nil: return "nil"
        case .boolean(let value): return String(value)
        case .integer(let value): return String(value)
        case .number(let value): return String(value)
        case .string(let bytes):
            let text = String(decoding: bytes.prefix(60), as: UTF8.self)
            return "\"\(text)\(bytes.count > 60 ? "…" : "")\""
        case .array, .map: return "a table"
        case .opaque(let name): return "a \(name)"
        }
    }
}

extension LuaValue {
    /// Hashes strings as one run of bytes: the synthesized conformance combines an array
    /// byte by byte, which made hashing the keys of every decoded record the bridge's
    /// largest cost.
    func hash(into hasher: inout Hasher) {
        switch self {
        case .nil: hasher.combine(0 as UInt8)
        case .boolean(let flag): hasher.combine(flag ? 2 : 1 as UInt8)
        case .integer(let number):
            hasher.combine(3 as UInt8)
            hasher.combine(number)
        case .number(let number):
            hasher.combine(4 as UInt8)
            hasher.combine(number)
        case .string(let bytes):
            hasher.combine(5 as UInt8)
            hasher.combine(bytes.count)
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        case .array(let values):
            hasher.combine(6 as UInt8)
            hasher.combine(values)
        case .map(let members):
            hasher.combine(7 as UInt8)
            hasher.combine(members)
        case .opaque(let name):
            hasher.combine(8 as UInt8)
            hasher.combine(name)
        }
    }
}

/// Writes the bridge's binary encoding (see `clua_helpers.c`) straight from Swift values,
/// so that hot paths (a record for `map`, a contact for `validate`) need not build
/// ``LuaValue`` trees, with their dictionaries, first.
struct LuaCodecWriter {
    private(set) var bytes: [UInt8] = []

    /// Starts a sequence of `count` values.
    init(count: Int, capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
        append(UInt64(count))
    }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    mutating func writeNil() { bytes.append(0) }

    mutating func write(_ flag: Bool) { bytes.append(flag ? 2 : 1) }

    mutating func write(_ number: Int64) {
        bytes.append(3)
        append(number)
    }

    mutating func write(_ text: String) {
        bytes.append(5)
        var text = text
        text.withUTF8 { utf8 in
            append(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func write(bytes value: [UInt8]) {
        bytes.append(5)
        append(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Starts a table of `count` key–value pairs; write each key, then its value.
    mutating func writeMapHeader(count: Int) {
        bytes.append(7)
        append(UInt64(count))
    }

    /// Starts a list of `count` values.
    mutating func writeArrayHeader(count: Int) {
        bytes.append(6)
        append(UInt64(count))
    }

    mutating func write(_ value: LuaValue) {
        switch value {
        case .nil, .opaque: writeNil()
        case .boolean(let flag): write(flag)
        case .integer(let number): write(number)
        case .number(let number):
            bytes.append(4)
            append(number.bitPattern)
        case .string(let value): write(bytes: value)
        case .array(let values):
            writeArrayHeader(count: values.count)
            for element in values { write(element) }
        case .map(let members):
            writeMapHeader(count: members.count)
            for (key, element) in members {
                write(key)
                write(element)
            }
        }
    }
}

/// The bridge's binary encoding of value sequences (see `clua_helpers.c`).
enum LuaCodec {
    static func encode(_ values: [LuaValue]) -> [UInt8] {
        var writer = LuaCodecWriter(count: values.count, capacity: 64)
        for value in values { writer.write(value) }
        return writer.bytes
    }

    struct Malformed: Error {}

    static func decode(_ buffer: UnsafeRawBufferPointer) throws(Malformed) -> [LuaValue] {
        var reader = Reader(buffer: buffer)
        let count = try reader.u64()
        var values: [LuaValue] = []
        for _ in 0..<count { values.append(try reader.value()) }
        return values
    }

    private struct Reader {
        let buffer: UnsafeRawBufferPointer
        var offset = 0

        mutating func byte() throws(Malformed) -> UInt8 {
            guard offset < buffer.count else { throw Malformed() }
            defer { offset += 1 }
            return buffer[offset]
        }

        mutating func u64() throws(Malformed) -> UInt64 {
            guard offset + 8 <= buffer.count else { throw Malformed() }
            let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
            return value
        }

        mutating func value() throws(Malformed) -> LuaValue {
            switch try byte() {
            case 0: return .nil
            case 1: return .boolean(false)
            case 2: return .boolean(true)
            case 3: return .integer(Int64(bitPattern: try u64()))
            case 4: return .number(Double(bitPattern: try u64()))
            case 5:
                let count = Int(try u64())
                guard count >= 0, offset + count <= buffer.count else { throw Malformed() }
                defer { offset += count }
                return .string(Array(buffer[offset..<offset + count]))
            case 6:
                let count = try u64()
                var values: [LuaValue] = []
                for _ in 0..<count { values.append(try value()) }
                return .array(values)
            case 7:
                let count = try u64()
                var members: [LuaValue: LuaValue] = [:]
                for _ in 0..<count {
                    let key = try value()
                    members[key] = try value()
                }
                return .map(members)
            case 8:
                switch try byte() {
                case 2, 7: return .opaque("userdata")
                case 6: return .opaque("function")
                case 8: return .opaque("thread")
                default: return .opaque("value")
                }
            default: throw Malformed()
            }
        }
    }
}
