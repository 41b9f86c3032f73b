import Contactor
import ContactorTesting
import Synchronization
import Testing

@Suite struct RecordPreparerTests {
    private struct RejectingValidator: ContactValidator {
        let name: String
        let rejects: Bool
        func validate(_ contact: Contact) -> ContactError? {
            rejects ? ContactError(.validationFailed, "\(name) says no") : nil
        }
    }

    private struct BrokenValidator: ContactValidator {
        let name = "broken"
        func validate(_ contact: Contact) throws -> ContactError? {
            throw ContactError(.pluginError, "broken.lua:3: attempt to index a nil value")
        }
    }

    private func refusal(_ preparation: RecordPreparer.Preparation) -> ContactResult? {
        if case .refused(_, let result) = preparation { return result }
        return nil
    }

    @Test func nationalNumberWithoutARegionIsInvalidPhoneSayingARegionIsNeeded() {
        let preparer = RecordPreparer(region: nil)
        do {
            _ = try preparer.normalize(ContactDraft(phone: "06 12 34 56 78"))
            Issue.record("a national number was read without a region")
        } catch {
            #expect(error.code == .invalidPhone)
            #expect(error.field == "phone")
            #expect(error.message.contains("region is needed"))
        }
    }

    @Test func runRegionWinsOverTheProvidersDefault() throws {
        let provider = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(defaultRegion: "FR"))
        let byDefault = RecordPreparer(provider: provider)
        #expect(
            try byDefault.normalize(ContactDraft(phone: "06 12 34 56 78")).phone.e164
                == "+33612345678")
        let belgian = RecordPreparer(region: "BE", provider: provider)
        #expect(
            try belgian.normalize(ContactDraft(phone: "0470 12 34 56")).phone.e164 == "+32470123456"
        )
    }

    @Test(arguments: ["1990-13-01", "10/12/1815", "2023-02-29", "tomorrow"])
    func invalidBirthdayIsInvalidFieldNamingBirthdayAndTheValue(_ value: String) {
        do {
            _ = try RecordPreparer(region: "FR").normalize(
                ContactDraft(phone: "+33612345678", birthday: value))
            Issue.record("birthday \(value) was accepted")
        } catch {
            #expect(error.code == .invalidField)
            #expect(error.field == "birthday")
            #expect(error.message.contains("birthday"))
            #expect(error.message.contains(value))
        }
    }

    @Test func normalisationParsesTheBirthdayAndDropsEmptyValues() throws {
        let contact = try RecordPreparer(region: "FR").normalize(
            ContactDraft(
                phone: "+33612345678", firstName: "", email: "a@b.c", birthday: "1815-12-10",
                fields: ["param1": "", "param2": "x"]))
        #expect(contact.birthday == CalendarDate(year: 1815, month: 12, day: 10))
        #expect(contact.firstName == nil)
        #expect(contact.email == "a@b.c")
        #expect(contact.fields == ["param2": "x"])
    }

    @Test func providerChecksRejectBeforeValidators() async {
        let provider = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(maxLengths: ["first_name": 3]))
        let preparer = RecordPreparer(
            provider: provider, validators: [RejectingValidator(name: "first", rejects: true)])
        let result = refusal(
            await preparer.prepare(ContactDraft(phone: "+33612345678", firstName: "Adaline")))
        #expect(result?.status == .rejected)
        #expect(result?.error?.code == .fieldTooLong)
        #expect(result?.error?.field == "first_name")
    }

    /// The field checks' answers, exactly: the first field too long in name order, lengths
    /// in characters (not bytes), the first unknown custom field in name order, and the
    /// standard fields the provider has no place for dropped in the contract's order.
    @Test func fieldChecksNameTheFirstProblemInNameOrder() async throws {
        let strict = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(
                standardFields: ["first_name", "last_name"], customFields: ["known"],
                maxLengths: ["last_name": 3, "first_name": 3, "known": 2]))
        let tooLong = refusal(
            await RecordPreparer(provider: strict).prepare(
                ContactDraft(phone: "+33612345678", firstName: "Adaline", lastName: "Lovelace")))
        #expect(tooLong?.error?.code == .fieldTooLong)
        #expect(tooLong?.error?.field == "first_name")
        #expect(
            tooLong?.error?.message == "first_name is 7 characters long; memory accepts at most 3")
        // Three characters in four bytes: not too long.
        let accented = await RecordPreparer(provider: strict).prepare(
            ContactDraft(phone: "+33612345678", firstName: "Zoé", fields: ["known": "ab"]))
        guard case .ready(let ready) = accented else {
            Issue.record("expected a ready contact, got \(accented)")
            return
        }
        #expect(ready.firstName == "Zoé")
        let rejecting = RecordPreparer(provider: strict, unsupportedFields: .reject)
        let unknown = refusal(
            await rejecting.prepare(
                ContactDraft(
                    phone: "+33612345678", fields: ["zeta": "1", "known": "ab", "alpha": "2"])))
        #expect(unknown?.error?.code == .invalidField)
        #expect(unknown?.error?.field == "alpha")
        #expect(unknown?.error?.message == "memory has no field 'alpha' (its custom fields: known)")
        let named = NamedFields()
        let dropping = RecordPreparer(
            provider: strict, onDroppedFields: { names in named.add(names) })
        let dropped = await dropping.prepare(
            ContactDraft(
                phone: "+33612345678", email: "ada@example.com", birthday: "1815-12-10",
                civility: "Mme", fields: ["vip": "yes"]))
        guard case .ready(let sent) = dropped else {
            Issue.record("expected a ready contact, got \(dropped)")
            return
        }
        #expect(sent.email == nil && sent.birthday == nil && sent.civility == nil)
        #expect(sent.fields.isEmpty)
        #expect(named.names == ["email", "birthday", "civility", "vip"])
    }

    private final class NamedFields: Sendable {
        private let storage = Mutex<[String]>([])
        func add(_ names: [String]) { storage.withLock { $0 += names } }
        var names: [String] { storage.withLock { $0 } }
    }

    @Test func validatorsRunInOrderAndTheFirstRejectionWins() async {
        let preparer = RecordPreparer(
            region: "FR",
            validators: [
                RejectingValidator(name: "first", rejects: false),
                RejectingValidator(name: "second", rejects: true),
                RejectingValidator(name: "third", rejects: true),
            ])
        let result = refusal(await preparer.prepare(ContactDraft(phone: "+33612345678")))
        #expect(result?.status == .rejected)
        #expect(result?.error?.code == .validationFailed)
        #expect(result?.error?.message == "second says no")
    }

    @Test func aBrokenValidatorFailsTheRecordWithPluginError() async {
        let preparer = RecordPreparer(region: "FR", validators: [BrokenValidator()])
        let result = refusal(await preparer.prepare(ContactDraft(phone: "+33612345678")))
        #expect(result?.status == .failed)
        #expect(result?.error?.code == .pluginError)
    }

    @Test func aValidContactIsReady() async {
        let preparer = RecordPreparer(
            region: "FR", validators: [RejectingValidator(name: "ok", rejects: false)])
        let preparation = await preparer.prepare(
            InputRecord(line: 2, columns: [(name: "phone", value: "06 12 34 56 78")]))
        guard case .ready(let contact) = preparation else {
            Issue.record("expected a ready contact, got \(preparation)")
            return
        }
        #expect(contact.phone.e164 == "+33612345678")
    }
}
