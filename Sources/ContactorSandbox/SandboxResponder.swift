import Foundation
import Hummingbird
import Logging

/// Routes each request to an emulator or the admin endpoints, injecting faults on the way.
struct SandboxResponder: HTTPResponder {
    typealias Context = SandboxRequestContext

    /// The largest body the sandbox reads (SMS Partner's 500-contact bulk fits easily).
    static let maxBodySize = 8 * 1024 * 1024

    let core: SandboxCore

    func respond(to request: Request, context: SandboxRequestContext) async throws -> Response {
        let segments = request.uri.path.split(separator: "/").map {
            String($0).removingPercentEncoding ?? String($0)
        }
        let provider = segments.first ?? ""
        let answer: SandboxResponse
        var arrival: ContinuousClock.Instant?
        if provider == "_sandbox" {
            answer = await admin(Array(segments.dropFirst()), request: request)
        } else if SandboxDemo.providers.contains(provider) {
            let receivedAt = ContinuousClock.now
            guard let faulted = await injectFaults(provider: provider, context: context) else {
                // Dropped: the connection is already closing; nothing reaches the client.
                core.recordRequest(
                    provider: provider, method: request.method.rawValue, path: request.uri.path,
                    receivedAt: receivedAt, status: nil)
                throw SandboxServerError("connection dropped by fault injection")
            }
            arrival = receivedAt
            if let faulted {
                answer = faulted
            } else {
                var buffer: ByteBuffer
                do {
                    var request = request
                    buffer = try await request.collectBody(upTo: Self.maxBodySize)
                } catch {
                    core.recordRequest(
                        provider: provider, method: request.method.rawValue,
                        path: request.uri.path, receivedAt: receivedAt, status: 413)
                    return Self.response(.json(413, ["message": "The body is larger than 8 MiB"]))
                }
                let emulated = SandboxRequest(
                    method: request.method.rawValue,
                    path: Array(segments.dropFirst()),
                    query: FormDecoding.decode(request.uri.query ?? "") ?? [],
                    headers: Self.headers(of: request),
                    body: buffer.readBytes(length: buffer.readableBytes) ?? []
                )
                answer = await core.state.handle(provider: provider, request: emulated)
            }
        } else {
            answer = .json(
                404,
                [
                    "message": .string(
                        "Unknown path: the sandbox serves /avosms, /octopush, /smsgatewayapi, "
                            + "/smspartner and /_sandbox")
                ])
        }
        if let arrival {
            core.recordRequest(
                provider: provider, method: request.method.rawValue, path: request.uri.path,
                receivedAt: arrival, status: answer.status)
        }
        // Path only: query strings can hold credentials (SMS Partner's apiKey).
        core.logger.debug(
            "\(request.method.rawValue) \(request.uri.path) → \(answer.status)")
        return Self.response(answer)
    }

    /// Applies latency, rate limit, drop and failure; returns `.some(nil)` to go on,
    /// `.some(answer)` to answer with a fault, `nil` when the connection was dropped.
    private func injectFaults(
        provider: String, context: SandboxRequestContext
    ) async -> SandboxResponse?? {
        let latency = core.faults.withLock { $0.configuration.latency }
        if latency > .zero { try? await Task.sleep(for: latency) }
        let decision = core.faults.withLock {
            $0.decide(provider: provider, now: ContinuousClock.now)
        }
        switch decision {
        case .proceed:
            return .some(nil)
        case .rateLimited(let seconds):
            var answer = SandboxResponse.json(
                429, ["message": .string("Too many requests: retry after \(seconds) s")])
            answer.headers.append(("Retry-After", String(seconds)))
            return answer
        case .fail:
            return SandboxResponse.json(503, ["message": "Service unavailable (injected fault)"])
        case .drop:
            context.dropConnection()
            return nil
        }
    }

    private static func headers(of request: Request) -> [String: String] {
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] = field.value
        }
        return headers
    }

    private static func response(_ answer: SandboxResponse) -> Response {
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

    // MARK: - Admin

    private func admin(_ path: [String], request: Request) async -> SandboxResponse {
        let method = request.method.rawValue
        switch (method, path.count, path.first) {
        case ("GET", 1, "state"):
            let lists = await core.state.lists()
            return .json(
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
                    }))
        case ("GET", 3, let provider?) where path[1] == "lists":
            guard let contacts = await core.state.contacts(provider: provider, list: path[2]) else {
                return .json(404, ["message": .string("No list '\(path[2])' at '\(provider)'")])
            }
            return .json(
                200,
                [
                    "provider": .string(provider), "list": .string(path[2]),
                    "contacts": .array(contacts.map(\.json)),
                ])
        case ("POST", 1, "reset"):
            await core.state.reset()
            return .empty(204)
        case ("GET", 1, "faults"):
            return .json(200, Self.faultsJSON(core.faults.withLock { $0.configuration }))
        case ("PUT", 1, "faults"):
            var request = request
            guard let buffer = try? await request.collectBody(upTo: 64 * 1024),
                let json = JSON.parse(Array(buffer.readableBytesView))
            else {
                return .json(400, ["message": "The body must be a JSON object"])
            }
            switch Self.faults(from: json) {
            case .success(let faults):
                core.faults.withLock { $0.set(faults) }
                return .json(200, Self.faultsJSON(faults))
            case .failure(let error):
                return .json(400, ["message": .string(error.message)])
            }
        default:
            return .json(
                404,
                [
                    "message": .string(
                        "Unknown admin endpoint \(method) /_sandbox/\(path.joined(separator: "/"))")
                ])
        }
    }

    static func faultsJSON(_ faults: FaultConfiguration) -> JSON {
        let latency = faults.latency.components
        let milliseconds =
            Int(latency.seconds) * 1000 + Int(latency.attoseconds / 1_000_000_000_000_000)
        return [
            "latencyMilliseconds": .int(milliseconds), "failureRate": .double(faults.failureRate),
            "rateLimit": faults.rateLimit.map { .int($0) } ?? .null,
            "dropRate": .double(faults.dropRate),
            "seed": .int(Int(truncatingIfNeeded: faults.seed)),
        ]
    }

    /// Reads `{latencyMilliseconds, failureRate, rateLimit, dropRate, seed}`; absent
    /// fields are off (seed 1).
    static func faults(from json: JSON) -> Result<FaultConfiguration, FieldError> {
        guard let object = JSONObject(json) else {
            return .failure(FieldError("The body must be a JSON object"))
        }
        let allowed: Set<String> = [
            "latencyMilliseconds", "failureRate", "rateLimit", "dropRate", "seed",
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
            let seed = number("seed")
        else { return .failure(FieldError("Every field must be a number or null")) }
        if let latency {
            guard latency >= 0 else {
                return .failure(FieldError("latencyMilliseconds must be ≥ 0"))
            }
            faults.latency = .milliseconds(latency)
        }
        for (name, rate) in [("failureRate", failure), ("dropRate", drop)] {
            if let rate, !(0...1).contains(rate) {
                return .failure(FieldError("\(name) must be between 0 and 1"))
            }
        }
        faults.failureRate = failure ?? 0
        faults.dropRate = drop ?? 0
        if let limit {
            guard limit >= 1, limit == limit.rounded() else {
                return .failure(FieldError("rateLimit must be a positive integer or null"))
            }
            faults.rateLimit = Int(limit)
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
