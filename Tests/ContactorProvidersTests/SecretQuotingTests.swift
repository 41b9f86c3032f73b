import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import Testing

/// A provider echoing a run's secret back — raw, percent-encoded or JSON-escaped — in any
/// part of its answer (message, code, body text, error arrays, a redirect's `Location`)
/// never gets it shown: the adapters quote what providers say through `context.quote`,
/// and so nothing shows it either when called directly or through a `ContactorClient`.
@Suite struct SecretQuotingTests {
    /// An answer with the planted text in it.
    struct Planted: Sendable, CustomTestStringConvertible {
        var provider: String
        var operation: ContactOperation
        var name: String
        /// The answer, given the planted text as a JSON string literal and as raw text.
        var answer: @Sendable (_ json: String, _ raw: String) -> MockResponse

        var testDescription: String { "\(provider) \(operation): \(name)" }
    }

    static func json(_ status: Int, _ body: String) -> MockResponse {
        MockResponse(
            status: status, headers: ["Content-Type": "application/json"], body: Data(body.utf8))
    }

    static func text(_ status: Int, _ body: String, headers: [String: String] = [:]) -> MockResponse
    {
        MockResponse(status: status, headers: headers, body: Data(body.utf8))
    }

    static let planted: [Planted] = [
        Planted(provider: "avosms", operation: .add, name: "unknown code and message") { j, _ in
            json(200, #"{"status": "error", "code": \#(j), "message": \#(j)}"#)
        },
        Planted(provider: "avosms", operation: .add, name: "HTML body") { _, r in
            text(200, "<html><p>\(r)</p></html>", headers: ["Content-Type": "text/html"])
        },
        Planted(provider: "avosms", operation: .add, name: "5xx message") { j, _ in
            json(503, #"{"message": \#(j)}"#)
        },
        Planted(provider: "avosms", operation: .update, name: "redirect Location") { _, r in
            text(302, "moved to \(r)", headers: ["Location": "https://elsewhere.test/?k=\(r)"])
        },
        Planted(provider: "octopush", operation: .add, name: "400 message and code") { j, _ in
            json(400, #"{"message": \#(j), "code": \#(j)}"#)
        },
        Planted(provider: "octopush", operation: .add, name: "unknown item status") { j, _ in
            json(
                201,
                #"{"items": [{"phone_number": "+33612345678", "status": \#(j)}, {"phone_number": "+33612345679", "status": \#(j)}]}"#
            )
        },
        Planted(provider: "octopush", operation: .delete, name: "200 error body") { j, _ in
            json(200, #"{"error": \#(j), "code": \#(j)}"#)
        },
        Planted(provider: "octopush", operation: .update, name: "plain text") { _, r in
            text(418, r)
        },
        Planted(provider: "smsgatewayapi", operation: .add, name: "errors array") { j, r in
            json(
                200,
                #"{"IDs": [1], "errors": [{"error": \#(j), "errorMsg": "Phone number 33612345679 is not valid \#(r.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))"}]}"#
            )
        },
        Planted(provider: "smsgatewayapi", operation: .add, name: "400 error and errorMsg") {
            j, _ in
            json(400, #"{"error": \#(j), "errorMsg": \#(j)}"#)
        },
        Planted(provider: "smsgatewayapi", operation: .add, name: "an ID that is the secret") {
            j, _ in
            json(200, #"{"IDs": [\#(j), \#(j)]}"#)
        },
        Planted(provider: "smsgatewayapi", operation: .update, name: "404 errorMsg") { j, _ in
            json(404, #"{"error": 404, "errorMsg": \#(j)}"#)
        },
        Planted(provider: "smspartner", operation: .add, name: "bulk results code and message") {
            j, _ in
            json(
                200,
                #"{"success": true, "code": 200, "results": [{"success": false, "code": \#(j), "phoneNumber": "+33612345678", "message": \#(j)}, {"success": false, "code": \#(j), "phoneNumber": "+33612345679", "message": \#(j)}]}"#
            )
        },
        Planted(provider: "smspartner", operation: .add, name: "top-level refusal") { j, _ in
            json(200, #"{"success": false, "code": \#(j), "message": \#(j)}"#)
        },
        Planted(provider: "smspartner", operation: .add, name: "400 text") { _, r in
            text(400, "bad request: \(r)")
        },
        Planted(provider: "smspartner", operation: .delete, name: "list page message") { j, _ in
            json(200, #"{"success": false, "code": 4, "message": \#(j)}"#)
        },
    ]

    static let credentials: [String: [String: String]] = [
        "avosms": ["id": "owner@example.org", "key": Secrets.avosms],
        "octopush": ["api_login": "login@example.org", "api_key": Secrets.octopush],
        "smsgatewayapi": ["client_id": "client-7", "client_secret": Secrets.gateway],
        "smspartner": ["api_key": Secrets.partner],
    ]

    static func provider(_ name: String) -> any ContactProvider {
        name == "smspartner"
            ? SMSPartnerProvider(configuration: .init(updateMode: .replace))
            : BuiltInProviders.named(name)!
    }

    static func batch(_ planted: Planted) throws -> [Contact] {
        let size = planted.provider == "avosms" ? 1 : 2
        return try (0..<size).map { index in
            var contact = Contact(phone: try PhoneNumber(parsing: "+3361234567\(8 + index)"))
            contact.providerID = "\(100 + index)"
            return contact
        }
    }

    /// Every text a result or an error shows.
    static func texts(_ result: ContactResult) -> [String] {
        [result.id, result.error?.message, result.error?.providerCode, result.error?.description]
            .compactMap { $0 }
    }

    static func texts(_ error: any Error) -> [String] {
        if let error = error as? ContactError {
            return [error.message, error.providerCode ?? "", error.description]
        }
        return [String(describing: error)]
    }

    static func leaked(_ texts: [String], _ secret: String) -> [String] {
        let forms = Secrets.forms(secret)
        return texts.filter { text in forms.contains { text.contains($0) } }
    }

    @Test("A secret planted in an answer is never shown, by the adapter itself", arguments: planted)
    func adapterQuotesThroughTheContext(_ planted: Planted) async throws {
        let credentials = Self.credentials[planted.provider]!
        let secret = credentials.values.first { $0.contains("/") }!
        for form in Secrets.forms(secret) {
            let answer = planted.answer(JSONValue.string(form).jsonText, form)
            let transport = MockTransport { _ in answer }
            let context = ProviderContext(
                transport: transport,
                credentials: Credentials(provider: planted.provider, credentials),
                endpoint: URL(string: "https://api.example.test")!)
            let provider = Self.provider(planted.provider)
            let batch = try Self.batch(planted)
            var shown: [String] = []
            do {
                let results =
                    switch planted.operation {
                    case .delete: try await provider.delete(batch, from: "5001", context: context)
                    case .update: try await provider.update(batch, in: "5001", context: context)
                    default: try await provider.add(batch, to: "5001", context: context)
                    }
                shown = results.flatMap(Self.texts)
            } catch {
                shown = Self.texts(error)
            }
            #expect(!shown.isEmpty)
            #expect(Self.leaked(shown, secret).isEmpty, "\(form): \(Self.leaked(shown, secret))")
        }
    }

    @Test(
        "A secret planted in an answer is never shown through a ContactorClient", arguments: planted
    )
    func clientShowsNoSecret(_ planted: Planted) async throws {
        let credentials = Self.credentials[planted.provider]!
        let secret = credentials.values.first { $0.contains("/") }!
        for form in Secrets.forms(secret) {
            let answer = planted.answer(JSONValue.string(form).jsonText, form)
            let transport = MockTransport { _ in answer }
            let client = ClientSupport.client(
                Self.provider(planted.provider), transport, credentials: credentials)
            let batch = try Self.batch(planted)
            var shown: [String] = []
            do {
                let outcomes =
                    switch planted.operation {
                    case .delete:
                        try await client.delete(batch, provider: planted.provider, list: "5001")
                    case .update:
                        // The client takes drafts; it does not carry providerID into the
                        // contact yet, so SMS Gateway API refuses these locally.
                        try await client.update(
                            batch.map {
                                ContactDraft(phone: $0.phone.e164, providerID: $0.providerID)
                            },
                            provider: planted.provider, list: "5001")
                    default: try await client.add(batch, provider: planted.provider, list: "5001")
                    }
                shown = outcomes.flatMap { Self.texts($0.result) }
            } catch {
                shown = [String(describing: error)]
            }
            #expect(!shown.isEmpty)
            #expect(Self.leaked(shown, secret).isEmpty, "\(form): \(Self.leaked(shown, secret))")
        }
    }
}
