import Contactor
import ContactorSandbox
import Testing

/// A fault the sandbox can inject.
enum InjectedFault: String, Sendable, CaseIterable, CustomTestStringConvertible {
    /// `503` with `{"message"}`.
    case serviceUnavailable
    /// The connection closed without an answer.
    case droppedConnection

    var testDescription: String { rawValue }

    var configuration: FaultConfiguration {
        switch self {
        case .serviceUnavailable: FaultConfiguration(failureRate: 1)
        case .droppedConnection: FaultConfiguration(dropRate: 1)
        }
    }

    var code: ContactError.Code {
        switch self {
        case .serviceUnavailable: .providerError
        case .droppedConnection: .transportError
        }
    }
}

/// The failure of a one-contact add: thrown for the batch, or `failed` in its result.
func failure(of body: () async throws -> [ContactResult]) async -> ContactError? {
    do {
        return try await body().first { $0.status == .failed }?.error
    } catch {
        return error as? ContactError
    }
}

/// The sandbox's injected faults, as each adapter must read them: transient, so the engine
/// retries them, and `Retry-After` honoured for rate limits.
@Suite("Injected faults against each adapter")
struct FaultConformanceTests {
    static let fixtures: [ProviderFixture] = [
        .avosms, .octopush, .smsGatewayAPI, .smsPartner,
    ]

    @Test(
        "A 503 or a dropped connection is a transient error and stores nothing",
        arguments: fixtures, InjectedFault.allCases)
    func transientFault(_ fixture: ProviderFixture, _ fault: InjectedFault) async throws {
        try await withSandboxTransport { server, transport in
            let target = try conformanceTarget(fixture, server: server, transport: transport)
            let number = target.numbers[0]
            server.faults = fault.configuration
            let error = await failure {
                try await target.provider.add(
                    [Contact(phone: number)], to: target.list, context: target.context)
            }
            #expect(error?.code == fault.code, "\(String(describing: error))")
            #expect(error?.isTransient == true, "\(String(describing: error))")
            #expect(try await !target.contains(target.list, number.e164))
        }
    }

    @Test(
        "A 429 from the rate limit is a transient rate_limited error with the Retry-After delay",
        arguments: fixtures)
    func rateLimit(_ fixture: ProviderFixture) async throws {
        try await withSandboxTransport { server, transport in
            let target = try conformanceTarget(fixture, server: server, transport: transport)
            server.faults = FaultConfiguration(rateLimit: 1)
            // One request a second: of four sent back to back, at least one is refused.
            var errors: [ContactError] = []
            for number in target.numbers.prefix(4) {
                if let error = await failure(of: {
                    try await target.provider.add(
                        [Contact(phone: number)], to: target.list, context: target.context)
                }) {
                    errors.append(error)
                }
            }
            #expect(!errors.isEmpty, "no request was refused")
            for error in errors {
                #expect(error.code == .rateLimited, "\(error)")
                #expect(error.isTransient, "\(error)")
                #expect((error.retryAfter ?? .zero) >= .seconds(1), "\(error)")
            }
        }
    }
}
