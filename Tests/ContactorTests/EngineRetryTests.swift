import Contactor
import ContactorTesting
import Testing

/// The pipeline's one retry layer: the engine, waiting on the client's injected clock.
@Suite struct EngineRetryTests {
    @Test func aTransientFailureWaitsItsRetryAfterOnTheClientsClockThenSucceeds() async throws {
        let provider = InMemoryProvider()
        let phone = "+33612345678"
        await provider.failTransiently(
            phone, times: 2,
            error: ContactError(
                .rateLimited, "slow down", isTransient: true, retryAfter: .seconds(2)))
        let clock = ImmediateClock()
        let client = makeClient(
            [provider], retry: RetryPolicy(maxAttempts: 5, maxBackoff: .seconds(10)),
            clock: clock)
        let outcomes = try await client.add(
            [ContactDraft(phone: phone)], provider: "memory", list: "l")
        #expect(outcomes.map(\.result.status) == [.added])
        #expect(clock.sleeps == [.seconds(2), .seconds(2)])
    }

    @Test func withoutRetryAfterTheWaitsGrowExponentially() async throws {
        let provider = InMemoryProvider()
        let phone = "+33612345678"
        await provider.failTransiently(phone, times: 3)
        let clock = ImmediateClock()
        let retry = RetryPolicy(
            maxAttempts: 5, initialBackoff: .milliseconds(100), maxBackoff: .seconds(10),
            multiplier: 2, jitter: 0)
        let client = makeClient([provider], retry: retry, clock: clock)
        let outcomes = try await client.add(
            [ContactDraft(phone: phone)], provider: "memory", list: "l")
        #expect(outcomes.map(\.result.status) == [.added])
        #expect(clock.sleeps == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
    }

    @Test func eachAttemptReachesTheProviderWithItsNumberInTheRequestContext() async throws {
        let provider = InMemoryProvider()
        let phone = "+33612345678"
        await provider.throwForNextBatches(
            2, ContactError(.transportError, "connection reset", isTransient: true))
        let client = makeClient([provider], retry: immediateRetry(5))
        _ = try await client.add([ContactDraft(phone: phone)], provider: "memory", list: "l")
        #expect(await provider.receivedBatches.map(\.attempt) == [1, 2, 3])
    }

    @Test func aThrownTransientErrorThatOutlastsTheAttemptsEndsFailedSayingItGaveUp() async throws {
        let provider = InMemoryProvider()
        await provider.throwForNextBatches(
            10, ContactError(.transportError, "connection reset", isTransient: true))
        let client = makeClient([provider], retry: immediateRetry(3))
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678")], provider: "memory", list: "l")
        #expect(outcomes.first?.result.status == .failed)
        #expect(
            outcomes.first?.result.error?.message.hasSuffix("(gave up after 3 attempts)") == true)
        #expect(await provider.receivedBatches.count == 3)
    }

    @Test func aNonTransientErrorIsNotRetried() async throws {
        let provider = InMemoryProvider()
        await provider.throwForNextBatches(1, ContactError(.providerError, "refused"))
        let clock = ImmediateClock()
        let client = makeClient([provider], retry: immediateRetry(5), clock: clock)
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678")], provider: "memory", list: "l")
        #expect(outcomes.first?.result.status == .rejected)
        #expect(await provider.receivedBatches.count == 1)
        #expect(clock.sleeps.isEmpty)
    }

    @Test func cancellingTheRunDuringAWaitStopsTheRetries() async throws {
        let provider = InMemoryProvider()
        await provider.throwForNextBatches(
            1000, ContactError(.transportError, "down", isTransient: true))
        let client = ContactorClient(
            configuration: .init(
                transport: MockTransport.unreachable, providers: ProviderRegistry([provider]),
                retry: RetryPolicy(
                    maxAttempts: 1000, initialBackoff: .seconds(3600), maxBackoff: .seconds(3600),
                    totalBudget: .seconds(1_000_000))))
        let task = Task {
            try await client.add(
                [ContactDraft(phone: "+33612345678")], provider: "memory", list: "l")
        }
        await provider.waitUntilReceived(batches: 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(await provider.receivedBatches.count == 1)
    }
}

/// Fields a provider has no place for, a phone met twice, and what a client's middlewares
/// see.
@Suite struct PipelineOptionsTests {
    static func provider() -> InMemoryProvider {
        InMemoryProvider(
            descriptor: ProviderDescriptor(
                name: "memory", credentialKeys: [],
                defaultEndpoint: InMemoryProvider.descriptor().defaultEndpoint,
                batchSizes: [.add: 10, .delete: 10], standardFields: ["first_name"],
                customFields: ["vip"]))
    }

    @Test func fieldsTheProviderCannotTakeAreDroppedAndNamedOnceByDefault() async throws {
        let provider = Self.provider()
        let notices = Locked<[RunNotice]>([])
        let rows = (0..<3).map { index in
            [
                ("phone", mobiles(3)[index]), ("first_name", "A"), ("email", "a@b.c"),
                ("shoe_size", "42"), ("vip", "yes"),
            ]
        }
        let outcomes = try await collect(
            makeClient([provider]).importRecords(
                GeneratedRecords(rows), provider: "memory", list: "l",
                options: RunOptions(onNotice: { notice in notices.withLock { $0.append(notice) } }))
        )
        #expect(outcomes.allSatisfy { $0.result.status == .added })
        let stored = await provider.contacts(in: "l")
        #expect(stored.allSatisfy { $0.email == nil && $0.fields == ["vip": "yes"] })
        #expect(notices.value.flatMap(\.fields).sorted() == ["email", "shoe_size"])
        #expect(notices.value.first?.description.hasPrefix("memory has no place for") == true)
    }

    @Test func withTheRejectPolicyACustomFieldTheProviderCannotTakeRejectsTheContact() async throws
    {
        let provider = Self.provider()
        let outcomes = try await collect(
            makeClient([provider]).importRecords(
                GeneratedRecords([[("phone", "+33612345678"), ("shoe_size", "42")]]),
                provider: "memory", list: "l", options: RunOptions(unsupportedFields: .reject)))
        #expect(outcomes.map(\.result.status) == [.rejected])
        #expect(outcomes.first?.result.error?.code == .invalidField)
        #expect(outcomes.first?.result.error?.field == "shoe_size")
        #expect(await provider.receivedBatches.isEmpty)
    }

    @Test func aPhoneMetAgainIsSentOnceAndTheLaterRowNamesTheFirstLine() async throws {
        let provider = Self.provider()
        let rows = [
            [("phone", "+33612345678")], [("phone", "+33612345679")],
            [("phone", "06 12 34 56 78")], [("phone", "not a phone")],
        ]
        let outcomes = try await collect(
            makeClient([provider]).importRecords(
                GeneratedRecords(rows), provider: "memory", list: "l",
                options: RunOptions(region: "FR")))
        #expect(outcomes.map(\.result.status) == [.added, .added, .skipped, .rejected])
        #expect(outcomes[2].duplicateOf == 2)
        #expect(outcomes[2].result.error?.code == .alreadyInList)
        #expect(outcomes[2].result.error?.message.contains("line 2") == true)
        #expect(
            await provider.receivedBatches.flatMap(\.phones) == ["+33612345678", "+33612345679"])
    }

    @Test func validateReportsARepeatedPhoneTheSameWay() async throws {
        let rows = [[("phone", "+33612345678")], [("phone", "+33612345678")]]
        let outcomes = try await collect(
            makeClient([]).validate(GeneratedRecords(rows)))
        #expect(outcomes.map(\.result.status) == [.valid, .skipped])
        #expect(outcomes[1].duplicateOf == 2)
    }

    @Test func aCallsOwnCredentialsAndLoggerAreUsedWithoutBuildingAnotherClient() async throws {
        let provider = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(credentialKeys: ["api_key"]))
        await provider.requireCredentials(["api_key": "tenant-2"])
        let client = makeClient([provider])
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678")], provider: "memory", list: "l",
            options: RunOptions(credentials: ["api_key": "tenant-2"]))
        #expect(outcomes.map(\.result.status) == [.added])
    }
}
