import Contactor
import Foundation
import Testing

@testable import ContactorCSV

/// Reads all records of `bytes` with `options`, keeping the cursor for its counters.
func read(
    _ bytes: [UInt8], options: CSVReaderOptions
) throws -> (cursor: CSVRecordCursor, records: [InputRecord]) {
    let cursor = try CSVRecordReader(bytes: bytes, options: options).makeCursor()
    var records: [InputRecord] = []
    while let record = try cursor.nextRecord() { records.append(record) }
    return (cursor, records)
}

/// The record size limit, linear scanning, and bounded memory (issue 15 #6).
@Suite struct CSVRecordSizeTests {
    /// `phone,note` then one record whose quoted note is `size` bytes (with doubled quotes
    /// and line breaks in it), then a short record.
    static func longFieldFile(size: Int) -> [UInt8] {
        var bytes = Array("phone,note\n+33611111111,\"".utf8)
        bytes.reserveCapacity(size + 64)
        let pattern = Array("abcdefghi\"\"jklmnopqrstuvwxyz\n0123456789".utf8)
        while bytes.count < size + 25 { bytes += pattern }
        bytes += Array("\"\n+33622222222,after\n".utf8)
        return bytes
    }

    @Test func scanningALongFieldExaminesEachByteOnceSoItsCostIsLinear() throws {
        let options = CSVReaderOptions(maximumRecordBytes: 64 << 20)
        var examined: [Int] = []
        for size in [5_000_000, 50_000_000] {
            let bytes = Self.longFieldFile(size: size)
            let (cursor, records) = try read(bytes, options: options)
            #expect(records.count == 2)
            #expect(records.allSatisfy { $0.problem == nil })
            // One quote of each doubled pair is dropped: 37 of every 38 bytes are kept.
            #expect(records[0][column: "note"]?.utf8.count ?? 0 > size / 38 * 37 - 100)
            #expect(records[1][column: "note"] == "after")
            // Every byte after the header is examined once by the record scanner: no
            // rescan from the record's start after each 64 KiB chunk.
            #expect(cursor.bytesExamined <= bytes.count)
            #expect(cursor.bytesExamined >= bytes.count - 20)
            examined.append(cursor.bytesExamined)
        }
        let ratio = Double(examined[1]) / Double(examined[0])
        #expect(ratio > 9.5 && ratio < 10.5, "work for 50 MB / work for 5 MB = \(ratio)")
    }

    @Test func aRecordOverTheLimitIsRejectedWithItsLineAndTheRowsAfterItAreRead() throws {
        let long = String(repeating: "x", count: 10_000)
        let text =
            "phone,note\n+33611111111,before\n+33622222222,\(long)\n+33633333333,\"after\nwith a break\"\n+33644444444,last\n"
        let (_, records) = try read(
            Array(text.utf8), options: CSVReaderOptions(maximumRecordBytes: 1024))
        #expect(records.map(\.line) == [2, 3, 4, 6])
        #expect(records[0].problem == nil)
        #expect(
            records[1].problem
                == ContactError(.invalidField, "line 3: record longer than 1024 bytes"))
        #expect(records[1].columns.isEmpty)
        #expect(records[2][column: "note"] == "after\nwith a break")
        #expect(records[3][column: "note"] == "last")
        #expect(records[2].problem == nil && records[3].problem == nil)
    }

    @Test func anOversizedRecordEndsAtItsFirstLineBreakOutsideQuotes() throws {
        // The long record holds a quoted field with line breaks: they are followed while
        // it is skipped, so the next record and its line are the same as without a limit.
        let long = "\"" + String(repeating: "y\n", count: 3_000) + "\""
        let text = "phone,note\n+33611111111,\(long)\n+33622222222,next\n"
        let (_, records) = try read(
            Array(text.utf8), options: CSVReaderOptions(maximumRecordBytes: 100))
        #expect(records.count == 2)
        #expect(
            records[0].problem
                == ContactError(.invalidField, "line 2: record longer than 100 bytes"))
        #expect(records[1].line == 2 + 3_000 + 1)
        #expect(records[1][column: "note"] == "next")
    }

    @Test func anOversizedRecordWithAQuoteNeverClosedRunsToTheEndOfTheInput() throws {
        let text =
            "phone,note\n+33611111111,\"" + String(repeating: "z", count: 500)
            + "\n+33622222222,b\n"
        let (_, records) = try read(
            Array(text.utf8), options: CSVReaderOptions(maximumRecordBytes: 100))
        #expect(records.count == 1)
        #expect(
            records[0].problem
                == ContactError(.invalidField, "line 2: record longer than 100 bytes"))
    }

    @Test func theDefaultLimitIsTwoMebibytesAndALongerRecordIsRejected() throws {
        #expect(CSVReaderOptions().maximumRecordBytes == 2 << 20)
        let exact = "+33611111111," + String(repeating: "a", count: (2 << 20) - 13)
        let over = exact + "a"
        let text = "phone,note\n\(exact)\n\(over)\n+33622222222,ok\n"
        let (_, records) = try read(Array(text.utf8), options: CSVReaderOptions())
        #expect(records.count == 3)
        #expect(records[0].problem == nil)
        #expect(
            records[1].problem
                == ContactError(.invalidField, "line 3: record longer than 2097152 bytes"))
        #expect(records[2][column: "note"] == "ok")
    }

    @Test func skippingAnOversizedRecordKeepsMemoryBounded() throws {
        // 20 MB of one record with a 4 KiB limit: the buffer never holds more than the
        // limit plus two chunks.
        var bytes = Array("phone,note\n+33611111111,".utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "w"), count: 20_000_000)
        bytes += Array("\n+33622222222,ok\n".utf8)
        let options = CSVReaderOptions(maximumRecordBytes: 4096)
        let (cursor, records) = try read(bytes, options: options)
        #expect(records.count == 2)
        #expect(records[1][column: "note"] == "ok")
        #expect(cursor.maximumBufferedBytes <= 4096 + 2 * options.chunkSize)
    }

    @Test func aHeaderLongerThanTheLimitIsAMissingHeader() {
        let text = String(repeating: "h", count: 300) + "\n1\n"
        let error = #expect(throws: CSVReadError.self) {
            try read(Array(text.utf8), options: CSVReaderOptions(maximumRecordBytes: 100))
        }
        #expect(error?.code == .missingHeader)
        #expect(error?.message.hasPrefix("the header is longer than 100 bytes") == true)
    }

    @Test func devZeroFailsAtOnceAsNULBytesInsteadOfReadingForever() throws {
        let error = #expect(throws: CSVReadError.self) { try CSVInput.open(path: "/dev/zero") }
        #expect(error?.code == .encoding)
        #expect(error?.message.contains("NUL bytes only") == true)
    }
}

/// Reading in chunks of any size gives the same records as reading at once: the scanner
/// resumes exactly where it stopped (line breaks, `\r\n` split across chunks, doubled
/// quotes split across chunks, byte order marks and the separator line).
@Suite struct CSVChunkBoundaryTests {
    static let inputs: [String] = [
        "\u{FEFF}phone;name\r\n+33611111111;\"a\r\nb\"\r\n\r\n+33622222222;\"\"\"q\"\"\"\r",
        "\n\nphone,note,x\n+33611111111,\"He said \"\"hi\"\"\",\"a\"b\r\r\n,,\n\"open\n",
        "phone,note\r+33611111111,x\r\r+33622222222,\"1\r2\n3\r\n4\"\r",
        "phone,name\n+33611111111,Zoé\n+33622222222,\u{1B}[31mred\n+3363,a,b,c\n",
        "\"ph\"\"one\",name\n1,2",
    ]

    @Test(arguments: inputs)
    func everyChunkSizeGivesTheSameRecords(_ text: String) throws {
        let bytes = Array(text.utf8)
        let (whole, expected) = try read(bytes, options: CSVReaderOptions())
        for size in [1, 2, 3, 5, 7, 64] {
            let (cursor, records) = try read(bytes, options: CSVReaderOptions(chunkSize: size))
            #expect(records == expected, "chunk size \(size)")
            #expect(cursor.header == whole.header)
            #expect(cursor.separator == whole.separator)
        }
    }
}

/// The encoding verdict does not depend on how the bytes arrive (a finding of the fuzzer:
/// a pipe's first read of one NUL byte said "1 of them", of 64 bytes "64 of them"; one
/// byte of UTF-16 was no UTF-16 at all).
@Suite struct CSVEncodingChunkTests {
    @Test(arguments: [
        [UInt8](repeating: 0, count: 64),
        CSVEncodingTests.utf16("phone,name\n1,2\n", bigEndian: false, bom: false),
        CSVEncodingTests.utf16("phone,name\r\n1,2\r\n", bigEndian: true, bom: false),
        [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("phone\n".utf8),
        [0xFF, 0xFE, 0x00, 0x00, 0x70, 0x00, 0x00, 0x00],
    ])
    func theVerdictIsTheSameForEveryChunkSize(_ bytes: [UInt8]) {
        func error(chunk: Int) -> CSVReadError? {
            #expect(throws: CSVReadError.self) {
                try read(bytes, options: CSVReaderOptions(chunkSize: chunk))
            }
        }
        let whole = error(chunk: 1 << 16)
        #expect(whole?.code == .encoding)
        for chunk in [1, 2, 3, 5] { #expect(error(chunk: chunk) == whole, "chunk size \(chunk)") }
    }
}

/// Inputs that are not UTF-8 text fail at the header with the encoding named (issue 15
/// #8), and NUL bytes in data rows are problems of their rows.
@Suite struct CSVEncodingTests {
    static func utf16(_ text: String, bigEndian: Bool, bom: Bool) -> [UInt8] {
        var bytes: [UInt8] = bom ? (bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]) : []
        for unit in text.utf16 {
            let (high, low) = (UInt8(unit >> 8), UInt8(unit & 0xFF))
            bytes += bigEndian ? [high, low] : [low, high]
        }
        return bytes
    }

    static let csv = "phone,first_name\n+33611111111,Zoé\n"

    @Test(
        arguments: [
            (
                "UTF-16 LE with BOM", utf16(csv, bigEndian: false, bom: true),
                "the file is UTF-16 LE"
            ),
            ("UTF-16 BE with BOM", utf16(csv, bigEndian: true, bom: true), "the file is UTF-16 BE"),
            (
                "UTF-16 LE without BOM", utf16(csv, bigEndian: false, bom: false),
                "looks like UTF-16 LE"
            ),
            (
                "UTF-16 BE without BOM", utf16(csv, bigEndian: true, bom: false),
                "looks like UTF-16 BE"
            ),
            ("UTF-32 LE with BOM", [0xFF, 0xFE, 0, 0, 0x70, 0, 0, 0], "the file is UTF-32 LE"),
            ("UTF-32 BE with BOM", [0, 0, 0xFE, 0xFF, 0, 0, 0, 0x70], "the file is UTF-32 BE"),
            ("NUL bytes only", [UInt8](repeating: 0, count: 10_000), "NUL bytes only"),
            (
                "doubled UTF-8 BOM", [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array(csv.utf8),
                "two UTF-8 byte order marks"
            ),
            (
                "BOM encoded twice", [0xC3, 0xAF, 0xC2, 0xBB, 0xC2, 0xBF] + Array(csv.utf8),
                "encoded twice"
            ),
            (
                "NUL in the header", Array("pho\0ne,name\n1,2\n".utf8),
                "the first line holds NUL bytes"
            ),
            (
                "Latin-1 header",
                Array("t\u{E9}l\u{E9}phone,name\n".unicodeScalars.map { UInt8($0.value) }),
                "not valid UTF-8"
            ),
        ] as [(String, [UInt8], String)])
    func anInputThatIsNotUTF8FailsWithItsEncodingNamed(
        _ name: String, _ bytes: [UInt8], _ expected: String
    ) {
        let error = #expect(throws: CSVReadError.self, "\(name)") {
            try CSVRecordReader(bytes: bytes).makeCursor()
        }
        #expect(error?.code == .encoding, "\(name)")
        #expect(error?.message.contains(expected) == true, "\(name): \(error?.message ?? "")")
        #expect(error?.message.contains("save it") == true || expected.contains("NUL bytes only"))
    }

    @Test func aNULByteSplitFromTheFirstLineIsStillCaughtInTheHeader() {
        // The NUL is past the first chunk, so only the header check can see it.
        let text = "phone," + String(repeating: "n", count: 100) + "\0name\n1,2\n"
        let error = #expect(throws: CSVReadError.self) {
            try read(Array(text.utf8), options: CSVReaderOptions(chunkSize: 8))
        }
        #expect(error?.code == .encoding)
    }

    @Test func aNULByteInADataRowIsAProblemOfThatRow() throws {
        let bytes = Array("phone,name\n+33611111111,Ada\n+33622222222,B\0b\n+33633333333,Cy\n".utf8)
        let (_, records) = try read(bytes, options: CSVReaderOptions())
        #expect(records.count == 3)
        #expect(records[0].problem == nil && records[2].problem == nil)
        #expect(records[1].problem?.code == .invalidField)
        #expect(records[1].problem?.message.hasPrefix("line 3: holds a NUL byte") == true)
        #expect(records[1][column: "name"] == "B\0b")
    }

    @Test func aByteOrderMarkInsideAHeaderNameIsAnEncodingError() {
        let error = #expect(throws: CSVReadError.self) {
            try CSVRecordReader(string: "name,\u{FEFF}phone\n").makeCursor()
        }
        #expect(error?.code == .encoding)
        #expect(error?.message.contains("U+FEFF") == true)
    }
}

/// Header names with control characters are refused; values keep theirs.
@Suite struct CSVHeaderNameTests {
    @Test(arguments: [
        (
            "phone,na\u{1B}[31mme\n",
            "column 2 of the header ('na\\u{1B}[31mme') holds a control character (U+001B)"
        ),
        (
            "phone,\"first\rname\"\n",
            "column 2 of the header ('first\\u{D}name') holds a line break"
        ),
        (
            "phone,\"first\nname\"\n",
            "column 2 of the header ('first\\u{A}name') holds a line break"
        ),
        (
            "phone,first\tname\n",
            "column 2 of the header ('first\\u{9}name') holds a control character (U+0009)"
        ),
        (
            "ph\u{7F}one\n",
            "column 1 of the header ('ph\\u{7F}one') holds a control character (U+007F)"
        ),
        (
            "phone,x\u{85}\n",
            "column 2 of the header ('x\\u{85}') holds a control character (U+0085)"
        ),
    ])
    func aHeaderNameWithAControlCharacterIsRefused(_ text: String, _ message: String) {
        let error = #expect(throws: CSVReadError.self) {
            try CSVRecordReader(string: text).makeCursor()
        }
        #expect(error?.code == .missingHeader)
        #expect(error?.line == 1)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
    }

    @Test func controlCharactersInValuesAreKeptAsData() throws {
        let (_, _, rows) = try records("phone,note\n+33611111111,\"\u{1B}[2J\u{7}bell\r\"\n")
        #expect(rows.count == 1)
        #expect(rows[0][column: "note"] == "\u{1B}[2J\u{7}bell\r")
        #expect(rows[0].problem == nil)
    }

    @Test func outerTabsAndSpacesAreTrimmedOnBytesAndInnerSpacesKept() throws {
        let (header, _, _) = try records(" \tfirst name \t,\t é \n")
        #expect(header == ["first name", "é"])
    }
}
