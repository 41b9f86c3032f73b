import Foundation
import Testing

@testable import Contactor

/// `JSONTextWriter` writes what `JSONEncoder` (as `JSONValue.encoded()` configures it)
/// writes, byte for byte.
@Suite("JSON text without JSONEncoder")
struct JSONTextWriterTests {
    /// What Foundation's encoder makes of `value`, configured as `JSONValue.encoded()`.
    static func foundation<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func written(_ body: (inout JSONTextWriter) -> Void) -> [UInt8] {
        var writer = JSONTextWriter()
        body(&writer)
        return writer.bytes
    }

    static let trickyStrings: [String] = [
        "", "plain", "+33612345678", "a \"quoted\" word", #"back\slash"#, "a/b/c", "</script>",
        "tab\there", "line\nbreak", "cr\rlf\r\n", "\u{8}\u{c}", "nul\u{0}byte",
        "\u{1}\u{1f}\u{1b}[2K",
        "del\u{7f}", "Zoé Ørsted", "e\u{301}", "😀 emoji", "\u{2028}\u{2029}", "\u{feff}bom",
        "\u{a0}nbsp", "\u{ad}", "\u{10ffff}", "日本語", "\"\\/\"",
        String(repeating: "x\"", count: 300),
    ]

    @Test(
        "Every string, control characters, quotes, slashes and non-ASCII alike, as JSONEncoder writes it"
    )
    func stringsMatchJSONEncoder() throws {
        for text in Self.trickyStrings {
            let expected = try Self.foundation(text)
            #expect(Self.written { $0.string(text) } == expected, "\(text.debugDescription)")
            #expect(
                JSONValue.string(text).jsonText == String(decoding: expected, as: UTF8.self),
                "\(text.debugDescription)")
        }
    }

    @Test("Every scalar below U+0100 on its own, as JSONEncoder writes it")
    func everyLowScalarMatchesJSONEncoder() throws {
        for value in 0..<0x100 {
            let text = String(Character(Unicode.Scalar(UInt32(value))!))
            #expect(Self.written { $0.string(text) } == (try Self.foundation(text)), "U+\(value)")
        }
    }

    @Test("Integers, booleans and null as JSONEncoder writes them")
    func scalarsMatchJSONEncoder() throws {
        for number: Int64 in [0, 1, -1, 9, 10, 42, -999, 1_000_000, .max, .min, .max - 1, .min + 1]
        {
            #expect(Self.written { $0.int(number) } == (try Self.foundation(number)), "\(number)")
        }
        #expect(Self.written { $0.bool(true) } == (try Self.foundation(true)))
        #expect(Self.written { $0.bool(false) } == (try Self.foundation(false)))
        #expect(Self.written { $0.null() } == (try Self.foundation(JSONValue.null)))
    }

    @Test(
        "A JSONValue, containers and doubles included, is written as JSONValue.encoded() writes it")
    func valuesMatchEncoded() {
        let values: [JSONValue] = [
            .null, true, 12, -3, 1.5, .double(.nan), "a/\"b\"\n",
            ["z": 1, "a": ["x", 2.25, .null], "M": ["k": "v"]], [],
        ]
        for value in values {
            #expect(Self.written { $0.value(value) } == Array(value.encoded()), "\(value)")
            #expect(value.jsonText == String(decoding: value.encoded(), as: UTF8.self))
        }
    }
}
