import Foundation

/// The secrets a provider needs (API keys, logins), with redaction built in.
///
/// Its `description` never shows a value, and ``redact(_:)`` replaces every value that
/// appears in a piece of text by `***`, so logs, dry runs and errors stay free of secrets.
public struct Credentials: Sendable, Hashable, CustomStringConvertible,
    ExpressibleByDictionaryLiteral
{
    /// The provider the credentials belong to, for error messages (`octopush`).
    public var provider: String
    private var values: [String: String]

    /// Creates credentials for `provider` from key–value pairs (`api_key`: ...).
    public init(provider: String = "", _ values: [String: String]) {
        self.provider = provider
        self.values = values
    }

    /// Creates credentials from a dictionary literal.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// The value for `key`, or `nil`.
    public subscript(key: String) -> String? { values[key] }

    /// The keys present, sorted.
    public var keys: [String] { values.keys.sorted() }

    /// The value for `key`.
    /// - Throws: ``ContactError`` `auth_failed` naming the environment variable to set.
    public func require(_ key: String) throws(ContactError) -> String {
        guard let value = values[key], !value.isEmpty else {
            throw ContactError(
                .authFailed,
                "missing credential '\(key)': set \(Credentials.environmentVariable(provider: provider, key: key)) or pass --credential \(key)=...",
                provider: provider.isEmpty ? nil : provider)
        }
        return value
    }

    /// The environment variable that holds credential `key` of `provider`:
    /// `CONTACTOR_<PROVIDER>_<KEY>` in upper case, non-alphanumerics as `_`.
    public static func environmentVariable(provider: String, key: String) -> String {
        func clean(_ text: String) -> String {
            String(text.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        }
        return "CONTACTOR_\(clean(provider))_\(clean(key))"
    }

    /// The credential values, the secrets to hide.
    public var secrets: [String] { values.values.filter { !$0.isEmpty } }

    /// `text` with every credential value, also in its percent-encoded form, replaced by
    /// `***`.
    public func redact(_ text: String) -> String {
        Redactor(secrets: secrets).redact(text)
    }

    /// Lists the keys, never the values.
    public var description: String {
        "Credentials(\(provider.isEmpty ? "" : provider + ": ")\(keys.map { "\($0)=***" }.joined(separator: ", ")))"
    }
}

/// Replaces known secret values in text by `***`.
public struct Redactor: Sendable, Hashable {
    /// The texts to hide, longest first so that no part of a longer secret survives.
    public let secrets: [String]

    /// Creates a redactor for `secrets` (empty strings are ignored). Each secret is also
    /// hidden in its percent-encoded and JSON-escaped forms.
    public init(secrets: [String]) {
        var all = Set<String>()
        for secret in secrets where !secret.isEmpty {
            all.insert(secret)
            all.insert(Redactor.percentEncoded(secret))
            all.insert(Redactor.percentEncoded(secret, spaceAsPlus: true))
            all.insert(Redactor.jsonEscaped(secret))
        }
        self.secrets = all.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// `text` with every secret replaced by `***`.
    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        return result
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
