/// Where the core reader gets its bytes: a file descriptor, bytes in memory, a fuzzer's
/// input.
protocol CSVByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`, blocking until at least one is
    /// available; returns 0 at the end of the input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CSVReadError) -> Int
}

/// What is wrong with one row (the reading goes on after it).
enum CSVRowProblem: Hashable, Sendable {
    /// The record is longer than the size limit; its fields were not kept.
    case tooLong(limit: Int)
    /// A field is not valid UTF-8.
    case notUTF8
    /// A field holds a NUL byte.
    case nulByte
    /// A quoted field is still open at the end of the input.
    case unclosedQuote
    /// The record does not have as many fields as the header has columns.
    case columnCount(expected: Int, found: Int)

    /// The problem in words, prefixed with `line N: `.
    func message(line: Int) -> String {
        switch self {
        case .tooLong(let limit): "line \(line): record longer than \(limit) bytes"
        case .notUTF8: "line \(line): not valid UTF-8"
        case .nulByte: "line \(line): holds a NUL byte (binary data, or text that is not UTF-8?)"
        case .unclosedQuote: "line \(line): quoted field not closed before the end of the file"
        case .columnCount(let expected, let found):
            "line \(line): expected \(expected) columns, found \(found)"
        }
    }
}

/// One row as the core reader gives it.
struct CSVRow {
    /// The physical line where the record starts.
    var line: Int
    /// The values by column name, in column order (no more than the header has names).
    var columns: [(name: String, value: String)]
    /// What is wrong with the row, if anything.
    var problem: CSVRowProblem?
}

/// Reads the header of a CSV byte stream, then its rows: the format rules of
/// ``CSVRecordReader`` without the Contactor types (so that the fuzz harness can build it
/// alone).
final class CSVRowReader {
    /// What errors call the input.
    let name: String
    /// The header's column names, trimmed; empty for an empty input.
    let header: [String]
    /// The line of the header, `nil` for an empty input.
    let headerLine: Int?
    /// The separator detected from the header line.
    let separator: UInt8
    /// The options in force.
    let options: CSVReaderOptions

    private var scanner = CSVScanner()
    private let source: any CSVByteSource
    private var chunk: [UInt8] = []
    private var failure: CSVReadError?

    /// Bytes the scanner examined so far (see ``CSVScanner/bytesExamined``).
    var bytesExamined: Int { scanner.bytesExamined }
    /// The most bytes the scanner's buffer held at once.
    var maximumBufferedBytes: Int { scanner.maximumBufferedBytes }

    /// Reads up to the end of the header.
    ///
    /// - Throws: ``CSVReadError`` when the input cannot be read, is not UTF-8 text, or has
    ///   no usable header.
    init(source: any CSVByteSource, name: String, options: CSVReaderOptions) throws(CSVReadError) {
        self.source = source
        self.name = name
        self.options = options
        var chunk = [UInt8](repeating: 0, count: options.chunkSize)
        var scanner = CSVScanner()
        scanner.maximumRecordBytes = options.maximumRecordBytes

        func fill() throws(CSVReadError) {
            try Self.fill(&scanner, from: source, chunk: &chunk)
        }

        // The encoding, from the first bytes.
        try fill()
        while !scanner.isComplete && CSVEncodingCheck.needsMoreBytes(scanner.pendingBytes) {
            try fill()
        }
        switch CSVEncodingCheck.check(scanner.pendingBytes) {
        case .problem(let message): throw CSVReadError(.encoding, path: name, line: 1, message)
        case .utf8(let byteOrderMarkLength): scanner.skip(byteOrderMarkLength)
        }

        while !scanner.skipEmptyLines() { try fill() }
        while !scanner.detectSeparator() { try fill() }
        separator = scanner.separator

        var headerRecord: CSVScanner.Record?
        scan: while true {
            switch scanner.next() {
            case .record(let record):
                headerRecord = record
                break scan
            case .needMore: try fill()
            case .end: break scan
            }
        }
        guard let headerRecord else {
            header = []
            headerLine = nil
            self.scanner = scanner
            self.chunk = chunk
            return
        }
        let line = headerRecord.line
        headerLine = line
        header = try Self.validateHeader(headerRecord, path: name, options: options)
        scanner.names = header
        self.scanner = scanner
        self.chunk = chunk
    }

    private static func fill(
        _ scanner: inout CSVScanner, from source: any CSVByteSource, chunk: inout [UInt8]
    ) throws(CSVReadError) {
        let result: Result<Int, CSVReadError> = chunk.withUnsafeMutableBytes { buffer in
            do throws(CSVReadError) {
                return .success(try source.read(into: buffer))
            } catch {
                return .failure(error)
            }
        }
        let count = try result.get()
        if count == 0 {
            scanner.isComplete = true
        } else {
            chunk.withUnsafeBytes { scanner.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }

    /// The header's names, trimmed of spaces and tabs, or the error that makes it unusable.
    private static func validateHeader(
        _ record: CSVScanner.Record, path: String, options: CSVReaderOptions
    ) throws(CSVReadError) -> [String] {
        let line = record.line
        if record.isOversized {
            throw CSVReadError(
                .missingHeader, path: path, line: line,
                "the header is longer than \(options.maximumRecordBytes) bytes: the first line "
                    + "must be a header row naming every column (is this a CSV file?)")
        }
        if !record.isValidUTF8 {
            throw CSVReadError(
                .encoding, path: path, line: line,
                "the header is not valid UTF-8 (is the file in Latin-1 or Windows-1252?); "
                    + "save it as UTF-8")
        }
        if record.hasNUL {
            throw CSVReadError(
                .encoding, path: path, line: line,
                "the header holds NUL bytes: the file is not UTF-8 text (UTF-16, UTF-32 or "
                    + "binary?); save it as UTF-8")
        }
        if record.hasUnclosedQuote {
            throw CSVReadError(
                .missingHeader, path: path, line: line,
                "the header has a quoted name not closed before the end of the file")
        }
        var names: [String] = []
        names.reserveCapacity(record.fields.count)
        var seen: [String: Int] = [:]
        for (index, field) in record.fields.enumerated() {
            let name = trimmingSpacesAndTabs(field)
            guard !name.isEmpty else {
                throw CSVReadError(
                    .missingHeader, path: path, line: line,
                    "column \(index + 1) of the header has no name: the first line must be "
                        + "a header row naming every column (phone, first_name, ...)")
            }
            if name.unicodeScalars.contains("\u{FEFF}") {
                throw CSVReadError(
                    .encoding, path: path, line: line,
                    "column \(index + 1) of the header ('\(escaped(name))') holds a byte order "
                        + "mark (U+FEFF): the file was converted to UTF-8 more than once; save "
                        + "it again as UTF-8 with at most one byte order mark")
            }
            if let control = name.unicodeScalars.first(where: isControl) {
                let what =
                    control == "\n" || control == "\r"
                    ? "a line break" : "a control character (\(codePoint(control)))"
                throw CSVReadError(
                    .missingHeader, path: path, line: line,
                    "column \(index + 1) of the header ('\(escaped(name))') holds \(what): "
                        + "column names must be plain text")
            }
            if let first = seen[name] {
                throw CSVReadError(
                    .duplicateHeader, path: path, line: line,
                    "column '\(name)' appears twice in the header (columns \(first + 1) "
                        + "and \(index + 1))")
            }
            seen[name] = index
            names.append(name)
        }
        return names
    }

    /// `text` without the spaces and tabs at its ends (on bytes: both are ASCII).
    static func trimmingSpacesAndTabs(_ text: String) -> String {
        let utf8 = text.utf8
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        guard let first = utf8.firstIndex(where: { !isBlank($0) }) else { return "" }
        let last = utf8.lastIndex(where: { !isBlank($0) })!
        if first == utf8.startIndex && last == utf8.index(before: utf8.endIndex) { return text }
        return String(text[first...last])
    }

    /// C0 and C1 control characters and DEL.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `text` with its control characters written as `\u{1B}`, for messages.
    private static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) || scalar == "\u{FEFF}" {
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The next row, or `nil` at the end of the input.
    ///
    /// - Throws: ``CSVReadError/Code/unreadable`` when reading fails midway (and again on
    ///   every later call).
    func nextRow() throws(CSVReadError) -> CSVRow? {
        if let failure { throw failure }
        if header.isEmpty { return nil }
        while true {
            switch scanner.next() {
            case .record(let record): return makeRow(record)
            case .end: return nil
            case .needMore:
                do {
                    try Self.fill(&scanner, from: source, chunk: &chunk)
                } catch {
                    failure = error
                    throw error
                }
            }
        }
    }

    private func makeRow(_ record: CSVScanner.Record) -> CSVRow {
        let line = record.line
        if record.isOversized {
            return CSVRow(
                line: line, columns: [], problem: .tooLong(limit: options.maximumRecordBytes))
        }
        var problem: CSVRowProblem? = nil
        if !record.isValidUTF8 {
            problem = .notUTF8
        } else if record.hasNUL {
            problem = .nulByte
        } else if record.hasUnclosedQuote {
            problem = .unclosedQuote
        } else if record.fieldCount != header.count {
            problem = .columnCount(expected: header.count, found: record.fieldCount)
        }
        let columns = record.columns
        return CSVRow(line: line, columns: columns, problem: problem)
    }
}
