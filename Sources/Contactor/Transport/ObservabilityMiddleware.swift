import Foundation
import HTTPTypes
import Tracing

/// The client's own innermost middleware: a client span per request (`HTTP POST`, child of
/// the run's span) and `contactor_requests_total`, through the client's ``Observability``.
/// Both are no-ops unless a metrics or tracing backend is bootstrapped.
struct ObservabilityMiddleware: ClientMiddleware {
    func intercept(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        next: @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
    ) async throws -> (HTTPResponse, Data) {
        guard let instruments = context.instruments else {
            return try await next(request, body, context)
        }
        let span = instruments.tracer.startSpan(
            "HTTP \(request.method.rawValue)", context: context.serviceContext, ofKind: .client)
        span.attributes["http.request.method"] = request.method.rawValue
        span.attributes["url.path"] = context.redactor.redact(
            String((request.path ?? "/").split(separator: "?", maxSplits: 1).first ?? "/"))
        span.attributes["contactor.provider"] = context.provider
        span.attributes["contactor.attempt"] = context.attempt
        do {
            let answer = try await next(request, body, context)
            span.attributes["http.response.status_code"] = answer.0.status.code
            if answer.0.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            instruments.recordRequest(
                provider: context.provider, status: String(answer.0.status.code))
            span.end()
            return answer
        } catch {
            span.setStatus(SpanStatus(code: .error))
            if let error = error as? ContactError {
                span.attributes["error.type"] = error.code.rawValue
            }
            instruments.recordRequest(provider: context.provider, status: "error")
            span.end()
            throw error
        }
    }
}
