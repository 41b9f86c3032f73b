import Foundation

/// Which HTTP proxy to use for which URL, read from the usual environment variables.
///
/// - `HTTPS_PROXY` / `https_proxy`: the proxy for `https` URLs (tunnelled with `CONNECT`).
/// - `HTTP_PROXY` / `http_proxy`: the proxy for `http` URLs.
/// - `NO_PROXY` / `no_proxy`: comma-separated hosts reached directly: `example.com` (also
///   matches its subdomains), `.example.com` (subdomains), `host:port`, an IP address,
///   an IPv4 CIDR block (`10.0.0.0/8`), or `*` for every host.
///
/// The lower-case variable wins when both are set, as in curl; under CGI
/// (`REQUEST_METHOD` set) upper-case `HTTP_PROXY` is ignored, as it may come from a
/// request header. A proxy URL may be
/// `host:port` or `http://[user:password@]host[:port]` (default port 80); its user
/// information becomes `Proxy-Authorization: Basic` and is never printed.
public struct ProxySettings: Sendable, Hashable, CustomStringConvertible {
    /// One proxy server.
    public struct Server: Sendable, Hashable, CustomStringConvertible {
        /// The proxy's host.
        public var host: String
        /// The proxy's port.
        public var port: Int
        /// The user name for basic authentication, if any.
        public var username: String?
        /// The password for basic authentication, if any.
        public var password: String?

        /// Creates a proxy server description.
        public init(host: String, port: Int, username: String? = nil, password: String? = nil) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
        }

        /// Parses `http://[user:password@]host[:port]` or `host:port`; `nil` when
        /// unreadable or empty.
        public init?(parsing text: String) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { return nil }
            let withScheme = trimmed.contains("://") ? trimmed : "http://" + trimmed
            guard let components = URLComponents(string: withScheme), let host = components.host,
                !host.isEmpty
            else { return nil }
            self.host = host
            self.port = components.port ?? (components.scheme == "https" ? 443 : 80)
            self.username = components.user
            self.password = components.password
        }

        /// `host:port`, without credentials.
        public var description: String { "\(host):\(port)" }
    }

    /// The proxy for `http` URLs.
    public var http: Server?
    /// The proxy for `https` URLs.
    public var https: Server?
    /// The `NO_PROXY` entries, lower case.
    public var noProxy: [String]

    /// Creates settings.
    public init(http: Server? = nil, https: Server? = nil, noProxy: [String] = []) {
        self.http = http
        self.https = https
        self.noProxy = noProxy.map { $0.lowercased() }
    }

    /// Reads the settings from `environment`; `nil` when no proxy is set.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ProxySettings? {
        func value(_ name: String) -> String? {
            environment[name.lowercased()] ?? environment[name]
        }
        // Under CGI, `HTTP_PROXY` may come from a request's `Proxy:` header ("httpoxy"):
        // only the lower-case variable is trusted there.
        let cgi = environment["REQUEST_METHOD"] != nil
        let http = (cgi ? environment["http_proxy"] : value("HTTP_PROXY"))
            .flatMap(Server.init(parsing:))
        let https = value("HTTPS_PROXY").flatMap(Server.init(parsing:))
        guard http != nil || https != nil else { return nil }
        let noProxy = (value("NO_PROXY") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        return ProxySettings(http: http, https: https, noProxy: noProxy)
    }

    /// The proxy to use for `url`, or `nil` to connect directly.
    public func proxy(for url: URL) -> Server? {
        let server: Server?
        switch url.scheme?.lowercased() {
        case "https": server = https
        case "http": server = http
        default: server = nil
        }
        guard let server, let host = url.host?.lowercased() else { return nil }
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        return bypasses(host: host, port: port) ? nil : server
    }

    /// Whether `NO_PROXY` sends `host` (on `port`) directly.
    public func bypasses(host: String, port: Int) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        for entry in noProxy {
            if entry == "*" { return true }
            var pattern = entry
            if let colon = pattern.lastIndex(of: ":"), !pattern.contains("]"),
                pattern.filter({ $0 == ":" }).count == 1
            {
                guard Int(pattern[pattern.index(after: colon)...]) == port else { continue }
                pattern = String(pattern[..<colon])
            }
            pattern = pattern.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            if pattern.contains("/") {
                if Self.ipv4(host, isIn: pattern) { return true }
                continue
            }
            if pattern.hasPrefix("*.") { pattern.removeFirst() }
            if pattern.hasPrefix(".") {
                if host.hasSuffix(pattern) || host == String(pattern.dropFirst()) { return true }
            } else if host == pattern || host.hasSuffix("." + pattern) {
                return true
            }
        }
        return false
    }

    /// Says which proxies are set, never their credentials.
    public var description: String {
        "ProxySettings(http: \(http?.description ?? "none"), https: \(https?.description ?? "none"), no_proxy: \(noProxy.joined(separator: ",")))"
    }

    private static func ipv4(_ host: String, isIn cidr: String) -> Bool {
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits),
            let network = ipv4Value(String(parts[0])), let address = ipv4Value(host)
        else { return false }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - UInt32(bits))
        return network & mask == address & mask
    }

    private static func ipv4Value(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 != nil }) else { return nil }
        return octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1!) }
    }
}
