import Contactor
import ContactorTesting
import Testing

/// A contact's fingerprint is what every ledger stores: its value for given fields must
/// never change between versions, or every contact of an existing ledger would look
/// changed and be updated by the next sync.
@Suite struct FingerprintTests {
    static let descriptor = InMemoryProvider.descriptor(
        batchSize: 5, standardFields: ["first_name", "last_name", "email", "birthday"])

    @Test func fingerprintsKeepTheirValues() throws {
        let phone = try PhoneNumber(parsing: "+33612345678")
        let cases: [(Contact, String)] = [
            (Contact(phone: phone), "e3b0c44298fc1c149afbf4c8996fb924"),
            (Contact(phone: phone, firstName: "Ada"), "63df9ee75559ccdf9f3b7829e88bd2c6"),
            (
                Contact(
                    phone: phone, firstName: "Ada", lastName: "Lovelace", email: "ada@example.com",
                    birthday: CalendarDate("1815-12-10"), civility: "Mrs",
                    fields: ["zone": "nord", "plan": "été ☀️"]),
                "51bb029512b2f0899b6468f1974d210a"
            ),
        ]
        for (contact, expected) in cases {
            #expect(contact.fingerprint(sentBy: Self.descriptor) == expected)
        }
    }

    @Test func onlyTheFieldsTheProviderTakesCount() throws {
        let phone = try PhoneNumber(parsing: "+33612345678")
        // Civility is not a field of this provider: changing it changes nothing sent.
        #expect(
            Contact(phone: phone, firstName: "Ada", civility: "Mrs").fingerprint(
                sentBy: Self.descriptor)
                == Contact(phone: phone, firstName: "Ada", civility: "Mr").fingerprint(
                    sentBy: Self.descriptor))
        #expect(
            Contact(phone: phone, firstName: "Ada").fingerprint(sentBy: Self.descriptor)
                != Contact(phone: phone, firstName: "Adb").fingerprint(sentBy: Self.descriptor))
    }
}
