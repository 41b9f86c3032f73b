import Contactor
import Foundation

/// The JSON object SMS Gateway API's `POST /v1/contact` takes for one contact.
enum SMSGatewayAPIPayload {
    /// The custom fields sent under their own names: `extra1` … `extra8`, `unsubscribed`.
    static let extraFields: [String] = (1...8).map { "extra\($0)" }
    /// The subscription flag custom field.
    static let unsubscribedField = "unsubscribed"

    /// The values accepted for `unsubscribed`, and the integer each is sent as.
    static let unsubscribedValues: [String: Int64] = [
        "1": 1, "true": 1, "yes": 1, "0": 0, "false": 0, "no": 0,
    ]

    /// `{phone, groupid, firstname, lastname, birthday, extra1..extra8, unsubscribed}`,
    /// with nil fields left out; `phone` in international digits without `+`.
    static func object(for contact: Contact, group: String) -> JSONValue {
        var object: [String: JSONValue] = [
            "phone": .string(contact.phone.internationalDigits),
            "groupid": .string(group),
        ]
        if let value = contact.firstName { object["firstname"] = .string(value) }
        if let value = contact.lastName { object["lastname"] = .string(value) }
        if let value = contact.birthday { object["birthday"] = .string(value.description) }
        for field in extraFields {
            if let value = contact.fields[field] { object[field] = .string(value) }
        }
        if let value = contact.fields[unsubscribedField],
            let flag = unsubscribedValues[value.lowercased()]
        {
            object[unsubscribedField] = .int(flag)
        }
        return .object(object)
    }
}

extension SMSGatewayAPIPayload {
    /// The object of one contact in a `PATCH /v1/contact` update: `ID` (an integer when the
    /// id is all digits, as the add answered it, else the text) and the contact's fields,
    /// as for an add but without `groupid`: the contact stays in its group.
    static func update(for contact: Contact, id: String, group: String) -> JSONValue {
        guard case .object(var members) = object(for: contact, group: group) else {
            return .null
        }
        members["groupid"] = nil
        if let number = Int64(id), String(number) == id {
            members["ID"] = .int(number)
        } else {
            members["ID"] = .string(id)
        }
        return .object(members)
    }
}

/// The documented answer to an add: `{"ID": [id]}`, `{"IDs": [...]}`, or
/// `{"IDs": [...], "errors": [{error, errorMsg}]}`.
///
/// What proves an add: an id. Ids must be a JSON array of integers or of non-empty words
/// (letters, digits, `-`, `_`); an answer whose `ID`/`IDs` is anything else (`true`, `""`,
/// `[""]`, `"1,2,3"`) cannot say which contact got which id, so it is ``unusable``.
struct SMSGatewayAPIAddAnswer {
    /// One per-contact error.
    struct Failure {
        /// The provider's error number as text (`103`).
        var code: String?
        /// The provider's message (`Phone number 436501234567 is not valid`).
        var message: String
    }

    /// The ids, as text, in order.
    var ids: [String]
    /// The per-contact errors.
    var failures: [Failure]
    /// Why the ids cannot be used (`ID is true, not a list of ids`), or `nil`.
    var unusable: String?

    /// Whether `text` can be a contact id: not empty, letters, digits, `-` and `_` only.
    static func isID(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                ("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
                    || $0 == "-" || $0 == "_"
            }
    }

    /// Reads the documented shape, or returns `nil` when `json` has neither ids nor errors.
    ///
    /// Provider text (messages, codes) is masked and cut by `context`.
    init?(_ json: JSONValue?, context: ProviderContext) {
        guard let json, json.objectValue != nil else { return nil }
        let key = ["IDs", "ID", "ids", "id"].first { json[$0] != nil }
        let idValue = key.flatMap { json[$0] }
        var ids: [String] = []
        var unusable: String?
        if let key, let idValue {
            if let values = idValue.arrayValue {
                for value in values {
                    switch value {
                    case .int(let number): ids.append(String(number))
                    case .string(let text) where Self.isID(text): ids.append(text)
                    default:
                        unusable =
                            "\(key) holds \(context.quote(value.jsonText, limit: 40)), which is "
                            + "not a contact id"
                    }
                    if unusable != nil { break }
                }
            } else if idValue != .null {
                unusable =
                    "\(key) is \(context.quote(idValue.jsonText, limit: 40)), not a list of ids"
            }
        }
        var failures: [Failure] = []
        if let errors = json["errors"]?.arrayValue {
            for error in errors {
                failures.append(
                    Failure(
                        code: ProviderSupport.code(error["error"], context: context),
                        message: context.quote(
                            error["errorMsg"]?.stringValue ?? error["message"]?.stringValue
                                ?? error.jsonText)))
            }
        } else if json["errorMsg"] != nil, idValue == nil {
            failures.append(
                Failure(
                    code: ProviderSupport.code(json["error"], context: context),
                    message: context.quote(json["errorMsg"]?.stringValue ?? json.jsonText)))
        }
        guard idValue != nil || !failures.isEmpty else { return nil }
        self.ids = ids
        self.failures = failures
        self.unusable = unusable
    }

    /// The phone numbers (digits only) quoted in `message`: runs of at least five digits,
    /// with or without a leading `+` or `00`.
    static func numbers(in message: String) -> [String] {
        var numbers: [String] = []
        var current = ""
        for scalar in message.unicodeScalars {
            if ("0"..."9").contains(scalar) {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                numbers.append(current)
                current = ""
            }
        }
        if !current.isEmpty { numbers.append(current) }
        return numbers.filter { $0.count >= 5 }
    }

    /// Matches this answer to the contacts sent, or returns `nil` when it does not add up.
    ///
    /// Each failure is matched to a contact by the number in its message; the ids then
    /// belong, in order, to the contacts without a failure. Contacts are identified by the
    /// digits of the `phone` actually sent (`sentPhones`, after the payload hook).
    /// - Returns: one slot per sent contact and whether the answer added up. When a failure
    ///   names no sent number, or the ids are not exactly one per contact without a
    ///   failure, `complete` is `false` and only the matched failures are filled in: the
    ///   ids are not assigned, since any assignment would be a guess.
    func match(sentPhones: [String]) -> (results: [ContactResult?], complete: Bool) {
        var results = [ContactResult?](repeating: nil, count: sentPhones.count)
        var allMatched = true
        for failure in failures {
            let candidates = Self.numbers(in: failure.message).flatMap { number in
                number.hasPrefix("00") ? [number, String(number.dropFirst(2))] : [number]
            }
            let index = sentPhones.indices.first { index in
                results[index] == nil && candidates.contains(sentPhones[index])
            }
            guard let index else {
                allMatched = false
                continue
            }
            results[index] = .rejected(
                SMSGatewayAPIErrorCode.error(code: failure.code, message: failure.message))
        }
        let remaining = results.indices.filter { results[$0] == nil }
        guard allMatched, remaining.count == ids.count else { return (results, false) }
        for (index, id) in zip(remaining, ids) { results[index] = .added(id: id) }
        return (results, true)
    }
}
