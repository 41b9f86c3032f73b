import CSV
import Contactor
import ContactorCSV
import Foundation
import Testing

/// Reads all records of `bytes` synchronously.
func records(_ bytes: [UInt8]) throws -> (header: [String], separator: Character, [InputRecord]) {
    let cursor = try CSVRecordReader(bytes: bytes).makeCursor()
    var records: [InputRecord] = []
    while let record = try cursor.nextRecord() { records.append(record) }
    return (cursor.header, cursor.separator, records)
}

func records(_ text: String) throws -> (header: [String], separator: Character, [InputRecord]) {
    try records(Array(text.utf8))
}

func values(_ record: InputRecord) -> [String] { record.columns.map(\.value) }

@Suite struct CSVRecordReaderTests {
    @Test(arguments: [
        ("with BOM", [0xEF, 0xBB, 0xBF] as [UInt8]), ("without BOM", []),
    ])
    func aByteOrderMarkIsSkipped(_ name: String, _ prefix: [UInt8]) throws {
        let (header, _, rows) = try records(
            prefix + Array("phone,first_name\n+33612345678,Zoé\n".utf8))
        #expect(header == ["phone", "first_name"])
        #expect(
            rows == [
                InputRecord(line: 2, columns: [("phone", "+33612345678"), ("first_name", "Zoé")])
            ])
    }

    @Test(arguments: [
        ("phone;first_name;last_name\n+33612345678;Ada;Lovelace\n", ";" as Character),
        ("phone,first_name,last_name\n+33612345678,Ada,Lovelace\n", ","),
        // More unquoted `;` than `,` in the header, even with a comma inside a quoted name.
        ("\"phone, mobile\";first_name;last_name\n+33612345678;Ada;Lovelace\n", ";"),
        // A `;` inside quotes does not count.
        ("\"a;b;c\",first_name,last_name\n+33612345678,Ada,Lovelace\n", ","),
    ])
    func theSeparatorIsDetectedFromTheHeader(_ text: String, _ separator: Character) throws {
        let (header, detected, rows) = try records(text)
        #expect(detected == separator)
        #expect(header.count == 3)
        #expect(rows.count == 1)
        #expect(values(rows[0]) == ["+33612345678", "Ada", "Lovelace"])
        #expect(rows[0].problem == nil)
    }

    @Test func quotedFieldsHoldSeparatorsDoubledQuotesAndLineBreaks() throws {
        let text = """
            phone,note,city
            +33611111111,"He said ""hi"", then left","Paris"
            +33622222222,"line one
            line two
            line three",Lyon
            +33633333333,"",""
            +33644444444,plain "quote" inside,x

            """
        let (_, _, rows) = try records(text)
        #expect(rows.map(\.line) == [2, 3, 6, 7])
        #expect(values(rows[0]) == ["+33611111111", "He said \"hi\", then left", "Paris"])
        #expect(values(rows[1]) == ["+33622222222", "line one\nline two\nline three", "Lyon"])
        #expect(values(rows[2]) == ["+33633333333", "", ""])
        #expect(values(rows[3]) == ["+33644444444", "plain \"quote\" inside", "x"])
        #expect(rows.allSatisfy { $0.problem == nil })
    }

    @Test(arguments: ["\n", "\r\n", "\r"])
    func lineNumbersCountEmbeddedLineBreaks(_ newline: String) throws {
        let text = ["phone,note", "+33611111111,\"a", "b", "c\"", "+33622222222,x", ""]
            .joined(separator: newline)
        let (_, _, rows) = try records(text)
        #expect(rows.map(\.line) == [2, 5])
        #expect(values(rows[0]) == ["+33611111111", ["a", "b", "c"].joined(separator: newline)])
        #expect(values(rows[1]) == ["+33622222222", "x"])
    }

    @Test func crlfLineEndingsAreNotPartOfTheValues() throws {
        let (header, _, rows) = try records(
            "phone,name\r\n+33611111111,Ada\r\n+33622222222,Bob\r\n")
        #expect(header == ["phone", "name"])
        #expect(rows.map(values) == [["+33611111111", "Ada"], ["+33622222222", "Bob"]])
        #expect(rows.map(\.line) == [2, 3])
    }

    @Test(arguments: ["phone,name\n+33611111111,Ada\n", "phone,name\n+33611111111,Ada"])
    func theLastLineMayEndWithOrWithoutANewline(_ text: String) throws {
        let (_, _, rows) = try records(text)
        #expect(
            rows == [InputRecord(line: 2, columns: [("phone", "+33611111111"), ("name", "Ada")])])
    }

    @Test func emptyLinesAreSkippedButCounted() throws {
        let (_, _, rows) = try records(
            "\nphone,name\n\n+33611111111,Ada\n\r\n\n+33622222222,Bob\n\n")
        #expect(rows.map(\.line) == [4, 7])
        #expect(rows.map { $0[column: "name"] } == ["Ada", "Bob"])
    }

    @Test func aRowOfSeparatorsIsARowOfEmptyFields() throws {
        let (_, _, rows) = try records("phone,name,email\n,,\n")
        #expect(rows.count == 1)
        #expect(values(rows[0]) == ["", "", ""])
        #expect(rows[0].problem == nil)
    }

    @Test func missingAndExtraColumnsAreProblemsAndReadingGoesOn() throws {
        let text =
            "phone,first_name,last_name\n+33611111111,Ada\n+33622222222,Bob,Smith,extra\n+33633333333,Cy,Doe\n"
        let (_, _, rows) = try records(text)
        #expect(rows.count == 3)
        #expect(
            rows[0].problem == ContactError(.invalidField, "line 2: expected 3 columns, found 2"))
        #expect(values(rows[0]) == ["+33611111111", "Ada"])
        #expect(
            rows[1].problem == ContactError(.invalidField, "line 3: expected 3 columns, found 4"))
        #expect(values(rows[1]) == ["+33622222222", "Bob", "Smith"])
        #expect(rows[2].problem == nil)
        #expect(values(rows[2]) == ["+33633333333", "Cy", "Doe"])
    }

    @Test func invalidUTF8InOneRowIsAProblemAndTheRowsAroundItReadFine() throws {
        var bytes = Array("phone,name\n+33611111111,Ada\n+33622222222,B".utf8)
        bytes += [0xFF, 0xFE, 0xC3]  // not UTF-8
        bytes += Array("b\n+33633333333,Zoé\n".utf8)
        let (_, _, rows) = try records(bytes)
        #expect(rows.count == 3)
        #expect(
            rows[0] == InputRecord(line: 2, columns: [("phone", "+33611111111"), ("name", "Ada")]))
        #expect(rows[1].line == 3)
        #expect(rows[1].problem == ContactError(.invalidField, "line 3: not valid UTF-8"))
        #expect(rows[1][column: "phone"] == "+33622222222")
        #expect(
            rows[2] == InputRecord(line: 4, columns: [("phone", "+33633333333"), ("name", "Zoé")]))
    }

    @Test(arguments: ["", "\n\n", "\u{FEFF}"])
    func anEmptyFileHasNoRecords(_ text: String) throws {
        let (header, _, rows) = try records(text)
        #expect(header.isEmpty)
        #expect(rows.isEmpty)
    }

    @Test(arguments: ["phone,name", "phone,name\n", "phone;name\r\n\r\n"])
    func aHeaderAloneHasNoRecords(_ text: String) throws {
        let (header, _, rows) = try records(text)
        #expect(header == ["phone", "name"])
        #expect(rows.isEmpty)
    }

    @Test(arguments: [",name\n+33611111111,Ada\n", "phone,,email\n", "phone, \n"])
    func aHeaderWithAnUnnamedColumnIsAMissingHeader(_ text: String) {
        let error = #expect(throws: CSVReadError.self) { try records(text) }
        #expect(error?.code == .missingHeader)
        #expect(error?.line == 1)
        #expect(error?.description.hasPrefix("<input>:1: column ") == true)
    }

    @Test func duplicateHeaderNamesAreRefused() {
        let error = #expect(throws: CSVReadError.self) { try records("phone,name, phone\n1,2,3\n") }
        #expect(error?.code == .duplicateHeader)
        #expect(
            error?.description
                == "<input>:1: column 'phone' appears twice in the header (columns 1 and 3)")
    }

    @Test func aOneMegabyteFieldIsReadWhole() throws {
        let big = String(repeating: "abcdefghij", count: 100_000) + "\"\"," + "\n"
        let escaped = big.replacingOccurrences(of: "\"", with: "\"\"")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("csv-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("phone,note\n+33611111111,\"\(escaped)\"\n+33622222222,after\n".utf8)
            .write(to: directory)
        let cursor = try CSVRecordReader(path: directory.path).makeCursor()
        let first = try #require(try cursor.nextRecord())
        #expect(first[column: "note"] == big)
        #expect(first.problem == nil)
        let second = try #require(try cursor.nextRecord())
        #expect(second.line == 4)
        #expect(second[column: "note"] == "after")
        #expect(try cursor.nextRecord() == nil)
    }

    @Test func anUnclosedQuoteIsAProblemOfItsRecord() throws {
        let (_, _, rows) = try records(
            "phone,note\n+33611111111,ok\n+33622222222,\"never closed\nstill\n")
        #expect(rows.count == 2)
        #expect(rows[0].problem == nil)
        #expect(
            rows[1].problem
                == ContactError(
                    .invalidField, "line 3: quoted field not closed before the end of the file"))
    }

    @Test func headerNamesAreTrimmed() throws {
        let (header, _, _) = try records(" phone ;\tfirst_name\n")
        #expect(header == ["phone", "first_name"])
    }

    @Test func theAsyncSequenceReadsAFileLikeTheCursor() async throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("csv-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        var text = "phone;first_name;city\n"
        for index in 0..<20_000 {  // several chunks
            text += "+336\(String(format: "%08d", index));\"Name \(index)\";\"Ville\n\(index)\"\n"
        }
        try Data(text.utf8).write(to: url)
        var lines: [Int] = []
        for try await record in CSVRecordReader(path: url.path) {
            #expect(record.problem == nil)
            lines.append(record.line)
        }
        #expect(lines == Array(stride(from: 2, to: 2 + 20_000 * 2, by: 2)))
    }

    @Test func aByteStreamIsReadToItsEnd() async throws {
        let pipe = Pipe()
        let writer = pipe.fileHandleForWriting
        let body = (0..<5_000).map { "+336\(String(format: "%08d", $0));\"a;b\"\n" }.joined()
        let bytes = Data(("phone;note\n" + body).utf8)
        // Written from another thread: the pipe's buffer is smaller than the input.
        let writing = Thread {
            writer.write(bytes)
            try? writer.close()
        }
        writing.start()
        var count = 0
        for try await record in CSVRecordReader(
            fileHandle: pipe.fileHandleForReading, name: "<stdin>")
        {
            #expect(record[column: "note"] == "a;b")
            #expect(record.line == count + 2)
            count += 1
        }
        #expect(count == 5_000)
    }

    @Test func aMissingFileIsAnUnreadableError() async {
        let error = await #expect(throws: CSVReadError.self) {
            for try await _ in CSVRecordReader(path: "/nonexistent/contacts.csv") {}
        }
        #expect(error?.code == .unreadable)
        #expect(error?.description == "/nonexistent/contacts.csv: no such file")
    }

    /// CSV.swift as an independent oracle: on valid UTF-8 with one record per line, both
    /// readers split fields the same way.
    @Test(arguments: [
        "phone,name,note\n+33611111111,Ada,\"a, b\"\n+33622222222,\"B \"\"q\"\"\",x\n",
        "phone,name,note\n+33611111111,,\n,\"\",\"\"\"\"\n",
        "phone,name,note\r\n\"+33 6 11\",\"multi\nline\",z\r\n",
    ])
    func fieldsMatchCSVSwift(_ text: String) throws {
        let oracle = try CSVReader(string: text, hasHeaderRow: true)
        var expected: [[String]] = []
        while let row = oracle.next() { expected.append(row) }
        let (header, _, rows) = try records(text)
        #expect(header == oracle.headerRow)
        #expect(rows.map(values) == expected)
    }
}
