/// The byte-level part of the reader: splits buffered bytes into records and fields,
/// tracking physical line numbers, and decodes each field as UTF-8.
///
/// It is push-based: callers append chunks of input and ask for the next record; when
/// the buffered bytes end inside a record, the scan is abandoned and restarted from the
/// record's first byte once more bytes arrived (or the input is complete).
struct CSVScanner {
    /// One record as scanned.
    struct Record {
        /// The physical line where the record starts.
        var line: Int
        /// The fields, decoded (invalid UTF-8 replaced by U+FFFD).
        var fields: [String]
        /// Whether every field was valid UTF-8.
        var isValidUTF8: Bool
        /// Whether the record ended inside a quoted field at the end of the input.
        var hasUnclosedQuote: Bool
    }

    /// The outcome of one scan.
    enum Step {
        case record(Record)
        case needMore
        case end
    }

    private static let quote = UInt8(ascii: "\"")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")

    /// The buffered input; bytes before ``position`` are consumed.
    private(set) var buffer: [UInt8] = []
    /// The first unconsumed byte.
    private var position = 0
    /// The physical line of the byte at ``position`` (1-based).
    private(set) var line = 1
    /// Whether no more input will be appended.
    var isComplete = false
    /// The field separator.
    var separator = UInt8(ascii: ",")
    /// Whether a leading byte order mark was looked for.
    private var checkedBOM = false

    /// Appends input, dropping consumed bytes first.
    mutating func append(_ bytes: some Collection<UInt8>) {
        if position > 0 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// How many bytes are buffered but not consumed.
    var pendingByteCount: Int { buffer.count - position }

    /// Skips a UTF-8 byte order mark at the very start of the input.
    ///
    /// - Returns: `false` when more input is needed to decide.
    mutating func skipByteOrderMark() -> Bool {
        if checkedBOM { return true }
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let available = buffer.count - position
        if available < 3 && !isComplete
            && buffer[position...].elementsEqual(bom.prefix(available))
        {
            return false
        }
        if buffer[position...].starts(with: bom) { position += 3 }
        checkedBOM = true
        return true
    }

    /// Detects the separator from the first non-empty line: `;` when it holds more
    /// unquoted semicolons than unquoted commas, else `,`.
    ///
    /// - Returns: `false` when more input is needed to see the whole line.
    mutating func detectSeparator() -> Bool {
        var commas = 0
        var semicolons = 0
        var inQuotes = false
        var index = position
        var started = false
        while index < buffer.count {
            let byte = buffer[index]
            if byte == Self.quote {
                inQuotes.toggle()
            } else if !inQuotes {
                if byte == Self.lineFeed || byte == Self.carriageReturn {
                    if started { break }
                } else {
                    started = true
                    if byte == UInt8(ascii: ",") { commas += 1 }
                    if byte == UInt8(ascii: ";") { semicolons += 1 }
                }
            }
            if byte == Self.quote { started = true }
            index += 1
        }
        if index == buffer.count && !isComplete { return false }
        separator = semicolons > commas ? UInt8(ascii: ";") : UInt8(ascii: ",")
        return true
    }

    /// Scans the next record, skipping empty lines.
    mutating func next() -> Step {
        buffer.withUnsafeBufferPointer { bytes in scan(bytes) }
    }

    private mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Step {
        let end = bytes.count
        let separator = self.separator
        let complete = isComplete
        var index = position

        // Empty lines: "\n", "\r\n" or a lone "\r" with nothing before it.
        while index < end {
            let byte = bytes[index]
            if byte == Self.lineFeed {
                index += 1
            } else if byte == Self.carriageReturn {
                if index + 1 == end && !complete { return .needMore }
                index += index + 1 < end && bytes[index + 1] == Self.lineFeed ? 2 : 1
            } else {
                break
            }
            line += 1
            position = index
        }
        if index == end { return complete ? .end : .needMore }

        let recordLine = line
        var breaks = 0
        var fields: [String] = []
        var isValid = true
        var unclosed = false

        func decode(_ range: Range<Int>) -> String {
            let slice = UnsafeBufferPointer(rebasing: bytes[range])
            if let text = String(validating: slice, as: UTF8.self) { return text }
            isValid = false
            return String(decoding: slice, as: UTF8.self)
        }

        fieldLoop: while true {
            if index < end && bytes[index] == Self.quote {
                // Quoted field: "" is a quote; separators and line breaks are data.
                index += 1
                var segmentStart = index
                var unescaped: [UInt8]? = nil
                while true {
                    if index == end {
                        if !complete { return .needMore }
                        unclosed = true
                        break
                    }
                    let byte = bytes[index]
                    if byte == Self.quote {
                        if index + 1 == end && !complete { return .needMore }
                        if index + 1 < end && bytes[index + 1] == Self.quote {
                            unescaped = (unescaped ?? []) + bytes[segmentStart...index]
                            index += 2
                            segmentStart = index
                            continue
                        }
                        break
                    }
                    if byte == Self.lineFeed {
                        breaks += 1
                    } else if byte == Self.carriageReturn {
                        if index + 1 == end && !complete { return .needMore }
                        if index + 1 == end || bytes[index + 1] != Self.lineFeed { breaks += 1 }
                    }
                    index += 1
                }
                var contentEnd = index
                if !unclosed { index += 1 }  // the closing quote
                // Bytes between the closing quote and the next separator are kept as they
                // are (`"a"b` reads as `ab`), as most spreadsheet programs do.
                let tailStart = index
                while index < end {
                    let byte = bytes[index]
                    if byte == separator || byte == Self.lineFeed || byte == Self.carriageReturn {
                        break
                    }
                    index += 1
                }
                if unescaped == nil && tailStart == index {
                    fields.append(decode(segmentStart..<contentEnd))
                } else {
                    var content = unescaped ?? []
                    content.append(contentsOf: bytes[segmentStart..<contentEnd])
                    content.append(contentsOf: bytes[tailStart..<index])
                    contentEnd = content.count
                    content.withUnsafeBufferPointer { owned in
                        if let text = String(validating: owned, as: UTF8.self) {
                            fields.append(text)
                        } else {
                            isValid = false
                            fields.append(String(decoding: owned, as: UTF8.self))
                        }
                    }
                }
            } else {
                let start = index
                while index < end {
                    let byte = bytes[index]
                    if byte == separator || byte == Self.lineFeed || byte == Self.carriageReturn {
                        break
                    }
                    index += 1
                }
                fields.append(decode(start..<index))
            }

            if index == end {
                if !complete { return .needMore }
                break fieldLoop
            }
            let byte = bytes[index]
            if byte == separator {
                index += 1
                continue fieldLoop
            }
            if byte == Self.lineFeed {
                index += 1
            } else {  // "\r" or "\r\n"
                if index + 1 == end && !complete { return .needMore }
                index += index + 1 < end && bytes[index + 1] == Self.lineFeed ? 2 : 1
            }
            breaks += 1
            break fieldLoop
        }

        position = index
        line = recordLine + breaks
        return .record(
            Record(
                line: recordLine, fields: fields, isValidUTF8: isValid, hasUnclosedQuote: unclosed))
    }
}
