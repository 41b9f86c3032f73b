import Contactor
import ContactorCSV
import ContactorLua
import ContactorProviders
import ContactorTesting
import Foundation
import Testing

/// plugins/mappings/crm_export.lua on examples/crm-export.csv, its payload hook with the
/// Octopush adapter, and plugins/validators/eu_mobiles.lua.
@Suite struct MappingAndValidatorTests {
    static let csv = Repository.file("examples/crm-export.csv").path

    func mapping() async throws -> LuaMapping {
        try #require(try await Repository.load().mappings["crm_export"])
    }

    func validator() async throws -> LuaValidator {
        try #require(try await Repository.load().validators["eu_mobiles"])
    }

    func records() async throws -> [InputRecord] {
        var records: [InputRecord] = []
        for try await record in CSVRecordReader(path: Self.csv) { records.append(record) }
        return records
    }

    @Test func theMappingRenamesSplitsAndConvertsTheExampleCSVColumns() async throws {
        let mapping = try await mapping()
        let records = try await records()
        #expect(records.count == 8)
        var drafts: [Int: ContactDraft] = [:]
        var reasons: [Int: String] = [:]
        for record in records {
            do {
                drafts[record.line] = try await mapping.map(record)
            } catch let error as ContactError {
                #expect(error.code == .validationFailed)
                reasons[record.line] = error.message
            }
        }
        #expect(
            drafts[2]
                == ContactDraft(
                    phone: "06 12 34 56 78", firstName: "Zoé", lastName: "Martin",
                    email: "zoe.martin@example.com", birthday: "1990-05-17", civility: "Mme",
                    fields: ["param1": "vip"]))
        #expect(drafts[3]?.firstName == "Marie")
        #expect(drafts[3]?.lastName == "de La Fontaine")
        #expect(drafts[3]?.birthday == "1985-02-01")
        // "LAST, First", and an empty Segment gives no custom field.
        #expect(drafts[4]?.firstName == "Ada")
        #expect(drafts[4]?.lastName == "LOVELACE")
        #expect(drafts[4]?.fields == [:])
        // One word is a first name; empty cells are left out.
        #expect(
            drafts[5]
                == ContactDraft(
                    phone: "0671045750", firstName: "Hugo", civility: "M",
                    fields: ["param1": "b2b"]))
        #expect(drafts[8]?.birthday == "1977-03-05")
        #expect(drafts[9]?.birthday == "2000-02-29")
        #expect(
            reasons == [
                6: "no mobile number",
                7: "Date of birth '31/02/1990' is not a DD/MM/YYYY date",
            ])
    }

    @Test func mappingThenValidatingTheExampleKeepsOnlyEUMobiles() async throws {
        let preparer = RecordPreparer(
            mapper: try await mapping(), region: "FR", validators: [try await validator()])
        var ready: [Int: String] = [:]
        var refused: [Int: ContactError.Code] = [:]
        for record in try await records() {
            switch await preparer.prepare(record) {
            case .ready(let contact): ready[record.line] = contact.phone.e164
            case .refused(_, let result): refused[record.line] = result.error?.code
            }
        }
        #expect(
            ready == [
                2: "+33612345678", 3: "+33781234567", 4: "+33698765432", 5: "+33671045750",
                8: "+32470123456",
            ])
        #expect(refused == [6: .validationFailed, 7: .validationFailed, 9: .validationFailed])
    }

    @Test func thePayloadHookFillsOctopushParam1FromTheSegmentOrADefault() async throws {
        let mapping = try await mapping()
        let hook = try #require(mapping.payloadHook)
        let transport = MockTransport { request in
            let contacts = try JSONValue.decode(request.body ?? Data())["contacts"]?.arrayValue
            let items = (contacts ?? []).map {
                JSONValue.object(["phone_number": $0["phone_number"] ?? .null, "status": "added"])
            }
            return MockResponse(
                status: 201, body: JSONValue.object(["items": .array(items)]).encoded())
        }
        let context = ProviderContext(
            transport: transport,
            credentials: Credentials(
                provider: "octopush", ["api_login": "ada@example.com", "api_key": "octo-key"]),
            endpoint: OctopushProvider.descriptor.defaultEndpoint, payloadHook: hook)
        let results = try await OctopushProvider().add(
            [
                Contact(phone: mobiles[0], firstName: "Zoé", fields: ["param1": "vip"]),
                Contact(phone: mobiles[1], firstName: "Ada"),
            ], to: "clients", context: context)
        #expect(results == [.added(), .added()])
        let sent = try JSONValue.decode(try #require(transport.requests.first?.body))
        let contacts = try #require(sent["contacts"]?.arrayValue)
        #expect(contacts.map { $0["param1"] } == ["vip", "standard"])
        #expect(contacts.map { $0["first_name"] } == ["Zoé", "Ada"])
    }

    @Test func thePayloadHookLeavesOtherProvidersPayloadsUnchanged() async throws {
        let hook = try #require(try await mapping().payloadHook)
        let payload: JSONValue = ["phone": "+33612345670", "custom1": "x"]
        #expect(try await hook("smspartner", Contact(phone: mobiles[0]), payload) == payload)
    }

    @Test(arguments: [
        ("+33612345678", true), ("+32470123456", true), ("+4915123456789", true),
        ("+33123456789", false), ("+16502530000", false), ("+447400123456", false),
        ("+33800123456", false),
    ])
    func theValidatorAcceptsOnlyEUMobiles(_ number: String, _ accepted: Bool) async throws {
        let problem = try await validator().validate(Contact(phone: phone(number)))
        #expect((problem == nil) == accepted, "\(number): \(String(describing: problem))")
        if let problem {
            #expect(problem.code == .validationFailed)
            #expect(problem.message.contains(number))
        }
    }

    @Test func theValidatorParsesTheNumberItselfWhenTheContactHasNoRegion() async throws {
        let bare = PhoneNumber(e164: "+33612345678", region: nil, countryCode: 33, type: .unknown)
        #expect(try await validator().validate(Contact(phone: bare)) == nil)
        let american = PhoneNumber(
            e164: "+16502530000", region: nil, countryCode: 1, type: .unknown)
        let problem = try await validator().validate(Contact(phone: american))
        #expect(problem?.message.contains("(US)") == true)
    }
}
