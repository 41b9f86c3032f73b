/// The Octopush emulator: `/octopush/v1/public/...`, JSON, credentials in headers.
///
/// Errors are `{"code": "<name>", "message": "..."}` with the HTTP status that says what
/// kind of error it is (Octopush documents no error body): 400 `invalid_request` /
/// `invalid_phone_number`, 401 `unauthorized`, 404 `list_not_found` / `not_found`,
/// 405 `method_not_allowed`, 409 `list_exists`, 415 `unsupported_media_type`.
extension SandboxState {
    private static let createFields: Set<String> = [
        "contacts", "list_name", "tag_name", "auto_remove_blacklisted_numbers", "do_not_overwrite",
    ]
    private static let contactFields: Set<String> = [
        "phone_number", "first_name", "last_name", "email", "param1", "param2", "param3", "param4",
        "param5",
    ]
    /// The most numbers one `contact/delete` call takes.
    static let octopushDeleteLimit = 200
    /// The documented endpoints: path → method.
    static let octopushRoutes: [String: String] = [
        "v1/public/contact/create": "POST", "v1/public/contact/delete": "DELETE",
        "v1/public/contact-list/create": "POST", "v1/public/contact-list/delete": "DELETE",
    ]

    private func octopushError(_ status: Int, _ code: String, _ message: String) -> SandboxResponse
    {
        .json(status, ["code": .string(code), "message": .string(message)])
    }

    func handleOctopush(_ request: SandboxRequest) -> SandboxResponse {
        guard let method = Self.octopushRoutes[request.route] else {
            return octopushError(404, "not_found", "No such endpoint: /\(request.route)")
        }
        guard request.method == method else {
            return octopushError(
                405, "method_not_allowed",
                "/\(request.route) takes \(method), not \(request.method)")
        }
        guard request.headers["api-login"] == demo.octopush.apiLogin,
            request.headers["api-key"] == demo.octopush.apiKey
        else {
            return octopushError(
                401, "unauthorized", "Missing or incorrect api-login/api-key headers")
        }
        guard request.mediaType == "application/json" else {
            return octopushError(
                415, "unsupported_media_type",
                "Content-Type must be application/json, not \(request.mediaType ?? "missing")")
        }
        guard let body = JSON.parse(request.body), let object = JSONObject(body) else {
            return octopushError(400, "invalid_request", "The body must be a JSON object")
        }
        do throws(FieldError) {
            switch request.route {
            case "v1/public/contact/create": return try octopushCreate(object)
            case "v1/public/contact/delete": return try octopushDelete(object)
            case "v1/public/contact-list/create": return try octopushCreateList(object)
            default: return try octopushDeleteList(object)
            }
        } catch {
            return octopushError(400, error.code, error.message)
        }
    }

    /// A `list_name` field: absent → nil; present must be a non-empty string ≤ 30 chars.
    private func listName(_ object: JSONObject) throws(FieldError) -> String? {
        guard let name = try object.string("list_name") else {
            if object.has("list_name") { throw FieldError("'list_name' must not be null") }
            return nil
        }
        guard !name.isEmpty else { throw FieldError("'list_name' must not be empty") }
        guard name.count <= 30 else {
            throw FieldError("'list_name' is at most 30 characters (got \(name.count))")
        }
        return name
    }

    private func internationalNumber(_ text: String, field: String) throws(FieldError) -> String {
        guard text.hasPrefix("+"), Phone.isDigits(text.dropFirst()),
            let phone = Phone.parse(text, region: nil)
        else {
            throw FieldError(
                "'\(field)' \"\(text)\" is not a valid number in international format (+ and digits)",
                code: "invalid_phone_number")
        }
        return phone.e164
    }

    private func octopushCreate(_ object: JSONObject) throws(FieldError) -> SandboxResponse {
        if let unknown = object.unknownKey(allowed: Self.createFields) {
            throw FieldError("Unknown field '\(unknown)'")
        }
        guard case .array(let items)? = object.members["contacts"] else {
            throw FieldError(
                object.has("contacts")
                    ? "'contacts' must be an array" : "'contacts' is required")
        }
        guard !items.isEmpty else { throw FieldError("'contacts' must not be empty") }
        let list = try listName(object)
        let tag = try object.string("tag_name")
        if let tag, tag.count > 20 {
            throw FieldError("'tag_name' is at most 20 characters (got \(tag.count))")
        }
        _ = try object.bool("auto_remove_blacklisted_numbers")
        let doNotOverwrite = try object.bool("do_not_overwrite") ?? false
        if let list, data.octopushLists[list] == nil {
            return octopushError(
                404, "list_not_found",
                "No list named '\(list)': create it with contact-list/create first")
        }
        // Validate the whole request before changing anything.
        var contacts: [SandboxContact] = []
        for (index, item) in items.enumerated() {
            guard let contact = JSONObject(item, path: "contacts[\(index)].") else {
                throw FieldError("'contacts[\(index)]' must be an object")
            }
            if let unknown = contact.unknownKey(allowed: Self.contactFields) {
                throw FieldError("Unknown field 'contacts[\(index)].\(unknown)'")
            }
            guard let number = try contact.string("phone_number") else {
                throw FieldError("'contacts[\(index)].phone_number' is required")
            }
            let e164 = try internationalNumber(number, field: "contacts[\(index)].phone_number")
            var fields: [String: String] = [:]
            for key in Self.contactFields where key != "phone_number" {
                if let value = try contact.string(key) { fields[key] = value }
            }
            if let tag { fields["tag_name"] = tag }
            contacts.append(SandboxContact(phone: e164, fields: fields))
        }
        let key = list ?? ""
        if data.octopushLists[key] == nil {
            data.octopushLists[key] = OrderedContacts()
            data.octopushListOrder.append(key)
        }
        var results: [JSON] = []
        for contact in contacts {
            let status: String
            if data.octopushLists[key]?[contact.phone] == nil {
                data.octopushLists[key]?[contact.phone] = contact
                status = "added"
            } else if doNotOverwrite {
                status = "skipped"
            } else {
                data.octopushLists[key]?[contact.phone] = contact
                status = "updated"
            }
            let stored = data.octopushLists[key]?[contact.phone]
            results.append([
                "phone_number": .string(contact.phone), "email": .optional(stored?.fields["email"]),
                "status": .string(status),
            ])
        }
        return .json(201, ["items": .array(results)])
    }

    private func octopushDelete(_ object: JSONObject) throws(FieldError) -> SandboxResponse {
        if let unknown = object.unknownKey(allowed: ["phone_numbers", "list_name"]) {
            throw FieldError("Unknown field '\(unknown)'")
        }
        guard case .array(let items)? = object.members["phone_numbers"] else {
            throw FieldError(
                object.has("phone_numbers")
                    ? "'phone_numbers' must be an array" : "'phone_numbers' is required")
        }
        guard !items.isEmpty else { throw FieldError("'phone_numbers' must not be empty") }
        guard items.count <= Self.octopushDeleteLimit else {
            throw FieldError(
                "'phone_numbers' holds at most \(Self.octopushDeleteLimit) numbers (got \(items.count))"
            )
        }
        var numbers: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw FieldError(
                    "'phone_numbers[\(index)]' must be a string, not a \(item.typeName)")
            }
            numbers.append(try internationalNumber(text, field: "phone_numbers[\(index)]"))
        }
        let lists: [String]
        if let list = try listName(object) {
            guard data.octopushLists[list] != nil else {
                return octopushError(404, "list_not_found", "No list named '\(list)'")
            }
            lists = [list]
        } else {
            lists = data.octopushListOrder
        }
        for list in lists {
            for number in numbers { data.octopushLists[list]?[number] = nil }
        }
        return .empty(204)
    }

    private func octopushCreateList(_ object: JSONObject) throws(FieldError) -> SandboxResponse {
        if let unknown = object.unknownKey(allowed: ["list_name"]) {
            throw FieldError("Unknown field '\(unknown)'")
        }
        guard let name = try listName(object) else { throw FieldError("'list_name' is required") }
        guard data.octopushLists[name] == nil else {
            return octopushError(409, "list_exists", "A list named '\(name)' already exists")
        }
        data.octopushLists[name] = OrderedContacts()
        data.octopushListOrder.append(name)
        return .json(201, ["list_name": .string(name)])
    }

    private func octopushDeleteList(_ object: JSONObject) throws(FieldError) -> SandboxResponse {
        if let unknown = object.unknownKey(allowed: ["list_name"]) {
            throw FieldError("Unknown field '\(unknown)'")
        }
        guard let name = try listName(object) else { throw FieldError("'list_name' is required") }
        guard data.octopushLists[name] != nil else {
            return octopushError(404, "list_not_found", "No list named '\(name)'")
        }
        data.octopushLists[name] = nil
        data.octopushListOrder.removeAll { $0 == name }
        return .empty(204)
    }
}
