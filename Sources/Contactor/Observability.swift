import CoreMetrics
import Foundation
import Instrumentation
import ServiceContextModule
import Synchronization
import Tracing

/// Where a client's metrics and traces go: swift-metrics and swift-distributed-tracing,
/// no-ops unless a backend is bootstrapped (or given here).
///
/// Metrics (labels as Prometheus names them; dimensions in brackets):
///
/// | metric | kind | dimensions | what |
/// |---|---|---|---|
/// | `contactor_contacts_total` | counter | provider, operation, status | each outcome of a run |
/// | `contactor_requests_total` | counter | provider, status | each request answered (`status` the HTTP status, or `error`) |
/// | `contactor_retries_total` | counter | provider, operation | each batch sent again |
/// | `contactor_rate_limit_wait_seconds` | timer | provider | the time a request waited for its token |
/// | `contactor_batch_duration_seconds` | timer | provider, operation | a batch's delivery, retries included |
///
/// Traces: a span per run (`contactor.import`, `contactor.sync`, ...) with the service's
/// current context as its parent, and a client span per request (`HTTP POST`) below it.
public struct Observability: Sendable {
    /// The metrics backend; the process's (`MetricsSystem.factory`) when `nil`.
    public var metrics: (any MetricsFactory)?
    /// The tracer; the process's (`InstrumentationSystem.tracer`) when `nil`.
    public var tracer: (any Tracer)?

    /// Creates a configuration; both default to the process's bootstrapped backends.
    public init(metrics: (any MetricsFactory)? = nil, tracer: (any Tracer)? = nil) {
        self.metrics = metrics
        self.tracer = tracer
    }
}

/// The metric objects and the tracer of one client, made once per set of dimensions.
final class Instruments: Sendable {
    private let factory: (any MetricsFactory)?
    private let explicitTracer: (any Tracer)?
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])

    init(_ observability: Observability) {
        factory = observability.metrics
        explicitTracer = observability.tracer
    }

    var tracer: any Tracer { explicitTracer ?? InstrumentationSystem.tracer }

    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter =
                factory.map { Counter(label: label, dimensions: dimensions, factory: $0) }
                ?? Counter(label: label, dimensions: dimensions)
            counters[key] = counter
            return counter
        }
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return timers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer =
                factory.map { CoreMetrics.Timer(label: label, dimensions: dimensions, factory: $0) }
                ?? CoreMetrics.Timer(label: label, dimensions: dimensions)
            timers[key] = timer
            return timer
        }
    }

    /// Counts a chunk of outcomes, one increment per status.
    func count(_ outcomes: [RecordOutcome], provider: String, operation: ContactOperation) {
        var byStatus: [ContactResult.Status: Int] = [:]
        for outcome in outcomes { byStatus[outcome.result.status, default: 0] += 1 }
        for (status, count) in byStatus {
            counter(
                "contactor_contacts_total",
                [
                    ("provider", provider), ("operation", operation.rawValue),
                    ("status", status.rawValue),
                ]
            ).increment(by: count)
        }
    }

    func recordRetry(provider: String, operation: ContactOperation) {
        counter(
            "contactor_retries_total", [("provider", provider), ("operation", operation.rawValue)]
        )
        .increment()
    }

    func recordBatch(_ duration: Duration, provider: String, operation: ContactOperation) {
        timer(
            "contactor_batch_duration_seconds",
            [("provider", provider), ("operation", operation.rawValue)]
        ).recordNanoseconds(duration.nanoseconds)
    }

    func recordRateLimitWait(_ duration: Duration, provider: String) {
        timer("contactor_rate_limit_wait_seconds", [("provider", provider)])
            .recordNanoseconds(duration.nanoseconds)
    }

    func recordRequest(provider: String, status: String) {
        counter("contactor_requests_total", [("provider", provider), ("status", status)])
            .increment()
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
