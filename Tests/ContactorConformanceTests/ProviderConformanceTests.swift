import Contactor
import ContactorTesting
import Testing

/// Every ``ProviderConformance`` check, for every built-in adapter, against its loopback
/// emulator over real HTTP (a fresh sandbox per check, so checks cannot see each other).
@Suite("Provider conformance against the sandbox")
struct ProviderConformanceTests {
    @Test(
        "Each built-in adapter passes each conformance check against its emulator",
        arguments: ProviderFixture.all, ProviderConformance.Check.allCases)
    func conformance(
        _ fixture: ProviderFixture, _ check: ProviderConformance.Check
    )
        async throws
    {
        let report = try await withSandboxTransport { server, transport in
            let target = try conformanceTarget(fixture, server: server, transport: transport)
            return try await ProviderConformance.report(check, on: target)
        }
        #expect(report.passed, "\(report)")
        #expect(report.check == check)
        #expect(report.provider == fixture.name)
        // Every check reports what it sent and received, unless it did not apply.
        #expect(!report.exchanges.isEmpty || report.notApplicable != nil, "\(report)")
    }
}
