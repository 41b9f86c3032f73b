import Contactor
import ContactorTesting
import Foundation
import Testing

/// Helpers for the Avosms and Octopush adapter tests.
enum AvosmsOctopushTestSupport {
    /// Distinctive credential values, so a leak is easy to spot.
    static let avosmsID = "owner-7f3a@example.org"
    static let avosmsKey = "avosms-KEY-9c1e77"
    static let octopushLogin = "login-2b4d@example.org"
    static let octopushKey = "octopush-KEY-5e8a31"

    static let avosmsCredentials = Credentials(
        provider: "avosms", ["id": avosmsID, "key": avosmsKey])
    static let octopushCredentials = Credentials(
        provider: "octopush", ["api_login": octopushLogin, "api_key": octopushKey])

    /// A number parsed and validated by libphonenumber.
    static func phone(_ text: String) throws -> PhoneNumber {
        try PhoneNumber(parsing: text, defaultRegion: "FR")
    }

    /// A context over `transport`.
    static func context(
        _ transport: MockTransport, credentials: Credentials, endpoint: String,
        options: [String: String] = [:], hook: PayloadHook? = nil
    ) -> ProviderContext {
        ProviderContext(
            transport: transport, credentials: credentials, endpoint: URL(string: endpoint)!,
            options: options, payloadHook: hook)
    }

    /// The form fields of a request body, in order.
    static func form(_ request: SentRequest) -> [String] {
        FormEncoding.decode(String(decoding: request.body ?? Data(), as: UTF8.self))
            .map { "\($0.0)=\($0.1)" }
    }

    /// The JSON body of a request.
    static func json(_ request: SentRequest) throws -> JSONValue {
        try JSONValue.decode(try #require(request.body))
    }

    /// A JSON response.
    static func response(
        _ status: Int, _ body: JSONValue, headers: [String: String] = [:]
    ) -> MockResponse {
        var all = headers
        all["Content-Type"] = "application/json"
        return MockResponse(status: status, headers: all, body: body.encoded())
    }

    /// Whether `text` shows any of `secrets`.
    static func leaks(_ text: String, _ secrets: [String]) -> Bool {
        secrets.contains { text.contains($0) }
    }
}
