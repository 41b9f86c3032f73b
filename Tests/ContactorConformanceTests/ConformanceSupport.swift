import Contactor
import ContactorHTTP
import ContactorProviders
import ContactorSandbox
import ContactorTesting
import Foundation
import Testing

/// One built-in adapter wired to its emulator: which list to use, which list does not
/// exist, and what the provider's documentation says a duplicate add and the delete of an
/// absent number answer.
struct ProviderFixture: Sendable, CustomTestStringConvertible {
    /// The built-in provider's name (`avosms`, ...).
    var name: String
    /// A demo list that accepts French mobile numbers.
    var list: String
    /// A list the emulator does not have.
    var unknownList: String
    /// What adding a number already in the list answers, per the provider's docs.
    var duplicateAddStatuses: Set<ContactResult.Status>
    /// What deleting a number not in the list answers, per the provider's docs.
    var absentDeleteStatuses: Set<ContactResult.Status>
    /// Provider options for the run (`do_not_overwrite`, ...).
    var options: [String: String] = [:]
    /// Whether one unreadable number gets the whole request refused (Octopush documents
    /// no per-number error; its emulator answers 400 for the request).
    var refusesWholeRequest = false
    /// Values for fields whose generic samples the provider would refuse.
    var fieldValues: [String: String] = [:]
    /// A label for test output.
    var label: String

    var testDescription: String { label }

    /// The provider instance, from ``BuiltInProviders``.
    var provider: any ContactProvider {
        get throws { try #require(BuiltInProviders.named(name), "no built-in provider \(name)") }
    }

    /// Avosms: list `1002` (FR, mobiles only). `ERR_104` on add and on delete → `skipped`.
    static let avosms = ProviderFixture(
        name: "avosms", list: "1002", unknownList: "9999", duplicateAddStatuses: [.skipped],
        absentDeleteStatuses: [.skipped], label: "avosms")

    /// Octopush: list `demo`. A known number is overwritten (`updated`); delete answers
    /// `204` whether or not the number was there (`deleted`). An unreadable number gets
    /// the whole request refused.
    static let octopush = ProviderFixture(
        name: "octopush", list: "demo", unknownList: "no-such-list",
        duplicateAddStatuses: [.updated], absentDeleteStatuses: [.deleted],
        refusesWholeRequest: true, label: "octopush")

    /// Octopush with `do_not_overwrite`: a known number is left alone (`skipped`).
    static let octopushDoNotOverwrite = ProviderFixture(
        name: "octopush", list: "vip", unknownList: "no-such-list",
        duplicateAddStatuses: [.skipped], absentDeleteStatuses: [.deleted],
        options: ["do_not_overwrite": "true"], refusesWholeRequest: true,
        label: "octopush (do_not_overwrite)")

    /// SMS Gateway API: group `100`. The docs describe no duplicate answer: a known number
    /// comes back with an ID like a new one, which the adapter documents as `added`.
    /// There is no delete endpoint.
    static let smsGatewayAPI = ProviderFixture(
        name: "smsgatewayapi", list: "100", unknownList: "999",
        duplicateAddStatuses: [.added], absentDeleteStatuses: [],
        fieldValues: ["unsubscribed": "1"], label: "smsgatewayapi")

    /// SMS Partner: group `5001`. Code 15 on add → `skipped`; a number not in the group
    /// is `skipped` on delete.
    static let smsPartner = ProviderFixture(
        name: "smspartner", list: "5001", unknownList: "9999", duplicateAddStatuses: [.skipped],
        absentDeleteStatuses: [.skipped],
        fieldValues: [
            "url": "https://example.org/ada", "shortUrlPartnr": "http://example.org/short",
        ], label: "smspartner")

    /// SMS Partner with `update=replace`: an update deletes the contact and adds it again.
    static let smsPartnerReplace = ProviderFixture(
        name: "smspartner", list: "5001", unknownList: "9999", duplicateAddStatuses: [.skipped],
        absentDeleteStatuses: [.skipped], options: ["update": "replace"],
        fieldValues: [
            "url": "https://example.org/ada", "shortUrlPartnr": "http://example.org/short",
        ], label: "smspartner (update=replace)")

    /// Every fixture the conformance suite runs.
    static let all: [ProviderFixture] = [
        .avosms, .octopush, .octopushDoNotOverwrite, .smsGatewayAPI, .smsPartner,
        .smsPartnerReplace,
    ]

    /// The demo credentials of this provider.
    var credentials: Credentials {
        Credentials(provider: name, SandboxDemo.standard.credentials(for: name))
    }

    /// The demo credentials with every value replaced by a wrong, recognisable one.
    var badCredentials: Credentials {
        Credentials(
            provider: name,
            SandboxDemo.standard.credentials(for: name).mapValues { "WRONG-\($0)-5e17" })
    }
}

/// Test numbers.
enum TestNumbers {
    /// `count` distinct valid French mobile numbers, parsed by libphonenumber:
    /// `+33612340100`, `+33612340101`, ...
    static func frenchMobiles(_ count: Int, start: Int = 100) throws -> [PhoneNumber] {
        try (start..<start + count).map { index in
            try PhoneNumber(parsing: "+336123\(String(format: "%05d", index))")
        }
    }

    /// A number libphonenumber finds invalid (too short), built without checks, so that
    /// only the provider can refuse it.
    static let invalid = PhoneNumber(
        e164: "+3361234", region: "FR", countryCode: 33, type: .mobile)
}

/// Whether a contact stored by the emulator is `e164` (SMS Gateway API stores
/// international digits without `+`).
func sandboxPhone(_ stored: String, is e164: String) -> Bool {
    stored == e164 || "+" + stored == e164
}

/// Runs `body` with a started sandbox and a real HTTP transport, and stops both
/// afterwards, whether `body` returned or threw.
func withSandboxTransport<Result: Sendable>(
    _ body: (SandboxServer, AsyncHTTPClientTransport) async throws -> Result
) async throws -> Result {
    let server = SandboxServer(configuration: SandboxConfiguration(port: 0))
    try await server.start()
    let transport = AsyncHTTPClientTransport(
        configuration: .init(requestTimeout: .seconds(10), proxy: nil))
    let result: Result
    do {
        result = try await body(server, transport)
    } catch {
        try? await transport.shutdown()
        await server.stop()
        throw error
    }
    try await transport.shutdown()
    await server.stop()
    return result
}

/// The conformance target for `fixture` against `server`.
func conformanceTarget(
    _ fixture: ProviderFixture, server: SandboxServer, transport: any HTTPTransport
) throws -> ConformanceTarget {
    let name = fixture.name
    let context = ProviderContext(
        transport: transport, credentials: fixture.credentials,
        endpoint: server.url(for: name), options: fixture.options)
    return ConformanceTarget(
        provider: try fixture.provider, context: context,
        badCredentials: fixture.badCredentials, list: fixture.list,
        unknownList: fixture.unknownList, numbers: try TestNumbers.frenchMobiles(12),
        invalidNumber: TestNumbers.invalid,
        contains: { list, e164 in
            await server.contacts(provider: name, list: list).contains {
                sandboxPhone($0.phone, is: e164)
            }
        },
        duplicateAddStatuses: fixture.duplicateAddStatuses,
        absentDeleteStatuses: fixture.absentDeleteStatuses,
        refusesWholeRequestForInvalidNumber: fixture.refusesWholeRequest,
        fieldValues: fixture.fieldValues,
        storedValues: { list, e164 in
            await server.contacts(provider: name, list: list)
                .first { sandboxPhone($0.phone, is: e164) }
                .map { Array($0.fields.values) }
        })
}
