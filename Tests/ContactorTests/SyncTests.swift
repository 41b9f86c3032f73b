import Contactor
import ContactorTesting
import Testing

/// `sync` as a mode of the one pipeline: only the difference from the ledger is sent, only
/// what Contactor added is ever deleted.
@Suite struct SyncTests {
    static let scope = LedgerScope(provider: "memory", account: "key-", list: "l")

    /// Rows with a phone and a first name; row `i` is on line `i + 2`.
    static func rows(_ people: [(phone: String, name: String)]) -> GeneratedRecords {
        GeneratedRecords(people.map { [("phone", $0.phone), ("first_name", $0.name)] })
    }

    static func people(_ count: Int, start: Int = 0, name: String = "Ada") -> [(String, String)] {
        mobiles(count, start: start).map { ($0, name) }
    }

    struct Setup {
        let provider = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(batchSize: 5, standardFields: ["first_name"]))
        let ledger = InMemoryLedger()
        var client: ContactorClient { makeClient([provider]) }

        func sync(
            _ rows: [(String, String)], deleteMissing: Bool = false, maxDeletes: Int = 100,
            mode: RunOptions.Mode = .send
        ) async throws -> [RecordOutcome] {
            try await collect(
                client.sync(
                    SyncTests.rows(rows), provider: "memory", list: "l", ledger: ledger,
                    options: SyncOptions(
                        run: RunOptions(mode: mode), deleteMissing: deleteMissing,
                        maxDeletes: maxDeletes)))
        }

        /// The ledger's scope as the client names it (the account of no credentials).
        func scope() async throws -> LedgerScope {
            LedgerScope(provider: "memory", account: Credentials([:]).account, list: "l")
        }
    }

    @Test func aFirstSyncAddsEveryRowAndRecordsEachAsAddedWithItsFieldsAndID() async throws {
        let setup = Setup()
        let outcomes = try await setup.sync(Self.people(12))
        #expect(outcomes.map(\.result.status) == Array(repeating: .added, count: 12))
        #expect(outcomes.allSatisfy { $0.operation == .add })
        let entries = await setup.ledger.all(in: try await setup.scope())
        #expect(entries.map(\.phone) == mobiles(12))
        #expect(
            entries.allSatisfy { $0.origin == .added && !$0.isPending && !$0.fingerprint.isEmpty })
        #expect(entries.allSatisfy { $0.providerID == $0.phone })
    }

    @Test func syncingTheSameFileAgainSendsNothing() async throws {
        let setup = Setup()
        _ = try await setup.sync(Self.people(12))
        let batches = await setup.provider.receivedBatches.count
        let again = try await setup.sync(Self.people(12))
        #expect(again.allSatisfy { $0.result.status == .skipped && $0.operation == nil })
        #expect(again.first?.result.error?.message.contains("unchanged") == true)
        #expect(await setup.provider.receivedBatches.count == batches, "a request was sent")
    }

    @Test func aChangedFieldIsUpdatedAndNothingElseIsSent() async throws {
        let setup = Setup()
        _ = try await setup.sync(Self.people(6))
        let before = await setup.provider.receivedBatches.count
        var changed = Self.people(6)
        changed[3].1 = "Grace"
        let outcomes = try await setup.sync(changed)
        #expect(outcomes[3].result.status == .updated)
        #expect(outcomes[3].operation == .update)
        #expect(
            outcomes.enumerated().allSatisfy {
                $0.offset == 3 || $0.element.result.status == .skipped
            })
        let sent = await setup.provider.receivedBatches.dropFirst(before)
        #expect(sent.map(\.operation) == [.update])
        #expect(sent.map(\.phones) == [[mobiles(6)[3]]])
        let stored = await setup.provider.contacts(in: "l")
        #expect(stored.first { $0.phone.e164 == mobiles(6)[3] }?.firstName == "Grace")
        // And it is unchanged from now on.
        let third = try await setup.sync(changed)
        #expect(third.allSatisfy { $0.result.status == .skipped })
    }

    @Test func removedRowsAreDeletedAfterTheRecordsOnlyWhenContactorAddedThem() async throws {
        let setup = Setup()
        // One number is at the provider before any sync: found, never deleted.
        _ = try await setup.client.add(
            [ContactDraft(phone: mobiles(1, start: 50)[0])], provider: "memory", list: "l")
        let first = try await setup.sync(Self.people(6) + Self.people(1, start: 50))
        #expect(first.last?.result.status == .skipped)
        let found = await setup.ledger.all(in: try await setup.scope()).filter {
            $0.origin == .found
        }
        #expect(found.map(\.phone) == mobiles(1, start: 50))

        let outcomes = try await setup.sync(Self.people(4), deleteMissing: true)
        #expect(outcomes.count == 4 + 2)
        #expect(outcomes.prefix(4).allSatisfy { $0.result.status == .skipped })
        let deletions = outcomes.suffix(2)
        #expect(deletions.allSatisfy { $0.line == nil && $0.result.status == .deleted })
        #expect(deletions.compactMap(\.phone) == Array(mobiles(6)[4...]))
        let stored = await setup.provider.contacts(in: "l").map(\.phone.e164)
        #expect(stored == Array(mobiles(4)) + mobiles(1, start: 50))
        #expect(await setup.ledger.all(in: try await setup.scope()).count == 5)
    }

    @Test func moreDeletionsThanAllowedRefuseTheSyncBeforeAnythingIsSent() async throws {
        let setup = Setup()
        _ = try await setup.sync(Self.people(10))
        let before = await setup.provider.receivedBatches.count
        let error = await #expect(throws: ContactorError.self) {
            _ = try await setup.sync(
                Self.people(3) + Self.people(1, start: 90), deleteMissing: true, maxDeletes: 5)
        }
        #expect(error?.code == .tooManyDeletes)
        #expect(error?.count == 7)
        #expect(error?.message.contains("7") == true)
        #expect(await setup.provider.receivedBatches.count == before, "something was sent")
        // Allowed, it goes through.
        let outcomes = try await setup.sync(Self.people(3), deleteMissing: true, maxDeletes: 7)
        #expect(outcomes.filter { $0.result.status == .deleted }.count == 7)
    }

    @Test func aDryRunAndAPlanShowTheActionsAndSendNothing() async throws {
        let setup = Setup()
        _ = try await setup.sync(Self.people(5))
        let before = await setup.provider.receivedBatches.count
        var rows = Self.people(4) + Self.people(2, start: 20)
        rows[0].1 = "Changed"
        let planned = try await setup.sync(rows, deleteMissing: true, mode: .dryRun)
        #expect(
            planned.map(\.operation) == [.update, nil, nil, nil, .add, .add, .delete])
        #expect(planned.filter { $0.operation != nil }.allSatisfy { $0.result.status == .valid })
        #expect(await setup.provider.receivedBatches.count == before)

        let plan = try await setup.client.plan(
            Self.rows(rows), provider: "memory", list: "l", ledger: setup.ledger,
            options: SyncOptions(deleteMissing: true))
        #expect(plan.adds == 2 && plan.updates == 1 && plan.unchanged == 3 && plan.deletes == 1)
        #expect(plan.total == 7)
        #expect(await setup.provider.receivedBatches.count == before)
        #expect(await setup.ledger.all(in: try await setup.scope()).count == 5)
    }

    @Test func anAddWhoseAnswerNeverCameIsSentAgainAndStillCountsAsContactors() async throws {
        let setup = Setup()
        let phone = mobiles(1)[0]
        // A run killed after sending: the provider has it, the ledger has the intent only.
        _ = try await setup.client.add([ContactDraft(phone: phone)], provider: "memory", list: "l")
        await setup.ledger.record(
            [LedgerEntry(phone: phone, fingerprint: "", origin: .added, isPending: true)],
            in: try await setup.scope())
        let outcomes = try await setup.sync(Self.people(1))
        #expect(outcomes.first?.operation == .add)
        #expect(outcomes.first?.result.status == .skipped)
        let entry = await setup.ledger.all(in: try await setup.scope()).first
        #expect(entry?.origin == .added && entry?.isPending == false)
        // So a later sync without it deletes it.
        let deleted = try await setup.sync([], deleteMissing: true)
        #expect(deleted.map(\.result.status) == [.deleted])
    }

    @Test func aChangedContactDeletedByHandAtTheProviderIsAddedAgain() async throws {
        let setup = Setup()
        _ = try await setup.sync(Self.people(2))
        await setup.provider.removeByHand(mobiles(2)[1], from: "l")
        var rows = Self.people(2)
        rows[1].1 = "Grace"
        let outcomes = try await setup.sync(rows)
        #expect(outcomes[1].result.status == .added)
        #expect(outcomes[1].operation == .add)
        #expect(await setup.provider.contacts(in: "l").count == 2)
    }

    @Test func refreshForgetsWhatTheProviderLostAndRecordsWhatItHoldsAsFound() async throws {
        let setup = Setup()
        _ = try await setup.sync(Self.people(3))
        await setup.provider.removeByHand(mobiles(3)[0], from: "l")
        _ = try await setup.client.add(
            [ContactDraft(phone: mobiles(1, start: 40)[0], firstName: "Zed")], provider: "memory",
            list: "l")
        let counts = try await setup.client.refresh(setup.ledger, list: "l", provider: "memory")
        #expect(counts.found == 1 && counts.forgotten == 1)
        let entries = await setup.ledger.all(in: try await setup.scope())
        #expect(entries.map(\.phone) == Array(mobiles(3)[1...]) + mobiles(1, start: 40))
        #expect(entries.last?.origin == .found)
        // The unchanged contact deleted by hand is added by the next sync.
        let outcomes = try await setup.sync(Self.people(3))
        #expect(outcomes.map(\.result.status) == [.added, .skipped, .skipped])
    }

    @Test func anInputThatChangesBetweenItsTwoReadsDeletesNothing() async throws {
        let setup = Setup()
        _ = try await setup.sync(Self.people(10))
        // First read (counting deletions): 8 rows; second read (sending): 9.
        let reads = Locked(0)
        let shifting = GeneratedRecords(count: 9) { index in
            InputRecord(line: index + 2, columns: [("phone", mobiles(10)[index])])
        }
        struct Shifting: AsyncSequence, Sendable {
            let base: GeneratedRecords
            let reads: Locked<Int>
            func makeAsyncIterator() -> GeneratedRecords.Iterator {
                let read = reads.withLock { count -> Int in
                    count += 1
                    return count
                }
                return GeneratedRecords(count: read == 1 ? 8 : 9, make: base.make)
                    .makeAsyncIterator()
            }
        }
        let run = try await setup.client.sync(
            Shifting(base: shifting, reads: reads), provider: "memory", list: "l",
            ledger: setup.ledger, options: SyncOptions(deleteMissing: true, maxDeletes: 2))
        await #expect(throws: ContactorError.self) { _ = try await collect(run) }
        #expect(await setup.provider.contacts(in: "l").count == 10, "something was deleted")
    }

    @Test func aPhoneTwiceInTheFileIsSentOnceNamingTheFirstLine() async throws {
        let setup = Setup()
        let outcomes = try await setup.sync(Self.people(2) + Self.people(1))
        #expect(outcomes.map(\.result.status) == [.added, .added, .skipped])
        #expect(outcomes[2].duplicateOf == 2)
    }

    @Test func aSecondSyncOfTheSameLedgerIsRefusedWhileTheFirstRuns() async throws {
        let setup = Setup()
        let lease = try await setup.ledger.acquire(for: try await setup.scope(), holder: "pid 42")
        let error = await #expect(throws: ContactorError.self) {
            _ = try await setup.sync(Self.people(1))
        }
        #expect(error?.code == .busy)
        #expect(error?.message.contains("pid 42") == true)
        await lease.release()
        #expect(try await setup.sync(Self.people(1)).map(\.result.status) == [.added])
    }

    @Test func aListIsReadPageByPage() async throws {
        let setup = Setup()
        _ = try await setup.sync(Self.people(45))
        var phones: [String] = []
        for try await draft in try setup.client.contacts(in: "l", provider: "memory") {
            phones.append(draft.phone)
        }
        #expect(phones == mobiles(45))
    }
}

@Suite struct InMemoryLedgerConformanceTests {
    @Test(arguments: LedgerConformance.Check.allCases)
    func theInMemoryLedgerConforms(_ check: LedgerConformance.Check) async throws {
        try await LedgerConformance.run(check) { InMemoryLedger() }
    }
}
