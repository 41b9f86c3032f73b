import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import ServiceLifecycle
import Testing

@testable import ContactorSandbox

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `start()`/`stop()` and `run()` as a swift-service-lifecycle `Service`.
@Suite("Sandbox server lifecycle")
struct SandboxLifecycleTests {
    /// Whether the sandbox on 127.0.0.1:`port` answers an admin request.
    static func answers(port: Int) async -> Bool {
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/_sandbox/faults")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(30)),
            (try? await response.body.collect(upTo: 1 << 20)) != nil
        else { return false }
        return response.status == .ok
    }

    /// Whether anything accepts TCP connections on 127.0.0.1:`port`: a plain `connect`,
    /// refused at once when nothing listens (an HTTP client would retry a refused
    /// connection until its deadline).
    static func listens(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return connected == 0
    }

    /// Polls `condition` until it holds; fails after a generous timeout.
    static func eventually(
        _ what: Comment, _ condition: @Sendable () async -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting: \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func startsFromManyTasksAtOnceShareOneListeningSocket() async throws {
        for _ in 0..<5 {
            let server = SandboxServer()
            let ports = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await server.start()
                        return server.port
                    }
                }
                return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
            }
            #expect(ports.count == 1)
            let port = try #require(ports.first)
            #expect(await Self.answers(port: port))
            await server.stop()
            // Every start joined the one run: after one stop nothing listens any more.
            #expect(!Self.listens(port: port))
        }
    }

    @Test func startAgainAfterStopServesTheSameState() async throws {
        let server = SandboxServer()
        try await server.start()
        let sandbox = Sandbox(server: server)
        _ = try await SandboxServerTests.addOctopush(sandbox, "+33612345678")
        await server.stop()
        try await server.start()
        #expect(await Self.answers(port: server.port))
        #expect(await server.contacts(provider: "octopush", list: "demo").count == 1)
        await server.stop()
    }

    @Test func stopOnAServerThatNeverStartedDoesNothing() async {
        let server = SandboxServer()
        await server.stop()
        #expect(server.port == 0)
    }

    @Test func runInAServiceGroupServesUntilAGracefulShutdown() async throws {
        let server = SandboxServer()
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // start() returns once the run that the group began listens.
            try await server.start()
            let port = server.port
            #expect(port > 0)
            #expect(await Self.answers(port: port))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(!Self.listens(port: port))
        }
    }

    @Test func aGracefulShutdownAnswersTheRequestInFlight() async throws {
        let configuration = SandboxConfiguration(
            faults: FaultConfiguration(latency: .milliseconds(500)))
        let server = SandboxServer(configuration: configuration)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await server.start()
            let sandbox = Sandbox(server: server)
            async let reply = SandboxServerTests.addOctopush(sandbox, "+33612345678")
            try await Self.eventually("the request reaches the emulator") {
                server.requestsInFlight == 1
            }
            await group.triggerGracefulShutdown()
            #expect(try await reply.status == 201)
            try await tasks.waitForAll()
            #expect(await server.contacts(provider: "octopush", list: "demo").count == 1)
        }
    }

    @Test func runEndsWithoutAnErrorWhenItsTaskIsCancelled() async throws {
        let server = SandboxServer()
        let running = Task { try await server.run() }
        try await server.start()
        let port = server.port
        running.cancel()
        try await running.value
        #expect(!Self.listens(port: port))
    }

    @Test func stopEndsARun() async throws {
        let server = SandboxServer()
        let running = Task { try await server.run() }
        try await server.start()
        await server.stop()
        try await running.value
    }

    @Test func runOnAServerStartedBeforeServesThatRun() async throws {
        let server = SandboxServer()
        try await server.start()
        let port = server.port
        let running = Task { try await server.run() }
        #expect(await Self.answers(port: port))
        running.cancel()
        try await running.value
        #expect(!Self.listens(port: port))
    }

    @Test func runThrowsWhenThePortIsTaken() async throws {
        try await withSandbox { sandbox in
            let second = SandboxServer(
                configuration: SandboxConfiguration(port: sandbox.server.port))
            await #expect(throws: (any Error).self) { try await second.run() }
        }
    }
}
