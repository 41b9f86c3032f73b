import Contactor
import ContactorTesting
import Testing

@Suite struct JournalTests {
    private func info(
        digest: String = "d1", provider: String = "memory", list: String = "l"
    )
        -> RunInfo
    {
        RunInfo(
            operation: .add, provider: provider, list: list, inputPath: "contacts.csv",
            inputDigest: digest)
    }

    @Test func everyOutcomeIsRecordedBeforeItIsYielded() async throws {
        let journal = InMemoryJournal()
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 3))
        let client = makeClient([provider], journal: journal)
        var rows = mobiles(10).map { [("phone", $0)] }
        rows[4] = [("phone", "nope")]
        let run = try await client.importRecords(
            GeneratedRecords(rows), provider: "memory", list: "l",
            options: RunOptions(runInfo: info()))
        var seen = 0
        for try await outcome in run {
            seen += 1
            let id = try #require(run.journalRunID)
            let recorded = try await journal.entries(run: id)
            #expect(recorded.contains(try #require(outcome.journalEntry)))
        }
        #expect(seen == 10)
        let id = try #require(run.journalRunID)
        // A rejected line is final too, so the run is complete.
        #expect(await journal.isFinished(id))
        #expect(try await journal.finishedLines(run: id).count == 10)
    }

    @Test func aRunWithEveryLineFinalIsMarkedFinished() async throws {
        let journal = InMemoryJournal()
        let client = makeClient([InMemoryProvider()], journal: journal)
        let run = try await client.importRecords(
            GeneratedRecords(phones: mobiles(4)), provider: "memory", list: "l",
            options: RunOptions(runInfo: info()))
        _ = try await collect(run)
        let id = try #require(run.journalRunID)
        #expect(await journal.isFinished(id))
        await #expect(throws: ContactorError.self) {
            _ = try await client.importRecords(
                GeneratedRecords(phones: mobiles(4)), provider: "memory", list: "l",
                options: RunOptions(runInfo: info(), resume: true))
        }
    }

    @Test func resumeSendsOnlyLinesWithoutAFinalOutcomeAndReplaysTheOthers() async throws {
        let journal = InMemoryJournal()
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 2))
        let phones = mobiles(6)
        await provider.failTransiently(phones[1], times: 2)
        await provider.failTransiently(phones[4], times: 2)
        let client = makeClient([provider], journal: journal, retry: immediateRetry(2))

        let first = try await client.importRecords(
            GeneratedRecords(phones: phones), provider: "memory", list: "l",
            options: RunOptions(runInfo: info()))
        let firstOutcomes = try await collect(first)
        #expect(firstOutcomes.map(\.result.status).filter { $0 == .failed }.count == 2)
        let id = try #require(first.journalRunID)
        #expect(await journal.isFinished(id) == false)
        let sentBefore = await provider.receivedBatches.count

        let second = try await client.importRecords(
            GeneratedRecords(phones: phones), provider: "memory", list: "l",
            options: RunOptions(runInfo: info(), resume: true))
        let outcomes = try await collect(second)

        #expect(second.journalRunID == id)
        #expect(outcomes.compactMap(\.line) == Array(2...7))
        #expect(outcomes.allSatisfy { $0.result.status == .added })
        #expect(outcomes.map(\.isReplayed) == [true, false, true, true, false, true])
        let resent = await provider.receivedBatches.dropFirst(sentBefore).flatMap(\.phones)
        #expect(resent == [phones[1], phones[4]])
        #expect(await journal.isFinished(id))
    }

    @Test func aResumeAcrossSeveralReplayWindowsReplaysEveryFinishedLineOnce() async throws {
        // More finished lines than one journal read covers (ReplayWindow.size is 4096), and
        // unfinished ones on both sides of a window boundary.
        let journal = InMemoryJournal()
        let provider = InMemoryProvider(descriptor: InMemoryProvider.descriptor(batchSize: 50))
        let phones = mobiles(10_000)
        let unfinished = [3, 4_097, 4_098, 9_999].map { phones[$0] }
        for phone in unfinished { await provider.failTransiently(phone, times: 1) }
        let client = makeClient([provider], journal: journal, retry: .none)
        let first = try await client.importRecords(
            GeneratedRecords(phones: phones), provider: "memory", list: "l",
            options: RunOptions(runInfo: info()))
        #expect(try await collect(first).filter { $0.result.status == .failed }.count == 4)
        let sentBefore = await provider.receivedBatches.count

        let second = try await client.importRecords(
            GeneratedRecords(phones: phones), provider: "memory", list: "l",
            options: RunOptions(runInfo: info(), resume: true))
        let outcomes = try await collect(second)
        #expect(outcomes.compactMap(\.line) == Array(2...10_001))
        #expect(outcomes.allSatisfy { $0.result.status == .added })
        #expect(outcomes.filter { !$0.isReplayed }.count == 4)
        let resent = await provider.receivedBatches.dropFirst(sentBefore).flatMap(\.phones)
        #expect(Set(resent) == Set(unfinished))
    }

    enum Change: String, CaseIterable, Sendable { case digest, provider, list }

    @Test(arguments: Change.allCases)
    func resumeIsRefusedWhenTheInputProviderOrListChanged(_ change: Change) async throws {
        let journal = InMemoryJournal()
        let provider = InMemoryProvider()
        let other = InMemoryProvider(descriptor: InMemoryProvider.descriptor(name: "other"))
        let phones = mobiles(3)
        await provider.failTransiently(phones[0], times: 1)
        let client = makeClient([provider, other], journal: journal, retry: .none)
        _ = try await collect(
            client.importRecords(
                GeneratedRecords(phones: phones), provider: "memory", list: "l",
                options: RunOptions(runInfo: info())))
        let sentBefore = await provider.receivedBatches.count

        let (providerName, list, digest, mention) =
            switch change {
            case .digest: ("memory", "l", "d2", "content differs")
            case .provider: ("other", "l", "d1", "sent to memory")
            case .list: ("memory", "m", "d1", "its list was 'l'")
            }
        do {
            _ = try await client.importRecords(
                GeneratedRecords(phones: phones), provider: providerName, list: list,
                options: RunOptions(
                    runInfo: info(digest: digest, provider: providerName, list: list),
                    resume: true))
            Issue.record("resume was accepted after a change of \(change)")
        } catch {
            #expect(error.code == .cannotResume)
            #expect(error.message.contains(mention))
        }
        #expect(await provider.receivedBatches.count == sentBefore)
        #expect(await other.receivedBatches.isEmpty)
    }

    @Test func resumeWithoutAJournalIsRefused() async throws {
        let client = makeClient([InMemoryProvider()])
        await #expect(throws: ContactorError.self) {
            _ = try await client.importRecords(
                GeneratedRecords(phones: mobiles(1)), provider: "memory", list: "l",
                options: RunOptions(runInfo: info(), resume: true))
        }
    }
}
