import Contactor
import Testing

@Suite struct CalendarDateTests {
    @Test(arguments: ["2024-02-29", "1997-03-23", "0001-01-01", "9999-12-31"])
    func validDatesRoundTrip(_ text: String) throws {
        let date = try #require(CalendarDate(text))
        #expect(date.description == text)
    }

    @Test(arguments: [
        "2023-02-29", "1997-13-01", "1997-3-23", "23/03/1997", "", "1997-03-32", "１９９７-03-23",
    ])
    func invalidDatesAreRefused(_ text: String) {
        #expect(CalendarDate(text) == nil)
    }
}
