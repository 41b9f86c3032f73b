import Contactor
import Foundation

/// The checks of values that reach a request line or a header (an endpoint, a list, an
/// option, a credential), made once the flags, environment and config file are merged and
/// before anything is sent: each failure is a usage error (exit 2).
enum ArgumentChecks {
    /// Checks the merged settings: the region, the endpoint, the list and the options.
    static func check(_ settings: Settings) throws {
        if let region = settings.region, !PhoneNumber.isKnownRegion(region.uppercased()) {
            throw CLIError.usage(
                "region \(Limits.escaped(region)) is not a region libphonenumber knows (an ISO 3166-1 code such as FR, DE, US)"
            )
        }
        if let endpoint = settings.endpoint { _ = try self.endpoint(endpoint) }
        if let list = settings.list { try noControlCharacter(list, in: "--list") }
        for (key, value) in settings.options.sorted(by: { $0.key < $1.key }) {
            try noControlCharacter(key, in: "--option")
            try noControlCharacter(value, in: "--option \(key)")
        }
    }

    /// `text` as an endpoint: an `http://` or `https://` URL with a host, a port from 1 to
    /// 65535, no query and no fragment (the documented paths are appended to it), and no
    /// control character or space.
    static func endpoint(_ text: String) throws -> URL {
        try noControlCharacter(text, in: "--endpoint")
        if text.contains(" ") {
            throw CLIError.usage("--endpoint \(Limits.escaped(text)) holds a space")
        }
        try checkPort(text)
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            ["http", "https"].contains(scheme.lowercased()), let host = components.host,
            !host.isEmpty, let url = URL(string: text)
        else {
            throw CLIError.usage(
                "--endpoint must be an http:// or https:// URL, not \(Limits.escaped(text))")
        }
        if components.query != nil {
            throw CLIError.usage(
                "--endpoint \(Limits.escaped(text)) has a query (?...): give the base URL only; the documented paths and parameters are added to it"
            )
        }
        if components.fragment != nil {
            throw CLIError.usage(
                "--endpoint \(Limits.escaped(text)) has a fragment (#...): give the base URL only")
        }
        return url
    }

    /// Refuses a port out of range in `text`'s authority (`http://host:99999/`), read from
    /// the text itself: a URL parser may refuse such a port or keep it, and either way the
    /// message should say what a port is.
    private static func checkPort(_ text: String) throws {
        guard let schemeEnd = text.range(of: "://") else { return }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostAndPort = authority.split(separator: "@").last ?? authority[...]
        // An IPv6 literal ([::1]:8080) holds colons of its own.
        let afterHost = hostAndPort.lastIndex(of: "]").map { hostAndPort[$0...] } ?? hostAndPort
        guard let colon = afterHost.lastIndex(of: ":") else { return }
        let port = afterHost[afterHost.index(after: colon)...]
        guard !port.isEmpty else { return }
        guard port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber), let number = Int(port),
            Limits.port.contains(number)
        else {
            throw CLIError.usage(
                "--endpoint \(Limits.escaped(text)): the port must be a number from \(Limits.port.lowerBound) to \(Limits.port.upperBound), not \(Limits.escaped(String(port)))"
            )
        }
    }

    /// Refuses a credential holding a control character, naming its key (never its value).
    static func credential(key: String, value: String, source: String) throws {
        try noControlCharacter(key, in: source)
        if TerminalText.hasControlCharacter(value) {
            throw CLIError.usage(
                "the credential \(Limits.escaped(key)) (\(source)) holds a control character (a line break, a tab, an escape...): it cannot be sent in a request"
            )
        }
    }

    /// Refuses `text` when it holds a control character.
    static func noControlCharacter(_ text: String, in option: String) throws {
        guard TerminalText.hasControlCharacter(text) else { return }
        throw CLIError.usage(
            "\(option) \(Limits.escaped(text)) holds a control character: it cannot be sent in a request"
        )
    }
}
