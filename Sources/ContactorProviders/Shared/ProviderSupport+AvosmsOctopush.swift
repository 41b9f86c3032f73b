import Contactor
import Foundation

/// Small helpers shared by the Avosms and Octopush adapters: reading answers safely and
/// keeping secrets out of what they report.
///
/// Namespaced so that it cannot collide with helpers of the other adapters in this target.
enum AvosmsOctopushSupport {
    /// The most characters of a response body quoted in an error message.
    static let maxQuotedBody = 200

    /// The delay a `Retry-After` header asks for, when it gives whole or decimal seconds.
    ///
    /// HTTP dates are not read: neither provider documents them, and an unreadable value
    /// leaves the retry policy's own back-off in charge.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let text = headers["Retry-After"]?.trimmingCharacters(in: .whitespaces),
            let seconds = Double(text), seconds.isFinite, seconds >= 0
        else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// What a response body says, for an error message: its JSON `message` (or
    /// `error_message`, `error`) when there is one, else its text cut to
    /// ``maxQuotedBody`` characters; credentials are replaced by `***`.
    static func bodyMessage(_ response: HTTPResponse, credentials: Credentials) -> String {
        var text: String
        if let json = try? JSONValue.decode(response.body),
            let message = ["message", "error_message", "error"].lazy.compactMap({
                json[$0]?.stringValue
            }).first
        {
            text = message
        } else {
            text = response.text
        }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        text = String(
            text.unicodeScalars.map {
                CharacterSet.controlCharacters.contains($0) ? " " : Character($0)
            })
        if text.count > maxQuotedBody { text = String(text.prefix(maxQuotedBody)) + "…" }
        return credentials.redact(text)
    }

    /// `text` in quotes when it is not empty, for the end of a message (`: "Bad list"`).
    static func quoted(_ text: String) -> String {
        text.isEmpty ? " (empty body)" : ": \"\(text)\""
    }

    /// Sends `request` and turns anything the transport throws into a `ContactError`
    /// attributed to `provider` and `operation`, with secrets redacted.
    static func send(
        _ request: HTTPRequest, context: ProviderContext, provider: String,
        operation: ContactOperation
    ) async throws(ContactError) -> HTTPResponse {
        do {
            return try await context.send(request)
        } catch let error as ContactError {
            var copy = error.attributed(to: provider, operation: operation)
            copy.message = context.credentials.redact(copy.message)
            throw copy
        } catch {
            throw ContactError(
                .transportError,
                "sending the \(operation) request to \(provider) failed: "
                    + context.credentials.redact(String(describing: error)),
                provider: provider, operation: operation, isTransient: true)
        }
    }

    /// Calls the payload hook, if any, on `payload`; a thrown error becomes `plugin_error`.
    static func applyHook(
        _ payload: JSONValue, contact: Contact, context: ProviderContext, provider: String,
        operation: ContactOperation
    ) async -> Result<JSONValue, ContactError> {
        guard let hook = context.payloadHook else { return .success(payload) }
        do {
            return .success(try await hook(provider, contact, payload))
        } catch {
            let reason = (error as? ContactError)?.message ?? String(describing: error)
            return .failure(
                ContactError(
                    .pluginError,
                    "the payload hook failed for \(contact.phone.e164): "
                        + context.credentials.redact(reason),
                    provider: provider, operation: operation))
        }
    }
}
