import Contactor
import ContactorHTTP
import ContactorProviders
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

/// Each built-in adapter, through a `ContactorClient` and the real transport, against a
/// server whose answers are cut, unreadable or redirects: every contact ends `failed`
/// (resumable) after at most the engine's retries per batch, never `rejected` after the
/// engine split the batch into hundreds of requests.
@Suite("Hostile answers through the client")
struct HostileServerTests {
    struct Reply: Sendable, CustomTestStringConvertible {
        var name: String
        var reply: ScriptedReply
        /// Whether the failure is transient (so the engine tries each batch again).
        var transient: Bool
        var testDescription: String { name }
    }

    static let replies: [Reply] = [
        Reply(
            name: "a 200 whose body is cut",
            reply: .truncatedBody(
                200, headers: [("Content-Type", "application/json")],
                body: #"{"success": true, "code": 200, "items": [], "IDs": []}"#, sentBytes: 9),
            transient: true),
        Reply(name: "bytes that are not HTTP", reply: .raw("garbage\r\n\r\n"), transient: true),
        Reply(name: "a 200 with HTML", reply: .html(200, "<html>portal</html>"), transient: false),
        Reply(
            name: "a redirect", reply: .redirect(302, to: "https://login.example.test/"),
            transient: false),
        Reply(name: "a 204", reply: .noContent(), transient: false),
    ]

    static let providers = ["avosms", "octopush", "smsgatewayapi", "smspartner"]

    @Test(
        "A cut or unreadable answer leaves every contact failed after at most the retries per batch",
        arguments: providers, replies)
    func hostileAnswer(_ name: String, _ reply: Reply) async throws {
        let provider = try #require(BuiltInProviders.named(name))
        // Avosms sends one contact a request: two batches; the others one batch of 60.
        let count = name == "avosms" ? 2 : 60
        let batches = name == "avosms" ? 2 : 1
        let contacts = try TestNumbers.frenchMobiles(count, start: 700).map { Contact(phone: $0) }
        let credentials = SandboxCredentials.values(for: name)
        try await TestHTTPServer.withServer(script: [], otherwise: reply.reply) { server in
            try await AsyncHTTPClientTransport.withTransport(
                configuration: .init(requestTimeout: .seconds(60), proxy: nil)
            ) { transport in
                let client = ContactorClient(
                    configuration: .init(
                        transport: transport, providers: ProviderRegistry([provider]),
                        credentials: CredentialResolver(explicit: credentials),
                        clock: ImmediateClock()))
                let list = name == "octopush" ? "demo" : "1002"
                let outcomes = try await client.add(
                    contacts, provider: name, list: list,
                    options: RunOptions(endpoint: server.baseURL))
                #expect(outcomes.count == count)
                for outcome in outcomes {
                    #expect(outcome.result.status == .failed, "\(outcome.result)")
                }
                let attempts = RetryPolicy.standard.maxAttempts
                if reply.transient {
                    #expect(server.requests.count <= batches * attempts, "\(server.requests.count)")
                } else {
                    #expect(server.requests.count == batches, "\(server.requests.count)")
                }
            }
        }
    }
}

/// Credential values for a provider, any will do against a scripted server.
enum SandboxCredentials {
    static func values(for name: String) -> [String: String] {
        switch name {
        case "avosms": ["id": "owner@example.org", "key": "avosms-key-1234"]
        case "octopush": ["api_login": "login@example.org", "api_key": "octopush-key-1234"]
        case "smsgatewayapi": ["client_id": "client", "client_secret": "gateway-secret-1234"]
        default: ["api_key": "partner-key-1234"]
        }
    }
}
