import Contactor
import Foundation
import Testing

@testable import ContactorLua

/// `map` results are decoded on a fast path straight into a draft when they have the
/// common shape, and generically otherwise: both must give the same drafts and errors.
@Suite struct MapDecodingTests {
    func map(_ mode: String, _ extra: [(String, String)] = []) async throws -> ContactDraft {
        let plugins = try await Fixtures.loader(["shapes"]).load()
        let mapping = try #require(plugins.mappings["shapes"])
        return try await mapping.map(
            InputRecord(line: 2, columns: [("mode", mode)] + extra))
    }

    @Test func integersBecomeTheirDecimalText() async throws {
        let draft = try await map("integers")
        #expect(draft == ContactDraft(phone: "33612345678", firstName: "7"))
    }

    @Test func customFieldsAcceptStringsIntegersAndBooleans() async throws {
        let draft = try await map("field_types")
        #expect(draft.fields == ["a": "true", "b": "3", "c": "x", "d": "false"])
    }

    @Test func nonASCIITextCrossesBothWays() async throws {
        let draft = try await map("accents", [("name", "Zoé")])
        #expect(draft.firstName == "Zoé")
        #expect(draft.lastName == "Éloïse ✓")
    }

    @Test func anEmptyFieldsTableIsNoCustomFields() async throws {
        #expect(try await map("empty_fields").fields == [:])
    }

    @Test func aRepeatedColumnNameKeepsItsLastValue() async throws {
        let draft = try await map("repeated", [("dup", "+33600000001"), ("dup", "+33600000002")])
        #expect(draft.phone == "+33600000002")
    }

    @Test func regionAndTypeKeysAreAcceptedAndIgnored() async throws {
        let draft = try await map("region_type")
        #expect(draft == ContactDraft(phone: "+33612345678", email: "a@b.c"))
    }

    @Test func everyStandardFieldComesBack() async throws {
        let draft = try await map("all", [("phone", "0612345678")])
        #expect(
            draft
                == ContactDraft(
                    phone: "0612345678", firstName: "Ada", lastName: "Lovelace",
                    email: "ada@example.com", birthday: "1815-12-10", civility: "Mme",
                    fields: ["param1": "vip"]))
    }

    @Test(arguments: [
        ("bad_utf8", "first_name that is not valid UTF-8"),
        ("list_fields", "fields that is not a table of names"),
        ("float", "first_name = 1.5; expected a string"),
    ])
    func malformedShapesArePluginErrors(_ mode: String, _ expected: String) async throws {
        let error = await #expect(throws: ContactError.self) { try await map(mode) }
        #expect(error?.code == .pluginError)
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func anEmptyPhoneIsAMissingField() async throws {
        let error = await #expect(throws: ContactError.self) { try await map("empty_phone") }
        #expect(error?.code == .missingField)
    }
}
