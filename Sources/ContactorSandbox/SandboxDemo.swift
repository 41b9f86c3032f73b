/// The accounts and lists a sandbox starts with (and returns to on reset).
///
/// ``standard`` holds the demo credentials and lists that `contactor sandbox` prints and
/// `contactor --sandbox` uses. Each provider accepts exactly one account: requests with
/// other credentials get that provider's authentication error.
public struct SandboxDemo: Sendable, Hashable {
    /// The Avosms account and its contact lists.
    public var avosms: Avosms
    /// The Octopush account and its lists.
    public var octopush: Octopush
    /// The SMS Gateway API account and its groups.
    public var smsGatewayAPI: SMSGatewayAPI
    /// The SMS Partner account and its groups.
    public var smsPartner: SMSPartner

    /// Creates demo data from each provider's part.
    public init(
        avosms: Avosms, octopush: Octopush, smsGatewayAPI: SMSGatewayAPI, smsPartner: SMSPartner
    ) {
        self.avosms = avosms
        self.octopush = octopush
        self.smsGatewayAPI = smsGatewayAPI
        self.smsPartner = smsPartner
    }

    /// The demo data `contactor sandbox` serves.
    ///
    /// - Avosms: id `demo@contactor.test`, key `avosms-demo-key`; lists `1001` (FR, every
    ///   number type), `1002` (FR, mobile numbers only), `1003` (BE).
    /// - Octopush: api-login `demo@contactor.test`, api-key `octopush-demo-key`; lists
    ///   `demo`, `vip`.
    /// - SMS Gateway API: client id `sandbox-client`, secret `sandbox-secret`; groups
    ///   `100`, `200`.
    /// - SMS Partner: apiKey `smspartner-demo-key`; groups `5001`, `5002`.
    public static let standard = SandboxDemo(
        avosms: Avosms(
            id: "demo@contactor.test", key: "avosms-demo-key",
            lists: [
                .init(id: "1001", name: "Demo France", country: "FR", mobileOnly: false),
                .init(id: "1002", name: "Demo France mobiles", country: "FR", mobileOnly: true),
                .init(id: "1003", name: "Demo Belgique", country: "BE", mobileOnly: false),
            ]),
        octopush: Octopush(
            apiLogin: "demo@contactor.test", apiKey: "octopush-demo-key", lists: ["demo", "vip"]),
        smsGatewayAPI: SMSGatewayAPI(
            clientID: "sandbox-client", clientSecret: "sandbox-secret", groups: [100, 200]),
        smsPartner: SMSPartner(
            apiKey: "smspartner-demo-key",
            groups: [.init(id: "5001", name: "Demo"), .init(id: "5002", name: "VIP")])
    )

    /// The provider names the sandbox serves, in the order it prints them.
    public static let providers = ["avosms", "octopush", "smsgatewayapi", "smspartner"]

    /// The credentials of `provider` keyed as the CLI names them (`id`, `key`,
    /// `api_login`, `api_key`, `client_id`, `client_secret`), empty for an unknown name.
    public func credentials(for provider: String) -> [String: String] {
        switch provider {
        case "avosms": ["id": avosms.id, "key": avosms.key]
        case "octopush": ["api_login": octopush.apiLogin, "api_key": octopush.apiKey]
        case "smsgatewayapi":
            ["client_id": smsGatewayAPI.clientID, "client_secret": smsGatewayAPI.clientSecret]
        case "smspartner": ["api_key": smsPartner.apiKey]
        default: [:]
        }
    }

    /// The lists (groups) of `provider` that exist at start, as `--list` takes them.
    public func lists(for provider: String) -> [String] {
        switch provider {
        case "avosms": avosms.lists.map(\.id)
        case "octopush": octopush.lists
        case "smsgatewayapi": smsGatewayAPI.groups.map(String.init)
        case "smspartner": smsPartner.groups.map(\.id)
        default: []
        }
    }

    /// A text listing every provider's base URL, credentials and lists, for printing.
    ///
    /// - Parameter baseURL: The server's base URL (`http://127.0.0.1:PORT`).
    /// - Returns: Several lines, one block per provider.
    public func banner(baseURL: String) -> String {
        var lines = ["Contactor sandbox listening on \(baseURL)", ""]
        let avosmsLists = avosms.lists.map {
            "\($0.id) (\($0.country)\($0.mobileOnly ? ", mobile only" : ""))"
        }
        lines += [
            "avosms         --endpoint \(baseURL)/avosms",
            "  id=\(avosms.id) key=\(avosms.key)",
            "  lists: \(avosmsLists.joined(separator: ", "))",
            "octopush       --endpoint \(baseURL)/octopush",
            "  api_login=\(octopush.apiLogin) api_key=\(octopush.apiKey)",
            "  lists: \(octopush.lists.joined(separator: ", "))",
            "smsgatewayapi  --endpoint \(baseURL)/smsgatewayapi",
            "  client_id=\(smsGatewayAPI.clientID) client_secret=\(smsGatewayAPI.clientSecret)",
            "  groups: \(smsGatewayAPI.groups.map(String.init).joined(separator: ", "))",
            "smspartner     --endpoint \(baseURL)/smspartner",
            "  api_key=\(smsPartner.apiKey)",
            "  groups: \(smsPartner.groups.map { "\($0.id) (\($0.name))" }.joined(separator: ", "))",
            "",
            "admin: GET \(baseURL)/_sandbox/state, POST \(baseURL)/_sandbox/reset, "
                + "PUT \(baseURL)/_sandbox/faults",
        ]
        return lines.joined(separator: "\n")
    }
}

extension SandboxDemo {
    /// The Avosms demo account.
    public struct Avosms: Sendable, Hashable {
        /// The account id (an e-mail address), sent as `id`.
        public var id: String
        /// The API key, sent as `key`.
        public var key: String
        /// The contact lists that exist at start.
        public var lists: [List]

        /// Creates the account.
        public init(id: String, key: String, lists: [List]) {
            self.id = id
            self.key = key
            self.lists = lists
        }

        /// An Avosms contact list.
        public struct List: Sendable, Hashable {
            /// The list id, sent as `listContactId`.
            public var id: String
            /// The list's name.
            public var name: String
            /// The list's country (ISO 3166-1 alpha-2): numbers of other countries get ERR_106.
            public var country: String
            /// Whether only mobile numbers are allowed (others get ERR_107).
            public var mobileOnly: Bool

            /// Creates a list.
            public init(id: String, name: String, country: String, mobileOnly: Bool) {
                self.id = id
                self.name = name
                self.country = country
                self.mobileOnly = mobileOnly
            }
        }
    }

    /// The Octopush demo account.
    public struct Octopush: Sendable, Hashable {
        /// Sent in the `api-login` header.
        public var apiLogin: String
        /// Sent in the `api-key` header.
        public var apiKey: String
        /// The names of the lists that exist at start.
        public var lists: [String]

        /// Creates the account.
        public init(apiLogin: String, apiKey: String, lists: [String]) {
            self.apiLogin = apiLogin
            self.apiKey = apiKey
            self.lists = lists
        }
    }

    /// The SMS Gateway API demo account.
    public struct SMSGatewayAPI: Sendable, Hashable {
        /// Sent in the `X-Client-Id` header.
        public var clientID: String
        /// Sent in the `X-Client-Secret` header.
        public var clientSecret: String
        /// The group ids that exist at start.
        public var groups: [Int]

        /// Creates the account.
        public init(clientID: String, clientSecret: String, groups: [Int]) {
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.groups = groups
        }
    }

    /// The SMS Partner demo account.
    public struct SMSPartner: Sendable, Hashable {
        /// Sent as `apiKey` (in the body, or the query string of a GET).
        public var apiKey: String
        /// The groups that exist at start.
        public var groups: [Group]

        /// Creates the account.
        public init(apiKey: String, groups: [Group]) {
            self.apiKey = apiKey
            self.groups = groups
        }

        /// An SMS Partner group.
        public struct Group: Sendable, Hashable {
            /// The group id, sent as `groupId`.
            public var id: String
            /// The group's name.
            public var name: String

            /// Creates a group.
            public init(id: String, name: String) {
                self.id = id
                self.name = name
            }
        }
    }
}
