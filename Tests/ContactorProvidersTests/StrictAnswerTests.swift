import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import Testing

/// What proves success, per provider, and what an answer that proves nothing becomes: a
/// `failed` / `provider_error` for each contact, with the (masked) answer quoted, never a
/// thrown refusal that makes the engine split the batch, and never a success.
@Suite struct StrictAnswerTests {
    /// One built-in provider with credentials and a list.
    struct Adapter: Sendable, CustomTestStringConvertible {
        var provider: any ContactProvider
        var credentials: [String: String]
        var list: String
        var testDescription: String { provider.descriptor.name }

        func context(_ transport: MockTransport) -> ProviderContext {
            ProviderContext(
                transport: transport,
                credentials: Credentials(provider: provider.descriptor.name, credentials),
                endpoint: URL(string: "https://api.example.test")!)
        }
    }

    static let adapters: [Adapter] = [
        Adapter(
            provider: AvosmsProvider(),
            credentials: ["id": "owner@example.org", "key": Secrets.avosms],
            list: "1002"),
        Adapter(
            provider: OctopushProvider(),
            credentials: ["api_login": "login@example.org", "api_key": Secrets.octopush],
            list: "demo"),
        Adapter(
            provider: SMSGatewayAPIProvider(),
            credentials: ["client_id": "client-7", "client_secret": Secrets.gateway], list: "100"),
        Adapter(
            provider: SMSPartnerProvider(), credentials: ["api_key": Secrets.partner], list: "5001"),
    ]

    /// Answers that say nothing a contact's outcome can be read from.
    struct Unreadable: Sendable, CustomTestStringConvertible {
        var name: String
        var response: MockResponse
        var testDescription: String { name }
    }

    static let unreadable: [Unreadable] = [
        Unreadable(
            name: "200 with HTML",
            response: MockResponse(
                status: 200, headers: ["Content-Type": "text/html"],
                body: Data("<html><body>Welcome to the portal</body></html>".utf8))),
        Unreadable(
            name: "200 with garbage",
            response: MockResponse(status: 200, body: Data("\u{1}garbage\u{2}".utf8))),
        Unreadable(name: "200 with an empty body", response: MockResponse(status: 200)),
        Unreadable(
            name: "200 with truncated JSON",
            response: MockResponse(status: 200, body: Data(#"{"success": tr"#.utf8))),
        Unreadable(
            name: "200 with a JSON array",
            response: MockResponse(status: 200, body: Data("[1, 2, 3]".utf8))),
        Unreadable(name: "204 No Content", response: MockResponse(status: 204)),
        Unreadable(
            name: "302 to another host",
            response: MockResponse(
                status: 302, headers: ["Location": "https://login.example.test/"])),
    ]

    @Test(
        "An answer that proves nothing leaves every contact failed/provider_error, quoted, in one request",
        arguments: adapters, unreadable)
    func unreadableAnswerIsFailedNotSplitOrSuccess(
        _ adapter: Adapter, _ answer: Unreadable
    )
        async throws
    {
        let transport = MockTransport { _ in answer.response }
        let size = min(3, adapter.provider.descriptor.batchSize(for: .add))
        let batch = try (0..<size).map { index in
            Contact(phone: try PhoneNumber(parsing: "+3361234010\(index)"))
        }
        let results = try await adapter.provider.add(
            batch, to: adapter.list, context: adapter.context(transport))
        #expect(results.count == batch.count)
        for result in results {
            #expect(result.status == .failed, "\(result)")
            #expect(result.error?.code == .providerError, "\(result)")
            #expect(result.error?.isTransient == false, "\(result)")
        }
        #expect(
            transport.requests.count
                == (adapter.provider.descriptor.batchSize(for: .add) == 1 ? size : 1))
    }

    @Test("500 contacts answered with HTML end failed after one request, resumable, not split")
    func fiveHundredContactsAnsweredWithHTML() async throws {
        let transport = MockTransport { _ in
            MockResponse(
                status: 200, headers: ["Content-Type": "text/html"],
                body: Data("<html>oops</html>".utf8))
        }
        let contacts = try (0..<500).map { index in
            Contact(phone: try PhoneNumber(parsing: "+336123\(String(format: "%05d", index))"))
        }
        let outcomes = try await ClientSupport.run(
            SMSPartnerProvider(), transport, credentials: ["api_key": Secrets.partner],
            list: "5001", contacts: contacts)
        #expect(outcomes.count == 500)
        #expect(outcomes.allSatisfy { $0.result.status == .failed })
        #expect(outcomes.allSatisfy { $0.result.error?.message.contains("oops") == true })
        #expect(transport.requests.count == 1)
    }

    // MARK: What proves an add: SMS Gateway API ids

    @Test(
        "SMS Gateway API ids that are not ids leave the contacts failed",
        arguments: [
            #"{"ID": true}"#, #"{"IDs": ""}"#, #"{"IDs": [""]}"#, #"{"IDs": "1,2,3"}"#,
            #"{"ID": [{"id": 1}]}"#, #"{"ID": ["1 2"]}"#,
        ])
    func smsGatewayAPIUnusableIDs(_ body: String) async throws {
        let transport = MockTransport { _ in MockResponse(status: 200, body: Data(body.utf8)) }
        let adapter = Self.adapters[2]
        let results = try await adapter.provider.add(
            [Contact(phone: try PhoneNumber(parsing: "+436501234567"))], to: "100",
            context: adapter.context(transport))
        #expect(results.map(\.status) == [.failed], "\(results)")
        #expect(results.first?.id == nil)
        #expect(results.first?.error?.code == .providerError)
    }

    @Test func smsGatewayAPIIntegerAndWordIDsAreAdded() async throws {
        let transport = MockTransport { _ in .json(200, ["IDs": [11, "a-12"]]) }
        let adapter = Self.adapters[2]
        let results = try await adapter.provider.add(
            [
                Contact(phone: try PhoneNumber(parsing: "+436501234567")),
                Contact(phone: try PhoneNumber(parsing: "+436501234568")),
            ], to: "100", context: adapter.context(transport))
        #expect(results == [.added(id: "11"), .added(id: "a-12")])
    }

    // MARK: What proves a delete: Octopush's 204

    @Test(
        "Octopush delete: 204 or an empty 2xx is deleted; a body, HTML or a redirect is failed",
        arguments: [
            (MockResponse(status: 204), ContactResult.Status.deleted),
            (MockResponse(status: 200), .deleted),
            (MockResponse.json(200, ["error": "delete failed"]), .failed),
            (MockResponse(status: 200, body: Data("<html>ok?</html>".utf8)), .failed),
            (MockResponse(status: 302, headers: ["Location": "/login"]), .failed),
        ])
    func octopushDeleteProof(
        _ response: MockResponse, _ expected: ContactResult.Status
    )
        async throws
    {
        let transport = MockTransport { _ in response }
        let adapter = Self.adapters[1]
        let results = try await adapter.provider.delete(
            [
                Contact(phone: try PhoneNumber(parsing: "+33612345678")),
                Contact(phone: try PhoneNumber(parsing: "+33612345679")),
            ], from: "demo", context: adapter.context(transport))
        #expect(results.map(\.status) == [expected, expected])
        #expect(transport.requests.count == 1)
    }

    // MARK: What proves an add: SMS Partner's success on a 2xx

    @Test(
        "SMS Partner: a success body on an error status or a redirect is not an add",
        arguments: [400, 302, 500])
    func smsPartnerSuccessOnAnErrorStatus(_ status: Int) async throws {
        let body = JSONValue.object([
            "success": true, "code": 200, "contact": ["contactId": 5],
        ])
        let transport = MockTransport { _ in MockResponse(status: status, body: body.encoded()) }
        let adapter = Self.adapters[3]
        let context = adapter.context(transport)
        let batch = [Contact(phone: try PhoneNumber(parsing: "+33612345678"))]
        if status == 500 {
            // A 5xx stays what it is: transient, whatever its body says.
            await #expect {
                _ = try await adapter.provider.add(batch, to: "5001", context: context)
            } throws: { error in (error as? ContactError)?.isTransient == true }
            return
        }
        let results = try await adapter.provider.add(batch, to: "5001", context: context)
        #expect(results.map(\.status) == [.failed], "\(results)")
        #expect(results.first?.error?.code == .providerError)
    }
}

/// Distinctive secrets with characters that take another form percent-encoded and
/// JSON-escaped.
enum Secrets {
    static let avosms = #"Av0s"ms/Key+9c1e"#
    static let octopush = #"Oct0"push/Key+5e8a"#
    static let gateway = #"Gat3"way/Secret+77"#
    static let partner = #"Part"ner/Key+4c1d8"#

    /// A secret in the forms it may take in a provider's answer: raw, percent-encoded and
    /// JSON-escaped.
    static func forms(_ secret: String) -> [String] {
        var percent = ""
        for byte in secret.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                percent.unicodeScalars.append(Unicode.Scalar(byte))
            default: percent += String(format: "%%%02X", byte)
            }
        }
        let escaped =
            secret.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "/", with: "\\/")
        return [secret, percent, escaped]
    }
}
