import Contactor
import Foundation

/// The form fields Avosms receives for one contact, credentials aside.
///
/// Names follow the `contact/add` and `contact/delete` pages to the letter. Optional
/// fields the contact does not have are left out, never sent empty.
struct AvosmsPayload: Sendable, Hashable {
    /// The form fields, by name, without `id` and `key`.
    var fields: [String: String]

    /// The documented order of the fields, used for the body's field order.
    static let documentedOrder = [
        "listContactId", "contactTelephoneNumber", "contactCivility", "contactName",
        "contactFirstName", "contactEmail", "contactBirthday", "contactOther",
    ]

    /// The credential fields, which only the adapter may set.
    static let credentialFields: Set<String> = ["id", "key"]

    /// The payload of `contact` for `contact/add` on `list`.
    static func add(_ contact: Contact, list: String) -> AvosmsPayload {
        var fields = ["listContactId": list, "contactTelephoneNumber": contact.phone.e164]
        fields["contactCivility"] = contact.civility
        fields["contactName"] = contact.lastName
        fields["contactFirstName"] = contact.firstName
        fields["contactEmail"] = contact.email
        fields["contactBirthday"] = contact.birthday?.description
        fields["contactOther"] = contact.fields[AvosmsProvider.otherField]
        return AvosmsPayload(fields: fields)
    }

    /// The payload of `contact` for `contact/delete` on `list`.
    static func delete(_ contact: Contact, list: String) -> AvosmsPayload {
        AvosmsPayload(
            fields: ["listContactId": list, "contactTelephoneNumber": contact.phone.e164])
    }

    /// The payload as the JSON object of strings a payload hook receives.
    var json: JSONValue { .object(fields.mapValues { .string($0) }) }

    /// Reads back what a payload hook returned: an object whose members are strings,
    /// numbers or booleans (sent as text) or `null` (left out).
    /// - Throws: `plugin_error` for anything else, or for a member named `id` or `key`.
    init(hookResult json: JSONValue, phone: String) throws(ContactError) {
        func failure(_ message: String) -> ContactError {
            ContactError(
                .pluginError, "the payload hook returned \(message) for \(phone)",
                provider: AvosmsProvider.name, operation: .add)
        }
        guard let members = json.objectValue else {
            throw failure("something other than an object of form fields")
        }
        var fields: [String: String] = [:]
        for (name, value) in members {
            if AvosmsPayload.credentialFields.contains(name) {
                throw failure("the credential field '\(name)', which a payload may not set")
            }
            if value == .null { continue }
            guard let text = value.stringValue else {
                throw failure("a list or an object in field '\(name)'; form fields are text")
            }
            fields[name] = text
        }
        self.fields = fields
    }

    /// Creates a payload from its fields.
    init(fields: [String: String]) { self.fields = fields }

    /// The form body: `id` and `key` first, then the documented fields in the docs' order,
    /// then any other field a hook added, sorted by name.
    func formBody(id: String, key: String) -> Data {
        let known = AvosmsPayload.documentedOrder.compactMap { name in
            fields[name].map { (name, $0) }
        }
        let extra = fields.filter { !AvosmsPayload.documentedOrder.contains($0.key) }
            .sorted { $0.key < $1.key }
            .map { ($0.key, $0.value) }
        return Data(FormEncoding.encode([("id", id), ("key", key)] + known + extra).utf8)
    }
}
