// libFuzzer harness for the CSV reader's core (Sources/ContactorCSV/Core: the resumable
// scanner, the encoding checks, the header rules), compiled alone with it by scripts/fuzz:
//
//     swiftc -parse-as-library -sanitize=fuzzer,address -O \
//         Sources/ContactorCSV/Core/*.swift fuzz/csv/main.swift -o .build/fuzz/csv
//
// Each input is read several ways, and they must agree:
// - in one 64 KiB chunk, in 1-byte chunks and in 7-byte chunks, with the default record
//   size limit: the same header, rows, lines and problems (or the same error);
// - with a 24-byte limit, in 1-byte and 5-byte chunks: the same again.
// And on every reading: lines strictly increase, no row has more columns than the header,
// each byte is examined at most once, and the buffer never holds more than the limit
// plus one chunk (and the byte kept before it; or the 4 KiB the encoding check may look
// at, when the limit is smaller).

/// The bytes of the input, handed out `chunk` at a time.
final class FuzzSource: CSVByteSource {
    let bytes: UnsafeRawBufferPointer
    let chunk: Int
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, chunk: Int) {
        self.bytes = bytes
        self.chunk = chunk
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CSVReadError) -> Int {
        let count = min(buffer.count, chunk, bytes.count - offset)
        if count > 0 {
            buffer.copyMemory(
                from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
            offset += count
        }
        return count
    }
}

/// What one reading gave.
enum Outcome: Equatable {
    struct Row: Equatable {
        var line: Int
        var names: [String]
        var values: [String]
        var problem: CSVRowProblem?
    }
    case failed(CSVReadError)
    case read(header: [String], separator: UInt8, rows: [Row])
}

func readAll(_ bytes: UnsafeRawBufferPointer, chunk: Int, limit: Int) -> Outcome {
    let options = CSVReaderOptions(maximumRecordBytes: limit, chunkSize: chunk)
    let reader: CSVRowReader
    do {
        reader = try CSVRowReader(
            source: FuzzSource(bytes, chunk: chunk), name: "<fuzz>", options: options)
    } catch {
        return .failed(error)
    }
    var rows: [Outcome.Row] = []
    var previous = reader.headerLine ?? 0
    while true {
        let row: CSVRow?
        do {
            row = try reader.nextRow()
        } catch {
            return .failed(error)
        }
        guard let row else { break }
        precondition(row.line > previous, "lines must increase")
        precondition(row.columns.count <= reader.header.count, "more columns than names")
        if case .tooLong = row.problem { precondition(row.columns.isEmpty) }
        previous = row.line
        rows.append(
            Outcome.Row(
                line: row.line, names: row.columns.map(\.name), values: row.columns.map(\.value),
                problem: row.problem))
    }
    precondition(reader.bytesExamined <= bytes.count, "a byte was examined twice")
    // The encoding check looks at up to 4 KiB (and a byte order mark) of the first line
    // before anything else, whatever the limit.
    let bound = max(limit, CSVEncodingCheck.sampleSize + 3) + chunk + 1
    precondition(
        reader.maximumBufferedBytes <= bound,
        "buffered \(reader.maximumBufferedBytes) bytes with a limit of \(limit)")
    return .read(header: reader.header, separator: reader.separator, rows: rows)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let whole = readAll(bytes, chunk: 1 << 16, limit: CSVReaderOptions.defaultMaximumRecordBytes)
    precondition(
        readAll(bytes, chunk: 1, limit: CSVReaderOptions.defaultMaximumRecordBytes) == whole)
    precondition(
        readAll(bytes, chunk: 7, limit: CSVReaderOptions.defaultMaximumRecordBytes) == whole)
    let small = readAll(bytes, chunk: 1, limit: 24)
    precondition(readAll(bytes, chunk: 5, limit: 24) == small)
    return 0
}
