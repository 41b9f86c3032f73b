import Contactor
import ContactorTesting
import Foundation
import HTTPTypes
import Synchronization
import Testing

/// `CassetteRecorder` and `CassettePlayer`: what `--record` writes and `--replay` answers.
@Suite struct CassetteTests {
    static let secret = "sk-cassette-secret-1"

    static func context() -> ProviderContext {
        ProviderContext(
            transport: MockTransport { _ in .json(200, [:]) },
            credentials: Credentials(provider: "acme", ["api_key": secret]),
            endpoint: URL(string: "https://api.acme.test")!)
    }

    static func post(_ phone: String) -> (HTTPRequest, Data) {
        var request = HTTPRequest(
            method: .post, url: URL(string: "https://api.acme.test/v1/contacts?key=\(secret)")!)
        request.headerFields[.authorization] = "Bearer \(secret)"
        request.headerFields[.contentType] = "application/json"
        return (
            request,
            JSONValue.object(["phone": .string(phone), "api_key": .string(secret)]).encoded()
        )
    }

    /// Records `count` POSTs answered 201 with ids 1, 2, ... (and the secret in the body).
    static func recorded(_ phones: [String]) async throws -> Cassette {
        let counter = Counter()
        let transport = MockTransport { _ in
            .json(201, ["id": .int(Int64(counter.next())), "token": .string(secret)])
        }
        let recorder = CassetteRecorder()
        var context = context()
        context.pipeline = RequestPipeline(transport: transport, middlewares: [recorder])
        for phone in phones {
            let (request, body) = post(phone)
            _ = try await context.send(request, body: body)
        }
        return recorder.cassette
    }

    @Test func theRecorderKeepsEveryRequestAndAnswerInOrderWithSecretsHidden() async throws {
        let cassette = try await Self.recorded(["+33612345678", "+33612345679"])
        #expect(cassette.interactions.count == 2)
        let text = String(decoding: cassette.encoded(), as: UTF8.self)
        #expect(!text.contains(Self.secret), "\(text)")
        let first = try #require(cassette.interactions.first)
        #expect(first.request.method == "POST")
        #expect(first.request.headers["Authorization"] == "***")
        #expect(first.request.body?["phone"] == "+33612345678")
        #expect(first.request.body?["api_key"] == "***")
        #expect(first.response?.status == 201)
        #expect(first.response?.json?["id"] == 1)
        #expect(first.response?.json?["token"] == "***")
        #expect(first.response?.headers["content-length"] == nil)
        #expect(cassette.interactions[1].request.body?["phone"] == "+33612345679")
        #expect(text.hasPrefix("{\n  \"format\" : \"contactor-cassette\",\n  \"interactions\" : ["))
        #expect(text.hasSuffix("\"version\" : 1\n}\n"))
    }

    @Test func aCassetteReadBackIsTheSameAndWritesTheSameBytes() async throws {
        let cassette = try await Self.recorded(["+33612345678"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cassette-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try cassette.write(to: file)
        let read = try Cassette.load(from: file)
        #expect(read == cassette)
        #expect(read.encoded() == cassette.encoded())
    }

    @Test func thePlayerAnswersEachRequestInRecordedOrderWithoutTheNetwork() async throws {
        let cassette = try await Self.recorded(["+33612345678", "+33612345678", "+33612345679"])
        let player = CassettePlayer(cassette, name: "acme.json")
        let network = MockTransport { _ in
            Issue.record("reached the network"); return .json(500, [:])
        }
        var context = Self.context()
        context.pipeline = RequestPipeline(transport: network, middlewares: [player])
        var ids: [JSONValue?] = []
        for phone in ["+33612345679", "+33612345678", "+33612345678"] {
            let (request, body) = Self.post(phone)
            let (response, data) = try await context.send(request, body: body)
            #expect(response.status.code == 201)
            ids.append(try JSONValue.decode(data)["id"])
        }
        // The same request twice gets its two answers in the order they were recorded.
        #expect(ids == [3, 1, 2])
        #expect(player.unused.isEmpty)
        #expect(network.requests.isEmpty)

        let (request, body) = Self.post("+33612345678")
        let error = await #expect(throws: ContactError.self) {
            _ = try await context.send(request, body: body)
        }
        #expect(error?.code == .transportError)
        #expect(error?.isTransient == false)
        #expect(
            error?.message
                == "replay: acme.json has no answer for POST https://api.acme.test/v1/contacts "
                + "(it was recorded 2 times, and every answer is used already); record it again with --record",
            "\(String(describing: error))")
    }

    @Test func aMissSaysWhetherTheURLWasRecordedWithAnotherBody() async throws {
        let player = CassettePlayer(try await Self.recorded(["+33612345678"]), name: "c.json")
        var context = Self.context()
        context.pipeline = RequestPipeline(
            transport: MockTransport { _ in .json(500, [:]) }, middlewares: [player])
        let (request, body) = Self.post("+33600000000")
        let other = await #expect(throws: ContactError.self) {
            _ = try await context.send(request, body: body)
        }
        #expect(other?.message.contains("1 recorded request to this URL has another body") == true)
        #expect(other?.message.contains("+33600000000") == false, "a body in the message")
        let get = HTTPRequest(method: .get, url: URL(string: "https://api.acme.test/v1/lists")!)
        let unknown = await #expect(throws: ContactError.self) {
            _ = try await context.send(get)
        }
        #expect(
            unknown?.message.contains("none of its 1 recorded requests has this method and URL")
                == true)
    }

    @Test func aTransportErrorIsRecordedAndThrownAgainOnReplay() async throws {
        let recorder = CassetteRecorder()
        var context = Self.context()
        context.pipeline = RequestPipeline(
            transport: MockTransport { _ in
                throw ContactError(.timeout, "no answer in 10 s", isTransient: true)
            }, middlewares: [recorder])
        let (request, body) = Self.post("+33612345678")
        _ = try? await context.send(request, body: body)
        let cassette = recorder.cassette
        #expect(cassette.interactions.first?.error?.code == "timeout")
        #expect(cassette.interactions.first?.response == nil)
        context.pipeline = RequestPipeline(
            transport: MockTransport { _ in .json(200, [:]) },
            middlewares: [CassettePlayer(cassette)])
        let replayed = await #expect(throws: ContactError.self) {
            _ = try await context.send(request, body: body)
        }
        #expect(replayed?.code == .timeout)
        #expect(replayed?.isTransient == true)
    }

    @Test(arguments: [
        ("{}", "missing .format"),
        ("nope", "not JSON"),
        (#"{"format": "other", "version": 1, "interactions": []}"#, "its format is 'other'"),
        (#"{"format": "contactor-cassette", "version": 9, "interactions": []}"#, "version 9"),
    ])
    func anUnreadableCassetteSaysWhy(_ text: String, _ expected: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cassette-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try text.write(to: file, atomically: true, encoding: .utf8)
        let error = #expect(throws: CassetteError.self) { try Cassette.load(from: file) }
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
    }
}

/// A thread-safe counter from 1.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock {
            $0 += 1; return $0
        }
    }
}
