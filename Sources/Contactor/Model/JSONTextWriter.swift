/// Writes JSON text straight into a byte buffer, without a `JSONEncoder`: the cheap path
/// for output written once per record (JSON Lines).
///
/// Strings, integers, booleans and `null` come out byte for byte as `JSONValue.encoded()`
/// writes them (Foundation's `JSONEncoder` with `.withoutEscapingSlashes`): `"` and `\`
/// are escaped, `\b`, `\t`, `\n`, `\f` and `\r` by their short forms, every other
/// control character below U+0020 as `\u00xx` (lowercase hex), and everything else —
/// `/`, DEL, non-ASCII letters, U+2028 — is copied as it is. Arrays, objects and doubles
/// go through `JSONValue.encoded()` itself (sorted keys, number formatting), so their
/// text cannot drift either. `JSONTextWriterTests` compares both on tricky strings.
package struct JSONTextWriter: Sendable {
    /// The text written so far, UTF-8.
    package var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    package init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends bytes that are already JSON text (punctuation, a member name known to need
    /// no escaping, a value encoded elsewhere).
    @inline(__always)
    package mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends JSON text held in a `String` as it is.
    package mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends `null`.
    package mutating func null() { raw("null") }

    /// Appends `true` or `false`.
    package mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// Appends an integer in decimal.
    package mutating func int(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // Up to 20 digits, written into a small stack buffer from the right.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: buffer[index...])
        }
    }

    /// Appends a JSON string: quotes and the escapes `JSONEncoder` makes.
    package mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var copy = value
        copy.withUTF8 { utf8 in append(escaping: utf8) }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    private mutating func append(escaping utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        var index = 0
        let count = utf8.count
        while index < count {
            let byte = utf8[index]
            // Bytes ≥ 0x20 other than `"` and `\` (non-ASCII included) are copied.
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            if runStart < index {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            }
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x08: raw("\\b")
            case 0x09: raw("\\t")
            case 0x0A: raw("\\n")
            case 0x0C: raw("\\f")
            case 0x0D: raw("\\r")
            default:
                raw("\\u00")
                Self.hexDigits.withUTF8Buffer { hex in
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0x0F)])
                }
            }
            index += 1
            runStart = index
        }
        if runStart < count {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<count]))
        }
    }

    /// Appends a value: scalars directly, arrays, objects and doubles as
    /// `JSONValue.encoded()` writes them.
    package mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .int(let number): int(number)
        case .string(let text): string(text)
        case .double, .array, .object: bytes.append(contentsOf: value.encoded())
        }
    }
}
