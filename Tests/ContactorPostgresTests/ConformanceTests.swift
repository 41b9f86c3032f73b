import Contactor
import ContactorPostgres
import ContactorTesting
import Foundation
import PostgresNIO
import Testing

/// The PostgreSQL journal and ledger pass the same conformance checks as SQLite's.
@Suite struct PostgresConformanceTests {
    @Test(arguments: JournalConformance.Check.allCases)
    func theJournalConforms(_ check: JournalConformance.Check) async throws {
        try await withStore("journal") { store in
            try await JournalConformance.run(check) { store.journal }
        }
    }

    @Test(arguments: LedgerConformance.Check.allCases)
    func theLedgerConforms(_ check: LedgerConformance.Check) async throws {
        try await withStore("ledger") { store in
            try await LedgerConformance.run(check) { store.ledger }
        }
    }

    @Test func aLedgerLeaseDiesWithItsHoldersConnection() async throws {
        let configuration = try await storeConfiguration("lease")
        try await withStore(configuration) { store in
            let scope = LedgerScope(provider: "octopush", account: "me", list: "l")
            let held = try await store.ledger.acquire(for: scope, holder: "pid 4242")
            // Another process (another store) is refused, and told who holds it.
            try await PostgresStore.with(configuration: configuration, logger: quietLogger) {
                other in
                await #expect {
                    _ = try await other.ledger.acquire(for: scope, holder: "pid 99")
                } throws: { error in
                    (error as? ContactorError)?.code == .busy
                        && (error as? ContactorError)?.message.contains("pid 4242") == true
                }
                // The holder's connection drops (its process died): the lease is free.
                try await other.terminateLeaseConnections()
                let lease = try await other.ledger.acquire(for: scope, holder: "pid 99")
                await lease.release()
            }
            // Releasing a lease whose session already ended is harmless.
            await held.release()
        }
    }

    @Test func releasingALeaseWhoseSessionStoppedAnsweringReturnsAnyway() async throws {
        let configuration = try await storeConfiguration("stall")
        try await withStore(configuration) { store in
            let scope = LedgerScope(provider: "octopush", account: "me", list: "l")
            let lease = try await store.ledger.acquire(for: scope, holder: "pid 4242")
            let pid = try #require(
                try await integers(
                    "SELECT pid::bigint FROM \"\(configuration.schema)\".leases",
                    on: configuration
                ).first?.first)
            // The lease's server process stops answering (as a host that vanished would).
            try #require(kill(pid_t(pid), SIGSTOP) == 0)
            let started = ContinuousClock.now
            await lease.release()
            let took = started.duration(to: .now)
            kill(pid_t(pid), SIGCONT)
            #expect(took < .seconds(15), "release waited \(took)")
            // The session was closed: once its process sees it, the lease is free.
            var again: (any StoreLease)?
            for _ in 0..<50 where again == nil {
                again = try? await store.ledger.acquire(for: scope, holder: "pid 99")
                if again == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(again != nil)
            await again?.release()
        }
    }

    @Test func aStoreURLIsReadWithoutShowingItsPassword() throws {
        let configuration = try PostgresStore.Configuration(
            url:
                "postgres://worker:s%40cret@db.internal:6543/contactor?schema=tenant_7&sslmode=require"
        )
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "worker")
        #expect(configuration.password?.reveal() == "s@cret")
        #expect(configuration.database == "contactor")
        #expect(configuration.schema == "tenant_7")
        #expect(configuration.requiresTLS)
        for bad in [
            "mysql://u@h/db", "postgres:///db", "postgres://h/db",
            "postgres://u:pw@h/db?schema=drop;table",
        ] {
            #expect {
                _ = try PostgresStore.Configuration(url: bad)
            } throws: { error in
                let message = (error as? ContactorError)?.message ?? ""
                return (error as? ContactorError)?.code == .invalidOptions
                    && !message.contains("pw")
            }
        }
    }
}
