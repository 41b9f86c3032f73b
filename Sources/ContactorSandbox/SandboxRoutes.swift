import Foundation
import Hummingbird
import Logging

/// The sandbox's Hummingbird router: one route group per provider prefix, one for the
/// admin endpoints, and the answers for everything the router does not know.
///
/// Each provider group serves that emulator's documented endpoints (``SandboxState/routes(of:)``)
/// behind a middleware that injects faults and records requests. A request the router
/// cannot match (an unknown path, a documented path with another method) is answered as
/// the sandbox always did: under a provider prefix, by that provider's emulator (its own
/// "unknown API" or "method not allowed" error, faults included); under `/_sandbox`, by a
/// 404 naming the admin endpoint; anywhere else, by a 404 `{"message": ...}`.
enum SandboxRoutes {
    typealias Context = SandboxRequestContext

    /// The largest body the sandbox reads (SMS Partner's 500-contact bulk fits easily).
    static let maxBodySize = 8 * 1024 * 1024

    /// Builds the router of one server.
    static func router(core: SandboxCore) -> Router<Context> {
        let router = Router(context: Context.self)
        // Router-level middlewares wrap every route added after them and the router's own
        // not-found answer, so they come first.
        router.add(middleware: AccessLogMiddleware(logger: core.logger))
        var unrouted: [String: ProviderResponder] = [:]
        for provider in SandboxDemo.providers {
            unrouted[provider] = ProviderResponder(
                middleware: ProviderMiddleware(provider: provider, core: core),
                emulator: EmulatorResponder(provider: provider, core: core))
        }
        router.add(middleware: UnroutedMiddleware(providers: unrouted))

        for provider in SandboxDemo.providers {
            let group = router.group(RouterPath(provider))
                .add(middleware: ProviderMiddleware(provider: provider, core: core))
            let emulator = EmulatorResponder(provider: provider, core: core)
            for route in SandboxState.routes(of: provider) {
                group.on(
                    RouterPath(route.path), method: HTTPRequest.Method(route.method)!,
                    responder: emulator)
            }
        }
        addAdminRoutes(to: router.group("_sandbox"), core: core)
        return router
    }

    /// The path's segments, empty ones dropped, each percent-decoded.
    static func segments(_ path: String) -> [String] {
        path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
    }

    /// The Hummingbird response of an emulator's answer.
    static func response(_ answer: SandboxResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if name == "Content-Type" {
                fields[.contentType] = value
            } else if name == "Retry-After" {
                fields[.retryAfter] = value
            }
        }
        let status = HTTPResponse.Status(code: answer.status)
        guard let body = answer.body else { return Response(status: status, headers: fields) }
        return Response(
            status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    static let unknownPrefix = SandboxResponse.json(
        404,
        [
            "message": .string(
                "Unknown path: the sandbox serves /avosms, /octopush, /smsgatewayapi, "
                    + "/smspartner and /_sandbox")
        ])

    static func unknownAdminEndpoint(method: String, path: [String]) -> SandboxResponse {
        .json(
            404,
            [
                "message": .string(
                    "Unknown admin endpoint \(method) /_sandbox/\(path.joined(separator: "/"))")
            ])
    }
}

// MARK: - Middlewares and responders

/// Logs one `debug` line per answer: method, path (never the query string) and status.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = SandboxRequestContext
    let logger: Logger

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let response = try await next(request, context)
        // Path only: query strings can hold credentials (SMS Partner's apiKey).
        logger.debug("\(request.method.rawValue) \(request.uri.path) → \(response.status.code)")
        return response
    }
}

/// Answers the requests the router has no route for, as the sandbox answers them.
///
/// The router answers those by throwing `HTTPError(.notFound)` through the router-level
/// middlewares; no route of the sandbox throws an `HTTPError`, so that error means "no
/// route" and nothing else.
struct UnroutedMiddleware: RouterMiddleware {
    typealias Context = SandboxRequestContext
    /// Each provider's fault middleware and emulator, for its unrouted requests.
    let providers: [String: ProviderResponder]

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = SandboxRoutes.segments(request.uri.path)
            let prefix = segments.first ?? ""
            if let provider = providers[prefix] {
                return try await provider.respond(to: request, context: context)
            }
            if prefix == "_sandbox" {
                return SandboxRoutes.response(
                    SandboxRoutes.unknownAdminEndpoint(
                        method: request.method.rawValue, path: Array(segments.dropFirst())))
            }
            return SandboxRoutes.response(SandboxRoutes.unknownPrefix)
        }
    }
}

/// A provider's middleware and emulator in one responder, as its route group chains them.
struct ProviderResponder: HTTPResponder {
    typealias Context = SandboxRequestContext
    let middleware: ProviderMiddleware
    let emulator: EmulatorResponder

    func respond(to request: Request, context: Context) async throws -> Response {
        try await middleware.handle(request, context: context) { request, context in
            try await emulator.respond(to: request, context: context)
        }
    }
}

/// Injects the configured faults into one provider's requests and records them.
struct ProviderMiddleware: RouterMiddleware {
    typealias Context = SandboxRequestContext
    let provider: String
    let core: SandboxCore

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let receivedAt = ContinuousClock.now
        core.requestsInFlight.withLock { $0 += 1 }
        defer { core.requestsInFlight.withLock { $0 -= 1 } }
        let response: Response
        switch await injectFaults(context: context) {
        case .dropped:
            // The connection is already closing; nothing reaches the client.
            record(request, receivedAt: receivedAt, status: nil)
            throw SandboxServerError("connection dropped by fault injection")
        case .answer(let answer):
            response = SandboxRoutes.response(answer)
        case .proceed:
            response = try await next(request, context)
        }
        record(request, receivedAt: receivedAt, status: response.status.code)
        return response
    }

    private func record(_ request: Request, receivedAt: ContinuousClock.Instant, status: Int?) {
        core.recordRequest(
            provider: provider, method: request.method.rawValue, path: request.uri.path,
            receivedAt: receivedAt, status: status)
    }

    private enum Outcome {
        case proceed
        case answer(SandboxResponse)
        case dropped
    }

    /// Applies latency, rate limit, drop, failure and processing error, in that order.
    private func injectFaults(context: Context) async -> Outcome {
        let latency = core.faults.withLock { $0.configuration.latency }
        if latency > .zero { try? await Task.sleep(for: latency) }
        let decision = core.faults.withLock {
            $0.decide(provider: provider, now: core.now())
        }
        switch decision {
        case .proceed:
            return .proceed
        case .rateLimited(let seconds):
            var answer = SandboxResponse.json(
                429, ["message": .string("Too many requests: retry after \(seconds) s")])
            answer.headers.append(("Retry-After", String(seconds)))
            return .answer(answer)
        case .fail:
            return .answer(.json(503, ["message": "Service unavailable (injected fault)"]))
        case .processingError(let code):
            return .answer(SandboxState.avosmsProcessingError(code))
        case .drop:
            context.dropConnection()
            return .dropped
        }
    }
}

/// Reads a provider request and hands it to that provider's emulator.
struct EmulatorResponder: HTTPResponder {
    typealias Context = SandboxRequestContext
    let provider: String
    let core: SandboxCore

    func respond(to request: Request, context: Context) async throws -> Response {
        var buffer: ByteBuffer
        do {
            var request = request
            buffer = try await request.collectBody(upTo: SandboxRoutes.maxBodySize)
        } catch {
            return SandboxRoutes.response(
                .json(413, ["message": "The body is larger than 8 MiB"]))
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] = field.value
        }
        let emulated = SandboxRequest(
            method: request.method.rawValue,
            path: Array(SandboxRoutes.segments(request.uri.path).dropFirst()),
            query: FormDecoding.decode(request.uri.query ?? "") ?? [],
            headers: headers,
            body: buffer.readBytes(length: buffer.readableBytes) ?? []
        )
        return SandboxRoutes.response(
            await core.state.handle(provider: provider, request: emulated))
    }
}

// MARK: - Admin

extension SandboxRoutes {
    fileprivate static func addAdminRoutes(to admin: RouterGroup<Context>, core: SandboxCore) {
        admin.get("state") { _, _ in
            let lists = await core.state.lists()
            return response(
                .json(
                    200,
                    .object(
                        lists.map { provider in
                            (
                                provider.provider,
                                .object(
                                    provider.lists.map { list in
                                        (list.name, .array(list.contacts.map(\.json)))
                                    })
                            )
                        })))
        }
        admin.get("{provider}/lists/{list}") { _, context in
            let decode = { (name: String) -> String in
                let raw = context.parameters.get(name) ?? ""
                return raw.removingPercentEncoding ?? raw
            }
            let (provider, list) = (decode("provider"), decode("list"))
            guard let contacts = await core.state.contacts(provider: provider, list: list) else {
                return response(
                    .json(404, ["message": .string("No list '\(list)' at '\(provider)'")]))
            }
            return response(
                .json(
                    200,
                    [
                        "provider": .string(provider), "list": .string(list),
                        "contacts": .array(contacts.map(\.json)),
                    ]))
        }
        admin.post("reset") { _, _ in
            await core.state.reset()
            return response(.empty(204))
        }
        admin.get("faults") { _, _ in
            response(.json(200, faultsJSON(core.faults.withLock { $0.configuration })))
        }
        admin.put("faults") { request, _ in
            var request = request
            guard let buffer = try? await request.collectBody(upTo: 64 * 1024),
                let json = JSON.parse(Array(buffer.readableBytesView))
            else {
                return response(.json(400, ["message": "The body must be a JSON object"]))
            }
            switch faults(from: json) {
            case .success(let faults):
                core.faults.withLock { $0.set(faults) }
                return response(.json(200, faultsJSON(faults)))
            case .failure(let error):
                return response(.json(400, ["message": .string(error.message)]))
            }
        }
    }
}

// MARK: - Faults as JSON

extension SandboxRoutes {
    static func faultsJSON(_ faults: FaultConfiguration) -> JSON {
        let latency = faults.latency.components
        let milliseconds =
            Int(latency.seconds) * 1000 + Int(latency.attoseconds / 1_000_000_000_000_000)
        return [
            "latencyMilliseconds": .int(milliseconds), "failureRate": .double(faults.failureRate),
            "rateLimit": faults.rateLimit.map { .int($0) } ?? .null,
            "dropRate": .double(faults.dropRate),
            "avosmsProcessingErrorRate": .double(faults.avosmsProcessingErrorRate),
            "avosmsProcessingErrorCode": .int(faults.avosmsProcessingErrorCode),
            "seed": .int(Int(truncatingIfNeeded: faults.seed)),
        ]
    }

    /// Reads `{latencyMilliseconds, failureRate, rateLimit, dropRate,
    /// avosmsProcessingErrorRate, avosmsProcessingErrorCode, seed}`; absent fields are off
    /// (code 900, seed 1).
    static func faults(from json: JSON) -> Result<FaultConfiguration, FieldError> {
        guard let object = JSONObject(json) else {
            return .failure(FieldError("The body must be a JSON object"))
        }
        let allowed: Set<String> = [
            "latencyMilliseconds", "failureRate", "rateLimit", "dropRate",
            "avosmsProcessingErrorRate", "avosmsProcessingErrorCode", "seed",
        ]
        if let unknown = object.unknownKey(allowed: allowed) {
            return .failure(FieldError("Unknown field '\(unknown)'"))
        }
        func number(_ key: String) -> Double?? {
            switch object.members[key] {
            case nil, .null?: return .some(nil)
            case .int(let value)?: return Double(value)
            case .double(let value)?: return value
            default: return nil
            }
        }
        var faults = FaultConfiguration()
        guard let latency = number("latencyMilliseconds"), let failure = number("failureRate"),
            let limit = number("rateLimit"), let drop = number("dropRate"),
            let processing = number("avosmsProcessingErrorRate"),
            let code = number("avosmsProcessingErrorCode"), let seed = number("seed")
        else { return .failure(FieldError("Every field must be a number or null")) }
        if let latency {
            guard latency >= 0 else {
                return .failure(FieldError("latencyMilliseconds must be ≥ 0"))
            }
            faults.latency = .milliseconds(latency)
        }
        for (name, rate) in [
            ("failureRate", failure), ("dropRate", drop), ("avosmsProcessingErrorRate", processing),
        ] {
            if let rate, !(0...1).contains(rate) {
                return .failure(FieldError("\(name) must be between 0 and 1"))
            }
        }
        faults.failureRate = failure ?? 0
        faults.dropRate = drop ?? 0
        faults.avosmsProcessingErrorRate = processing ?? 0
        if let limit {
            guard limit >= 1, limit == limit.rounded() else {
                return .failure(FieldError("rateLimit must be a positive integer or null"))
            }
            faults.rateLimit = Int(limit)
        }
        if let code {
            guard FaultConfiguration.avosmsProcessingErrorCodes.contains(Int(exactly: code) ?? 0)
            else {
                return .failure(
                    FieldError("avosmsProcessingErrorCode must be an integer from 900 to 999"))
            }
            faults.avosmsProcessingErrorCode = Int(code)
        }
        if seed != nil {
            guard case .int(let value)? = object.members["seed"], value >= 0 else {
                return .failure(FieldError("seed must be a non-negative integer"))
            }
            faults.seed = UInt64(value)
        }
        return .success(faults)
    }
}
