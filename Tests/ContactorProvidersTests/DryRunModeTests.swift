import Contactor
import ContactorProviders
import ContactorTesting
import Foundation
import HTTPTypes
import Synchronization
import Testing

/// A dry run is a mode of the one pipeline: every contact is accounted for, the requests
/// come out in input order with the batch that opens them, secrets masked, nothing sent.
@Suite struct DryRunModeTests {
    static let credentials = ["api_login": "me@example.com", "api_key": "octo-KEY-dry-77"]

    static func phones(_ count: Int) -> [String] {
        (0..<count).map { "+3361" + String(format: "%07d", $0) }
    }

    @Test func everyContactIsAccountedForAndEachBatchCarriesItsRequestInInputOrder() async throws {
        let transport = MockTransport.unreachable
        let client = ClientSupport.client(
            OctopushProvider(), transport, credentials: Self.credentials)
        let drafts = Self.phones(450).map { ContactDraft(phone: $0) } + [ContactDraft(phone: "x")]
        let outcomes = try await client.add(
            drafts, provider: "octopush", list: "demo", options: RunOptions(mode: .dryRun))
        #expect(outcomes.count == 451)
        #expect(transport.requests.isEmpty)
        let planned = outcomes.filter { $0.result.status == .valid }
        #expect(planned.count == 450)
        #expect(planned.allSatisfy { $0.operation == .add })
        #expect(outcomes.last?.result.status == .rejected)
        // Batches of 200: the requests ride on lines 1, 201 and 401.
        let carriers = outcomes.filter { !$0.requests.isEmpty }
        #expect(carriers.compactMap(\.line) == [1, 201, 401])
        let sizes = try carriers.map { outcome in
            let body = try JSONValue.decode(try #require(outcome.requests.first?.body))
            return body["contacts"]?.arrayValue?.count
        }
        #expect(sizes == [200, 200, 50])
        let first = try #require(carriers.first?.requests.first)
        #expect(first.header("api-key") == "***")
        #expect(first.header("api-login") == "me@example.com")
    }

    @Test func aProviderSeesThatItIsADryRunAndItsRequestsAreAnsweredSoItCanGoOn() async throws {
        let seen = Mutex<[Bool]>([])
        let provider = RecordingProvider { context in
            seen.withLock { $0.append(context.isDryRun) }
        }
        let client = ContactorClient(
            configuration: .init(
                transport: MockTransport.unreachable, providers: ProviderRegistry([provider])))
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678")], provider: "recording", list: "l",
            options: RunOptions(mode: .dryRun))
        #expect(seen.withLock { $0 } == [true])
        #expect(outcomes.first?.requests.map(\.url.path) == ["/first", "/second"])
    }
}

/// A provider that makes two requests per batch, whatever the first answers.
struct RecordingProvider: ContactProvider {
    let observe: @Sendable (ProviderContext) -> Void

    var descriptor: ProviderDescriptor {
        ProviderDescriptor(
            name: "recording", credentialKeys: [],
            defaultEndpoint: URL(string: "https://recording.test")!, batchSizes: [.add: 10])
    }

    func add(
        _ batch: [Contact], to list: String, context: ProviderContext
    ) async throws -> [ContactResult] {
        observe(context)
        _ = try await context.send(HTTPRequest(method: .post, url: context.url("/first")))
        _ = try await context.send(HTTPRequest(method: .post, url: context.url("/second")))
        return batch.map { _ in .added() }
    }
}

/// Middlewares in the client's configuration: they see every request with its context and
/// may answer it themselves.
@Suite struct MiddlewareTests {
    /// Answers every request itself, as a cassette player would, and keeps what it saw.
    final class Answering: ClientMiddleware {
        let seen = Mutex<[RequestContext]>([])

        func intercept(
            _ request: HTTPRequest, body: Data?, context: RequestContext,
            next:
                @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
        ) async throws -> (HTTPResponse, Data) {
            seen.withLock { $0.append(context) }
            return (HTTPResponse(status: .ok), Data(#"{"status":"success","code":"OK"}"#.utf8))
        }
    }

    @Test func aMiddlewareSeesProviderAccountAndAttemptAndMayAnswerItself() async throws {
        let answering = Answering()
        let transport = MockTransport.unreachable
        let client = ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([AvosmsProvider()]),
                credentials: CredentialResolver(explicit: ["id": "me@example.com", "key": "k-1"]),
                middlewares: [answering], clock: ImmediateClock()))
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678")], provider: "avosms", list: "1")
        #expect(outcomes.map(\.result.status) == [.added])
        #expect(transport.requests.isEmpty)
        let context = try #require(answering.seen.withLock { $0.first })
        #expect(context.provider == "avosms")
        #expect(context.operation == .add)
        #expect(context.account == "me@example.com")
        #expect(context.attempt == 1)
        #expect(context.redactor.redact("k-1 and me@example.com") == "*** and me@example.com")
    }
}
