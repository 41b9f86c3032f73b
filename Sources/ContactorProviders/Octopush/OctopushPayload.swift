import Contactor
import Foundation

/// The JSON bodies Octopush receives and the answer of `contact/create`, named as on the
/// "Add a contact" page.
enum OctopushPayload {
    /// The contact object of `contacts`: `phone_number` (E.164 with `+`), `first_name`,
    /// `last_name` and `param1`...`param5`, each left out when the contact has none.
    static func contact(_ contact: Contact) -> JSONValue {
        var members: [String: JSONValue] = ["phone_number": .string(contact.phone.e164)]
        if let firstName = contact.firstName { members["first_name"] = .string(firstName) }
        if let lastName = contact.lastName { members["last_name"] = .string(lastName) }
        for name in OctopushProvider.customFieldNames {
            if let value = contact.fields[name] { members[name] = .string(value) }
        }
        return .object(members)
    }

    /// The phone number a (possibly hook-edited) contact object carries.
    /// - Throws: `plugin_error` when a hook returned something that is not an object with
    ///   a non-empty string `phone_number`.
    static func phoneNumber(
        of payload: JSONValue, contact: Contact
    ) throws(ContactError)
        -> String
    {
        guard payload.objectValue != nil else {
            throw ContactError(
                .pluginError,
                "the payload hook returned something other than a contact object for "
                    + contact.phone.e164, provider: OctopushProvider.name, operation: .add)
        }
        guard case .string(let phone)? = payload["phone_number"], !matchKey(phone).isEmpty
        else {
            throw ContactError(
                .pluginError,
                "the payload hook returned a contact without a phone_number for "
                    + contact.phone.e164, provider: OctopushProvider.name, operation: .add,
                field: "phone_number")
        }
        return phone
    }

    /// The body of `POST /v1/public/contact/create`.
    static func createBody(
        contacts: [JSONValue], list: String, configuration: OctopushProvider.Configuration
    ) -> JSONValue {
        var members: [String: JSONValue] = [
            "contacts": .array(contacts), "list_name": .string(list),
        ]
        if let tag = configuration.tagName, !tag.isEmpty { members["tag_name"] = .string(tag) }
        if let value = configuration.doNotOverwrite { members["do_not_overwrite"] = .bool(value) }
        if let value = configuration.autoRemoveBlacklistedNumbers {
            members["auto_remove_blacklisted_numbers"] = .bool(value)
        }
        return .object(members)
    }

    /// The body of `DELETE /v1/public/contact/delete`.
    static func deleteBody(phoneNumbers: [String], list: String) -> JSONValue {
        ["phone_numbers": .array(phoneNumbers.map { .string($0) }), "list_name": .string(list)]
    }

    /// The key a phone number is matched on: its digits only, so that `+33 6 12...` in an
    /// answer still matches `+33612...` as sent.
    static func matchKey(_ phone: String) -> String {
        String(phone.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init))
    }

    /// The statuses `contact/create` reported, by ``matchKey(_:)`` of their
    /// `phone_number`, or `nil` when the body is not JSON with an `items` array.
    ///
    /// Items that are not objects or lack a `phone_number` are ignored; when a number is
    /// reported twice, the first report counts.
    static func reportedStatuses(_ body: Data) -> [String: String]? {
        guard let json = try? JSONValue.decode(body), let items = json["items"]?.arrayValue
        else { return nil }
        var statuses: [String: String] = [:]
        for item in items {
            guard let phone = item["phone_number"]?.stringValue else { continue }
            let key = matchKey(phone)
            guard !key.isEmpty, statuses[key] == nil else { continue }
            statuses[key] = item["status"]?.stringValue ?? ""
        }
        return statuses
    }
}
