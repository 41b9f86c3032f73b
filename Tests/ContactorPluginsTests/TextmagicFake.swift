import Contactor
import ContactorTestServer
import Foundation
import Synchronization

/// A loopback fake of Textmagic's REST API v2 contacts, written from its public docs:
/// `X-TM-Username` / `X-TM-Key` auth, `POST /api/v2/contacts` (201 `{id, href}`; 400
/// `{code, message, errors: {fields: {...}}}`), `GET /api/v2/contacts/phone/{phone}`
/// (200 contact with `lists`, or 404), `DELETE /api/v2/contacts/{id}` (204),
/// `PUT` / `DELETE /api/v2/lists/{id}/contacts` with `{contacts: "1,2"}`,
/// `PUT /api/v2/contacts/{id}` (201 `{id, href}`, 404), and
/// `GET /api/v2/lists/{id}/contacts?page=&limit=` (`{page, limit, pageCount, resources}`).
final class TextmagicFake: Sendable {
    static let username = "tm-user-ada"
    static let apiKey = "tm-secret-key"

    struct Stored: Sendable {
        var id: Int
        var phone: String
        var firstName: String?
        var lastName: String?
        var email: String?
        var lists: Set<Int>
    }

    struct State: Sendable {
        var lists: Set<Int> = [100, 200]
        var contacts: [Int: Stored] = [:]
        var nextID = 5001
    }

    let state = Mutex(State())

    /// Whether list `list` holds the number `e164`.
    func contains(_ list: String, _ e164: String) -> Bool {
        state.withLock { state in
            state.contacts.values.contains {
                "+" + $0.phone == e164 && $0.lists.contains(Int(list) ?? -1)
            }
        }
    }

    /// The values stored for the number `e164` in list `list`, or `nil`.
    func values(_ list: String, _ e164: String) -> [String]? {
        state.withLock { state in
            state.contacts.values.first {
                "+" + $0.phone == e164 && $0.lists.contains(Int(list) ?? -1)
            }.map { [$0.firstName, $0.lastName, $0.email].compactMap { $0 } }
        }
    }

    /// Stores a contact directly, as if made through Textmagic's web app.
    @discardableResult
    func seed(_ e164: String, lists: Set<Int>) -> Int {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.contacts[id] = Stored(id: id, phone: String(e164.dropFirst()), lists: lists)
            return id
        }
    }

    var handler: TestHTTPServer.Handler {
        { [self] request in handle(request) }
    }

    private static func validation(_ field: String, _ message: String) -> ScriptedReply {
        json(
            400,
            [
                "code": 400, "message": "Validation Failed",
                "errors": ["common": [], "fields": [field: [.string(message)]]],
            ])
    }

    private func handle(_ request: RecordedRequest) -> ScriptedReply {
        guard request.header("X-TM-Username") == Self.username,
            request.header("X-TM-Key") == Self.apiKey
        else {
            return json(401, ["code": 401, "message": "Unauthorized"])
        }
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.count >= 3, parts[0] == "api", parts[1] == "v2" else {
            return json(404, ["code": 404, "message": "Not found"])
        }
        let route = Array(parts.dropFirst(2))
        let payload = body(request)
        return state.withLock { state -> ScriptedReply in
            switch (request.method, route.count, route.first) {
            case ("POST", 1, "contacts"):
                guard let digits = payload["phone"]?.stringValue, !digits.isEmpty else {
                    return Self.validation("phone", "This value should not be blank.")
                }
                guard (try? PhoneNumber(parsing: "+" + digits)) != nil else {
                    return Self.validation("phone", "Phone number is not valid.")
                }
                let lists = (payload["lists"]?.stringValue ?? "").split(separator: ",").map {
                    Int($0.trimmingCharacters(in: .whitespaces)) ?? -1
                }
                guard !lists.isEmpty, lists.allSatisfy(state.lists.contains) else {
                    return Self.validation("lists", "List not found.")
                }
                if state.contacts.values.contains(where: { $0.phone == digits }) {
                    return Self.validation("phone", "Phone number already exists.")
                }
                let id = state.nextID
                state.nextID += 1
                state.contacts[id] = Stored(
                    id: id, phone: digits, firstName: payload["firstName"]?.stringValue,
                    lastName: payload["lastName"]?.stringValue,
                    email: payload["email"]?.stringValue, lists: Set(lists))
                return json(
                    201, ["id": .int(Int64(id)), "href": .string("/api/v2/contacts/\(id)")])

            case ("GET", 3, "contacts") where route[1] == "phone":
                guard let contact = state.contacts.values.first(where: { $0.phone == route[2] })
                else {
                    return json(404, ["code": 404, "message": "Contact not found"])
                }
                return json(
                    200,
                    [
                        "id": .int(Int64(contact.id)), "phone": .string(contact.phone),
                        "firstName": contact.firstName.map(JSONValue.string) ?? .null,
                        "lastName": contact.lastName.map(JSONValue.string) ?? .null,
                        "lists": .array(
                            contact.lists.sorted().map {
                                ["id": .int(Int64($0)), "name": .string("List \($0)")]
                            }),
                    ])

            case ("PUT", 2, "contacts"):
                guard let id = Int(route[1]), var contact = state.contacts[id] else {
                    return json(404, ["code": 404, "message": "Contact not found"])
                }
                if let digits = payload["phone"]?.stringValue { contact.phone = digits }
                contact.firstName = payload["firstName"]?.stringValue
                contact.lastName = payload["lastName"]?.stringValue
                contact.email = payload["email"]?.stringValue
                state.contacts[id] = contact
                return json(
                    201, ["id": .int(Int64(id)), "href": .string("/api/v2/contacts/\(id)")])

            case ("GET", 3, "lists") where route[2] == "contacts":
                guard let list = Int(route[1]), state.lists.contains(list) else {
                    return json(404, ["code": 404, "message": "List not found"])
                }
                var query: [String: String] = [:]
                for pair in (request.query ?? "").split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    if parts.count == 2 { query[parts[0]] = parts[1] }
                }
                let page = max(1, Int(query["page"] ?? "1") ?? 1)
                let limit = max(1, Int(query["limit"] ?? "10") ?? 10)
                let members = state.contacts.values.filter { $0.lists.contains(list) }
                    .sorted { $0.id < $1.id }
                let slice = members.dropFirst((page - 1) * limit).prefix(limit)
                return json(
                    200,
                    [
                        "page": .int(Int64(page)), "limit": .int(Int64(limit)),
                        "pageCount": .int(Int64((members.count + limit - 1) / limit)),
                        "resources": .array(
                            slice.map { contact in
                                [
                                    "id": .int(Int64(contact.id)), "phone": .string(contact.phone),
                                    "firstName": contact.firstName.map(JSONValue.string) ?? .null,
                                    "lastName": contact.lastName.map(JSONValue.string) ?? .null,
                                    "email": contact.email.map(JSONValue.string) ?? .string(""),
                                ]
                            }),
                    ])

            case ("DELETE", 2, "contacts"):
                guard let id = Int(route[1]), state.contacts.removeValue(forKey: id) != nil else {
                    return json(404, ["code": 404, "message": "Contact not found"])
                }
                return .status(204)

            case ("PUT", 3, "lists") where route[2] == "contacts",
                ("DELETE", 3, "lists") where route[2] == "contacts":
                guard let list = Int(route[1]), state.lists.contains(list) else {
                    return json(404, ["code": 404, "message": "List not found"])
                }
                let ids = (payload["contacts"]?.stringValue ?? "").split(separator: ",").compactMap
                { Int($0) }
                for id in ids {
                    if request.method == "PUT" {
                        state.contacts[id]?.lists.insert(list)
                    } else {
                        state.contacts[id]?.lists.remove(list)
                    }
                }
                return request.method == "PUT"
                    ? json(
                        201, ["id": .int(Int64(list)), "href": .string("/api/v2/lists/\(list)")])
                    : .status(204)

            default:
                return json(404, ["code": 404, "message": "Not found"])
            }
        }
    }
}
