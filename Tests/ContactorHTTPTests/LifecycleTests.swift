import AsyncHTTPClient
import Contactor
import ContactorHTTP
import ContactorTestServer
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// The transport in a service: wrapping an `HTTPClient` the service owns, and run as a
/// ServiceLifecycle `Service`.
@Suite struct TransportLifecycleTests {
    @Test func aWrappedClientSendsAndIsLeftOpenForItsOwner() async throws {
        try await TestHTTPServer.withServer(
            script: [.json(200, #"{"one":1}"#), .json(200, #"{"two":2}"#)]
        ) { server in
            let client = HTTPClient(
                eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                configuration: .init(redirectConfiguration: .disallow))
            do {
                let transport = AsyncHTTPClientTransport(client: client)
                let first = try await transport.send(
                    TestRequest(method: .get, url: server.url("/a")))
                #expect(first.status == 200 && first.text == #"{"one":1}"#)
                #expect(server.requests.first?.header("User-Agent") == ContactorVersion.userAgent)
                // Shutting the transport down leaves the owner's client working.
                try await transport.shutdown()
                let second = try await client.execute(
                    HTTPClientRequest(url: server.url("/b").absoluteString), timeout: .seconds(30))
                #expect(second.status.code == 200)
                #expect(server.requests.count == 2)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    @Test func inAServiceGroupTheTransportShutsDownWithTheGroup() async throws {
        try await TestHTTPServer.withServer(script: [.json(200, "{}")]) { server in
            let transport = AsyncHTTPClientTransport(configuration: testConfiguration())
            let response = try await transport.send(TestRequest(method: .get, url: server.url("/")))
            #expect(response.status == 200)
            var logger = Logger(label: "contactor.lifecycle-tests")
            logger.logLevel = .critical
            let group = ServiceGroup(
                configuration: .init(services: [.init(service: transport)], logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            // Its pool is closed: a request fails, and shutting down again does nothing.
            await #expect(throws: (any Error).self) {
                _ = try await transport.send(TestRequest(method: .get, url: server.url("/")))
            }
            try await transport.shutdown()
        }
    }
}
