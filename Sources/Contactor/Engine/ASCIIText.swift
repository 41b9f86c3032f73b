/// Byte-level fast paths for the text of CSV cells and headers, exact on ASCII and falling
/// back to the Unicode-aware code for anything else (`ASCIITextTests` checks both agree).

extension String {
    /// The string without leading and trailing white space and newlines (Unicode's
    /// `White_Space` property).
    ///
    /// Where the characters at both ends are ASCII, the ends are trimmed on bytes (ASCII's
    /// white space is tab, line feed, vertical tab, form feed, carriage return and space),
    /// and the string is returned as it is when there is nothing to trim. Otherwise the
    /// Unicode scalars' properties decide (``trimmingWhitespaceScalars()``).
    func trimmingWhitespace() -> String {
        var copy = self
        let cut: Range<Int>?? = copy.withUTF8 { utf8 -> Range<Int>?? in
            var start = 0
            var end = utf8.count
            while start < end, Self.isASCIIWhitespace(utf8[start]) { start += 1 }
            while end > start, Self.isASCIIWhitespace(utf8[end - 1]) { end -= 1 }
            if start < end, utf8[start] >= 0x80 || utf8[end - 1] >= 0x80 { return nil }
            return .some(start == 0 && end == utf8.count ? nil : start..<end)
        }
        switch cut {
        case .none: return trimmingWhitespaceScalars()
        case .some(.none): return self
        case .some(.some(let range)):
            guard !range.isEmpty else { return "" }
            let utf8 = self.utf8
            let lower = utf8.index(utf8.startIndex, offsetBy: range.lowerBound)
            let upper = utf8.index(utf8.startIndex, offsetBy: range.upperBound)
            return String(self[lower..<upper])
        }
    }

    /// ``trimmingWhitespace()`` by Unicode scalar properties alone (the general path).
    func trimmingWhitespaceScalars() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    @inline(__always)
    static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// Whether the string equals `lowercaseASCII` (lowercase ASCII letters, digits and
    /// `_`) once lowercased: `self.lowercased() == lowercaseASCII`, compared on bytes when
    /// the string is ASCII.
    func equalsLowercased(_ lowercaseASCII: StaticString) -> Bool {
        var copy = self
        let answer: Bool? = copy.withUTF8 { utf8 -> Bool? in
            lowercaseASCII.withUTF8Buffer { expected -> Bool? in
                var index = 0
                while index < utf8.count {
                    let byte = utf8[index]
                    // Non-ASCII: Unicode lowercasing decides (the Kelvin sign is a `k`).
                    if byte >= 0x80 { return nil }
                    if index >= expected.count { return false }
                    let lower = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                    if lower != expected[index] { return false }
                    index += 1
                }
                return index == expected.count
            }
        }
        if let answer { return answer }
        return lowercased() == lowercaseASCII.description
    }
}
