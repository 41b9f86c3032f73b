import Contactor
import Testing

@Suite struct PhoneSmokeTests {
    @Test func parsesFrenchMobile() throws {
        let n = try PhoneNumber(parsing: "06 12 34 56 78", defaultRegion: "FR")
        #expect(n.e164 == "+33612345678")
        #expect(n.region == "FR")
        #expect(n.type == .mobile)
    }
}
