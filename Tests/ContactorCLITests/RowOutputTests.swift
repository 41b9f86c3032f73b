import Foundation
import Testing

/// The rows of `--output json` and `--output table` are written without a `JSONEncoder`
/// per row and through a buffer; their bytes are still what the encoder and the padded
/// `String`s wrote before.
@Suite("Rows written without JSONEncoder, byte for byte")
struct RowOutputTests {
    struct Row: Decodable {
        struct Failure: Decodable {
            var code: String
            var message: String
            var providerCode: String?

            enum CodingKeys: String, CodingKey {
                case code, message
                case providerCode = "provider_code"
            }
        }
        var line: Int?
        var phone: String?
        var status: String
        var id: String?
        var error: Failure?
    }

    /// A row as the CLI wrote it with `JSONEncoder` (`JSONValue.encoded()`'s options),
    /// one member at a time, in the contract's order.
    static func encoderLine(_ row: Row) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json<T: Encodable>(_ value: T?) throws -> String {
            guard let value else { return "null" }
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        let error =
            try row.error.map {
                "{\"code\":\(try json($0.code)),\"message\":\(try json($0.message)),"
                    + "\"provider_code\":\(try json($0.providerCode))}"
            } ?? "null"
        return "{\"line\":\(try json(row.line)),\"phone\":\(try json(row.phone)),"
            + "\"status\":\(try json(row.status)),\"id\":\(try json(row.id)),\"error\":\(error)}"
    }

    /// A table row as the CLI padded it with `String.count`.
    static func tableLine(_ row: Row) -> String {
        // Control characters (C0, C1, DEL) are escaped as `\u{HEX}`, then cells padded.
        func escaped(_ text: String) -> String {
            var result = ""
            for scalar in text.unicodeScalars {
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
            return result
        }
        func pad(_ raw: String, _ width: Int) -> String {
            let text = escaped(raw)
            return text.count >= width
                ? text : text + String(repeating: " ", count: width - text.count)
        }
        let detail =
            row.error.map { error in
                "\(error.code): \(escaped(error.message))"
                    + (error.providerCode.map { " [\(escaped($0))]" } ?? "")
            } ?? ""
        return pad(row.line.map(String.init) ?? "-", 6) + " " + pad(row.phone ?? "-", 16) + " "
            + pad(row.status, 9) + " " + pad(row.id ?? "-", 12) + " " + detail
    }

    static let cells: [String] = [
        "+33612345678", "06 12 34 56 79", "06/12/34/56/80", "\"06 12 \"\"34\"\" 56 81\"",
        "06\\12\\34", "Zoé", "０６１２３４５６７８", "06 12 34 56 78", "+33 6 12 34 56 82\u{1}",
        "tab\there", "e\u{301}\u{2028}😀", "\"line\nbreak\"", "</script>", "   ", "12",
    ]

    @Test(
        "JSON lines and table rows of tricky cells are byte for byte what JSONEncoder and String padding wrote"
    )
    func rowsAreByteForByteTheEncoders() async throws {
        try await TemporaryDirectory.with { directory in
            var rows: [String] = []
            for (index, cell) in Self.cells.enumerated() {
                let birthday = index % 3 == 0 ? "19\"90/01\\0\(index) é\u{7}/x" : ""
                rows.append(
                    "\(cell),\(birthday.isEmpty ? "" : "\"" + birthday.replacingOccurrences(of: "\"", with: "\"\"") + "\"")"
                )
            }
            // Enough rows to fill the output buffer several times.
            for index in 0..<3_000 {
                rows.append(
                    "06 \(String(format: "%02d", 10 + index % 80)) 34 \(String(format: "%04d", index)),"
                )
            }
            let file = try directory.write(
                "input.csv", "phone,birthday\n" + rows.joined(separator: "\n") + "\n")

            let json = try await CLI.run(["validate", file, "--region", "FR", "--output", "json"])
            #expect(json.status == 1, "\(json.stderr)")
            let lines = json.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.last == "")
            let decoded = try lines.dropLast().map {
                try JSONDecoder().decode(Row.self, from: Data($0.utf8))
            }
            #expect(decoded.count == Self.cells.count + 3_000)
            // In input order, whatever the buffer's flushes.
            let numbers = decoded.compactMap(\.line)
            #expect(numbers.count == decoded.count && numbers == numbers.sorted())
            #expect(
                decoded.contains { $0.status == "rejected" }
                    && decoded.contains { $0.status == "valid" })
            for (line, row) in zip(lines, decoded) {
                #expect(String(line) == (try Self.encoderLine(row)))
            }

            // A line break in a cell is escaped, so each row is one line; the summary is
            // on stderr.
            let table = try await CLI.run(["validate", file, "--region", "FR", "--output", "table"])
            #expect(table.status == 1)
            let text = table.stdout
            let header = try #require(text.firstIndex(of: "\n"))
            #expect(text[..<header].hasPrefix("LINE   PHONE"))
            let body = text[text.index(after: header)...]
            #expect(table.stderr.contains("\(decoded.count) contacts: "), "\(table.stderr)")
            #expect(String(body) == decoded.map { Self.tableLine($0) + "\n" }.joined())
        }
    }
}
