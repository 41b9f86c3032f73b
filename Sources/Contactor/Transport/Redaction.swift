import Foundation
import HTTPTypes

/// Hiding secrets in requests before they are printed or logged.
///
/// A value is hidden (replaced by `***`) when it is one of the ``Redactor``'s secrets (the
/// credentials, also percent-encoded or JSON-escaped, anywhere in the text), or when its
/// name says it is a secret: a header in ``secretHeaderNames``, or a query parameter, form
/// field or JSON member in ``secretFieldNames`` (names compared case-insensitively).
public enum Redaction {
    /// What a hidden value is replaced by.
    public static let mask = "***"

    /// Header names whose values are always hidden, in lower case.
    public static let secretHeaderNames: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "api-key", "x-api-key",
        "x-client-secret", "x-tm-key", "x-auth-token", "x-access-token",
    ]

    /// Query parameter, form field and JSON member names whose values are always hidden,
    /// in lower case.
    public static let secretFieldNames: Set<String> = [
        "key", "apikey", "api_key", "api-key", "password", "passwd", "secret", "client_secret",
        "token", "access_token", "refresh_token", "auth_token",
    ]

    /// Whether header `name` always holds a secret.
    public static func isSecretHeader(_ name: String) -> Bool {
        secretHeaderNames.contains(name.lowercased())
    }

    /// Whether a query parameter, form field or JSON member called `name` always holds a
    /// secret.
    public static func isSecretField(_ name: String) -> Bool {
        secretFieldNames.contains(name.lowercased())
    }

    /// A copy of `request` fit to print: secret header values, query values, form fields
    /// and JSON members replaced by `***`, and every known secret hidden wherever it
    /// appears.
    public static func redact(_ request: SentRequest, redactor: Redactor) -> SentRequest {
        var head = request.head
        head.url = redact(url: request.url, redactor: redactor)
        head.headerFields = redact(headers: request.head.headerFields, redactor: redactor)
        let body = request.body.map {
            Data(
                redact(body: $0, contentType: request.header("Content-Type"), redactor: redactor)
                    .utf8)
        }
        return SentRequest(head: head, body: body)
    }

    /// `url` with the password of its user information, the values of secret query
    /// parameters and every known secret replaced by `***`.
    public static func redact(url: URL, redactor: Redactor) -> URL {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
            return URL(string: redactor.redact(url.absoluteString)) ?? url
        }
        if components.percentEncodedPassword != nil { components.percentEncodedPassword = mask }
        if let items = components.percentEncodedQueryItems {
            components.percentEncodedQueryItems = items.map { item in
                let name = item.name.removingPercentEncoding ?? item.name
                guard let value = item.value else { return item }
                if isSecretField(name) { return URLQueryItem(name: item.name, value: mask) }
                return URLQueryItem(name: item.name, value: redactor.redact(value))
            }
        }
        let text = redactor.redact(components.string ?? url.absoluteString)
        return URL(string: text) ?? url
    }

    /// `headers` with the values of secret headers and every known secret replaced by
    /// `***`.
    public static func redact(headers: HTTPFields, redactor: Redactor) -> HTTPFields {
        var redacted = HTTPFields()
        for field in headers {
            let name = field.name.canonicalName
            redacted.append(
                HTTPField(
                    name: field.name,
                    value: isSecretHeader(name) ? mask : redactor.redact(field.value)))
        }
        return redacted
    }

    /// A body as text fit to print: a JSON body with secret members hidden, a form body
    /// with secret fields hidden, anything else as UTF-8 text; every known secret hidden.
    ///
    /// - Parameters:
    ///   - body: The bytes.
    ///   - contentType: The request's `Content-Type`, to tell a form from other text; JSON
    ///     is recognised by content type or by parsing.
    ///   - redactor: The secrets to hide.
    public static func redact(body: Data, contentType: String?, redactor: Redactor) -> String {
        switch bodyKind(body, contentType: contentType) {
        case .json(let value): redact(json: value, redactor: redactor).jsonText
        case .form(let fields): redact(formFields: fields, redactor: redactor)
        case .text(let text): redactor.redact(text)
        }
    }

    /// `value` with the members named in ``secretFieldNames`` replaced by `"***"` and every
    /// known secret hidden in strings and member names.
    public static func redact(json value: JSONValue, redactor: Redactor) -> JSONValue {
        switch value {
        case .string(let text): .string(redactor.redact(text))
        case .array(let values): .array(values.map { redact(json: $0, redactor: redactor) })
        case .object(let members):
            .object(
                Dictionary(
                    members.map { name, member in
                        (
                            redactor.redact(name),
                            isSecretField(name) && member != .null
                                ? .string(mask) : redact(json: member, redactor: redactor)
                        )
                    }, uniquingKeysWith: { first, _ in first }))
        default: value
        }
    }

    /// A request as the CLI's `--dry-run` prints it, secrets hidden:
    /// `{"request": {"method", "url", "headers", "body"}}`.
    ///
    /// `headers` is an object (repeated fields joined with `, `); `body` is the JSON value
    /// for a JSON body, the encoded text for a form or any other body, and `null` when
    /// there is none.
    public static func dryRunJSON(_ request: SentRequest, redactor: Redactor) -> JSONValue {
        var headers: [String: String] = [:]
        for field in redact(headers: request.head.headerFields, redactor: redactor) {
            let name = field.name.rawName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        let body: JSONValue
        if let data = request.body {
            switch bodyKind(data, contentType: request.header("Content-Type")) {
            case .json(let value): body = redact(json: value, redactor: redactor)
            case .form(let fields): body = .string(redact(formFields: fields, redactor: redactor))
            case .text(let text): body = .string(redactor.redact(text))
            }
        } else {
            body = .null
        }
        return [
            "request": [
                "method": .string(request.method),
                "url": .string(redact(url: request.url, redactor: redactor).absoluteString),
                "headers": .object(headers.mapValues { .string($0) }),
                "body": body,
            ]
        ]
    }

    private enum BodyKind {
        case json(JSONValue)
        case form([(String, String)])
        case text(String)
    }

    private static func bodyKind(_ body: Data, contentType: String?) -> BodyKind {
        let type = contentType?.lowercased() ?? ""
        let text = String(decoding: body, as: UTF8.self)
        if type.contains("x-www-form-urlencoded") { return .form(FormEncoding.decode(text)) }
        if type.contains("json") || type.isEmpty, let value = try? JSONValue.decode(body),
            value.objectValue != nil || value.arrayValue != nil
        {
            return .json(value)
        }
        return .text(text)
    }

    private static func redact(formFields fields: [(String, String)], redactor: Redactor) -> String
    {
        fields.map { name, value in
            let encodedName = redactor.redact(String(FormEncoding.encode([(name, "")]).dropLast()))
            let shown =
                isSecretField(name)
                ? mask
                : redactor.redact(String(FormEncoding.encode([("", value)]).dropFirst()))
            return "\(encodedName)=\(shown)"
        }
        .joined(separator: "&")
    }
}
