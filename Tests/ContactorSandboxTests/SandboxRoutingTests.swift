import AsyncHTTPClient
import NIOHTTP1
import Testing

@testable import ContactorSandbox

/// What the router leaves to the sandbox: requests it has no route for still get the
/// emulator's own errors (and faults), the admin group's 404, or the unknown-prefix 404.
@Suite("Sandbox routing")
struct SandboxRoutingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let method: String
        let path: String
        let status: Int
        let body: JSON
        var testDescription: String { "\(method) \(path) → \(status)" }
    }

    static let unrouted: [Case] = [
        .init(
            method: "GET", path: "/avosms/v1/contact/add", status: 200,
            body: [
                "status": "error", "code": "ERR_100",
                "message": "Unrecognized API: GET /v1/contact/add (use POST)",
            ]),
        .init(
            method: "POST", path: "/avosms", status: 200,
            body: ["status": "error", "code": "ERR_100", "message": "Unrecognized API: /"]),
        .init(
            method: "POST", path: "/avosms/v1/contact", status: 200,
            body: [
                "status": "error", "code": "ERR_100", "message": "Unrecognized API: /v1/contact",
            ]),
        .init(
            method: "GET", path: "/octopush/v1/public/contact/create", status: 405,
            body: [
                "code": "method_not_allowed",
                "message": "/v1/public/contact/create takes POST, not GET",
            ]),
        .init(
            method: "PURGE", path: "/octopush/v1/public/contact/delete", status: 405,
            body: [
                "code": "method_not_allowed",
                "message": "/v1/public/contact/delete takes DELETE, not PURGE",
            ]),
        .init(
            method: "POST", path: "/octopush/v1/public/contacts", status: 404,
            body: ["code": "not_found", "message": "No such endpoint: /v1/public/contacts"]),
        .init(
            method: "DELETE", path: "/smsgatewayapi/v1/contact", status: 405,
            body: ["error": 405, "errorMsg": "/v1/contact takes POST or PATCH, not DELETE"]),
        .init(
            method: "POST", path: "/smsgatewayapi/v2/contact", status: 404,
            body: ["error": 404, "errorMsg": "No such endpoint: /v2/contact"]),
        .init(
            method: "GET", path: "/smspartner/v1/contact/add", status: 400,
            body: [
                "success": false, "code": 400, "message": "/v1/contact/add takes POST, not GET",
            ]),
        .init(
            method: "HEAD", path: "/smspartner/v1/contact/list", status: 400, body: .null),
        .init(
            method: "POST", path: "/_sandbox/state", status: 404,
            body: ["message": "Unknown admin endpoint POST /_sandbox/state"]),
        .init(
            method: "GET", path: "/_sandbox/octopush/lists", status: 404,
            body: ["message": "Unknown admin endpoint GET /_sandbox/octopush/lists"]),
        .init(
            method: "GET", path: "/_sandbox", status: 404,
            body: ["message": "Unknown admin endpoint GET /_sandbox/"]),
        .init(
            method: "DELETE", path: "/textmagic/v1", status: 404,
            body: [
                "message":
                    "Unknown path: the sandbox serves /avosms, /octopush, /smsgatewayapi, /smspartner and /_sandbox"
            ]),
    ]

    @Test(arguments: unrouted)
    func aRequestWithoutARouteGetsTheSandboxsOwnAnswer(_ testCase: Case) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.send(HTTPMethod(rawValue: testCase.method), testCase.path)
            #expect(reply.status == testCase.status)
            if testCase.body != .null {
                #expect(reply.json == testCase.body)
                #expect(reply.headers.first(name: "Content-Type") == "application/json")
            } else {
                #expect(reply.body.isEmpty)
            }
        }
    }

    @Test func faultsAndTheRequestLogCoverRequestsWithoutARoute() async throws {
        let configuration = SandboxConfiguration(
            faults: FaultConfiguration(failureRate: 1), recordsRequests: true)
        try await withSandbox(configuration) { sandbox in
            let reply = try await sandbox.send(.GET, "/octopush/v1/public/nothing-here")
            #expect(reply.status == 503)
            #expect(sandbox.server.requests.map(\.status) == [503])
            #expect(sandbox.server.requests.map(\.path) == ["/octopush/v1/public/nothing-here"])
            // Admin and unknown prefixes are never faulted nor recorded.
            #expect(try await sandbox.send(.GET, "/_sandbox/nope").status == 404)
            #expect(try await sandbox.send(.GET, "/nope").status == 404)
            #expect(sandbox.server.requests.count == 1)
        }
    }

    @Test func aPercentEncodedListNameReachesTheAdminList() async throws {
        try await withSandbox { sandbox in
            _ = try await sandbox.sendJSON(
                .POST, "/octopush/v1/public/contact-list/create",
                headers: SandboxServerTests.octopushAuth, json: ["list_name": "my list/2"])
            _ = try await SandboxServerTests.addOctopush(sandbox, "+33612345678", list: "my list/2")
            let list = try await sandbox.send(.GET, "/_sandbox/octopush/lists/my%20list%2F2")
            #expect(list.status == 200)
            #expect(list.json?["list"] == "my list/2")
            #expect(list.json?["contacts"]?[0]?["phone"] == "+33612345678")
        }
    }

    @Test func everyDocumentedEndpointHasARoute() {
        let routes = SandboxState.routes(of: "avosms").map { "\($0.method) \($0.path)" }
        #expect(routes.contains("POST v1/contact/update"))
        for provider in SandboxDemo.providers {
            #expect(!SandboxState.routes(of: provider).isEmpty)
        }
        #expect(
            SandboxState.routes(of: "smsgatewayapi").map { "\($0.method) \($0.path)" } == [
                "POST v1/contact", "PATCH v1/contact",
            ])
    }
}
