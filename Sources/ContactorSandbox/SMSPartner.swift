/// The SMS Partner emulator: `/smspartner/v1/contact/...`, JSON with `apiKey` in the body
/// (in the query string for the GET).
///
/// Errors are `{"success": false, "code": <n>, "message": "..."}` with the documented
/// codes (1 group, 2 contact info, 9 invalid number, 10 API key, 15 duplicate, 404
/// unknown contact) and, where the docs give none, code 400 (a field with a wrong name,
/// type or format, too many contacts, wrong content type). HTTP status: 401 for code
/// 10, 404 for code 404, 400 for every other error, 200 for success.
extension SandboxState {
    private static let contactFields: Set<String> = [
        "phoneNumber", "firstname", "lastname", "date", "url", "shortUrlPartnr", "custom1",
        "custom2", "custom3", "custom4",
    ]
    /// The most contacts one `contactsList` takes.
    static let partnerBulkLimit = 500
    /// Contacts per page of `contact/list`.
    static let partnerPageSize = 20
    /// The documented endpoints: path → method.
    static let partnerRoutes = [
        "v1/contact/add": "POST", "v1/contact/delete": "POST", "v1/contact/list": "GET",
    ]

    private func partnerError(_ code: Int, _ message: String) -> SandboxResponse {
        let status =
            switch code {
            case 10: 401
            case 404: 404
            default: 400
            }
        return .json(status, ["success": false, "code": .int(code), "message": .string(message)])
    }

    func handlePartner(_ request: SandboxRequest) -> SandboxResponse {
        guard let method = Self.partnerRoutes[request.route] else {
            return partnerError(404, "No such endpoint: /\(request.route)")
        }
        guard request.method == method else {
            return partnerError(400, "/\(request.route) takes \(method), not \(request.method)")
        }
        if method == "GET" { return partnerList(request.query) }
        guard request.mediaType == "application/json" else {
            return partnerError(
                400, "Content-Type must be application/json, not \(request.mediaType ?? "missing")")
        }
        guard let body = JSON.parse(request.body), let object = JSONObject(body) else {
            return partnerError(400, "The body must be a JSON object")
        }
        do throws(FieldError) {
            guard let key = try object.string("apiKey"), !key.isEmpty else {
                return partnerError(10, "API key is required")
            }
            guard key == demo.smsPartner.apiKey else {
                return partnerError(10, "Incorrect API key")
            }
            return request.route == "v1/contact/add"
                ? try partnerAdd(object) : try partnerDelete(object)
        } catch {
            return partnerError(Int(error.code) ?? 400, error.message)
        }
    }

    /// Checks one contact object; returns its E.164 number and fields, or throws with
    /// the code to report (2 missing number, 9 invalid number, 400 wrong field).
    private func partnerContact(_ item: JSON, path: String) throws(FieldError) -> SandboxContact {
        guard let object = JSONObject(item, path: path) else {
            throw FieldError("'\(path.dropLast())' must be an object", code: "2")
        }
        if let unknown = object.unknownKey(allowed: Self.contactFields) {
            throw FieldError("Unknown field '\(path)\(unknown)'")
        }
        var fields: [String: String] = [:]
        for key in Self.contactFields where key != "phoneNumber" {
            if let value = try object.string(key) { fields[key] = value }
        }
        for key in ["firstname", "lastname"] {
            if let value = fields[key], value.count > 32 {
                throw FieldError("'\(path)\(key)' is at most 32 characters (got \(value.count))")
            }
        }
        if let date = fields["date"], !Dates.isISODate(date) {
            throw FieldError("'\(path)date' must be a date written YYYY-MM-DD, not \"\(date)\"")
        }
        for key in ["url", "shortUrlPartnr"] {
            if let url = fields[key], !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                throw FieldError("'\(path)\(key)' must start with http:// or https://")
            }
        }
        guard let number = try object.string("phoneNumber"), !number.isEmpty else {
            throw FieldError("Contact info is required: '\(path)phoneNumber' is missing", code: "2")
        }
        guard number.hasPrefix("+") ? Phone.isDigits(number.dropFirst()) : Phone.isDigits(number),
            let phone = Phone.parse(number, region: "FR")
        else {
            throw FieldError("Invalid phone number \(number)", code: "9")
        }
        return SandboxContact(phone: phone.e164, fields: fields)
    }

    private func partnerGroup(_ object: JSONObject) throws(FieldError) -> String {
        guard let group = try object.identifier("groupId"), !group.isEmpty else {
            throw FieldError("groupId is required", code: "1")
        }
        guard data.partnerGroups[group] != nil else {
            throw FieldError("groupId \(group) does not exist", code: "1")
        }
        return group
    }

    private func partnerStore(_ contact: SandboxContact, group: String) -> SandboxContact {
        var contact = contact
        let id = String(data.partnerNextID)
        data.partnerNextID += 1
        contact.id = id
        data.partnerGroups[group]?.contacts[id] = contact
        data.partnerGroups[group]?.byPhone[contact.phone] = id
        data.partnerContactGroup[id] = group
        return contact
    }

    private func partnerContactJSON(_ contact: SandboxContact, phoneKey: String) -> JSON {
        var members: [(String, JSON)] = [(phoneKey, .string(contact.phone))]
        for key in [
            "firstname", "lastname", "date", "shortUrlPartnr", "url", "custom1", "custom2",
            "custom3", "custom4",
        ] {
            if let value = contact.fields[key] { members.append((key, .string(value))) }
        }
        members.append(("contactId", .optional(contact.id)))
        return .object(members)
    }

    private func partnerAdd(_ object: JSONObject) throws(FieldError) -> SandboxResponse {
        if let unknown = object.unknownKey(allowed: [
            "apiKey", "groupId", "contact", "contactsList",
        ]) {
            throw FieldError("Unknown field '\(unknown)'")
        }
        let group = try partnerGroup(object)
        switch (object.members["contact"], object.members["contactsList"]) {
        case (let contact?, nil):
            let checked = try partnerContact(contact, path: "contact.")
            guard data.partnerGroups[group]?.byPhone[checked.phone] == nil else {
                throw FieldError("The number is already in the group", code: "15")
            }
            let stored = partnerStore(checked, group: group)
            return .json(
                200,
                [
                    "success": true, "code": 200,
                    "contact": partnerContactJSON(stored, phoneKey: "phoneNumber"),
                ])
        case (nil, .array(let items)?):
            guard !items.isEmpty else { throw FieldError("Contact info is required", code: "2") }
            guard items.count <= Self.partnerBulkLimit else {
                throw FieldError(
                    "contactsList holds at most \(Self.partnerBulkLimit) contacts (got \(items.count))"
                )
            }
            return partnerBulkAdd(items, group: group)
        case (nil, _?):
            throw FieldError("'contactsList' must be an array")
        case (nil, nil):
            throw FieldError("Contact info is required", code: "2")
        case (_?, _?):
            throw FieldError("Send either 'contact' or 'contactsList', not both")
        }
    }

    private func partnerBulkAdd(_ items: [JSON], group: String) -> SandboxResponse {
        var results: [JSON] = []
        var added = 0
        for (index, item) in items.enumerated() {
            let sent: String? =
                if case .string(let text)? = JSONObject(item)?.members["phoneNumber"] { text } else
                { nil }
            do throws(FieldError) {
                let checked = try partnerContact(item, path: "contactsList[\(index)].")
                guard data.partnerGroups[group]?.byPhone[checked.phone] == nil else {
                    throw FieldError("The number is already in the group", code: "15")
                }
                let stored = partnerStore(checked, group: group)
                added += 1
                results.append([
                    "success": true, "code": 200, "phoneNumber": .string(stored.phone),
                    "message": "Contact added", "contactId": .optional(stored.id),
                ])
            } catch {
                results.append([
                    "success": false, "code": .int(Int(error.code) ?? 400),
                    "phoneNumber": .optional(sent), "message": .string(error.message),
                ])
            }
        }
        let state = data.partnerGroups[group]
        return .json(
            200,
            [
                "success": true, "code": 200,
                "groupe": [
                    "groupId": .string(group), "name": .optional(state?.name),
                    "total": .int(state?.contacts.count ?? 0),
                ],
                "results": .array(results),
                "rapport": [
                    "total": .int(items.count), "added": .int(added),
                    "errors": .int(items.count - added),
                ],
            ])
    }

    private func partnerDelete(_ object: JSONObject) throws(FieldError) -> SandboxResponse {
        if let unknown = object.unknownKey(allowed: ["apiKey", "contactId"]) {
            throw FieldError("Unknown field '\(unknown)'")
        }
        guard let id = try object.identifier("contactId"), !id.isEmpty else {
            throw FieldError("contactId is required")
        }
        guard let group = data.partnerContactGroup[id],
            let contact = data.partnerGroups[group]?.contacts[id]
        else {
            return partnerError(404, "Contact \(id) not found")
        }
        data.partnerGroups[group]?.contacts[id] = nil
        data.partnerGroups[group]?.byPhone[contact.phone] = nil
        data.partnerContactGroup[id] = nil
        return .json(200, ["success": true, "code": 200])
    }

    private func partnerList(_ query: [(String, String)]) -> SandboxResponse {
        var parameters: [String: String] = [:]
        for (key, value) in query { parameters[key] = value }
        guard let key = parameters["apiKey"], !key.isEmpty else {
            return partnerError(10, "API key is required")
        }
        guard key == demo.smsPartner.apiKey else { return partnerError(10, "Incorrect API key") }
        if let unknown = parameters.keys.sorted().first(where: {
            !["apiKey", "groupId", "page"].contains($0)
        }) {
            return partnerError(400, "Unknown parameter '\(unknown)'")
        }
        guard let group = parameters["groupId"], !group.isEmpty else {
            return partnerError(1, "groupId is required")
        }
        guard let state = data.partnerGroups[group] else {
            return partnerError(1, "groupId \(group) does not exist")
        }
        let pageText = parameters["page"] ?? "1"
        guard Phone.isDigits(pageText), let page = Int(pageText), page >= 1 else {
            return partnerError(400, "page must be a positive integer, not \"\(pageText)\"")
        }
        let all = state.contacts.values
        let (offset, overflow) = (page - 1).multipliedReportingOverflow(by: Self.partnerPageSize)
        let start = overflow ? all.count : min(offset, all.count)
        let slice = all[start..<min(start + Self.partnerPageSize, all.count)]
        return .json(
            200,
            [
                "success": true, "code": 200, "currentPage": .int(page), "total": .int(all.count),
                "datas": .array(slice.map { partnerContactJSON($0, phoneKey: "phone") }),
            ])
    }
}
