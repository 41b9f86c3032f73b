import Contactor

/// The Avosms emulator: `POST /avosms/v1/contact/...`, form-encoded, `{status, code}` answers.
///
/// Every answer is HTTP 200 with `{"status": "success", "code": "OK"}` or
/// `{"status": "error", "code": "ERR_1xx", "message": "..."}` (`message` is the
/// sandbox's own addition, to say what was wrong); clients must read `code`.
extension SandboxState {
    /// The documented endpoints, all `POST`.
    static let avosmsPaths = [
        "v1/contact/add", "v1/contact/update", "v1/contact/delete", "v1/contact/list",
        "v1/contact/list/create", "v1/contact/list/information",
    ]
    /// The optional contact fields of add and update.
    private static let optionalContactFields: Set<String> = [
        "contactCivility", "contactName", "contactFirstName", "contactEmail", "contactBirthday",
        "contactOther",
    ]
    private static let addFields: Set<String> = optionalContactFields.union([
        "id", "key", "listContactId", "contactTelephoneNumber",
    ])
    private static let deleteFields: Set<String> = [
        "id", "key", "listContactId", "contactTelephoneNumber",
    ]

    /// The documented transient error, `ERR_9xx`, as the fault injector answers it.
    static func avosmsProcessingError(_ code: Int) -> SandboxResponse {
        .json(
            200,
            [
                "status": "error", "code": .string("ERR_\(code)"),
                "message": "Processing error, contact our services (injected fault)",
            ])
    }

    private func avosmsError(_ code: Int, _ message: String) -> SandboxResponse {
        .json(
            200, ["status": "error", "code": .string("ERR_\(code)"), "message": .string(message)])
    }

    private func avosmsOK(_ extra: [(String, JSON)] = []) -> SandboxResponse {
        .json(200, .object([("status", "success"), ("code", "OK")] + extra))
    }

    func handleAvosms(_ request: SandboxRequest) -> SandboxResponse {
        let route = request.route
        guard Self.avosmsPaths.contains(route) else {
            return avosmsError(100, "Unrecognized API: /\(route)")
        }
        guard request.method == "POST" else {
            return avosmsError(100, "Unrecognized API: \(request.method) /\(route) (use POST)")
        }
        guard request.mediaType == "application/x-www-form-urlencoded" else {
            return avosmsError(
                100,
                "The body must be application/x-www-form-urlencoded, not "
                    + (request.mediaType ?? "missing"))
        }
        guard let pairs = FormDecoding.decode(String(decoding: request.body, as: UTF8.self)) else {
            return avosmsError(100, "The body is not a well-formed form")
        }
        var form: [String: String] = [:]
        for (key, value) in pairs { form[key] = value }
        guard form["id"] == demo.avosms.id, form["key"] == demo.avosms.key else {
            return avosmsError(100, "Unrecognized API: missing or incorrect id/key")
        }
        let allowed: Set<String> =
            switch route {
            case "v1/contact/add", "v1/contact/update": Self.addFields
            case "v1/contact/delete": Self.deleteFields
            case "v1/contact/list": ["id", "key"]
            case "v1/contact/list/create":
                ["id", "key", "listContactName", "listContactCountryCode"]
            default: ["id", "key", "listContactId"]
            }
        if let unknown = form.keys.sorted().first(where: { !allowed.contains($0) }) {
            return avosmsError(100, "Unknown parameter '\(unknown)' for /\(route)")
        }
        switch route {
        case "v1/contact/add": return avosmsContact(form, operation: .add)
        case "v1/contact/update": return avosmsContact(form, operation: .update)
        case "v1/contact/delete": return avosmsContact(form, operation: .delete)
        case "v1/contact/list":
            return avosmsOK([
                (
                    "lists",
                    .array(data.avosmsListOrder.compactMap { data.avosmsLists[$0].map(listJSON) })
                )
            ])
        case "v1/contact/list/create":
            return avosmsCreateList(form)
        default:
            return avosmsListInformation(form)
        }
    }

    private enum ContactOperation { case add, update, delete }

    /// Add, update and delete share their checks: list id, number, list, then (add and
    /// update) the number's format, country and type.
    private func avosmsContact(
        _ form: [String: String], operation: ContactOperation
    ) -> SandboxResponse {
        let listID = form["listContactId", default: ""].trimmingSpaces
        guard !listID.isEmpty else {
            return avosmsError(101, "The ID of the contact list is empty")
        }
        let number = form["contactTelephoneNumber", default: ""].trimmingSpaces
        guard !number.isEmpty else { return avosmsError(102, "The contact number is empty") }
        guard var list = data.avosmsLists[listID] else {
            return avosmsError(103, "No existing list of contacts for the ID '\(listID)'")
        }
        let phone = Phone.parse(number, region: list.info.country)
        if operation == .delete {
            // The delete page documents no format error: a number that cannot be read is
            // simply not in the list.
            let key = phone?.e164 ?? number
            guard list.contacts[key] != nil else {
                return avosmsError(
                    104, "No existing contacts with this phone number in the contact list")
            }
            list.contacts[key] = nil
            data.avosmsLists[listID] = list
            return avosmsOK()
        }
        guard let phone else {
            return avosmsError(105, "The contact number formatting is not valid")
        }
        guard phone.region == list.info.country else {
            return avosmsError(
                106,
                "The country of the number (\(phone.region ?? "none")) does not match the "
                    + "list's country (\(list.info.country))")
        }
        if list.info.mobileOnly && !phone.type.canReceiveSMS {
            return avosmsError(107, "The type of the contact number (\(phone.type)) is not allowed")
        }
        switch (operation, list.contacts[phone.e164] != nil) {
        case (.add, true):
            return avosmsError(104, "The contact number already exists in the contact list")
        case (.update, false):
            return avosmsError(
                104, "No existing contacts with this phone number in the contact list")
        default:
            break
        }
        // Add stores the fields sent; update replaces them all, so an optional field left
        // out is emptied (removed, as if the contact had been added without it).
        var fields: [String: String] = [:]
        for (key, value) in form where Self.optionalContactFields.contains(key) {
            fields[key] = value
        }
        list.contacts[phone.e164] = SandboxContact(phone: phone.e164, fields: fields)
        data.avosmsLists[listID] = list
        return avosmsOK()
    }

    private func listJSON(_ list: AvosmsListState) -> JSON {
        [
            "listContactId": .string(list.info.id), "listContactName": .string(list.info.name),
            "listContactCountryCode": .string(list.info.country),
            "mobileOnly": .bool(list.info.mobileOnly), "contactCount": .int(list.contacts.count),
        ]
    }

    private func avosmsCreateList(_ form: [String: String]) -> SandboxResponse {
        let name = form["listContactName", default: ""].trimmingSpaces
        guard !name.isEmpty else { return avosmsError(100, "listContactName is required") }
        let country = form["listContactCountryCode", default: ""].trimmingSpaces.uppercased()
        guard country.count == 2, country.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
            return avosmsError(100, "listContactCountryCode must be an ISO 3166-1 alpha-2 code")
        }
        while data.avosmsLists[String(data.avosmsNextListID)] != nil { data.avosmsNextListID += 1 }
        let id = String(data.avosmsNextListID)
        data.avosmsNextListID += 1
        let list = AvosmsListState(
            info: .init(id: id, name: name, country: country, mobileOnly: false))
        data.avosmsLists[id] = list
        data.avosmsListOrder.append(id)
        return avosmsOK([("listContactId", .string(id))])
    }

    private func avosmsListInformation(_ form: [String: String]) -> SandboxResponse {
        let listID = form["listContactId", default: ""].trimmingSpaces
        guard !listID.isEmpty else {
            return avosmsError(101, "The ID of the contact list is empty")
        }
        guard let list = data.avosmsLists[listID] else {
            return avosmsError(103, "No existing list of contacts for the ID '\(listID)'")
        }
        let contacts: [JSON] = list.contacts.values.map { contact in
            .object(
                [("contactTelephoneNumber", .string(contact.phone))]
                    + contact.fields.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
        }
        return avosmsOK([("list", listJSON(list)), ("contacts", .array(contacts))])
    }
}
