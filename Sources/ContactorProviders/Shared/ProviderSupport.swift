import Contactor
import Foundation

/// What every built-in adapter does the same way: sending through the context's
/// transport, reading `Retry-After`, and running a mapping's payload hook.
enum ProviderSupport {
    /// The most characters of a payload hook's error quoted in a contact's error.
    static let maxQuotedHookError = 300

    /// Sends `request` through the context's transport.
    ///
    /// A ``ContactError`` from the transport is passed on with the provider and operation
    /// filled in and its message redacted; any other error becomes a transient
    /// `transport_error`. The URL (which may hold an API key in its query) is never quoted.
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

    /// How long a `Retry-After` header asks to wait (delta-seconds or an HTTP date), or
    /// `nil` when there is none or it cannot be read.
    static func retryAfter(_ headers: HTTPHeaders, now: Date = Date()) -> Duration? {
        headers["Retry-After"].flatMap { RetryAfter.parse($0, now: now) }
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
            let reason = context.credentials.redact(
                (error as? ContactError)?.message ?? String(describing: error))
            let quoted =
                reason.count > maxQuotedHookError
                ? String(reason.prefix(maxQuotedHookError)) + "…" : reason
            return .failure(
                ContactError(
                    .pluginError, "the payload hook failed for \(contact.phone.e164): \(quoted)",
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
