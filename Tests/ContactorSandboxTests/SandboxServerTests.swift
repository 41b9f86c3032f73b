import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Testing

@testable import ContactorSandbox

@Suite("Sandbox server, admin endpoints and fault injection")
struct SandboxServerTests {
    static let octopushAuth = [
        ("api-login", SandboxDemo.standard.octopush.apiLogin),
        ("api-key", SandboxDemo.standard.octopush.apiKey),
    ]

    static func addOctopush(
        _ sandbox: Sandbox, _ phone: String, list: String = "demo"
    ) async throws -> Reply {
        try await sandbox.sendJSON(
            .POST, "/octopush/v1/public/contact/create", headers: octopushAuth,
            json: ["contacts": [["phone_number": .string(phone)]], "list_name": .string(list)])
    }

    @Test func startBindsAFreePortOn127001AndURLsCarryTheProviderPrefix() async throws {
        try await withSandbox { sandbox in
            let server = sandbox.server
            #expect(server.port > 0)
            #expect(server.baseURL.absoluteString == "http://127.0.0.1:\(server.port)")
            #expect(
                server.url(for: "octopush").absoluteString
                    == "http://127.0.0.1:\(server.port)/octopush")
            let reply = try await sandbox.send(.GET, "/_sandbox/state")
            #expect(reply.status == 200)
        }
    }

    @Test func startFailsWhenThePortIsTaken() async throws {
        try await withSandbox { sandbox in
            let second = SandboxServer(
                configuration: SandboxConfiguration(port: sandbox.server.port))
            await #expect(throws: (any Error).self) { try await second.start() }
        }
    }

    @Test func anUnknownPrefixIs404() async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.send(.GET, "/textmagic/v1/contacts")
            #expect(reply.status == 404)
        }
    }

    @Test func twoServersDoNotShareState() async throws {
        try await withSandbox { first in
            try await withSandbox { second in
                #expect(first.server.port != second.server.port)
                _ = try await Self.addOctopush(first, "+33612345678")
                #expect(await first.server.contacts(provider: "octopush", list: "demo").count == 1)
                #expect(await second.server.contacts(provider: "octopush", list: "demo").isEmpty)
                let state = try await second.send(.GET, "/_sandbox/state")
                #expect(state.json?["octopush"]?["demo"] == [])
            }
        }
    }

    @Test func stateListsEveryProvidersListsAndContacts() async throws {
        try await withSandbox { sandbox in
            _ = try await Self.addOctopush(sandbox, "+33612345678", list: "vip")
            let reply = try await sandbox.send(.GET, "/_sandbox/state")
            let state = try #require(reply.json)
            #expect(
                state.objectMembers?.map(\.0) == [
                    "avosms", "octopush", "smsgatewayapi", "smspartner",
                ])
            #expect(state["avosms"]?.objectMembers?.map(\.0) == ["1001", "1002", "1003"])
            #expect(state["smsgatewayapi"]?.objectMembers?.map(\.0) == ["100", "200"])
            #expect(state["smspartner"]?.objectMembers?.map(\.0) == ["5001", "5002"])
            #expect(state["octopush"]?["vip"]?[0]?["phone"] == "+33612345678")
            let list = try await sandbox.send(.GET, "/_sandbox/octopush/lists/vip")
            #expect(list.json?["contacts"]?.elements.count == 1)
            let missing = try await sandbox.send(.GET, "/_sandbox/octopush/lists/nope")
            #expect(missing.status == 404)
        }
    }

    @Test func resetReturnsToTheDemoData() async throws {
        try await withSandbox { sandbox in
            _ = try await Self.addOctopush(sandbox, "+33612345678")
            _ = try await sandbox.sendJSON(
                .POST, "/octopush/v1/public/contact-list/create", headers: Self.octopushAuth,
                json: ["list_name": "extra"])
            let reply = try await sandbox.send(.POST, "/_sandbox/reset")
            #expect(reply.status == 204)
            #expect(await sandbox.server.contacts(provider: "octopush", list: "demo").isEmpty)
            #expect(await !sandbox.server.hasList(provider: "octopush", list: "extra"))

            _ = try await Self.addOctopush(sandbox, "+33612345678")
            await sandbox.server.reset()
            #expect(await sandbox.server.contacts(provider: "octopush", list: "demo").isEmpty)
        }
    }

    @Test func failureRateOneAnswers503() async throws {
        try await withSandbox(SandboxConfiguration(faults: FaultConfiguration(failureRate: 1))) {
            sandbox in
            let reply = try await Self.addOctopush(sandbox, "+33612345678")
            #expect(reply.status == 503)
            #expect(await sandbox.server.contacts(provider: "octopush", list: "demo").isEmpty)
            // Admin endpoints are never faulted.
            #expect(try await sandbox.send(.GET, "/_sandbox/state").status == 200)
        }
    }

    @Test func aSeededFailureRateGivesTheSameSequenceOnEveryServer() async throws {
        let faults = FaultConfiguration(failureRate: 0.5, seed: 7)
        var sequences: [[Int]] = []
        for _ in 0..<2 {
            try await withSandbox(SandboxConfiguration(faults: faults)) { sandbox in
                var statuses: [Int] = []
                for index in 0..<16 {
                    statuses.append(
                        try await Self.addOctopush(sandbox, "+336123456\(10 + index)").status)
                }
                sequences.append(statuses)
            }
        }
        #expect(sequences[0] == sequences[1])
        #expect(Set(sequences[0]) == [201, 503])
    }

    @Test func overTheRateLimitIs429WithRetryAfterPerProvider() async throws {
        // Time stands still for the fault's window: three requests "within one second"
        // however long the machine takes to send them.
        let frozen = ContinuousClock.now
        let configuration = SandboxConfiguration(
            faults: FaultConfiguration(rateLimit: 2), now: { frozen })
        try await withSandbox(configuration) { sandbox in
            #expect(try await Self.addOctopush(sandbox, "+33612345601").status == 201)
            #expect(try await Self.addOctopush(sandbox, "+33612345602").status == 201)
            let limited = try await Self.addOctopush(sandbox, "+33612345603")
            #expect(limited.status == 429)
            #expect(limited.headers.first(name: "Retry-After") == "1")
            // Another provider has its own window.
            let other = try await sandbox.send(
                .GET, "/smspartner/v1/contact/list?apiKey=smspartner-demo-key&groupId=5001")
            #expect(other.status == 200)
        }
    }

    @Test func latencyDelaysEveryProviderAnswer() async throws {
        try await withSandbox(
            SandboxConfiguration(faults: FaultConfiguration(latency: .milliseconds(300)))
        ) { sandbox in
            let clock = ContinuousClock()
            let start = clock.now
            let reply = try await Self.addOctopush(sandbox, "+33612345678")
            #expect(reply.status == 201)
            #expect(clock.now - start >= .milliseconds(300))
        }
    }

    @Test func aDroppedConnectionIsAConnectionErrorForTheClient() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let configuration = SandboxConfiguration(faults: FaultConfiguration(dropRate: 1))
        try await withSandbox(configuration) { sandbox in
            await #expect(throws: HTTPClientError.self) {
                _ = try await sandbox.send(
                    .POST, "/octopush/v1/public/contact/create",
                    headers: Self.octopushAuth + [("Content-Type", "application/json")],
                    body: Array(#"{"contacts":[{"phone_number":"+33612345678"}]}"#.utf8),
                    client: client)
            }
            #expect(await sandbox.server.contacts(provider: "octopush", list: "demo").isEmpty)
            try await client.shutdown()
        }
    }

    @Test func theRequestLogRecordsProviderRequestsWithTheirAnswerOnlyWhenAskedTo() async throws {
        try await withSandbox { sandbox in
            _ = try await Self.addOctopush(sandbox, "+33612345678")
            #expect(sandbox.server.requests.isEmpty)
        }
        let configuration = SandboxConfiguration(
            faults: FaultConfiguration(failureRate: 1), recordsRequests: true)
        try await withSandbox(configuration) { sandbox in
            let before = ContinuousClock.now
            #expect(try await Self.addOctopush(sandbox, "+33612345678").status == 503)
            sandbox.server.faults = .none
            #expect(try await Self.addOctopush(sandbox, "+33612345679").status == 201)
            _ = try await sandbox.sendJSON(.GET, "/_sandbox/faults", json: [:])
            let requests = sandbox.server.requests
            #expect(requests.map(\.status) == [503, 201])
            #expect(requests.allSatisfy { $0.provider == "octopush" && $0.method == "POST" })
            #expect(requests.allSatisfy { $0.path == "/octopush/v1/public/contact/create" })
            #expect(
                requests.allSatisfy {
                    $0.receivedAt >= before && $0.answeredAt >= $0.receivedAt
                })
            sandbox.server.clearRequests()
            #expect(sandbox.server.requests.isEmpty)
        }
    }

    @Test func theRequestLogMarksADroppedConnectionWithoutAStatus() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let configuration = SandboxConfiguration(
            faults: FaultConfiguration(dropRate: 1), recordsRequests: true)
        try await withSandbox(configuration) { sandbox in
            _ = try? await sandbox.send(
                .POST, "/octopush/v1/public/contact/create",
                headers: Self.octopushAuth + [("Content-Type", "application/json")],
                body: Array(#"{"contacts":[{"phone_number":"+33612345678"}]}"#.utf8),
                client: client)
            #expect(sandbox.server.requests.count == 1)
            #expect(sandbox.server.requests.first?.status == nil)
            try await client.shutdown()
        }
    }

    @Test func faultsCanBeSetAtRunTimeThroughAdminAndSwift() async throws {
        try await withSandbox { sandbox in
            let put = try await sandbox.sendJSON(
                .PUT, "/_sandbox/faults", json: ["failureRate": 1, "seed": 3])
            #expect(put.status == 200)
            #expect(put.json?["failureRate"] == .double(1))
            #expect(sandbox.server.faults.failureRate == 1)
            #expect(sandbox.server.faults.seed == 3)
            #expect(try await Self.addOctopush(sandbox, "+33612345678").status == 503)

            sandbox.server.faults = .none
            #expect(try await Self.addOctopush(sandbox, "+33612345678").status == 201)

            let bad = try await sandbox.sendJSON(
                .PUT, "/_sandbox/faults", json: ["failure_rate": 1])
            #expect(bad.status == 400)
            let outOfRange = try await sandbox.sendJSON(
                .PUT, "/_sandbox/faults", json: ["dropRate": 2])
            #expect(outOfRange.status == 400)
            let get = try await sandbox.send(.GET, "/_sandbox/faults")
            #expect(get.json?["failureRate"] == .double(0))
        }
    }

    @Test func theBannerNamesEveryProviderCredentialAndList() {
        let banner = SandboxDemo.standard.banner(baseURL: "http://127.0.0.1:8080")
        for provider in SandboxDemo.providers {
            #expect(banner.contains("http://127.0.0.1:8080/\(provider)"))
            for value in SandboxDemo.standard.credentials(for: provider).values {
                #expect(banner.contains(value))
            }
            for list in SandboxDemo.standard.lists(for: provider) { #expect(banner.contains(list)) }
        }
    }
}
