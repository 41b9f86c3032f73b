import Contactor
import Foundation

/// Plumbing shared by the SMS Gateway API and SMS Partner adapters: JSON requests, sending
/// with errors attributed and free of secrets, HTTP status mapping, the payload hook.
///
/// Internal and namespaced so that it cannot clash with other adapters' helpers in the
/// same target.
enum SGASPSupport {
    /// The most characters of a provider's message quoted in an error.
    static let maxQuotedMessage = 300

    /// A JSON request with `Accept: application/json`, plus `Content-Type` when there is a
    /// body, after `headers`.
    static func request(
        _ method: HTTPMethod, _ url: URL, headers: [(String, String)] = [], json: JSONValue?,
        timeout: Duration?
    ) -> HTTPRequest {
        var fields = HTTPHeaders(headers)
        if json != nil { fields.set("Content-Type", "application/json") }
        fields.set("Accept", "application/json")
        return HTTPRequest(
            method: method, url: url, headers: fields, body: json?.encoded(), timeout: timeout)
    }

    /// The body parsed as JSON, or `nil` when it is empty or not JSON.
    static func json(_ response: HTTPResponse) -> JSONValue? {
        guard !response.body.isEmpty else { return nil }
        return try? JSONValue.decode(response.body)
    }

    /// A short, redacted message from a provider's error body (`message`, `errorMsg`,
    /// `error` when it is text), else the start of the body text; `nil` when empty.
    static func message(
        from response: HTTPResponse, json: JSONValue?, credentials: Credentials
    ) -> String? {
        var text: String?
        if let json {
            for key in ["message", "errorMsg", "error_message", "error"] {
                if case .string(let value)? = json[key], !value.isEmpty {
                    text = value
                    break
                }
            }
            if text == nil, let first = json["errors"]?.arrayValue?.first {
                text = first["errorMsg"]?.stringValue ?? first["message"]?.stringValue
            }
        } else {
            let body = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !body.isEmpty { text = body }
        }
        guard let text else { return nil }
        return quote(credentials.redact(text))
    }

    /// `text` cut to ``maxQuotedMessage`` characters.
    static func quote(_ text: String) -> String {
        text.count > maxQuotedMessage ? String(text.prefix(maxQuotedMessage)) + "…" : text
    }

    /// The error for a 429 or 5xx answer (both transient), or `nil` for other statuses.
    static func transientError(
        _ response: HTTPResponse, json: JSONValue?, context: ProviderContext, provider: String,
        operation: ContactOperation
    ) -> ContactError? {
        let detail =
            message(from: response, json: json, credentials: context.credentials)
            .map { ": \($0)" } ?? ""
        if response.status == 429 {
            return ContactError(
                .rateLimited,
                "\(provider) asked to slow down (HTTP 429)\(detail)",
                provider: provider, operation: operation, isTransient: true,
                retryAfter: ProviderSupport.retryAfter(response.headers))
        }
        if (500...599).contains(response.status) {
            return ContactError(
                .providerError,
                "\(provider) had a server error (HTTP \(response.status))\(detail)",
                provider: provider, operation: operation, isTransient: true,
                retryAfter: ProviderSupport.retryAfter(response.headers))
        }
        return nil
    }

    /// The digits of `text` (`+33 6 12` → `33612`).
    static func digits(_ text: String) -> String {
        String(text.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init))
    }
}

extension SGASPSupport {
    /// The credential `key` (``Credentials/require(_:)``), or an `auth_failed` error naming
    /// `provider`'s variable to set and the operation.
    static func credential(
        _ key: String, context: ProviderContext, provider: String, operation: ContactOperation
    ) throws(ContactError) -> String {
        var credentials = context.credentials
        credentials.provider = provider
        do {
            return try credentials.require(key)
        } catch {
            throw error.attributed(to: provider, operation: operation)
        }
    }

    /// `missing_field` for a list name that is empty or only blanks, else `nil`.
    static func checkList(
        _ list: String, provider: String, operation: ContactOperation, name: String
    ) -> ContactError? {
        guard list.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return ContactError(
            .missingField, "the list (\(provider)'s \(name)) is empty", provider: provider,
            operation: operation, field: "list")
    }
}
