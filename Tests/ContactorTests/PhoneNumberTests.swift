import Contactor
import Foundation
import Testing

/// One case of `Fixtures/phone-numbers.json`, which `scripts/generate-phone-fixtures.py`
/// writes from Python's `phonenumbers` 8.12.57 (an independent port of libphonenumber with
/// the metadata of Debian's libphonenumber 8.12.57).
struct PhoneCase: Sendable, Decodable, CustomTestStringConvertible {
    struct Expected: Sendable, Decodable {
        var e164: String?
        var region: String?
        var type: String?
        var error: String?
    }

    var group: String
    var input: String
    var region: String?
    var expected: Expected
    /// Set where Contactor deliberately answers differently from plain libphonenumber
    /// (a leading `00` with no region read as `+`; a lower-case region).
    var deviation: String?

    var testDescription: String {
        let shown = input.count > 30 ? String(input.prefix(30)) + "…" : input
        return "\(group): '\(shown)' region \(region ?? "none")"
    }

    struct File: Decodable {
        var phonenumbers: String
        var cases: [PhoneCase]
    }

    static func load() throws -> [PhoneCase] {
        let url = try #require(
            Bundle.module.url(
                forResource: "phone-numbers", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }
}

/// What an expected error kind must say in the message.
let messageForErrorKind: [String: String] = [
    "needs_region": "is a national number: a region is needed to read it",
    "invalid_country_code": "has no valid country code",
    "not_a_number": "is not a phone number",
    "too_short": "is too short",
    "too_long": "is too long",
    "invalid": "is not a valid phone number",
]

@Suite struct PhoneNumberTests {
    @Test func theFixtureCoversTwelveCountriesEveryLineTypeAndEveryErrorKind() throws {
        let cases = try PhoneCase.load()
        #expect(cases.count > 800)
        let regions = Set(cases.compactMap(\.expected.region))
        for region in [
            "FR", "DE", "GB", "US", "CA", "BE", "CH", "ES", "IT", "AT", "NL", "MA", "SN", "JP",
            "AU", "BR", "IN",
        ] {
            #expect(regions.contains(region), "\(region)")
        }
        let types = Set(cases.compactMap(\.expected.type))
        #expect(
            types.isSuperset(of: ["mobile", "fixed_line", "toll_free", "fixed_line_or_mobile"]))
        #expect(Set(cases.compactMap(\.expected.error)) == Set(messageForErrorKind.keys))
        #expect(cases.contains { $0.deviation != nil })
    }

    /// Every case of the fixture: the same E.164 form, region and line type as
    /// libphonenumber, or an `invalid_phone` error of the expected kind.
    @Test(arguments: try PhoneCase.load())
    func answersMatchLibphonenumber(_ phoneCase: PhoneCase) throws {
        let expected = phoneCase.expected
        if let kind = expected.error {
            let error = #expect(throws: ContactError.self) {
                try PhoneNumber(parsing: phoneCase.input, defaultRegion: phoneCase.region)
            }
            #expect(error?.code == .invalidPhone)
            #expect(error?.field == "phone")
            let wanted = try #require(messageForErrorKind[kind])
            #expect(error?.message.contains(wanted) == true, "\(error?.message ?? "")")
        } else {
            let number = try PhoneNumber(parsing: phoneCase.input, defaultRegion: phoneCase.region)
            #expect(number.e164 == expected.e164)
            #expect(number.region == expected.region)
            #expect(number.type.rawValue == expected.type)
            #expect(number.countryCode > 0 && number.e164.hasPrefix("+\(number.countryCode)"))
        }
    }

    @Test(
        arguments: [
            ("tel:+33-6-12-34-56-78", nil, "+33612345678"),
            ("  +33 6 12 34 56 78\t", nil, "+33612345678"),
            ("+33 (0)6 12.34-56-78", nil, "+33612345678"),
            ("06.12.34.56.78", "FR", "+33612345678"),
            ("0033 6 12 34 56 78", "FR", "+33612345678"),
            ("(650) 253-0000", "US", "+16502530000"),
            ("011 44 7400 123456", "US", "+447400123456"),
        ] as [(String, String?, String)])
    func messyInputsNormaliseToE164(_ text: String, _ region: String?, _ e164: String) throws {
        #expect(try PhoneNumber(parsing: text, defaultRegion: region).e164 == e164)
    }

    /// Contactor's deliberate difference: with no default region libphonenumber has no
    /// IDD prefix to strip and refuses `0033…`; Contactor reads the leading `00` as `+`.
    @Test func aLeading00WithoutARegionIsReadAsPlus() throws {
        let number = try PhoneNumber(parsing: "0033 6 12 34 56 78")
        #expect(number.e164 == "+33612345678")
        #expect(number.region == "FR")
    }

    @Test(arguments: ["06 12 34 56 78", "020 7946 0018", "(650) 253-0000"])
    func aNationalNumberWithoutARegionAsksForOne(_ text: String) {
        let error = #expect(throws: ContactError.self) { try PhoneNumber(parsing: text) }
        #expect(error?.code == .invalidPhone)
        #expect(error?.detail == .regionNeeded)
        // No command-line advice in the core: the CLI adds its own hint (--region).
        #expect(error?.message == "'\(text)' is a national number: a region is needed to read it")
    }

    @Test func anUnknownRegionIsNamedInTheError() {
        let error = #expect(throws: ContactError.self) {
            try PhoneNumber(parsing: "06 12 34 56 78", defaultRegion: "XX")
        }
        #expect(error?.message.contains("'XX' is not a known region") == true)
    }

    @Test func anUnknownCountryCodeIsNotCalledANationalNumber() {
        let error = #expect(throws: ContactError.self) {
            try PhoneNumber(parsing: "+999 123 456 789")
        }
        #expect(error?.message == "'+999 123 456 789' has no valid country code")
    }

    @Test(arguments: [
        ("", "is not a phone number"), ("phone", "is not a phone number"),
        ("+33 6", "is too short"), ("06 12 34 56 789", "is not a valid phone number"),
        (String(repeating: "6", count: 300), "is too long"),
    ])
    func invalidInputsSayWhy(_ text: String, _ why: String) {
        let error = #expect(throws: ContactError.self) {
            try PhoneNumber(parsing: text, defaultRegion: "FR")
        }
        #expect(error?.code == .invalidPhone)
        #expect(error?.message.contains(why) == true)
        // Long inputs are shortened in the message.
        #expect((error?.message.count ?? 0) < 120)
    }

    @Test(arguments: [
        ("+33 6 12 34 56 78", PhoneNumberType.mobile), ("+33 1 42 68 53 00", .fixedLine),
        ("+33 800 12 34 56", .tollFree), ("+1 650 253 0000", .fixedLineOrMobile),
        ("+44 20 7946 0018", .fixedLine), ("+49 151 23456789", .mobile),
    ])
    func lineTypesAreLibphonenumbers(_ text: String, _ type: PhoneNumberType) throws {
        #expect(try PhoneNumber(parsing: text).type == type)
    }
}
