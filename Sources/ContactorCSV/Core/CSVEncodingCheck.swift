/// The encoding checks made on the first bytes of an input, before its header is read, so
/// that a file that is not UTF-8 fails once with a message that names its encoding
/// instead of every row failing for a column that seems to be missing.
enum CSVEncodingCheck {
    /// The verdict on the first bytes.
    enum Verdict: Equatable {
        /// UTF-8 as far as can be seen: skip this many bytes (a byte order mark) first.
        case utf8(byteOrderMarkLength: Int)
        /// Not UTF-8 text: the message says what it looks like and what to do.
        case problem(String)
    }

    private static let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]
    /// A byte order mark that was read as Windows-1252 or Latin-1 and encoded again: `ï»¿`.
    private static let utf8BOMEncodedTwice: [UInt8] = [0xC3, 0xAF, 0xC2, 0xBB, 0xC2, 0xBF]

    private static let byteOrderMarks: [(bytes: [UInt8], message: String)] = [
        (
            [0xFF, 0xFE, 0x00, 0x00],
            "the file is UTF-32 LE (it starts with the byte order mark FF FE 00 00); save it as UTF-8"
        ),
        (
            [0x00, 0x00, 0xFE, 0xFF],
            "the file is UTF-32 BE (it starts with the byte order mark 00 00 FE FF); save it as UTF-8"
        ),
        (
            [0xFF, 0xFE],
            "the file is UTF-16 LE (it starts with the byte order mark FF FE); save it as UTF-8"
        ),
        (
            [0xFE, 0xFF],
            "the file is UTF-16 BE (it starts with the byte order mark FE FF); save it as UTF-8"
        ),
        (
            utf8BOM + utf8BOM,
            "the file starts with two UTF-8 byte order marks (it was converted to UTF-8 twice); "
                + "remove the extra one or save it again as UTF-8"
        ),
        (
            utf8BOMEncodedTwice,
            "the file starts with 'ï»¿', a UTF-8 byte order mark encoded twice (it was read as "
                + "Latin-1 and converted to UTF-8 again); save it again as UTF-8"
        ),
    ]

    /// How many bytes after the byte order mark are looked at for NUL bytes (at most the
    /// first line of them).
    static let sampleSize = 4096

    /// Whether more bytes could change the verdict: `bytes` is a proper prefix of one of
    /// the byte order marks looked for, or holds neither a line break nor a whole sample.
    /// (So the verdict is the same however the input arrives, in one read or byte by
    /// byte.)
    static func needsMoreBytes(_ bytes: ArraySlice<UInt8>) -> Bool {
        if byteOrderMarks.contains(where: { mark in
            mark.bytes.count > bytes.count && mark.bytes.starts(with: bytes)
        }) {
            return true
        }
        return bytes.count < sampleSize + utf8BOM.count
            && !bytes.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") })
    }

    /// Checks the first bytes of an input (as many as were read, at least enough for
    /// ``needsMoreBytes(_:)`` to be false, or all of a shorter input).
    static func check(_ bytes: ArraySlice<UInt8>) -> Verdict {
        for mark in byteOrderMarks where bytes.starts(with: mark.bytes) {
            return .problem(mark.message)
        }
        let bomLength = bytes.starts(with: utf8BOM) ? utf8BOM.count : 0
        // The first line of the sample: a NUL there is not UTF-8 text (NULs in data rows
        // are problems of their rows, not of the file).
        var sample = bytes.dropFirst(bomLength).prefix(sampleSize)
        if let lineEnd = sample.firstIndex(where: {
            $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r")
        }) {
            sample = sample[..<lineEnd]
        }
        var nulsAtEven = 0
        var nulsAtOdd = 0
        for (offset, byte) in sample.enumerated() where byte == 0 {
            if offset.isMultiple(of: 2) { nulsAtEven += 1 } else { nulsAtOdd += 1 }
        }
        let nuls = nulsAtEven + nulsAtOdd
        if nuls == 0 { return .utf8(byteOrderMarkLength: bomLength) }
        if nuls == sample.count {
            return .problem(
                "the input starts with NUL bytes only (\(nuls) of them): it is not text (an "
                    + "empty disk image, a sparse file, /dev/zero?)")
        }
        let pairs = sample.count / 2
        if nulsAtOdd * 4 >= pairs * 3 && nulsAtEven * 4 <= nulsAtOdd {
            return .problem(
                "the file looks like UTF-16 LE (NUL bytes between the characters of the first "
                    + "line); save it as UTF-8")
        }
        if nulsAtEven * 4 >= pairs * 3 && nulsAtOdd * 4 <= nulsAtEven {
            return .problem(
                "the file looks like UTF-16 BE (NUL bytes between the characters of the first "
                    + "line); save it as UTF-8")
        }
        return .problem(
            "the first line holds NUL bytes: the file is not UTF-8 text (UTF-32? binary "
                + "data?); save it as UTF-8")
    }
}
