import Contactor
import Foundation

/// The JSON SMS Partner's contact endpoints take and give.
enum SMSPartnerPayload {
    /// The custom fields sent under their own names.
    static let customFields = ["custom1", "custom2", "custom3", "custom4", "url", "shortUrlPartnr"]

    /// The custom fields that must hold an `http://` or `https://` URL.
    static let urlFields = ["url", "shortUrlPartnr"]

    /// The region used to read numbers the provider sends back in national form.
    static let numberRegion = "FR"

    /// The `contact` object for one contact: `{phoneNumber, firstname, lastname, date,
    /// url, shortUrlPartnr, custom1..custom4}`, nil fields left out, the phone in E.164.
    static func contact(_ contact: Contact) -> JSONValue {
        var object: [String: JSONValue] = ["phoneNumber": .string(contact.phone.e164)]
        if let value = contact.firstName { object["firstname"] = .string(value) }
        if let value = contact.lastName { object["lastname"] = .string(value) }
        if let value = contact.birthday { object["date"] = .string(value.description) }
        for field in customFields {
            if let value = contact.fields[field] { object[field] = .string(value) }
        }
        return .object(object)
    }

    /// The keys a number is compared by: its E.164 form when it reads as a number (French
    /// national forms included), and its bare digits.
    static func phoneKeys(_ raw: String) -> Set<String> {
        var keys: Set<String> = []
        if let number = try? PhoneNumber(parsing: raw, defaultRegion: numberRegion) {
            keys.insert(number.e164)
            keys.insert("digits:" + number.internationalDigits)
        }
        let digits = ProviderSupport.digits(raw)
        if !digits.isEmpty { keys.insert("digits:" + digits) }
        return keys
    }

    /// The provider's control code as text (`15`), from a number or a string.
    static func code(_ json: JSONValue?) -> String? { json?["code"]?.stringValue }

    /// Whether `json` reports success: `success: true`, or a `code` of 200 without
    /// `success`.
    static func isSuccess(_ json: JSONValue) -> Bool {
        if let success = json["success"]?.boolValue { return success }
        return code(json) == "200"
    }

    /// The id of a contact object or bulk result: `contactId`, else `id`.
    static func contactID(_ json: JSONValue?) -> String? {
        guard let json else { return nil }
        return (json["contactId"] ?? json["contactID"] ?? json["id"])?.stringValue
    }
}

/// One page of `GET /v1/contact/list`: `{success, code, currentPage, total,
/// datas: [{contactId, phone, ...}]}`.
struct SMSPartnerListPage {
    /// One contact of the page.
    struct Entry {
        /// The contact's id.
        var contactID: String
        /// The number as the provider stores it (`0612345678`, `+33612345678`).
        var phone: String
    }

    /// The page's contacts that have an id and a phone.
    var entries: [Entry]
    /// The page's contacts as drafts, in order (those without a phone left out).
    var drafts: [ContactDraft]
    /// How many contacts the page held, well-formed or not.
    var count: Int
    /// `total`, when present.
    var total: Int?

    /// Reads a page, or returns `nil` when `json` has no `datas` array.
    init?(_ json: JSONValue) {
        guard let datas = (json["datas"] ?? json["data"])?.arrayValue else { return nil }
        count = datas.count
        total = json["total"]?.intValue.map { Int(clamping: $0) }
        entries = datas.compactMap { data in
            guard let id = SMSPartnerPayload.contactID(data),
                let phone = (data["phone"] ?? data["phoneNumber"])?.stringValue
            else { return nil }
            return Entry(contactID: id, phone: phone)
        }
        drafts = datas.compactMap { data in
            guard let phone = (data["phone"] ?? data["phoneNumber"])?.stringValue, !phone.isEmpty
            else { return nil }
            func text(_ key: String) -> String? {
                guard let value = data[key]?.stringValue, !value.isEmpty else { return nil }
                return value
            }
            var fields: [String: String] = [:]
            for field in SMSPartnerPayload.customFields { fields[field] = text(field) }
            return ContactDraft(
                phone: phone, firstName: text("firstname"), lastName: text("lastname"),
                birthday: text("date"), fields: fields,
                providerID: SMSPartnerPayload.contactID(data))
        }
    }
}
