import Testing

@testable import Contactor

/// The byte-level fast paths of the mapper give the answers of the Unicode-aware code.
@Suite("ASCII fast paths for trimming and column names")
struct ASCIITextTests {
    static let pieces: [String] = [
        "", " ", "\t", "\n", "\r", "\r\n", "\u{b}", "\u{c}", "\u{1c}", "\u{1f}", "\u{85}",
        "\u{a0}", "\u{2003}", "\u{2028}", "\u{3000}", "\u{feff}", "\u{301}", "a", "Z", "0",
        "_", "é", "e\u{301}", "😀", "\u{212a}", "x y", "\"", ",",
    ]

    @Test("Trimming on bytes equals trimming by Unicode properties on every mix of edges")
    func trimmingMatchesTheUnicodePath() {
        var checked = 0
        for first in Self.pieces {
            for middle in ["", "abc", "06 12 34 56 78", "Zoé", "\u{a0}"] {
                for last in Self.pieces {
                    let text = first + middle + last
                    let fast = text.trimmingWhitespace()
                    let slow = text.trimmingWhitespaceScalars()
                    #expect(Array(fast.utf8) == Array(slow.utf8), "\(text.debugDescription)")
                    checked += 1
                }
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                Self.pieces.randomElement(using: &generator)!
            }.joined()
            #expect(
                Array(text.trimmingWhitespace().utf8)
                    == Array(text.trimmingWhitespaceScalars().utf8),
                "\(text.debugDescription)")
            checked += 1
        }
        #expect(checked > 5_000)
    }

    @Test("Column names match a standard name exactly when lowercased() would say so")
    func namesMatchAsLowercasedDoes() {
        let names = [
            "phone", "PHONE", "Phone", "pHoNe", "phone ", "phon", "phones", "", "p", "first_name",
            "FIRST_NAME", "First_Name", "firstname", "first-name", "EMAIL", "e\u{301}mail",
            "\u{212a}", "BIRTHDAY", "Civility", "CIVILIT\u{130}", "ph\u{f6}ne", "pho\u{0}ne",
            "PHONE\u{301}", "last_name", "LAST_NAMe",
        ]
        let standard: [StaticString] = [
            "phone", "first_name", "last_name", "email", "birthday", "civility",
        ]
        for name in names {
            for expected in standard {
                #expect(
                    name.equalsLowercased(expected) == (name.lowercased() == expected.description),
                    "\(name.debugDescription) vs \(expected)")
            }
        }
    }
}
