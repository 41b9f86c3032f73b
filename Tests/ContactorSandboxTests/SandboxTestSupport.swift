import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import ContactorSandbox

/// An answer from the sandbox, read whole.
struct Reply {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    /// The body as JSON, `nil` when it is not JSON.
    var json: JSON? { JSON.parse(body) }
}

/// A started sandbox server and a client to talk to it.
struct Sandbox {
    let server: SandboxServer
    let demo = SandboxDemo.standard

    /// Sends one request to `path` (appended to the server's base URL).
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [],
        body: [UInt8]? = nil, client: HTTPClient = .shared
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: server.baseURL.absoluteString + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(
            status: Int(response.status.code), headers: response.headers,
            body: Array(buffer.readableBytesView))
    }

    /// Sends a JSON body with the given content type.
    func sendJSON(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], json: JSON,
        contentType: String = "application/json"
    ) async throws -> Reply {
        try await send(
            method, path, headers: [("Content-Type", contentType)] + headers, body: json.serialized)
    }

    /// Sends a form-encoded POST.
    func sendForm(_ path: String, _ fields: [(String, String)]) async throws -> Reply {
        try await send(
            .POST, path, headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array(formEncode(fields).utf8))
    }
}

/// Percent-encodes form fields (`+` becomes `%2B`, space `+`).
func formEncode(_ fields: [(String, String)]) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
    return fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
}

/// Runs `body` against a freshly started sandbox and stops it afterwards.
func withSandbox(
    _ configuration: SandboxConfiguration = SandboxConfiguration(),
    _ body: (Sandbox) async throws -> Void
) async throws {
    let server = SandboxServer(configuration: configuration)
    try await server.start()
    do {
        try await body(Sandbox(server: server))
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

extension JSON {
    /// The member `key` of an object.
    subscript(key: String) -> JSON? {
        objectMembers?.first { $0.0 == key }?.1
    }

    /// The element at `index` of an array.
    subscript(index: Int) -> JSON? {
        if case .array(let values) = self, values.indices.contains(index) { return values[index] }
        return nil
    }

    /// The elements of an array, empty for anything else.
    var elements: [JSON] {
        if case .array(let values) = self { return values }
        return []
    }

    /// The string value, `nil` for anything else.
    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer value, `nil` for anything else.
    var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }
}
