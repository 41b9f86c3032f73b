import Contactor
import Foundation

/// Octopush's failures, mapped by HTTP status (its error bodies are not documented).
///
/// | Status   | Error                                   | Transient |
/// |----------|-----------------------------------------|-----------|
/// | 401, 403 | `auth_failed`                           | no        |
/// | 404      | `list_not_found`                        | no        |
/// | 400, 422 | `provider_error` (whole request refused) | no        |
/// | 429      | `rate_limited`, with `Retry-After`      | yes       |
/// | 5xx      | `provider_error`, with `Retry-After`    | yes       |
/// | other (3xx, 405, ...) | `failed` / `provider_error` per contact (not thrown) | no |
///
/// Each message quotes the body's JSON `message` (else its text, cut short) with the
/// credentials redacted; headers are never quoted. A JSON `code` member, when present,
/// becomes the provider code.
enum OctopushErrors {
    /// Whether a non-2xx `status` fails the whole batch (thrown): the statuses of the
    /// table above but "other", whose answers are read as unreadable instead
    /// (`ProviderSupport.unreadable`), so that a redirect or an odd status is not taken
    /// for a refusal of the request's contents.
    static func failsBatch(_ status: Int) -> Bool {
        [400, 401, 403, 404, 422, 429].contains(status) || (500...599).contains(status)
    }

    /// The error for a non-2xx `response` to `operation` on `list`.
    static func batchError(
        for response: ProviderResponse, operation: ContactOperation, list: String,
        context: ProviderContext
    ) -> ContactError {
        let status = response.status
        let said = ProviderSupport.quotedBody(response, context: context)
        let providerCode = response.json?["code"]?.stringValue.map { context.quote($0, limit: 40) }
        let retryAfter = response.retryAfter
        func error(
            _ kind: ContactError.Code, _ message: String, transient: Bool = false
        )
            -> ContactError
        {
            ContactError(
                kind, message, providerCode: providerCode, provider: OctopushProvider.name,
                operation: operation, isTransient: transient,
                retryAfter: transient ? retryAfter : nil)
        }
        switch status {
        case 401, 403:
            return error(
                .authFailed,
                "Octopush refused the credentials 'api_login' and 'api_key' (HTTP \(status))"
                    + said)
        case 404:
            return error(.listNotFound, "Octopush found no list '\(list)' (HTTP 404)\(said)")
        case 400, 422:
            return error(
                .providerError,
                "Octopush refused the whole \(operation) request for list '\(list)' "
                    + "(HTTP \(status))\(said)")
        case 429:
            return error(
                .rateLimited, "Octopush asked to slow down (HTTP 429)\(said)", transient: true)
        case 500...599:
            return error(
                .providerError, "Octopush failed with HTTP \(status)\(said)", transient: true)
        default:
            return error(
                .providerError,
                "Octopush answered the \(operation) request with HTTP \(status)\(said)")
        }
    }
}
