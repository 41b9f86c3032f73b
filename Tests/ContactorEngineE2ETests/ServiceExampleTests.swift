import ContactorTesting
import Foundation
import Testing

/// The service example of docs/library.md runs: its ServiceGroup starts, syncs both
/// tenants over real HTTP to the sandbox, shuts down by itself, its Prometheus registry
/// holds Contactor's counters and its tracer the spans, each below the service's own.
@Suite struct ServiceExampleTests {
    @Test func theServiceExampleRunsAndExposesContactorsMetrics() async throws {
        var process = try CommandLineProcess.contactor()
        process.executable = process.executable.deletingLastPathComponent()
            .appendingPathComponent("contactor-service-example")
        let result = try await process.run([], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutLines.contains("acme: 2 of 2 added"))
        #expect(result.stdoutLines.contains("globex: 1 of 1 added"))
        #expect(
            result.stdoutLines.contains(
                #"contactor_contacts_total{provider="octopush",operation="add",status="added"} 3"#),
            "\(result.stdout)")
        // One request per tenant: Octopush takes a batch of contacts in one call.
        #expect(
            result.stdoutLines.contains(
                #"contactor_requests_total{provider="octopush",status="201"} 2"#),
            "\(result.stdout)")
        // Traces: each request's span below Contactor's run span, below the service's own.
        #expect(result.stdoutLines.contains("trace: HTTP POST < contactor.add < sync acme"))
        #expect(result.stdoutLines.contains("trace: HTTP POST < contactor.add < sync globex"))
    }
}
