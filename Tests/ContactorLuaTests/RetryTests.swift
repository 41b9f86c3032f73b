import Contactor
import ContactorLua
import ContactorTesting
import Foundation
import Testing

/// `retry = false` on `ctx.http.request`: a call that sent such a request is never run
/// again by the engine (not retried, not split), whatever ends it.
@Suite struct RetryTests {
    static func client(_ transport: MockTransport) async throws -> ContactorClient {
        let provider = try #require(
            try await Fixtures.loader(["retry"]).load().providers["once"])
        return ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([provider]),
                clock: ImmediateClock()))
    }

    static func drafts(_ fields: [String: String]) -> [ContactDraft] {
        [
            ContactDraft(phone: "+33612345678", fields: fields),
            ContactDraft(phone: "+33612345679", fields: fields),
        ]
    }

    static let reset = ContactError(.transportError, "connection reset", isTransient: true)

    @Test func aTransportFailureOfARetriedRequestRunsTheCallAgainUpToFiveAttempts()
        async throws
    {
        let transport = MockTransport { _ in throw Self.reset }
        let outcomes = try await Self.client(transport).add(
            Self.drafts([:]), provider: "once", list: "l")
        #expect(transport.requests.count == 5)
        #expect(outcomes.map(\.result.status) == [.failed, .failed])
        #expect(
            outcomes.first?.result.error?.message.contains("gave up after 5 attempts") == true,
            "\(outcomes)")
    }

    @Test func aTransportFailureOfARetryFalseRequestIsSentOnceAndFailsEachContactFinally()
        async throws
    {
        let transport = MockTransport { _ in throw Self.reset }
        let outcomes = try await Self.client(transport).add(
            Self.drafts(["retry": "false"]), provider: "once", list: "l")
        #expect(transport.requests.count == 1, "\(transport.requests)")
        #expect(outcomes.map(\.result.status) == [.failed, .failed])
        for outcome in outcomes {
            let error = try #require(outcome.result.error)
            #expect(error.code == .transportError)
            #expect(!error.isTransient)
            #expect(
                error.message.contains("not retried: the call sent a request with retry = false"))
        }
    }

    @Test func aLater503DoesNotSendTheRetryFalseCreateAgain() async throws {
        let transport = MockTransport { request in
            request.method == "POST" ? .json(201, ["id": 1]) : MockResponse(status: 503)
        }
        let outcomes = try await Self.client(transport).add(
            Self.drafts(["retry": "false", "then_get": "yes"]), provider: "once", list: "l")
        #expect(transport.requests.map(\.method) == ["POST", "GET"])
        #expect(outcomes.map(\.result.status) == [.failed, .failed])
        #expect(outcomes.first?.result.error?.code == .providerError)
        #expect(outcomes.first?.result.error?.isTransient == false)
    }

    @Test func theSame503WithoutRetryFalseRunsTheWholeCallAgain() async throws {
        let transport = MockTransport { request in
            request.method == "POST" ? .json(201, ["id": 1]) : MockResponse(status: 503)
        }
        _ = try await Self.client(transport).add(
            Self.drafts(["then_get": "yes"]), provider: "once", list: "l")
        #expect(transport.requests.filter { $0.method == "POST" }.count == 5)
    }

    @Test func transientResultsOfACallThatSentARetryFalseRequestAreFinal() async throws {
        let transport = MockTransport { _ in .json(201, ["id": 1]) }
        let outcomes = try await Self.client(transport).add(
            Self.drafts(["retry": "false", "result": "transient"]), provider: "once", list: "l")
        #expect(transport.requests.count == 1)
        #expect(outcomes.map(\.result.status) == [.failed, .failed])
        #expect(outcomes.allSatisfy { $0.result.error?.isTransient == false })
        #expect(outcomes.first?.result.error?.message.hasPrefix("try later") == true)
    }

    @Test func transientResultsOtherwiseAreSentAgain() async throws {
        let transport = MockTransport { _ in .json(201, ["id": 1]) }
        _ = try await Self.client(transport).add(
            Self.drafts(["result": "transient"]), provider: "once", list: "l")
        #expect(transport.requests.count == 5)
    }
}
