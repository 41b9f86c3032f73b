internal import CPhoneNumber

/// A phone number checked and normalised by libphonenumber.
///
/// Create one with ``init(parsing:defaultRegion:)``; it only succeeds for numbers
/// libphonenumber considers valid, so every `PhoneNumber` can be sent to a provider.
public struct PhoneNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number in E.164 form, `+33612345678`.
    public let e164: String
    /// The ISO 3166-1 alpha-2 region the number belongs to (`FR`), `nil` for
    /// non-geographic numbers.
    public let region: String?
    /// The country calling code (`33`).
    public let countryCode: Int
    /// The line type libphonenumber gives the number.
    public let type: PhoneNumberType

    /// Creates a number from parts already known to be valid, without checking them.
    ///
    /// Meant for tests and for decoding numbers Contactor stored itself; parse user input
    /// with ``init(parsing:defaultRegion:)``.
    public init(e164: String, region: String?, countryCode: Int, type: PhoneNumberType) {
        self.e164 = e164
        self.region = region
        self.countryCode = countryCode
        self.type = type
    }

    /// Parses and validates what a person typed.
    ///
    /// Accepts spaces, dots, dashes, brackets, `00` prefixes and `tel:` URIs. A national
    /// number (`06 12 34 56 78`) needs `defaultRegion`.
    /// - Parameters:
    ///   - text: The number as typed.
    ///   - defaultRegion: ISO 3166-1 alpha-2 region for national numbers (`FR`).
    /// - Throws: ``ContactError`` with code `invalid_phone`, saying why.
    public init(parsing text: String, defaultRegion: String? = nil) throws(ContactError) {
        self = try PhoneNumberParser.parse(text, defaultRegion: defaultRegion)
    }

    /// The number in international digits without `+` (`33612345678`).
    public var internationalDigits: String { String(e164.dropFirst()) }

    /// Whether libphonenumber knows `code` as a region (`FR` is one, `XX` and `fr` are
    /// not), so that a default region can be checked before any number is read.
    public static func isKnownRegion(_ code: String) -> Bool {
        code.count == 2 && code.allSatisfy { $0.isASCII && $0.isUppercase }
            && cpn_is_supported_region(code) != 0
    }

    /// The E.164 form.
    public var description: String { e164 }
}

/// The kind of line a number belongs to, as libphonenumber classifies it.
public struct PhoneNumberType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// Snake-case name (`mobile`, `fixed_line`, ...), as exposed to Lua and JSON.
    public let rawValue: String

    /// Creates a type from its snake-case name.
    public init(rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    /// A fixed line.
    public static let fixedLine = PhoneNumberType(rawValue: "fixed_line")
    /// A mobile line.
    public static let mobile = PhoneNumberType(rawValue: "mobile")
    /// A number that may be either (US and others).
    public static let fixedLineOrMobile = PhoneNumberType(rawValue: "fixed_line_or_mobile")
    /// A free-phone number.
    public static let tollFree = PhoneNumberType(rawValue: "toll_free")
    /// A premium-rate number.
    public static let premiumRate = PhoneNumberType(rawValue: "premium_rate")
    /// A shared-cost number.
    public static let sharedCost = PhoneNumberType(rawValue: "shared_cost")
    /// Voice over IP.
    public static let voip = PhoneNumberType(rawValue: "voip")
    /// A personal number.
    public static let personalNumber = PhoneNumberType(rawValue: "personal_number")
    /// A pager.
    public static let pager = PhoneNumberType(rawValue: "pager")
    /// Universal access number.
    public static let uan = PhoneNumberType(rawValue: "uan")
    /// Voicemail access.
    public static let voicemail = PhoneNumberType(rawValue: "voicemail")
    /// Unknown type.
    public static let unknown = PhoneNumberType(rawValue: "unknown")

    /// Whether SMS can plausibly reach the number (mobile, or fixed-line-or-mobile).
    public var canReceiveSMS: Bool { self == .mobile || self == .fixedLineOrMobile }
}

/// The bridge to libphonenumber.
enum PhoneNumberParser {
    static func parse(_ text: String, defaultRegion: String?) throws(ContactError) -> PhoneNumber {
        var text = text
        let region = defaultRegion?.uppercased() ?? ""
        var out = cpn_number()
        let status = text.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                cpn_parse(chars.baseAddress, chars.count, region, &out)
            }
        }
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        switch status {
        case CPN_OK: break
        case CPN_INVALID_COUNTRY_CODE:
            let knownRegion = !region.isEmpty && cpn_is_supported_region(region) != 0
            if givesCountryCode(text, hasRegion: knownRegion) {
                throw ContactError(
                    .invalidPhone, "'\(shown)' has no valid country code", field: "phone")
            }
            if region.isEmpty {
                throw ContactError(
                    .invalidPhone, "'\(shown)' is a national number: a region is needed to read it",
                    field: "phone", detail: .regionNeeded)
            }
            throw ContactError(
                .invalidPhone,
                "'\(shown)' is a national number: a region is needed to read it, and "
                    + "'\(region)' is not a known region (an ISO 3166 code such as FR is)",
                field: "phone", detail: .unknownRegion)
        case CPN_TOO_SHORT_NSN, CPN_TOO_SHORT_AFTER_IDD:
            throw ContactError(.invalidPhone, "'\(shown)' is too short", field: "phone")
        case CPN_TOO_LONG_NSN, CPN_INPUT_TOO_LONG:
            throw ContactError(.invalidPhone, "'\(shown)' is too long", field: "phone")
        default:
            throw ContactError(.invalidPhone, "'\(shown)' is not a phone number", field: "phone")
        }
        let e164 = withUnsafeBytes(of: &out.e164) {
            String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
        }
        let numberRegion = withUnsafeBytes(of: &out.region) {
            String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard out.is_valid != 0 else {
            let trimmed = text.drop { $0 == " " || $0 == "\t" }
            let international =
                trimmed.hasPrefix("+") || trimmed.hasPrefix("00") || trimmed.hasPrefix("tel:+")
            let place =
                region.isEmpty || international || region == numberRegion
                ? "" : " for region \(region)"
            throw ContactError(
                .invalidPhone, "'\(shown)' is not a valid phone number\(place)", field: "phone")
        }
        let typeName = String(cString: cpn_type_name(out.number_type))
        return PhoneNumber(
            e164: e164, region: numberRegion == "ZZ" || numberRegion.isEmpty ? nil : numberRegion,
            countryCode: Int(out.country_code), type: PhoneNumberType(rawValue: typeName))
    }

    /// Whether the text starts with a country code: `+` (also in a `tel:` URI) before any
    /// digit, or, with no known region, a leading `00` (which the C glue reads as `+`).
    private static func givesCountryCode(_ text: String, hasRegion: Bool) -> Bool {
        let trimmed = text.drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        if !hasRegion && trimmed.hasPrefix("00") { return true }
        return trimmed.first { $0 == "+" || $0.isASCII && $0.isNumber } == "+"
    }
}
