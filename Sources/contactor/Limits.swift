import ArgumentParser
import Foundation

/// The ranges of the numeric options, checked when the arguments are parsed (and when a
/// config file is read), so that a value out of range is a usage error (exit 2) naming the
/// range, before anything is sent.
enum Limits {
    /// `--batch-size`: contacts per request (a provider's own maximum still applies).
    static let batchSize = 1...10_000
    /// `--concurrency`: requests in flight at once.
    static let concurrency = 1...256
    /// `--rate-limit`: requests per second. The lower bound, one request every 100 s,
    /// keeps a typo such as `1e-9` from scheduling the second request decades later.
    static let rateLimit: ClosedRange<Double> = 0.01...10_000
    /// `--max-deletes`: contacts a sync may delete.
    static let maxDeletes = 0...100_000_000
    /// `--timeout`: seconds one request may take, body included.
    static let timeout: ClosedRange<Double> = 0.1...3_600
    /// `--max-rejects`: rejected contacts a run may have and still exit 0.
    static let maxRejects = 0...Int(Int32.max)
    /// A port in an `--endpoint`.
    static let port = 1...65_535

    /// `text` read as an integer of `range`, for `option`.
    ///
    /// - Throws: a `ValidationError` naming the option and the range; a negative number is
    ///   said to be one (ArgumentParser would otherwise take it for an option).
    static func integer(_ text: String, option: String, in range: ClosedRange<Int>) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expected =
            "\(option) takes a whole number from \(range.lowerBound) to \(range.upperBound)"
        if trimmed.hasPrefix("-"), trimmed.dropFirst().allSatisfy(\.isNumber), trimmed.count > 1 {
            throw ValidationError("\(expected); \(escaped(text)) is a negative number")
        }
        guard let value = Int(trimmed), range.contains(value) else {
            throw ValidationError("\(expected), not \(escaped(text))")
        }
        return value
    }

    /// `text` read as a finite number of `range`, for `option` (in `unit`).
    ///
    /// - Throws: a `ValidationError` naming the option and the range.
    static func number(
        _ text: String, option: String, unit: String, in range: ClosedRange<Double>
    ) throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expected =
            "\(option) takes a number of \(unit) from \(format(range.lowerBound)) to \(format(range.upperBound))"
        // `Double("nan")`, `Double("inf")` and hexadecimal floats parse; none is meant.
        let isDecimal = trimmed.allSatisfy { $0.isNumber || "+-.eE".contains($0) }
        guard isDecimal, let value = Double(trimmed), value.isFinite else {
            throw ValidationError("\(expected), not \(escaped(text))")
        }
        if value < 0 {
            throw ValidationError("\(expected); \(escaped(text)) is a negative number")
        }
        guard range.contains(value) else {
            throw ValidationError("\(expected), not \(escaped(text))")
        }
        return value
    }

    /// `value` without a needless `.0`.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// `text` quoted for a message, its control characters escaped.
    static func escaped(_ text: String) -> String {
        "'" + TerminalText.escaped(text) + "'"
    }
}

/// Text from outside (CSV values and header names, arguments, server messages) made safe
/// to print on a terminal: control characters are written as `\u{1B}`, so that an escape
/// sequence cannot drive the terminal and a line break cannot forge a table row.
enum TerminalText {
    /// `text` with its C0 and C1 control characters and DEL written as `\u{…}`.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Whether `text` holds a control character (C0, C1 or DEL).
    static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains(where: isControl)
    }

    /// C0 and C1 control characters and DEL.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
