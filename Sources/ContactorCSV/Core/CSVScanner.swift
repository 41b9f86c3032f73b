// The byte-level part of the reader. This folder (Core/) imports neither Contactor nor
// Foundation, so that the fuzz harness (fuzz/csv) can compile it on its own.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Splits buffered bytes into records and fields, tracking physical line numbers, and
/// decodes each field as UTF-8.
///
/// It is push-based and resumable: callers append chunks of input and ask for the next
/// record; when the buffered bytes end inside a record, the scanner remembers where it
/// stopped (its state, the fields found so far) and goes on from there once more bytes
/// arrived, so every byte is examined once however long the record is.
///
/// A record longer than ``maximumRecordBytes`` is not kept: from the moment it passes the
/// limit the scanner only follows its quotes and line breaks, dropping its bytes as they
/// are scanned, and returns it as an oversized record without fields, so memory stays at
/// one chunk plus the limit whatever the input.
struct CSVScanner {
    /// One record as scanned.
    struct Record {
        /// The physical line where the record starts.
        var line: Int
        /// The fields, decoded (invalid UTF-8 replaced by U+FFFD), when ``names`` is empty
        /// (the header); empty when oversized.
        var fields: [String]
        /// The fields that have a name in ``names``, paired with it (data rows).
        var columns: [(name: String, value: String)]
        /// How many fields the record has (named or not).
        var fieldCount: Int
        /// Whether every field was valid UTF-8.
        var isValidUTF8: Bool
        /// Whether the record ended inside a quoted field at the end of the input.
        var hasUnclosedQuote: Bool
        /// Whether a field holds a NUL byte.
        var hasNUL: Bool
        /// Whether the record was longer than the limit (then it has no fields).
        var isOversized: Bool
    }

    /// The outcome of one scan.
    enum Step {
        case record(Record)
        case needMore
        case end
    }

    /// Where the scan stopped.
    private enum State {
        /// Between records: line breaks here are empty lines.
        case betweenRecords
        /// At the first byte of a field.
        case fieldStart
        /// Inside an unquoted field.
        case unquoted
        /// Inside a quoted field.
        case quoted
        /// Just after a quote inside a quoted field: `""` or the closing quote.
        case quoteInQuoted
        /// After the closing quote, before the next separator or line break.
        case afterQuoted
    }

    /// A field of the record being scanned, as offsets from the record's first byte.
    private struct Span {
        /// The first byte of the content (after the opening quote, if any).
        var start: Int
        /// One past the content's last byte (the closing quote, if any).
        var end: Int
        /// The bytes kept after a closing quote (`"a"b`): `tailStart..<tailEnd`.
        var tailStart: Int
        var tailEnd: Int
        /// Whether the content holds doubled quotes to unescape.
        var escaped: Bool
    }

    static let quote = UInt8(ascii: "\"")
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")

    /// The buffered input. Bytes before ``recordStart`` are consumed (one is kept before
    /// it, so that a line feed can always look back for the carriage return before it).
    private(set) var buffer: [UInt8] = []
    /// The first byte not examined yet.
    private var index = 0
    /// The first byte of the record being scanned (or of the next one).
    private var recordStart = 0
    /// The physical line of the next record's first byte (1-based).
    private(set) var line = 1
    /// Whether no more input will be appended.
    var isComplete = false
    /// The field separator.
    var separator = UInt8(ascii: ",")
    /// The longest record kept, in bytes (its line break excluded).
    var maximumRecordBytes = Int.max
    /// The column names: once set (after the header), records come as ``Record/columns``
    /// (the fields past the last name are counted, not decoded).
    var names: [String] = []

    private var state = State.betweenRecords
    private var recordLine = 1
    private var breaks = 0
    private var spans: [Span] = []
    private var fieldStart = 0
    private var contentEnd = 0
    private var tailStart = 0
    private var escaped = false
    private var hasNUL = false
    private var oversized = false

    /// How many bytes the scan loops stepped over in all (a measure of the work done,
    /// for tests: each byte of the input is examined once).
    private(set) var bytesExamined = 0
    /// The largest number of bytes the buffer held at once (for tests of bounded memory).
    private(set) var maximumBufferedBytes = 0

    /// Appends input, dropping consumed bytes first.
    mutating func append(_ bytes: some Collection<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
        if buffer.count > maximumBufferedBytes { maximumBufferedBytes = buffer.count }
    }

    /// Appends the bytes at `pointer`, dropping consumed bytes first.
    mutating func append(_ pointer: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: pointer)
        if buffer.count > maximumBufferedBytes { maximumBufferedBytes = buffer.count }
    }

    /// Drops the bytes no longer needed: before the record being scanned, or everything
    /// examined while an oversized record is skipped; one byte is kept before the cut.
    private mutating func compact() {
        let keep = oversized ? index : recordStart
        let drop = keep - 1
        guard drop > 0 else { return }
        buffer.removeSubrange(0..<drop)
        index -= drop
        recordStart -= drop
        fieldStart -= drop
        contentEnd -= drop
        tailStart -= drop
    }

    /// How many bytes are buffered but not consumed.
    var pendingByteCount: Int { buffer.count - recordStart }

    /// The bytes buffered from the first unconsumed one on (for the checks before the
    /// header).
    var pendingBytes: ArraySlice<UInt8> { buffer[recordStart...] }

    /// Consumes `count` bytes before anything was scanned (a byte order mark).
    mutating func skip(_ count: Int) {
        precondition(state == .betweenRecords && index == recordStart)
        index += count
        recordStart = index
    }

    /// Consumes the line breaks before the first record (so that separator detection
    /// starts at its first byte, and a stream of empty lines is not kept in memory).
    ///
    /// - Returns: `false` when more input is needed (the buffer ended in line breaks).
    mutating func skipEmptyLines() -> Bool {
        precondition(state == .betweenRecords)
        let storage = buffer
        var index = self.index
        while index < storage.count {
            let byte = storage[index]
            if byte == Self.lineFeed {
                if index == 0 || storage[index - 1] != Self.carriageReturn { line += 1 }
            } else if byte == Self.carriageReturn {
                line += 1
            } else {
                break
            }
            index += 1
        }
        bytesExamined += index - self.index
        self.index = index
        recordStart = index
        return index < storage.count || isComplete
    }

    // MARK: Separator detection

    /// How far separator detection got: offsets from ``recordStart``, and its counts.
    private var detection = (offset: 0, commas: 0, semicolons: 0, inQuotes: false, started: false)

    /// Detects the separator from the first non-empty line: `;` when it holds more
    /// unquoted semicolons than unquoted commas, else `,`. A quote toggles the count off
    /// and on wherever it is; the first line break outside quotes after some text ends
    /// the line. Resumable: each call goes on where the previous one stopped.
    ///
    /// - Returns: `false` when more input is needed to see the whole line (no more than
    ///   ``maximumRecordBytes`` are looked at: a longer line is decided on what was seen).
    mutating func detectSeparator() -> Bool {
        var position = recordStart + detection.offset
        var (commas, semicolons, inQuotes, started) = (
            detection.commas, detection.semicolons, detection.inQuotes, detection.started
        )
        var finished = false
        while position < buffer.count {
            let byte = buffer[position]
            if byte == Self.quote {
                inQuotes.toggle()
                started = true
            } else if !inQuotes {
                if byte == Self.lineFeed || byte == Self.carriageReturn {
                    if started {
                        finished = true
                        break
                    }
                } else {
                    started = true
                    if byte == UInt8(ascii: ",") { commas += 1 }
                    if byte == UInt8(ascii: ";") { semicolons += 1 }
                }
            }
            position += 1
            if position - recordStart > maximumRecordBytes {
                finished = true
                break
            }
        }
        detection = (position - recordStart, commas, semicolons, inQuotes, started)
        if !finished && !isComplete { return false }
        separator = semicolons > commas ? UInt8(ascii: ";") : UInt8(ascii: ",")
        return true
    }

    // MARK: Scanning

    /// Scans the next record, skipping empty lines.
    mutating func next() -> Step {
        let storage = buffer  // the scan reads it while it updates the other properties
        return storage.withUnsafeBufferPointer { bytes in scan(bytes) }
    }

    private mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Step {
        let end = bytes.count
        let separator = self.separator
        let complete = isComplete
        let lineFeed = Self.lineFeed
        let carriageReturn = Self.carriageReturn
        let quote = Self.quote
        var index = self.index
        let startIndex = index
        defer { bytesExamined += index - startIndex }

        /// Whether `byte` ends an unquoted field; notes NULs on the way.
        @inline(__always) func isFieldEnd(_ byte: UInt8) -> Bool {
            if byte == separator { return true }
            if byte > carriageReturn { return false }
            if byte == lineFeed || byte == carriageReturn { return true }
            if byte == 0 { hasNUL = true }
            return false
        }

        while true {
            switch state {
            case .betweenRecords:
                while index < end {
                    let byte = bytes[index]
                    if byte == lineFeed {
                        if index == 0 || bytes[index - 1] != carriageReturn { line += 1 }
                    } else if byte == carriageReturn {
                        line += 1
                    } else {
                        break
                    }
                    index += 1
                }
                recordStart = index
                if index == end {
                    self.index = index
                    return complete ? .end : .needMore
                }
                recordLine = line
                breaks = 0
                spans.removeAll(keepingCapacity: true)
                hasNUL = false
                oversized = false
                state = .fieldStart

            case .fieldStart:
                if index == end {
                    if !complete { return needMore(at: index) }
                    addField(start: index, end: index)
                    return finishRecord(terminator: index, next: index, unclosed: false, bytes)
                }
                if bytes[index] == quote {
                    index += 1
                    fieldStart = index
                    escaped = false
                    state = .quoted
                } else {
                    fieldStart = index
                    state = .unquoted
                }

            case .unquoted:
                while index < end && !isFieldEnd(bytes[index]) { index += 1 }
                if index == end {
                    if !complete { return needMore(at: index) }
                    addField(start: fieldStart, end: index)
                    return finishRecord(terminator: index, next: index, unclosed: false, bytes)
                }
                addField(start: fieldStart, end: index)
                if let step = endField(at: &index, bytes) { return step }

            case .quoted:
                while index < end {
                    let byte = bytes[index]
                    if byte == quote { break }
                    if byte <= carriageReturn {
                        if byte == lineFeed {
                            if index == 0 || bytes[index - 1] != carriageReturn { breaks += 1 }
                        } else if byte == carriageReturn {
                            breaks += 1
                        } else if byte == 0 {
                            hasNUL = true
                        }
                    }
                    index += 1
                }
                if index == end {
                    if !complete { return needMore(at: index) }
                    addQuotedField(end: index, tailStart: index, tailEnd: index)
                    return finishRecord(terminator: index, next: index, unclosed: true, bytes)
                }
                contentEnd = index
                index += 1
                state = .quoteInQuoted

            case .quoteInQuoted:
                if index == end {
                    if !complete { return needMore(at: index) }
                    addQuotedField(end: contentEnd, tailStart: index, tailEnd: index)
                    return finishRecord(terminator: index, next: index, unclosed: false, bytes)
                }
                if bytes[index] == quote {
                    escaped = true
                    index += 1
                    state = .quoted
                } else {
                    tailStart = index
                    state = .afterQuoted
                }

            case .afterQuoted:
                // Bytes between the closing quote and the next separator are kept as they
                // are (`"a"b` reads as `ab`), as most spreadsheet programs do.
                while index < end && !isFieldEnd(bytes[index]) { index += 1 }
                if index == end {
                    if !complete { return needMore(at: index) }
                    addQuotedField(end: contentEnd, tailStart: tailStart, tailEnd: index)
                    return finishRecord(terminator: index, next: index, unclosed: false, bytes)
                }
                addQuotedField(end: contentEnd, tailStart: tailStart, tailEnd: index)
                if let step = endField(at: &index, bytes) { return step }
            }
        }
    }

    /// After a field, at the separator or line break at `index`: goes on to the next field,
    /// or ends the record.
    @inline(__always)
    private mutating func endField(
        at index: inout Int, _ bytes: UnsafeBufferPointer<UInt8>
    )
        -> Step?
    {
        let byte = bytes[index]
        index += 1
        if byte == separator {
            state = .fieldStart
            return nil
        }
        // "\n", or "\r" (a "\n" right after it is skipped as part of the same line break).
        breaks += 1
        return finishRecord(terminator: index - 1, next: index, unclosed: false, bytes)
    }

    /// Stops at the end of the buffered bytes; an oversized record starts being skipped.
    private mutating func needMore(at index: Int) -> Step {
        self.index = index
        if !oversized && index - recordStart > maximumRecordBytes {
            oversized = true
            spans.removeAll(keepingCapacity: false)
        }
        return .needMore
    }

    @inline(__always)
    private mutating func addField(start: Int, end: Int) {
        if oversized { return }
        spans.append(
            Span(
                start: start - recordStart, end: end - recordStart,
                tailStart: end - recordStart, tailEnd: end - recordStart, escaped: false))
    }

    @inline(__always)
    private mutating func addQuotedField(end: Int, tailStart: Int, tailEnd: Int) {
        if oversized { return }
        spans.append(
            Span(
                start: fieldStart - recordStart, end: end - recordStart,
                tailStart: tailStart - recordStart, tailEnd: tailEnd - recordStart,
                escaped: escaped))
    }

    /// Ends the record whose line break (or the end of the input) is at `terminator`;
    /// scanning goes on at `next`.
    private mutating func finishRecord(
        terminator: Int, next: Int, unclosed: Bool, _ bytes: UnsafeBufferPointer<UInt8>
    ) -> Step {
        index = next
        state = .betweenRecords
        let start = recordStart
        recordStart = next
        line = recordLine + breaks
        if oversized || terminator - start > maximumRecordBytes {
            oversized = false
            spans.removeAll(keepingCapacity: true)
            return .record(
                Record(
                    line: recordLine, fields: [], columns: [], fieldCount: 0, isValidUTF8: true,
                    hasUnclosedQuote: unclosed, hasNUL: false, isOversized: true))
        }
        var isValid = true
        var fields: [String] = []
        var columns: [(name: String, value: String)] = []
        let base = bytes.baseAddress! + start
        if names.isEmpty {
            fields.reserveCapacity(spans.count)
            for span in spans { fields.append(Self.decode(span, base: base, isValid: &isValid)) }
        } else {
            let count = min(names.count, spans.count)
            columns.reserveCapacity(count)
            names.withUnsafeBufferPointer { names in
                spans.withUnsafeBufferPointer { spans in
                    for index in 0..<count {
                        columns.append(
                            (names[index], Self.decode(spans[index], base: base, isValid: &isValid))
                        )
                    }
                }
            }
            // Fields without a name are not kept, but their UTF-8 is still checked.
            for span in spans.dropFirst(count) {
                _ = Self.decode(span, base: base, isValid: &isValid)
            }
        }
        return .record(
            Record(
                line: recordLine, fields: fields, columns: columns, fieldCount: spans.count,
                isValidUTF8: isValid, hasUnclosedQuote: unclosed, hasNUL: hasNUL,
                isOversized: false))
    }

    /// Decodes one field: the content, its doubled quotes made single, then its tail.
    private static func decode(
        _ span: Span, base: UnsafePointer<UInt8>, isValid: inout Bool
    ) -> String {
        if !span.escaped && span.tailStart == span.tailEnd {
            let slice = UnsafeBufferPointer(start: base + span.start, count: span.end - span.start)
            return decode(slice, isValid: &isValid)
        }
        var content: [UInt8] = []
        content.reserveCapacity(span.end - span.start + span.tailEnd - span.tailStart)
        var position = span.start
        while position < span.end {
            let byte = base[position]
            content.append(byte)
            // Inside quotes, a quote is always the first of a pair: keep one.
            position += byte == quote ? 2 : 1
        }
        content.append(
            contentsOf: UnsafeBufferPointer(
                start: base + span.tailStart, count: span.tailEnd - span.tailStart))
        return content.withUnsafeBufferPointer { decode($0, isValid: &isValid) }
    }

    /// Decodes UTF-8, noting in `isValid` when it was not valid.
    ///
    /// `String(decoding:as:)` replaces invalid bytes by U+FFFD, so the text holds exactly
    /// the input's bytes if and only if they were valid UTF-8: one comparison tells. (It
    /// is not generic at run time, unlike `String(validating:as:)`, whose metadata lookups
    /// took a fifth of the reading time.)
    @inline(__always)
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, isValid: inout Bool) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        if isASCII(bytes) { return text }
        let same = text.utf8.withContiguousStorageIfAvailable { utf8 in
            utf8.count == bytes.count
                && (bytes.isEmpty
                    || memcmp(utf8.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        }
        if same == false || (same == nil && String(validating: bytes, as: UTF8.self) == nil) {
            isValid = false
        }
        return text
    }

    /// Whether every byte is below 0x80, eight at a time.
    @inline(__always)
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let count = bytes.count
        var offset = 0
        var bits: UInt64 = 0
        while offset + 8 <= count {
            bits |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < count {
            bits |= UInt64(base[offset])
            offset += 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }
}
