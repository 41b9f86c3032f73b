import Contactor
import ContactorTestServer
import Foundation
import Synchronization

/// A loopback fake of Brevo's API v3 contacts, written from its public docs: `api-key`
/// auth (401 `{code: "unauthorized"}`), `POST /v3/contacts` (201 `{id}`, 204 when
/// `updateEnabled` updated an existing contact, 400 `duplicate_parameter` otherwise,
/// 400 `invalid_parameter` for a bad SMS, 404 `document_not_found` for an unknown list),
/// `GET /v3/contacts/{identifier}?identifierType=phone_id` (200 contact with `listIds`,
/// or 404), `POST /v3/contacts/lists/{id}/contacts/remove {ids}` (201
/// `{contacts: {success, failure}}`), `PUT /v3/contacts/{id or SMS}` (204, 404), and
/// `GET /v3/contacts/lists/{id}/contacts?limit=&offset=` (`{contacts, count}`).
final class BrevoFake: Sendable {
    static let apiKey = "xkeysib-brevo-secret"

    struct Stored: Sendable {
        var id: Int
        var sms: String
        var email: String?
        var attributes: [String: JSONValue]
        var lists: Set<Int>
    }

    struct State: Sendable {
        var lists: Set<Int> = [7, 8]
        var contacts: [Int: Stored] = [:]
        var nextID = 41
    }

    let state = Mutex(State())

    /// Whether list `list` holds the number `e164`.
    func contains(_ list: String, _ e164: String) -> Bool {
        state.withLock { state in
            state.contacts.values.contains { $0.sms == e164 && $0.lists.contains(Int(list) ?? -1) }
        }
    }

    /// The stored attributes of the contact with SMS `e164`.
    func attributes(of e164: String) -> [String: JSONValue]? {
        state.withLock { $0.contacts.values.first { $0.sms == e164 }?.attributes }
    }

    /// The stored attribute values of the contact with SMS `e164` in `list`, or `nil`.
    func values(_ list: String, _ e164: String) -> [String]? {
        state.withLock { state in
            state.contacts.values.first { $0.sms == e164 && $0.lists.contains(Int(list) ?? -1) }
                .map { contact in
                    contact.attributes.values.compactMap(\.stringValue)
                        + [contact.email].compactMap { $0 }
                }
        }
    }

    /// Stores a contact directly, as if imported at Brevo.
    @discardableResult
    func seed(_ e164: String, lists: Set<Int>) -> Int {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.contacts[id] = Stored(
                id: id, sms: e164, attributes: ["SMS": .string(e164)], lists: lists)
            return id
        }
    }

    var handler: TestHTTPServer.Handler {
        { [self] request in handle(request) }
    }

    private func handle(_ request: RecordedRequest) -> ScriptedReply {
        guard request.header("api-key") == Self.apiKey else {
            return json(401, ["code": "unauthorized", "message": "Key not found"])
        }
        let parts = request.path.split(separator: "/").map {
            String($0).removingPercentEncoding ?? String($0)
        }
        guard parts.first == "v3" else {
            return json(404, ["code": "not_found", "message": "Not found"])
        }
        let route = Array(parts.dropFirst())
        let payload = body(request)
        return state.withLock { state -> ScriptedReply in
            switch (request.method, route.count, route.first) {
            case ("POST", 1, "contacts"):
                let attributes = payload["attributes"]?.objectValue ?? [:]
                guard let sms = attributes["SMS"]?.stringValue,
                    (try? PhoneNumber(parsing: sms)) != nil
                else {
                    return json(
                        400, ["code": "invalid_parameter", "message": "Invalid phone number"])
                }
                let lists = (payload["listIds"]?.arrayValue ?? []).compactMap(\.intValue).map {
                    Int($0)
                }
                guard lists.allSatisfy(state.lists.contains) else {
                    return json(
                        404, ["code": "document_not_found", "message": "List ID does not exist"])
                }
                if let existing = state.contacts.values.first(where: { $0.sms == sms }) {
                    guard payload["updateEnabled"]?.boolValue == true else {
                        return json(
                            400,
                            [
                                "code": "duplicate_parameter",
                                "message":
                                    "Unable to create contact, SMS is already associated with another Contact",
                            ])
                    }
                    state.contacts[existing.id]?.lists.formUnion(lists)
                    state.contacts[existing.id]?.attributes.merge(attributes) { $1 }
                    return .status(204)
                }
                let id = state.nextID
                state.nextID += 1
                state.contacts[id] = Stored(
                    id: id, sms: sms, email: payload["email"]?.stringValue,
                    attributes: attributes, lists: Set(lists))
                return json(201, ["id": .int(Int64(id))])

            case ("PUT", 2, "contacts"):
                let contact =
                    request.query?.contains("identifierType=phone_id") == true
                    ? state.contacts.values.first(where: { $0.sms == route[1] })
                    : Int(route[1]).flatMap { state.contacts[$0] }
                guard let contact else {
                    return json(
                        404, ["code": "document_not_found", "message": "Contact does not exist"])
                }
                let attributes = payload["attributes"]?.objectValue ?? [:]
                state.contacts[contact.id]?.attributes.merge(attributes) { $1 }
                if let sms = attributes["SMS"]?.stringValue {
                    state.contacts[contact.id]?.sms = sms
                }
                if let email = payload["email"]?.stringValue {
                    state.contacts[contact.id]?.email = email
                }
                return .status(204)

            case ("GET", 4, "contacts") where route[1] == "lists" && route[3] == "contacts":
                guard let list = Int(route[2]), state.lists.contains(list) else {
                    return json(
                        404, ["code": "document_not_found", "message": "List ID does not exist"])
                }
                var query: [String: String] = [:]
                for pair in (request.query ?? "").split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    if parts.count == 2 { query[parts[0]] = parts[1] }
                }
                let offset = max(0, Int(query["offset"] ?? "0") ?? 0)
                let limit = max(1, Int(query["limit"] ?? "50") ?? 50)
                let members = state.contacts.values.filter { $0.lists.contains(list) }
                    .sorted { $0.id < $1.id }
                return json(
                    200,
                    [
                        "count": .int(Int64(members.count)),
                        "contacts": .array(
                            members.dropFirst(offset).prefix(limit).map { contact in
                                [
                                    "id": .int(Int64(contact.id)),
                                    "email": contact.email.map(JSONValue.string) ?? .null,
                                    "attributes": .object(contact.attributes),
                                    "listIds": .array(
                                        contact.lists.sorted().map { .int(Int64($0)) }),
                                ]
                            }),
                    ])

            case ("GET", 2, "contacts"):
                guard request.query?.contains("identifierType=phone_id") == true,
                    let contact = state.contacts.values.first(where: { $0.sms == route[1] })
                else {
                    return json(
                        404, ["code": "document_not_found", "message": "Contact does not exist"])
                }
                return json(
                    200,
                    [
                        "id": .int(Int64(contact.id)),
                        "email": contact.email.map(JSONValue.string) ?? .null,
                        "attributes": .object(contact.attributes),
                        "listIds": .array(contact.lists.sorted().map { .int(Int64($0)) }),
                    ])

            case ("POST", 5, "contacts")
            where route[1] == "lists" && route[3] == "contacts"
                && route[4] == "remove":
                guard let list = Int(route[2]), state.lists.contains(list) else {
                    return json(
                        404, ["code": "document_not_found", "message": "List ID does not exist"])
                }
                var success: [JSONValue] = []
                var failure: [JSONValue] = []
                for id in (payload["ids"]?.arrayValue ?? []).compactMap(\.intValue) {
                    if state.contacts[Int(id)]?.lists.remove(list) != nil {
                        success.append(.int(id))
                    } else {
                        failure.append(.int(id))
                    }
                }
                return json(
                    201,
                    ["contacts": ["success": .array(success), "failure": .array(failure)]])

            default:
                return json(404, ["code": "not_found", "message": "Not found"])
            }
        }
    }
}
