import Contactor
import Foundation
import HTTPTypes

/// Turning `ctx.http.request` tables into requests and responses into tables.
enum LuaHTTP {
    struct Problem: Error {
        var text: String
    }

    /// A request a script asked for.
    struct Outgoing: Sendable {
        var head: HTTPRequest
        var body: Data?
        var timeout: Duration?
        /// Whether a 429 or 5xx answer fails the call as a transient error (for the engine
        /// to retry the batch), or is handed to the script (`retry = false`).
        var retries: Bool
        var url: URL { head.url ?? URL(string: "invalid:")! }
    }

    /// The statuses that fail a call transiently unless the request says `retry = false`:
    /// 408, 429 and every 5xx, as the built-in adapters treat them.
    static func isTransient(_ status: Int) -> Bool {
        status == 408 || status == 429 || (500...599).contains(status)
    }

    /// `scheme://host[:port]` in lower case, the port only when it is not the default one.
    static func origin(of url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host?.lowercased(), !host.isEmpty
        else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        if let port = url.port, port != defaultPort { return "\(scheme)://\(host):\(port)" }
        return "\(scheme)://\(host)"
    }

    /// The origin of a `hosts` entry or endpoint given as text, or `nil` when it is not an
    /// http(s) URL.
    static func origin(of text: String) -> String? {
        URL(string: text).flatMap { origin(of: $0) }
    }

    static func request(
        from value: LuaValue, allowedOrigins: [String]
    ) -> Result<Outgoing, Problem> {
        func fail(_ text: String) -> Result<Outgoing, Problem> {
            .failure(Problem(text: "ctx.http.request: " + text))
        }
        guard let table = value.stringMap else {
            return fail("expects a table { method, url, headers, query, json | form | body }")
        }
        let methodText = table["method"].map { $0.stringValue } ?? "GET"
        guard let methodText,
            methodText.wholeMatch(of: /[A-Za-z]{1,20}/) != nil
        else {
            return fail(
                "method must be a word such as \"POST\", got \(table["method"]!.shortDescription)")
        }
        guard let urlValue = table["url"], let urlText = urlValue.stringValue else {
            return fail("url must be a string, got \(table["url"]?.shortDescription ?? "nil")")
        }
        var components = URLComponents(string: urlText)
        guard components != nil, let parsed = URL(string: urlText), let origin = origin(of: parsed)
        else {
            return fail("url '\(urlText.prefix(200))' is not an absolute http(s) URL")
        }
        guard allowedOrigins.contains(origin) else {
            return fail(
                "\(origin) is not allowed: a plugin may only reach its endpoint and hosts ("
                    + allowedOrigins.joined(separator: ", ") + ")")
        }
        var query: [(String, String)] = []
        if let queryValue = table["query"], !queryValue.isNil {
            if let map = queryValue.stringMap, !(queryValue.arrayValue.map { !$0.isEmpty } ?? false)
            {
                for (key, element) in map.sorted(by: { $0.key < $1.key }) {
                    guard let text = scalarText(element) else {
                        return fail("query.\(key) must be a string, number or boolean")
                    }
                    query.append((key, text))
                }
            } else if let pairs = queryValue.arrayValue {
                for pair in pairs {
                    guard let items = pair.arrayValue, items.count == 2,
                        let key = scalarText(items[0]), let text = scalarText(items[1])
                    else { return fail("query pairs must be { name, value }") }
                    query.append((key, text))
                }
            } else {
                return fail("query must be a table of names to values")
            }
        }
        if !query.isEmpty {
            let extra = FormEncoding.encode(query)
            if let existing = components?.percentEncodedQuery, !existing.isEmpty {
                components?.percentEncodedQuery = existing + "&" + extra
            } else {
                components?.percentEncodedQuery = extra
            }
        }
        guard let url = components?.url else { return fail("could not build the URL") }
        var headers = HTTPFields()
        if let headerValue = table["headers"], !headerValue.isNil {
            guard let map = headerValue.stringMap else {
                return fail("headers must be a table of names to values")
            }
            for (name, element) in map.sorted(by: { $0.key < $1.key }) {
                guard let text = scalarText(element) else {
                    return fail("header \(name) must be a string or number")
                }
                guard !name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }),
                    !text.contains(where: { $0 == "\r" || $0 == "\n" })
                else { return fail("header \(name) contains a line break") }
                guard let fieldName = HTTPField.Name(name) else {
                    return fail("header name '\(name.prefix(60))' is not a valid field name")
                }
                headers.append(HTTPField(name: fieldName, value: text))
            }
        }
        var body: Data?
        if let bodyValue = table["body"], !bodyValue.isNil {
            guard let bytes = bodyValue.bytesValue else {
                return fail("body must be a string, got \(bodyValue.shortDescription)")
            }
            body = Data(bytes)
            if let type = table["content_type"]?.stringValue, headers[.contentType] == nil {
                headers[.contentType] = type
            }
        }
        var timeout: Duration?
        if let timeoutValue = table["timeout"], !timeoutValue.isNil {
            guard let seconds = timeoutValue.doubleValue, seconds > 0, seconds <= 3600 else {
                return fail("timeout must be a number of seconds between 0 and 3600")
            }
            timeout = .milliseconds(Int64(seconds * 1000))
        }
        var retries = true
        if let retryValue = table["retry"], !retryValue.isNil {
            guard case .boolean(let flag) = retryValue else {
                return fail("retry must be true or false, got \(retryValue.shortDescription)")
            }
            retries = flag
        }
        guard let method = HTTPRequest.Method(methodText.uppercased()) else {
            return fail("method '\(methodText)' is not a valid method")
        }
        return .success(
            Outgoing(
                head: HTTPRequest(method: method, url: url, headerFields: headers), body: body,
                timeout: timeout, retries: retries))
    }

    static func value(of response: HTTPResponse, body: Data) -> LuaValue {
        var headers: [String: String] = [:]
        for field in response.headerFields {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        return .record([
            "status": .integer(Int64(response.status.code)),
            "headers": .record(headers.mapValues { .text($0) }),
            "body": .string(Array(body)),
        ])
    }

    private static func scalarText(_ value: LuaValue) -> String? {
        switch value {
        case .string: value.stringValue
        case .integer(let number): String(number)
        case .number(let number):
            number == number.rounded() && abs(number) < 1e15
                ? String(Int64(number)) : String(number)
        case .boolean(let flag): String(flag)
        default: nil
        }
    }
}
