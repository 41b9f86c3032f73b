import Contactor
import ContactorHTTP
import ContactorLua
import ContactorProviders
import ContactorTestServer
import Foundation

/// The checkout this test file lives in, and its bundled plugins.
enum Repository {
    /// The package root (`Tests/ContactorPluginsTests/Support.swift` is three levels down).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The bundled `plugins/` directory, as shipped.
    static let plugins = root.appendingPathComponent("plugins", isDirectory: true)

    /// A file of the checkout.
    static func file(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// Loads the bundled plugins (and nothing else) the way the CLI does.
    static func load() async throws -> LuaPlugins {
        try await PluginLoader(
            configuration: .init(
                environment: [:], bundledDirectory: plugins,
                builtinProviderNames: Set(BuiltInProviders.names))
        ).load()
    }
}

/// A phone number for tests.
func phone(_ text: String) -> PhoneNumber { try! PhoneNumber(parsing: text) }

/// A number libphonenumber refuses, built without checks (for `invalid_phone` paths).
let invalidNumber = PhoneNumber(e164: "+3361234", region: "FR", countryCode: 33, type: .unknown)

/// Twelve valid French mobile numbers, +33612345670 to +33612345681.
let mobiles = (0..<12).map { phone("+33612345\(670 + $0)") }

/// A JSON reply.
func json(_ status: Int, _ body: JSONValue) -> ScriptedReply {
    .json(status, body.jsonText)
}

/// The decoded JSON body of a request (`null` when there is none or it does not parse).
func body(_ request: RecordedRequest) -> JSONValue {
    (try? JSONValue.decode(request.body)) ?? .null
}

/// Runs `body` with a fake service started from `handler` and a real HTTP transport.
func withFake<Result: Sendable>(
    _ handler: @escaping TestHTTPServer.Handler,
    _ body: (TestHTTPServer, AsyncHTTPClientTransport) async throws -> Result
) async throws -> Result {
    try await TestHTTPServer.withServer(handler: handler) { server in
        try await AsyncHTTPClientTransport.withTransport { transport in
            try await body(server, transport)
        }
    }
}
