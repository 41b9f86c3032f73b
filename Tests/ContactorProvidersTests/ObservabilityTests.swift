import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import InMemoryTracing
import MetricsTestKit
import Testing

/// Metrics and traces of a run, observed by swift-metrics' and swift-distributed-tracing's
/// test backends given to the client (no process-wide bootstrap).
@Suite struct ObservabilityTests {
    static let ok = MockResponse.json(200, ["status": "success", "code": "OK"])

    @Test func aRunCountsItsContactsRequestsAndRetriesAndTracesEachRequestBelowTheRun()
        async throws
    {
        let metrics = TestMetrics()
        let tracer = InMemoryTracer()
        // The second contact's first attempt meets a 503.
        let transport = MockTransport.sequence([
            Self.ok, MockResponse(status: 503), Self.ok, Self.ok,
        ])
        let client = ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([AvosmsProvider()]),
                concurrency: 1,
                credentials: CredentialResolver(explicit: ["id": "me@example.com", "key": "k-77"]),
                observability: Observability(metrics: metrics, tracer: tracer),
                clock: ImmediateClock()))
        let outcomes = try await client.add(
            ["+33612345678", "+33612345679", "+33612345680"].map { ContactDraft(phone: $0) },
            provider: "avosms", list: "1001")
        #expect(outcomes.map(\.result.status) == [.added, .added, .added])

        let added = try metrics.expectCounter(
            "contactor_contacts_total",
            [("provider", "avosms"), ("operation", "add"), ("status", "added")])
        #expect(added.totalValue == 3)
        #expect(
            try metrics.expectCounter(
                "contactor_requests_total", [("provider", "avosms"), ("status", "200")]
            ).totalValue == 3)
        #expect(
            try metrics.expectCounter(
                "contactor_requests_total", [("provider", "avosms"), ("status", "503")]
            ).totalValue == 1)
        #expect(
            try metrics.expectCounter(
                "contactor_retries_total", [("provider", "avosms"), ("operation", "add")]
            ).totalValue == 1)
        #expect(
            try metrics.expectTimer(
                "contactor_batch_duration_seconds", [("provider", "avosms"), ("operation", "add")]
            ).values.count == 3)

        let spans = tracer.finishedSpans
        let run = try #require(spans.first { $0.operationName == "contactor.add" })
        let requests = spans.filter { $0.operationName == "HTTP POST" }
        #expect(requests.count == 4)
        #expect(requests.allSatisfy { $0.parentSpanID == run.spanID && $0.traceID == run.traceID })
        #expect(
            requests.allSatisfy {
                $0.attributes["contactor.provider"]?.toSpanAttribute() == "avosms"
            })
        #expect(
            requests.allSatisfy { "\($0.attributes["url.path"] ?? "")".contains("k-77") == false })
    }

    @Test func theServicesSpanIsTheRunsParent() async throws {
        let tracer = InMemoryTracer()
        let client = ContactorClient(
            configuration: .init(
                transport: MockTransport { _ in Self.ok },
                providers: ProviderRegistry([AvosmsProvider()]),
                credentials: CredentialResolver(explicit: ["id": "me@example.com", "key": "k-77"]),
                observability: Observability(tracer: tracer), clock: ImmediateClock()))
        try await tracer.withSpan("handle request") { _ in
            _ = try await client.add(
                [ContactDraft(phone: "+33612345678")], provider: "avosms", list: "1001")
        }
        let spans = tracer.finishedSpans
        let service = try #require(spans.first { $0.operationName == "handle request" })
        let run = try #require(spans.first { $0.operationName == "contactor.add" })
        #expect(run.parentSpanID == service.spanID)
    }
}
