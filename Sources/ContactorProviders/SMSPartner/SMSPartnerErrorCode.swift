import Contactor

/// SMS Partner's control codes (`{success: false, code, message}`) and what each means.
///
/// | Code | Documented meaning | Outcome |
/// |---|---|---|
/// | 1 | groupId is required (or unknown) | the batch fails: `list_not_found` |
/// | 2 | contact info is required | `rejected` / `missing_field` |
/// | 9 | invalid number (bulk results) | `rejected` / `invalid_phone` |
/// | 10 | API key is required or incorrect | the batch fails: `auth_failed` |
/// | 15 | the number is already in the group | `skipped` / `already_in_list` |
/// | other | — | `rejected` / `provider_error` |
enum SMSPartnerErrorCode {
    /// What a control code does.
    enum Disposition: Equatable {
        /// The whole batch fails with this code (thrown, or `failed` per contact where
        /// some contacts were already done).
        case batch(ContactError.Code)
        /// This one contact ends with this status and code.
        case contact(ContactResult.Status, ContactError.Code)
    }

    /// Dispositions by control code.
    static let table: [String: Disposition] = [
        "1": .batch(.listNotFound),
        "2": .contact(.rejected, .missingField),
        "9": .contact(.rejected, .invalidPhone),
        "10": .batch(.authFailed),
        "15": .contact(.skipped, .alreadyInList),
    ]

    /// The disposition of `code`; unknown or missing codes are `rejected` /
    /// `provider_error`.
    static func disposition(_ code: String?) -> Disposition {
        code.flatMap { table[$0] } ?? .contact(.rejected, .providerError)
    }

    /// A human summary for a code, used when the provider sends no message.
    static func summary(_ code: String?, context: ProviderContext) -> String {
        switch code {
        case "1": "groupId is required or unknown"
        case "2": "contact info is required"
        case "9": "invalid phone number"
        case "10": "API key is required or incorrect"
        case "15": "the number is already in the group"
        default: "error code \(code.map { context.quote($0, limit: 40) } ?? "missing")"
        }
    }

    /// The result for one contact refused with `code` and `message`: `skipped`,
    /// `rejected`, or `failed` for batch-level codes.
    static func result(
        code: String?, message: String, operation: ContactOperation, context: ProviderContext
    ) -> ContactResult {
        switch disposition(code) {
        case .batch(let taxonomy):
            return .failed(
                error(
                    taxonomy, code: code, message: message, operation: operation, context: context))
        case .contact(let status, let taxonomy):
            let error = error(
                taxonomy, code: code, message: message, operation: operation, context: context)
            return ContactResult(status: status, error: error)
        }
    }

    /// The error for `code`, with the provider's message (already quoted) and the code kept
    /// as text, masked and cut by `context`.
    static func error(
        _ taxonomy: ContactError.Code, code: String?, message: String,
        operation: ContactOperation, context: ProviderContext
    ) -> ContactError {
        let field: String? =
            switch taxonomy {
            case .invalidPhone: "phone"
            case .listNotFound: "list"
            default: nil
            }
        return ContactError(
            taxonomy, "smspartner: \(message)",
            providerCode: code.map { context.quote($0, limit: 40) },
            provider: SMSPartnerProvider.name, operation: operation, field: field)
    }
}
