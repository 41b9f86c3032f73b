// A service that embeds Contactor the way swift-server services run their parts: a
// ServiceGroup with the transport as a Service (wrapping an HTTPClient the service owns),
// Prometheus metrics through swift-metrics, traces through swift-distributed-tracing,
// and per-call credentials and loggers for each tenant. docs/library.md shows this file; a test keeps the two identical and runs it.
import AsyncHTTPClient
import Contactor
import ContactorHTTP
import ContactorProviders
import ContactorSandbox
import Foundation
import InMemoryTracing
import Logging
import Prometheus
import ServiceLifecycle
import Tracing

/// One customer of the service: its own account at the provider and its own list.
struct Tenant: Sendable {
    var name: String
    var credentials: [String: String]
    var list: String
    var phones: [String]
}

/// The job: pushes every tenant's contacts, each with its own credentials and logger,
/// through one client; then lets the group shut down.
struct TenantSync: Service {
    let client: ContactorClient
    let tenants: [Tenant]
    let endpoint: URL
    let tracer: any Tracer

    func run() async throws {
        for tenant in tenants {
            var logger = Logger(label: "tenant-sync")
            logger[metadataKey: "tenant"] = "\(tenant.name)"
            // The service's own span: Contactor's run span becomes its child.
            try await tracer.withSpan("sync \(tenant.name)") { _ in
                let outcomes = try await client.add(
                    tenant.phones.map { ContactDraft(phone: $0) }, provider: "octopush",
                    list: tenant.list,
                    options: RunOptions(
                        region: "FR", endpoint: endpoint, credentials: tenant.credentials,
                        logger: logger))
                let added = outcomes.filter { $0.result.status == .added }.count
                print("\(tenant.name): \(added) of \(outcomes.count) added")
            }
        }
    }
}

@main
struct ServiceExample {
    static func main() async throws {
        var logger = Logger(label: "contactor-service-example")
        logger.logLevel = .warning

        // The provider emulators, so this runs without an account.
        let sandbox = SandboxServer()
        try await sandbox.start()

        // Metrics: a Prometheus registry the service exposes (here, printed at the end).
        // `MetricsSystem.bootstrap(factory)` instead makes it every library's backend.
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        // Traces: an in-memory tracer here, to print them; swift-otel's in production
        // (`InstrumentationSystem.bootstrap` makes it every library's tracer).
        let tracer = InMemoryTracer()

        // The service's own HTTPClient (Vapor's `app.http.client.shared` is one too),
        // wrapped rather than duplicated: Contactor opens no second pool.
        let http = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(redirectConfiguration: .disallow))
        let transport = AsyncHTTPClientTransport(client: http)

        // One client for every tenant: no credentials of its own (each call brings its
        // tenant's), and nothing read from the process environment.
        let client = ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry(BuiltInProviders.all),
                logger: logger, observability: Observability(metrics: factory, tracer: tracer)))

        let demo = SandboxDemo.standard.credentials(for: "octopush")
        let job = TenantSync(
            client: client,
            tenants: [
                Tenant(
                    name: "acme", credentials: demo, list: "demo",
                    phones: ["06 12 34 56 78", "07 81 23 45 67"]),
                Tenant(name: "globex", credentials: demo, list: "vip", phones: ["06 98 76 54 32"]),
            ],
            endpoint: sandbox.url(for: "octopush"), tracer: tracer)

        // The transport shuts down with the group; the job ending shuts the group down.
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: transport),
                    .init(service: job, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()

        try await http.shutdown()
        await sandbox.stop()

        // What a Prometheus scrape of the service would read of Contactor.
        for line in registry.emitToString().split(separator: "\n")
        where line.hasPrefix("contactor_contacts_total")
            || line.hasPrefix("contactor_requests_total")
        {
            print(line)
        }

        // Each request's span, below Contactor's run span, below the service's own.
        let spans = tracer.finishedSpans
        for span in spans where span.operationName.hasPrefix("HTTP ") {
            var chain = [span.operationName]
            var parent = span.parentSpanID
            while let id = parent, let next = spans.first(where: { $0.spanID == id }) {
                chain.append(next.operationName)
                parent = next.parentSpanID
            }
            print("trace: " + chain.joined(separator: " < "))
        }
    }
}
