import Contactor
import ContactorTesting
import Foundation
import Synchronization
import Testing

@Suite struct ImportEngineTests {
    @Test func locallyRejectedRecordsNeverReachTheProvider() async throws {
        let provider = InMemoryProvider()
        let client = makeClient([provider])
        let records = GeneratedRecords([
            [("phone", "not a number")],
            [("first_name", "No phone")],
            [("phone", "+33612345678"), ("birthday", "1990-02-30")],
        ])
        let outcomes = try await collect(
            client.importRecords(records, provider: "memory", list: "friends"))
        #expect(outcomes.compactMap(\.line) == [2, 3, 4])
        #expect(outcomes.map(\.result.status) == [.rejected, .rejected, .rejected])
        #expect(
            outcomes.map(\.result.error?.code) == [.invalidPhone, .missingField, .invalidField])
        #expect(outcomes.map(\.phone) == [nil, nil, nil])
        #expect(await provider.receivedBatches.isEmpty)
    }

    @Test func validatorsRejectLocallyAndRejectedRecordsInterleaveInInputOrder() async throws {
        struct NoSixes: ContactValidator {
            let name = "no-sixes"
            func validate(_ contact: Contact) -> ContactError? {
                contact.phone.e164.hasSuffix("6")
                    ? ContactError(.validationFailed, "ends with 6") : nil
            }
        }
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 3))
        let client = makeClient([provider])
        let phones = mobiles(10)
        let outcomes = try await collect(
            client.importRecords(
                GeneratedRecords(phones: phones), provider: "memory", list: "friends",
                options: RunOptions(validators: [NoSixes()])))
        #expect(outcomes.compactMap(\.line) == Array(2...11))
        #expect(outcomes.map(\.phone) == phones)
        #expect(outcomes[6].result.status == .rejected)
        #expect(outcomes[6].result.error?.code == .validationFailed)
        #expect(
            outcomes.enumerated().allSatisfy {
                $0.offset == 6 || $0.element.result.status == .added
            })
        let sent = await provider.receivedBatches.flatMap(\.phones)
        #expect(!sent.contains(phones[6]))
        #expect(sent.count == 9)
    }

    @Test(arguments: [
        (10, nil, [10, 10, 5]), (10, 4, [4, 4, 4, 4, 4, 4, 1]),
        (3, 50, [3, 3, 3, 3, 3, 3, 3, 3, 1]),
    ])
    func contactsAreBatchedByTheProvidersSizeOrASmallerOption(
        providerSize: Int, option: Int?, expected: [Int]
    ) async throws {
        let provider = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(batchSize: providerSize))
        let client = makeClient([provider], concurrency: 1)
        let outcomes = try await collect(
            client.importRecords(
                GeneratedRecords(phones: mobiles(25)), provider: "memory", list: "l",
                options: RunOptions(batchSize: option)))
        #expect(outcomes.count == 25)
        #expect(await provider.receivedBatches.map(\.phones.count) == expected)
    }

    @Test func outcomesComeInInputOrderWhenLaterBatchesFinishFirst() async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 2))
        let answered = Mutex<[Int]>([])
        await provider.onBatch { batch in
            // Hold the first batch until a third one arrives: with two batches in flight,
            // that proves the second finished (and was collected) before the first.
            if batch.index == 0 { await provider.waitUntilReceived(batches: 3) }
            answered.withLock { $0.append(batch.index) }
        }
        let client = makeClient([provider], concurrency: 2)
        let phones = mobiles(7)
        let outcomes = try await collect(
            client.importRecords(GeneratedRecords(phones: phones), provider: "memory", list: "l"))
        #expect(answered.withLock { $0.first } == 1)
        #expect(answered.withLock { $0.firstIndex(of: 2)! < $0.firstIndex(of: 0)! })
        #expect(outcomes.compactMap(\.line) == Array(2...8))
        #expect(outcomes.map(\.phone) == phones)
        #expect(outcomes.allSatisfy { $0.result.status == .added })
    }

    @Test(arguments: [1, 3])
    func noMoreThanConcurrencyBatchesAreInFlight(_ concurrency: Int) async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 2))
        let inFlight = Mutex((now: 0, most: 0))
        await provider.onBatch { _ in
            inFlight.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
            }
            for _ in 0..<20 { await Task.yield() }
            inFlight.withLock { $0.now -= 1 }
        }
        let client = makeClient([provider], concurrency: concurrency)
        let outcomes = try await collect(
            client.importRecords(
                GeneratedRecords(phones: mobiles(40)), provider: "memory", list: "l"))
        #expect(outcomes.count == 40)
        #expect(inFlight.withLock { $0.most } <= concurrency)
        #expect(await provider.receivedBatches.count == 20)
    }

    @Test func readAheadStaysBoundedWhateverTheInputSize() async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 10))
        let client = makeClient([provider], concurrency: 2)
        let total = 50_000
        let records = GeneratedRecords(count: total) { index in
            let digits = String(index)
            return InputRecord(
                line: index + 2,
                columns: [
                    (
                        name: "phone",
                        value: "+3361" + String(repeating: "0", count: 7 - digits.count) + digits
                    )
                ])
        }
        // Deleting from an empty list keeps the provider's own memory flat too.
        let run = try await client.importRecords(
            records, operation: .delete, provider: "memory", list: "l")
        var consumed = 0
        var largestLead = 0
        for try await outcome in run {
            consumed += 1
            #expect(outcome.line == consumed + 1)
            largestLead = max(largestLead, records.counter.read - consumed)
            if largestLead > 10_000 { break }
        }
        // The engine's window — (2 + 2) batches of 10, and (workers + 1) chunks of 256 being
        // prepared or read — then at most one window emitted and waiting in the channel, and
        // one being consumed: never more, whatever the input size.
        let window = 4 * 10 + (ProcessInfo.processInfo.activeProcessorCount + 1) * 256
        #expect(largestLead <= 3 * window)
        #expect(consumed == total)
    }

    @Test func transientFailuresAreRetriedInTheirOwnBatchUntilTheySucceed() async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 5))
        let phones = mobiles(5)
        await provider.failTransiently(phones[2], times: 2)
        let client = makeClient([provider], retry: immediateRetry(3))
        let outcomes = try await collect(
            client.importRecords(GeneratedRecords(phones: phones), provider: "memory", list: "l"))
        #expect(outcomes.allSatisfy { $0.result.status == .added })
        #expect(await provider.receivedBatches.map(\.phones) == [phones, [phones[2]], [phones[2]]])
    }

    @Test func transientFailuresGiveUpAfterMaxAttempts() async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 5))
        let phones = mobiles(3)
        await provider.failTransiently(phones[0], times: 10, error: transientError)
        let client = makeClient([provider], retry: immediateRetry(3))
        let outcomes = try await collect(
            client.importRecords(GeneratedRecords(phones: phones), provider: "memory", list: "l"))
        #expect(outcomes[0].result.status == .failed)
        #expect(outcomes[0].result.error?.code == transientError.code)
        #expect(
            outcomes[0].result.error?.message
                == transientError.message + " (gave up after 3 attempts)")
        #expect(outcomes[1...].allSatisfy { $0.result.status == .added })
        #expect(await provider.receivedBatches.count == 3)
    }

    @Test func aBatchThatThrowsATransientErrorIsSentAgain() async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 5))
        await provider.throwForNextBatches(2, transientError)
        let client = makeClient([provider], retry: immediateRetry(3))
        let phones = mobiles(4)
        let outcomes = try await collect(
            client.importRecords(GeneratedRecords(phones: phones), provider: "memory", list: "l"))
        #expect(outcomes.allSatisfy { $0.result.status == .added })
        #expect(await provider.receivedBatches.map(\.phones) == [phones, phones, phones])
    }

    @Test func retriesStopWhenTheTotalBudgetIsSpent() async throws {
        let provider = InMemoryProvider()
        await provider.throwForNextBatches(5, transientError)
        let policy = RetryPolicy(
            maxAttempts: 5, initialBackoff: .seconds(10), maxBackoff: .seconds(10), jitter: 0,
            totalBudget: .seconds(1))
        let client = makeClient([provider], retry: policy)
        let outcomes = try await collect(
            client.importRecords(
                GeneratedRecords(phones: mobiles(2)), provider: "memory", list: "l"))
        #expect(outcomes.map(\.result.status) == [.failed, .failed])
        #expect(await provider.receivedBatches.count == 1)
    }

    enum StopCase: String, CaseIterable, Sendable {
        case auth, list, unsupported
    }

    @Test(arguments: StopCase.allCases)
    func aRunStopsEarlyOnAuthListOrOperationErrors(_ stopCase: StopCase) async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 5))
        let expectedCode: ContactError.Code
        switch stopCase {
        case .auth:
            await provider.requireCredentials(["api_key": "right"])
            expectedCode = .authFailed
        case .list:
            await provider.restrictLists(to: ["other"])
            expectedCode = .listNotFound
        case .unsupported:
            await provider.throwForNextBatches(
                1, ContactError(.unsupportedOperation, "add is switched off"))
            expectedCode = .unsupportedOperation
        }
        let client = makeClient([provider], concurrency: 1)
        var rows = mobiles(20).map { [("phone", $0)] }
        rows[12] = [("phone", "not a phone")]
        let run = try await client.importRecords(
            GeneratedRecords(rows), provider: "memory", list: "l")
        let outcomes = try await collect(run)

        #expect(outcomes.count == 20)
        #expect(outcomes.compactMap(\.line) == Array(2...21))
        let stop = try #require(run.stopReason)
        #expect(stop.code == expectedCode)
        #expect(stop.provider == "memory")
        for (index, outcome) in outcomes.enumerated() {
            if index == 12 {
                #expect(outcome.result.status == .rejected)
                #expect(outcome.result.error?.code == .invalidPhone)
            } else {
                #expect(outcome.result == .failed(stop))
            }
        }
        #expect(await provider.receivedBatches.count == 1)
    }

    @Test func aBatchRefusedAsAWholeIsSplitAroundTheBadRecord() async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 8))
        let phones = mobiles(8)
        let refusal = ContactError(.invalidField, "contact 6 is malformed", providerCode: "2")
        await provider.throwForBatches(containing: phones[5], refusal)
        let client = makeClient([provider])
        let outcomes = try await collect(
            client.importRecords(GeneratedRecords(phones: phones), provider: "memory", list: "l"))
        for (index, outcome) in outcomes.enumerated() {
            if index == 5 {
                #expect(outcome.result.status == .rejected)
                #expect(outcome.result.error?.code == .invalidField)
                #expect(outcome.result.error?.providerCode == "2")
                #expect(outcome.result.error?.provider == "memory")
            } else {
                #expect(outcome.result.status == .added)
            }
        }
        let batches = await provider.receivedBatches.map(\.phones)
        #expect(batches.last(where: { $0.contains(phones[5]) }) == [phones[5]])
        #expect(await provider.contacts(in: "l").count == 7)
    }

    @Test func wrongNumberOfResultsFailsThatBatchWithProviderError() async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 3))
        await provider.answerWithWrongCount(nextBatches: 1)
        let client = makeClient([provider], concurrency: 1)
        let outcomes = try await collect(
            client.importRecords(
                GeneratedRecords(phones: mobiles(6)), provider: "memory", list: "l"))
        #expect(outcomes[..<3].allSatisfy { $0.result.status == .failed })
        #expect(outcomes[..<3].allSatisfy { $0.result.error?.code == .providerError })
        #expect(outcomes[0].result.error?.message.contains("2 results for 3 contacts") == true)
        #expect(outcomes[3...].allSatisfy { $0.result.status == .added })
    }

    @Test func addAndDeleteReportWhatTheProviderDid() async throws {
        let provider = InMemoryProvider()
        let client = makeClient([provider])
        let added = try await client.add(
            [ContactDraft(phone: "06 12 34 56 78"), ContactDraft(phone: "06 12 34 56 78")],
            provider: "memory", list: "l")
        #expect(added.map(\.result.status) == [.added, .skipped])
        #expect(added[1].result.error?.code == .alreadyInList)
        #expect(added.compactMap(\.line) == [1, 2])
        let deleted = try await client.delete(
            phones: ["+33612345678", "+33699999999"], provider: "memory", list: "l")
        #expect(deleted.map(\.result.status) == [.deleted, .skipped])
        #expect(deleted[1].result.error?.code == .notInList)
        #expect(await provider.contacts(in: "l").isEmpty)
    }
}

@Suite struct RetryAfterBeyondBackoffTests {
    @Test func aRetryAfterLongerThanMaxBackoffIsNotCutShortTheContactsEndFailed() async throws {
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(name: "slow"))
        await provider.failTransiently(
            "+33612345678", times: 5,
            error: ContactError(
                .rateLimited, "slow down", isTransient: true, retryAfter: .seconds(60)))
        let clock = ImmediateClock()
        let client = ContactorClient(
            configuration: .init(
                transport: MockTransport.unreachable, providers: ProviderRegistry([provider]),
                retry: RetryPolicy(maxAttempts: 5, maxBackoff: .seconds(1)), clock: clock))
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678")], provider: "slow", list: "l")
        #expect(clock.sleeps.isEmpty, "it waited instead of giving up: \(clock.sleeps)")
        #expect(outcomes.first?.result.status == .failed)
        #expect(outcomes.first?.result.error?.code == .rateLimited)
        #expect(await provider.receivedBatches.count == 1, "sent again before the provider allowed")
    }
}
