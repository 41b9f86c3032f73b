import Foundation

/// Masks known secret values in text (`***`), and cuts text to a length without
/// revealing part of a secret.
///
/// Each secret is also recognised in the forms it takes on the wire: percent-encoded
/// (both `%20` and `+` for a space), JSON-escaped and base64. Only secrets are masked,
/// never identifiers such as a login. A secret of fewer than ``minimumSubstringLength``
/// characters is masked only as a whole occurrence (not inside a longer word), so a
/// one-letter test key does not turn `/v1/public/...` into `/v1/pu***lic/...`; a longer one
/// is masked wherever it appears.
public struct Redactor: Sendable, Hashable {
    /// How many characters of a provider's message or body are quoted by default.
    public static let defaultLimit = 300

    /// Secrets at least this long are masked wherever they appear; shorter ones only as
    /// whole words.
    public static let minimumSubstringLength = 8

    /// The texts to hide, longest first so that no part of a longer secret survives.
    public let secrets: [String]

    /// A redactor that hides nothing.
    public static let none = Redactor(secrets: [])

    /// Creates a redactor for `secrets` (empty strings are ignored).
    public init(secrets: [String]) {
        var all = Set<String>()
        for secret in secrets where !secret.isEmpty {
            all.insert(secret)
            all.insert(Redactor.percentEncoded(secret))
            all.insert(Redactor.percentEncoded(secret, spaceAsPlus: true))
            all.insert(Redactor.jsonEscaped(secret))
            if secret.utf8.count >= 4 { all.insert(Data(secret.utf8).base64EncodedString()) }
        }
        self.secrets = all.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// Creates a redactor for the secret values of `secrets`.
    public init(_ secrets: [Secret]) {
        self.init(secrets: secrets.map { $0.reveal() })
    }

    /// Whether there is nothing to hide.
    public var isEmpty: Bool { secrets.isEmpty }

    /// `text` with every secret replaced by `***`.
    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var result = text
        for secret in secrets where result.contains(secret) {
            if secret.count >= Self.minimumSubstringLength {
                result = result.replacingOccurrences(of: secret, with: "***")
            } else {
                result = Self.replacingWholeOccurrences(of: secret, in: result)
            }
        }
        return result
    }

    /// `text` masked, then cut to `limit` characters (`…` marks a cut), and without a
    /// trailing part of a secret: text that arrived already cut short (a body read up to a
    /// size limit) may end with the first characters of a secret, which are dropped too.
    public func quote(_ text: String, limit: Int = Redactor.defaultLimit) -> String {
        var result = redact(text)
        var cut = false
        if result.count > limit {
            result = String(result.prefix(limit))
            cut = true
        }
        if let partial = trailingSecretPrefix(of: result) {
            result.removeLast(partial)
            cut = true
        }
        return cut ? result + "…" : result
    }

    /// The length of the longest end of `text` (at least 4 characters) that is the start
    /// of a secret, or `nil`.
    private func trailingSecretPrefix(of text: String) -> Int? {
        guard !secrets.isEmpty else { return nil }
        let tail = Array(text.suffix(64))
        var longest: Int?
        for secret in secrets {
            let head = Array(secret)
            let upper = min(head.count - 1, tail.count)
            guard upper >= 4 else { continue }
            for length in stride(from: upper, through: 4, by: -1)
            where tail[(tail.count - length)...].elementsEqual(head[..<length]) {
                longest = max(longest ?? 0, length)
                break
            }
        }
        return longest
    }

    private static func replacingWholeOccurrences(of secret: String, in text: String) -> String {
        let checkBefore = secret.first.map(isWordCharacter) ?? false
        let checkAfter = secret.last.map(isWordCharacter) ?? false
        var result = ""
        var rest = text[...]
        while let range = rest.range(of: secret) {
            let before =
                range.lowerBound > rest.startIndex
                ? rest[rest.index(before: range.lowerBound)] : nil
            let after = range.upperBound < rest.endIndex ? rest[range.upperBound] : nil
            let whole =
                !(checkBefore && before.map(isWordCharacter) == true)
                && !(checkAfter && after.map(isWordCharacter) == true)
            result += rest[..<range.lowerBound]
            result += whole ? "***" : String(rest[range])
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_"
    }

    static func percentEncoded(_ text: String, spaceAsPlus: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " ") where spaceAsPlus:
                out += "+"
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return out
    }

    static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += "\\/"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
