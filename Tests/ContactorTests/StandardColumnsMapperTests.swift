import Contactor
import Testing

@Suite struct StandardColumnsMapperTests {
    private func record(
        _ columns: [(String, String)], problem: ContactError? = nil
    )
        -> InputRecord
    {
        InputRecord(line: 2, columns: columns.map { (name: $0.0, value: $0.1) }, problem: problem)
    }

    @Test func standardColumnsFillStandardFieldsAndOthersBecomeCustomFields() throws {
        let draft = try StandardColumnsMapper().map(
            record([
                ("phone", "06 12 34 56 78"), ("first_name", "Ada"), ("last_name", "Lovelace"),
                ("email", "ada@example.com"), ("birthday", "1815-12-10"), ("civility", "Mme"),
                ("param1", "gold"), ("Favourite Colour", "blue"),
            ]))
        #expect(
            draft
                == ContactDraft(
                    phone: "06 12 34 56 78", firstName: "Ada", lastName: "Lovelace",
                    email: "ada@example.com", birthday: "1815-12-10", civility: "Mme",
                    fields: ["param1": "gold", "Favourite Colour": "blue"]))
    }

    @Test func standardColumnNamesIgnoreCaseAndSurroundingSpaces() throws {
        let draft = try StandardColumnsMapper().map(
            record([(" Phone ", "+33612345678"), ("FIRST_NAME", "Ada")]))
        #expect(draft.phone == "+33612345678")
        #expect(draft.firstName == "Ada")
        #expect(draft.fields.isEmpty)
    }

    @Test func emptyAndBlankCellsAreAbsent() throws {
        let draft = try StandardColumnsMapper().map(
            record([
                ("phone", " +33612345678 "), ("first_name", ""), ("last_name", "   "),
                ("email", ""), ("param1", ""), ("param2", " x "),
            ]))
        #expect(draft.phone == "+33612345678")
        #expect(draft.firstName == nil)
        #expect(draft.lastName == nil)
        #expect(draft.email == nil)
        #expect(draft.fields == ["param2": "x"])
    }

    @Test func recordWithAProblemIsRejectedWithThatProblem() {
        let problem = ContactError(.invalidField, "line 7 has 3 columns; the header has 4")
        #expect(throws: problem) {
            try StandardColumnsMapper().map(record([("phone", "+33612345678")], problem: problem))
        }
    }

    @Test(arguments: [
        [("first_name", "Ada")],
        [("phone", ""), ("first_name", "Ada")],
        [("phone", "   ")],
    ])
    func missingOrEmptyPhoneIsAMissingFieldNamingThePhoneColumn(_ columns: [(String, String)]) {
        do {
            _ = try StandardColumnsMapper().map(record(columns))
            Issue.record("a record without a phone was mapped")
        } catch {
            #expect(error.code == .missingField)
            #expect(error.field == "phone")
            #expect(error.message.contains("phone"))
        }
    }
}
