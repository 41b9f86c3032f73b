import Contactor

/// The per-contact error numbers SMS Gateway API reports in the `errors` of an add answer.
///
/// Only `103` ("Phone number … is not valid") is documented; every other number becomes a
/// `rejected` / `provider_error` that keeps the number as the provider code.
enum SMSGatewayAPIErrorCode {
    /// Taxonomy codes by provider error number.
    static let table: [String: ContactError.Code] = [
        "103": .invalidPhone
    ]

    /// The error for provider error `code` with the provider's `message`.
    static func error(code: String?, message: String) -> ContactError {
        let taxonomy = code.flatMap { table[$0] } ?? .providerError
        return ContactError(
            taxonomy,
            "smsgatewayapi refused the contact: \(message)",
            providerCode: code, provider: SMSGatewayAPIProvider.name, operation: .add,
            field: taxonomy == .invalidPhone ? "phone" : nil)
    }
}
