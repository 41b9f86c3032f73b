import Contactor
import Foundation

/// A contact as one of the emulators stores it.
///
/// The emulators keep each provider's own field names in ``fields`` (`contactFirstName`
/// for Avosms, `first_name` for Octopush, `firstname` for SMS Gateway API and SMS
/// Partner, and so on), so a test can check exactly what a client sent.
public struct SandboxContact: Sendable, Hashable {
    /// The id the provider gave the contact (SMS Gateway API, SMS Partner); `nil` for
    /// providers that key contacts by phone number (Avosms, Octopush).
    public var id: String?
    /// The phone number as the provider stores it: E.164 (`+33612345678`) for Avosms,
    /// Octopush and SMS Partner; international digits without `+` for SMS Gateway API.
    public var phone: String
    /// Every other field the client sent, under the provider's own name.
    public var fields: [String: String]

    /// Creates a contact.
    public init(id: String? = nil, phone: String, fields: [String: String] = [:]) {
        self.id = id
        self.phone = phone
        self.fields = fields
    }

    var json: JSON {
        var members: [(String, JSON)] = []
        if let id { members.append(("id", .string(id))) }
        members.append(("phone", .string(phone)))
        members.append(
            (
                "fields",
                .object(fields.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
            ))
        return .object(members)
    }
}

/// Contacts in insertion order, looked up by key (phone number or id).
struct OrderedContacts: Sendable {
    private var order: [String] = []
    private var items: [String: SandboxContact] = [:]
    /// The key of the contact holding each phone, so that finding a number does not scan
    /// the list (an import of N numbers would otherwise cost N² steps).
    private var keysByPhone: [String: String] = [:]

    var count: Int { order.count }
    var values: [SandboxContact] { order.compactMap { items[$0] } }

    /// The contact whose phone is `phone`, if any.
    func contact(withPhone phone: String) -> SandboxContact? {
        keysByPhone[phone].flatMap { items[$0] }
    }

    subscript(key: String) -> SandboxContact? {
        get { items[key] }
        set {
            let old = items[key]
            if let old, keysByPhone[old.phone] == key { keysByPhone[old.phone] = nil }
            if let newValue {
                if items.updateValue(newValue, forKey: key) == nil { order.append(key) }
                keysByPhone[newValue.phone] = key
            } else if items.removeValue(forKey: key) != nil {
                order.removeAll { $0 == key }
            }
        }
    }
}

/// An HTTP request as the emulators see it.
struct SandboxRequest: Sendable {
    /// The method, upper case (`POST`).
    var method: String
    /// The path segments after the provider's prefix (`["v1", "contact", "add"]`).
    var path: [String]
    /// The query string's parameters, percent-decoded.
    var query: [(String, String)]
    /// Header values by lower-case name.
    var headers: [String: String]
    /// The body's bytes.
    var body: [UInt8]

    /// The media type of the body, lower case, without parameters (`application/json`).
    var mediaType: String? {
        headers["content-type"].map {
            $0.split(separator: ";", maxSplits: 1).first.map(String.init)?.trimmingSpaces
                .lowercased() ?? ""
        }
    }

    var route: String { path.joined(separator: "/") }
}

/// An HTTP answer from an emulator.
struct SandboxResponse: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8]? = nil

    static func json(_ status: Int, _ value: JSON) -> SandboxResponse {
        SandboxResponse(
            status: status, headers: [("Content-Type", "application/json")], body: value.serialized)
    }

    static func empty(_ status: Int) -> SandboxResponse { SandboxResponse(status: status) }
}

/// The state of every emulator of one server: accounts, lists and contacts.
///
/// One actor per ``SandboxServer``, so two servers never share anything, and each
/// request is handled atomically (a bulk request is validated whole before it changes
/// anything where the emulated provider documents or implies all-or-nothing).
actor SandboxState {
    let demo: SandboxDemo

    /// Every emulator's lists and contacts.
    var data: EmulatorData

    init(demo: SandboxDemo) {
        self.demo = demo
        data = EmulatorData(demo: demo)
    }

    /// Puts every provider back to the demo data.
    func reset() { data = EmulatorData(demo: demo) }

    /// The contacts of `list` at `provider`, `nil` when there is no such list.
    func contacts(provider: String, list: String) -> [SandboxContact]? {
        switch provider {
        case "avosms": data.avosmsLists[list]?.contacts.values
        case "octopush": data.octopushLists[list]?.values
        case "smsgatewayapi": Int(list).flatMap { data.gatewayGroups[$0]?.values }
        case "smspartner": data.partnerGroups[list]?.contacts.values
        default: nil
        }
    }

    /// Every provider's lists and their contacts, in creation order.
    func lists() -> [(provider: String, lists: [(name: String, contacts: [SandboxContact])])] {
        [
            (
                "avosms",
                data.avosmsListOrder.map { ($0, data.avosmsLists[$0]?.contacts.values ?? []) }
            ),
            ("octopush", data.octopushListOrder.map { ($0, data.octopushLists[$0]?.values ?? []) }),
            (
                "smsgatewayapi",
                data.gatewayGroupOrder.map { (String($0), data.gatewayGroups[$0]?.values ?? []) }
            ),
            (
                "smspartner",
                data.partnerGroupOrder.map { ($0, data.partnerGroups[$0]?.contacts.values ?? []) }
            ),
        ]
    }

    /// The documented endpoints of `provider`'s emulator: method and path after the prefix
    /// (`POST`, `v1/contact/add`). The router serves these; the emulator answers any
    /// other request under its prefix with its own error.
    static func routes(of provider: String) -> [(method: String, path: String)] {
        switch provider {
        case "avosms": avosmsPaths.map { ("POST", $0) }
        case "octopush": octopushRoutes.sorted { $0.key < $1.key }.map { ($0.value, $0.key) }
        case "smsgatewayapi": gatewayRoutes
        case "smspartner": partnerRoutes.sorted { $0.key < $1.key }.map { ($0.value, $0.key) }
        default: []
        }
    }

    /// Answers one request to `provider`.
    func handle(provider: String, request: SandboxRequest) -> SandboxResponse {
        switch provider {
        case "avosms": handleAvosms(request)
        case "octopush": handleOctopush(request)
        case "smsgatewayapi": handleGateway(request)
        case "smspartner": handlePartner(request)
        default: .json(404, ["message": .string("Unknown provider '\(provider)'")])
        }
    }
}

/// The lists and contacts of all four emulators (one value, so a reset is one assignment).
struct EmulatorData: Sendable {
    // Avosms: lists by id, contacts keyed by E.164.
    var avosmsLists: [String: AvosmsListState] = [:]
    var avosmsListOrder: [String] = []
    var avosmsNextListID = 1

    // Octopush: lists by name, contacts keyed by E.164; "" holds contacts in no list.
    var octopushLists: [String: OrderedContacts] = [:]
    var octopushListOrder: [String] = []

    // SMS Gateway API: groups by id, contacts keyed by their id.
    var gatewayGroups: [Int: OrderedContacts] = [:]
    var gatewayGroupOrder: [Int] = []
    var gatewayContactGroup: [Int: Int] = [:]
    var gatewayNextID = 1

    // SMS Partner: groups by id, contacts keyed by their id.
    var partnerGroups: [String: PartnerGroupState] = [:]
    var partnerGroupOrder: [String] = []
    var partnerContactGroup: [String: String] = [:]
    var partnerNextID = 1

    init(demo: SandboxDemo) {
        avosmsLists = [:]
        avosmsListOrder = []
        for list in demo.avosms.lists {
            avosmsLists[list.id] = AvosmsListState(info: list)
            avosmsListOrder.append(list.id)
        }
        avosmsNextListID = (avosmsListOrder.compactMap { Int($0) }.max() ?? 1000) + 1

        octopushLists = [:]
        octopushListOrder = []
        for name in demo.octopush.lists {
            octopushLists[name] = OrderedContacts()
            octopushListOrder.append(name)
        }

        gatewayGroups = [:]
        gatewayGroupOrder = []
        gatewayContactGroup = [:]
        for group in demo.smsGatewayAPI.groups {
            gatewayGroups[group] = OrderedContacts()
            gatewayGroupOrder.append(group)
        }
        gatewayNextID = 1_000_001

        partnerGroups = [:]
        partnerGroupOrder = []
        partnerContactGroup = [:]
        for group in demo.smsPartner.groups {
            partnerGroups[group.id] = PartnerGroupState(name: group.name)
            partnerGroupOrder.append(group.id)
        }
        partnerNextID = 700_001
    }

}

struct AvosmsListState: Sendable {
    var info: SandboxDemo.Avosms.List
    var contacts = OrderedContacts()
}

struct PartnerGroupState: Sendable {
    var name: String
    var contacts = OrderedContacts()
    /// Contact id by E.164 number.
    var byPhone: [String: String] = [:]
}

// MARK: - Shared checks

extension JSON: ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral {
    init(dictionaryLiteral elements: (String, JSON)...) { self = .object(elements) }
    init(arrayLiteral elements: JSON...) { self = .array(elements) }
}

enum Phone {
    /// Parses with libphonenumber; `nil` when the number is not valid.
    static func parse(_ text: String, region: String?) -> PhoneNumber? {
        try? PhoneNumber(parsing: text, defaultRegion: region)
    }

    /// Whether `text` is made only of ASCII digits (at least one).
    static func isDigits<S: StringProtocol>(_ text: S) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}

enum Dates {
    /// Whether `text` is a real calendar date written `YYYY-MM-DD`.
    static func isISODate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ Phone.isDigits($0) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), day >= 1
        else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(
            drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Reads `application/x-www-form-urlencoded` text.
enum FormDecoding {
    /// The pairs of a form body or query string, `nil` when it is not well formed.
    static func decode(_ text: String) -> [(String, String)]? {
        guard !text.isEmpty else { return [] }
        var pairs: [(String, String)] = []
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let keyValue = part.split(
                separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = unescape(keyValue[0]), !key.isEmpty else { return nil }
            guard let value = keyValue.count > 1 ? unescape(keyValue[1]) : "" else { return nil }
            pairs.append((key, value))
        }
        return pairs
    }

    private static func unescape(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
