/// The SMS Gateway API (Smstools) emulator: `/smsgatewayapi/v1/contact`, JSON, credentials
/// in headers.
///
/// Errors are `{"error": <number>, "errorMsg": "..."}` (the shape of the documented
/// per-contact errors): 103 with HTTP 400 for an invalid phone number in a single-object
/// request, otherwise the HTTP status as the number (400, 401, 404, 405, 415).
extension SandboxState {
    private static let contactFields: Set<String> = [
        "phone", "groupid", "firstname", "lastname", "birthday", "unsubscribed",
        "extra1", "extra2", "extra3", "extra4", "extra5", "extra6", "extra7", "extra8",
    ]
    private static let textFields = [
        "firstname", "lastname", "extra1", "extra2", "extra3", "extra4", "extra5", "extra6",
        "extra7", "extra8",
    ]

    /// The documented endpoints: `POST` (add) and `PATCH` (update) on one path.
    static let gatewayRoutes: [(method: String, path: String)] = [
        ("POST", "v1/contact"), ("PATCH", "v1/contact"),
    ]

    private func gatewayError(_ status: Int, _ error: Int, _ message: String) -> SandboxResponse {
        .json(status, ["error": .int(error), "errorMsg": .string(message)])
    }

    func handleGateway(_ request: SandboxRequest) -> SandboxResponse {
        guard request.route == "v1/contact" else {
            return gatewayError(404, 404, "No such endpoint: /\(request.route)")
        }
        guard Self.gatewayRoutes.contains(where: { $0.method == request.method }) else {
            return gatewayError(
                405, 405, "/v1/contact takes POST or PATCH, not \(request.method)")
        }
        guard request.headers["x-client-id"] == demo.smsGatewayAPI.clientID,
            request.headers["x-client-secret"] == demo.smsGatewayAPI.clientSecret
        else {
            return gatewayError(401, 401, "Missing or incorrect X-Client-Id/X-Client-Secret")
        }
        guard request.mediaType == "application/json" else {
            return gatewayError(
                415, 415,
                "Content-Type must be application/json, not \(request.mediaType ?? "missing")")
        }
        guard let body = JSON.parse(request.body) else {
            return gatewayError(400, 400, "The body is not JSON")
        }
        let items: [JSON]
        let single: Bool
        switch body {
        case .object: (items, single) = ([body], true)
        case .array(let values) where !values.isEmpty: (items, single) = (values, false)
        case .array: return gatewayError(400, 400, "The array of contacts is empty")
        default:
            return gatewayError(400, 400, "The body must be a contact object or an array of them")
        }
        do throws(FieldError) {
            return request.method == "POST"
                ? try gatewayAdd(items, single: single) : try gatewayUpdate(items, single: single)
        } catch {
            return gatewayError(400, 400, error.message)
        }
    }

    /// The fields of one contact object, checked; `phone` is returned as sent.
    private func gatewayFields(
        _ item: JSON, index: Int?, update: Bool
    ) throws(FieldError) -> (
        object: JSONObject, fields: [String: String]
    ) {
        let location = index.map { "[\($0)]." } ?? ""
        guard let object = JSONObject(item, path: location) else {
            throw FieldError("Contact \(index.map { "[\($0)] " } ?? "")must be a JSON object")
        }
        let allowed = update ? Self.contactFields.union(["ID"]) : Self.contactFields
        if let unknown = object.unknownKey(allowed: allowed) {
            throw FieldError("Unknown field '\(location)\(unknown)'")
        }
        var fields: [String: String] = [:]
        for key in Self.textFields {
            if let value = try object.string(key) { fields[key] = value }
        }
        if let birthday = try object.string("birthday") {
            guard Dates.isISODate(birthday) else {
                throw FieldError(
                    "'\(location)birthday' must be a date written yyyy-MM-dd, not \"\(birthday)\"")
            }
            fields["birthday"] = birthday
        }
        switch object.members["unsubscribed"] {
        case nil, .null?: break
        case .bool(let value)?: fields["unsubscribed"] = value ? "1" : "0"
        case .int(let value)? where value == 0 || value == 1: fields["unsubscribed"] = String(value)
        case let other?:
            throw FieldError(
                "'\(location)unsubscribed' must be true, false, 0 or 1, not \(other.typeName)")
        }
        if let phone = try object.string("phone") {
            fields["phone"] = phone
        } else if !update {
            throw FieldError("'\(location)phone' is required")
        }
        if let group = try object.identifier("groupid") {
            guard Phone.isDigits(group), let id = Int(group) else {
                throw FieldError("'\(location)groupid' must be a group id, not \"\(group)\"")
            }
            guard data.gatewayGroups[id] != nil else {
                throw FieldError("Group \(id) not found", code: "404")
            }
            fields["groupid"] = String(id)
        } else if !update {
            throw FieldError("'\(location)groupid' is required")
        }
        return (object, fields)
    }

    /// Whether `phone` is what the docs ask for: international digits without `+`.
    private func gatewayPhoneIsValid(_ phone: String) -> Bool {
        Phone.isDigits(phone) && Phone.parse("+" + phone, region: nil) != nil
    }

    private func gatewayAdd(_ items: [JSON], single: Bool) throws(FieldError) -> SandboxResponse {
        var checked: [[String: String]] = []
        do throws(FieldError) {
            for (index, item) in items.enumerated() {
                checked.append(
                    try gatewayFields(item, index: single ? nil : index, update: false).fields)
            }
        } catch  where error.code == "404" {
            return gatewayError(404, 404, error.message)
        }
        var ids: [JSON] = []
        var errors: [JSON] = []
        for var fields in checked {
            let phone = fields.removeValue(forKey: "phone") ?? ""
            let group = Int(fields.removeValue(forKey: "groupid") ?? "") ?? 0
            guard gatewayPhoneIsValid(phone) else {
                if single {
                    return gatewayError(400, 103, "Phone number \(phone) is not valid")
                }
                errors.append([
                    "error": 103, "errorMsg": .string("Phone number \(phone) is not valid"),
                ])
                continue
            }
            let existing = data.gatewayGroups[group]?.contact(withPhone: phone)
            let id = existing?.id.flatMap { Int($0) } ?? data.gatewayNextID
            if existing == nil { data.gatewayNextID += 1 }
            var contact = existing ?? SandboxContact(id: String(id), phone: phone)
            contact.fields.merge(fields) { _, new in new }
            data.gatewayGroups[group]?[String(id)] = contact
            data.gatewayContactGroup[id] = group
            ids.append(.int(id))
        }
        if single { return .json(200, ["ID": .array(ids)]) }
        var answer: [(String, JSON)] = [("IDs", .array(ids))]
        if !errors.isEmpty { answer.append(("errors", .array(errors))) }
        return .json(200, .object(answer))
    }

    private func gatewayUpdate(_ items: [JSON], single: Bool) throws(FieldError) -> SandboxResponse
    {
        var changes: [(id: Int, fields: [String: String])] = []
        do throws(FieldError) {
            for (index, item) in items.enumerated() {
                let (object, fields) = try gatewayFields(
                    item, index: single ? nil : index, update: true)
                guard case .int(let id)? = object.members["ID"] else {
                    throw FieldError(
                        "'\(single ? "" : "[\(index)].")ID' is required and must be an integer")
                }
                if let phone = fields["phone"], !gatewayPhoneIsValid(phone) {
                    throw FieldError("Phone number \(phone) is not valid", code: "103")
                }
                changes.append((id, fields))
            }
        } catch  where error.code == "404" {
            return gatewayError(404, 404, error.message)
        } catch  where error.code == "103" {
            return gatewayError(400, 103, error.message)
        }
        // All or nothing: one unknown id rolls the whole request back.
        if let unknown = changes.first(where: { data.gatewayContactGroup[$0.id] == nil }) {
            return gatewayError(404, 404, "Contact \(unknown.id) not found")
        }
        // A request that would leave a group with two contacts of one number (which adds
        // never make) is refused whole, like an unknown id: the end state is checked first.
        if let conflict = gatewayNumberConflict(changes) { return gatewayError(400, 400, conflict) }
        for var change in changes {
            guard let oldGroup = data.gatewayContactGroup[change.id],
                var contact = data.gatewayGroups[oldGroup]?[String(change.id)]
            else { continue }
            if let phone = change.fields.removeValue(forKey: "phone") { contact.phone = phone }
            let newGroup =
                change.fields.removeValue(forKey: "groupid").flatMap { Int($0) } ?? oldGroup
            contact.fields.merge(change.fields) { _, new in new }
            if newGroup != oldGroup {
                data.gatewayGroups[oldGroup]?[String(change.id)] = nil
                data.gatewayContactGroup[change.id] = newGroup
            }
            // In place when the group stays: the contact keeps its position in the group.
            data.gatewayGroups[newGroup]?[String(change.id)] = contact
        }
        return .empty(204)
    }

    /// Why `changes` (known ids, checked fields) cannot all be made, or `nil`: the number
    /// and group each changed contact ends with must not be another contact's in that group.
    private func gatewayNumberConflict(_ changes: [(id: Int, fields: [String: String])]) -> String?
    {
        var end: [Int: (group: Int, phone: String)] = [:]
        var order: [Int] = []
        for change in changes {
            guard let group = data.gatewayContactGroup[change.id],
                let contact = data.gatewayGroups[group]?[String(change.id)]
            else { continue }
            let current = end[change.id] ?? (group, contact.phone)
            if end[change.id] == nil { order.append(change.id) }
            end[change.id] = (
                change.fields["groupid"].flatMap { Int($0) } ?? current.group,
                change.fields["phone"] ?? current.phone
            )
        }
        var holders: [String: Int] = [:]
        for id in order {
            guard let (group, phone) = end[id] else { continue }
            let holder: Int? =
                holders["\(group) \(phone)"]
                ?? data.gatewayGroups[group]?.contact(withPhone: phone).flatMap { other in
                    other.id.flatMap { Int($0) }.flatMap { $0 != id && end[$0] == nil ? $0 : nil }
                }
            if let holder {
                return "Contact \(id) would have the number \(phone) of contact \(holder) "
                    + "in group \(group)"
            }
            holders["\(group) \(phone)"] = id
        }
        return nil
    }
}
