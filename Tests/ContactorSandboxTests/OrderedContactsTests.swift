import Testing

@testable import ContactorSandbox

@Suite struct OrderedContactsTests {
    @Test func findingANumberFollowsAddsReplacementsAndRemovals() {
        var list = OrderedContacts()
        list["1"] = SandboxContact(id: "1", phone: "+33612345678")
        list["2"] = SandboxContact(id: "2", phone: "+33612345679")
        #expect(list.contact(withPhone: "+33612345678")?.id == "1")
        // A contact whose number changes is found by its new number only.
        list["1"] = SandboxContact(id: "1", phone: "+33700000000")
        #expect(list.contact(withPhone: "+33612345678") == nil)
        #expect(list.contact(withPhone: "+33700000000")?.id == "1")
        list["2"] = nil
        #expect(list.contact(withPhone: "+33612345679") == nil)
        #expect(list.values.map(\.id) == ["1"])
    }
}
