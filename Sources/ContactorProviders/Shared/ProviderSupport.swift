import Contactor
import Foundation
import HTTPTypes

/// A response as the adapters read it: status, header fields and the whole body.
struct ProviderResponse: Sendable {
    /// The status code.
    var status: Int
    /// The header fields.
    var headers: HTTPFields
    /// The body (empty when there was none).
    var body: Data

    /// The body decoded as UTF-8 (invalid bytes replaced).
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as JSON, or `nil` when it is empty or not JSON.
    var json: JSONValue? {
        guard !body.isEmpty else { return nil }
        return try? JSONValue.decode(body)
    }

    /// The first value of header `name`, or `nil`.
    func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }

    /// How long a `Retry-After` header asks to wait (delta-seconds or an HTTP date), or
    /// `nil` when there is none or it cannot be read.
    var retryAfter: Duration? { header("Retry-After").flatMap { RetryAfter.parse($0) } }
}

/// What every built-in adapter does the same way: building and sending requests through
/// the context, quoting what a provider said (masked and cut by the context), reading
/// `Retry-After` and transient statuses, and running a mapping's payload hook.
enum ProviderSupport {
    /// Sends a request through the context's pipeline.
    ///
    /// A ``ContactError`` from the transport is passed on with the provider and operation
    /// filled in and the run's secrets masked; any other error becomes a transient
    /// `transport_error`. The URL (which may hold an API key in its query) is never quoted.
    static func send(
        _ method: HTTPRequest.Method, _ url: URL, headers: [(String, String)] = [],
        body: Data? = nil, timeout: Duration? = nil, context: ProviderContext,
        provider: String, operation: ContactOperation
    ) async throws(ContactError) -> ProviderResponse {
        let request = HTTPRequest(
            method: method, url: url, headerFields: HTTPFields(pairs: headers))
        do {
            let (head, data) = try await context.send(request, body: body, timeout: timeout)
            return ProviderResponse(
                status: head.status.code, headers: head.headerFields, body: data)
        } catch let error as ContactError {
            throw error.attributed(to: provider, operation: operation)
                .redacted(by: context.request.redactor)
        } catch {
            throw ContactError(
                .transportError,
                "sending the \(operation) request to \(provider) failed: "
                    + context.quote(String(describing: error)),
                provider: provider, operation: operation, isTransient: true)
        }
    }

    /// A JSON request's headers: `Content-Type: application/json` when there is a body,
    /// `Accept: application/json`, then `extra`.
    static func jsonHeaders(_ extra: [(String, String)], hasBody: Bool) -> [(String, String)] {
        (hasBody ? [("Content-Type", "application/json")] : []) + [("Accept", "application/json")]
            + extra
    }

    /// What a response body says, for an error message: its JSON `message` (or
    /// `errorMsg`, `error_message`, `error` when they are text, or the first of `errors`),
    /// else its text; control characters become spaces, and the context masks secrets and
    /// cuts it to ``Redactor/defaultLimit`` characters. `nil` when there is nothing.
    static func said(_ response: ProviderResponse, context: ProviderContext) -> String? {
        var text: String?
        if let json = response.json {
            for key in ["message", "errorMsg", "error_message", "error"] {
                if case .string(let value)? = json[key], !value.isEmpty {
                    text = value
                    break
                }
            }
            if text == nil, let first = json["errors"]?.arrayValue?.first {
                text = first["errorMsg"]?.stringValue ?? first["message"]?.stringValue
            }
        }
        if text == nil {
            let body = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !body.isEmpty { text = body }
        }
        guard let text else { return nil }
        let flat = String(
            text.unicodeScalars.map {
                CharacterSet.controlCharacters.contains($0) ? " " : Character($0)
            })
        return context.quote(flat.trimmingCharacters(in: .whitespaces))
    }

    /// ``said(_:context:)`` in quotes for the end of a message (`: "Bad list"`), or
    /// ` (empty body)`.
    static func quotedBody(_ response: ProviderResponse, context: ProviderContext) -> String {
        said(response, context: context).map { ": \"\($0)\"" } ?? " (empty body)"
    }

    /// The error for a 429 or 5xx answer (both transient), or `nil` for other statuses.
    static func transientError(
        _ response: ProviderResponse, context: ProviderContext, provider: String,
        display: String, operation: ContactOperation, providerCode: String? = nil
    ) -> ContactError? {
        let detail = said(response, context: context).map { ": \($0)" } ?? ""
        if response.status == 429 {
            return ContactError(
                .rateLimited, "\(display) asked to slow down (HTTP 429)\(detail)",
                providerCode: providerCode, provider: provider, operation: operation,
                isTransient: true, retryAfter: response.retryAfter)
        }
        if (500...599).contains(response.status) {
            return ContactError(
                .providerError,
                "\(display) had a server error (HTTP \(response.status))\(detail)",
                providerCode: providerCode, provider: provider, operation: operation,
                isTransient: true, retryAfter: response.retryAfter)
        }
        return nil
    }

    /// Whether `status` is a success status (2xx).
    static func isSuccess(_ status: Int) -> Bool { (200...299).contains(status) }

    /// Whether `response` has no body worth reading: empty, only blanks, or `{}`.
    static func isEmptyBody(_ response: ProviderResponse) -> Bool {
        let text = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty || text == "{}"
    }

    /// A provider's own code (a JSON `code` or `error` member, a status word) fit for
    /// ``ContactError/providerCode``: masked by the context and cut to 40 characters, `nil`
    /// when there is none.
    static func code(_ value: JSONValue?, context: ProviderContext) -> String? {
        guard let text = value?.stringValue, !text.isEmpty else { return nil }
        return context.quote(text, limit: 40)
    }

    /// The error for an answer that cannot be read, or that the provider's documentation
    /// does not give for this request: a redirect (never followed), HTML, garbage, an empty
    /// or cut body, a wrong shape, a success body on an error status.
    ///
    /// It is a `provider_error` that is not transient and not a refusal of the request's
    /// contents: adapters return it as the `failed` result of every contact the request
    /// carried (``failedAll(_:count:)``), so the engine neither splits the batch nor sends it
    /// again, and a later `--resume` sends those contacts again. The message says what was
    /// expected (`what`) and quotes the (masked) body; a redirect's `Location` is quoted too.
    static func unreadable(
        _ response: ProviderResponse, display: String, provider: String,
        operation: ContactOperation, expected what: String, context: ProviderContext,
        providerCode: String? = nil
    ) -> ContactError {
        let status = response.status
        var message: String
        if (300...399).contains(status) {
            let location = response.header("Location").map {
                " to \"\(context.quote($0, limit: 120))\""
            }
            message =
                "\(display) answered the \(operation) request with a redirect (HTTP \(status))"
                + (location ?? "")
                + ", which Contactor does not follow: check the endpoint; expected \(what)"
        } else {
            message =
                "\(display) answered the \(operation) request with HTTP \(status) and an answer "
                + "Contactor cannot read as \(what)"
        }
        message += quotedBody(response, context: context)
        message += "; the outcome is unknown"
        return ContactError(
            .providerError, message, providerCode: providerCode, provider: provider,
            operation: operation)
    }

    /// `error` as the `failed` result of each of `count` contacts.
    static func failedAll(_ error: ContactError, count: Int) -> [ContactResult] {
        Array(repeating: .failed(error), count: count)
    }

    /// `missing_field` for a list name that is empty or only blanks, else `nil`.
    static func checkList(
        _ list: String, provider: String, operation: ContactOperation, name: String
    ) -> ContactError? {
        guard list.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return ContactError(
            .missingField, "the list (\(name)) is empty", provider: provider,
            operation: operation, field: "list")
    }

    /// The digits of `text` (`+33 6 12` → `33612`).
    static func digits(_ text: String) -> String {
        String(text.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init))
    }

    /// Runs the context's payload hook, if any, on `payload` (a JSON object).
    ///
    /// - Returns: the payload to send, or the `plugin_error` that fails this contact (the
    ///   hook threw, or returned something other than a JSON object).
    static func applyHook(
        _ payload: JSONValue, contact: Contact, context: ProviderContext, provider: String,
        operation: ContactOperation
    ) async -> Result<JSONValue, ContactError> {
        guard let hook = context.payloadHook else { return .success(payload) }
        let edited: JSONValue
        do {
            edited = try await hook(provider, contact, payload)
        } catch {
            let reason = context.quote(
                (error as? ContactError)?.message ?? String(describing: error))
            return .failure(
                ContactError(
                    .pluginError, "the payload hook failed for \(contact.phone.e164): \(reason)",
                    provider: provider, operation: operation))
        }
        guard case .object = edited else {
            return .failure(
                ContactError(
                    .pluginError,
                    "the payload hook returned something other than a JSON object for "
                        + contact.phone.e164,
                    provider: provider, operation: operation))
        }
        return .success(edited)
    }
}
