import Contactor
import ContactorPostgres
import ContactorSandbox
import ContactorTesting
import Foundation
import Testing

/// `contactor sync --store`, `import --store --detach` and `results`, through the built
/// binary, with a `contactor worker` process sending to the Octopush emulator.
@Suite struct StoreCommandTests {
    /// The JSON object of each line of `text`.
    static func objects(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func csv(_ phones: [String], in directory: URL, name: String) throws -> String {
        let file = directory.appendingPathComponent(name)
        try (["phone,first_name"] + phones.map { "\($0),Ada" }).joined(separator: "\n")
            .appending("\n").write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func syncAndImportThroughTheStoreAreSentByItsWorkers() async throws {
        try await withSandbox { server in
            let configuration = try await storeConfiguration("cli")
            try await withStore(configuration) { store in
                let url = try await PostgresTestServer.url() + "?schema=\(configuration.schema)"
                let process = try octopushContactor()
                let directory = try temporaryDirectory("store-cli")
                defer { try? FileManager.default.removeItem(at: directory) }
                let worker = try process.start(
                    ["worker", "--store", url, "--provider", "octopush", "--name", "w"],
                    stdout: directory.appendingPathComponent("worker.out"),
                    stderr: directory.appendingPathComponent("worker.err"))
                defer { if worker.isRunning { worker.terminate() } }

                let phones = frenchMobiles(30, start: 43000)
                let all = try Self.csv(phones, in: directory, name: "all.csv")
                let fewer = try Self.csv(Array(phones.prefix(25)), in: directory, name: "fewer.csv")
                let common = [
                    "--provider", "octopush", "--list", "demo", "--endpoint",
                    server.url(for: "octopush").absoluteString, "--store", url, "--output", "json",
                ]

                // A sync waits for the workers and prints every outcome in input order.
                let first = try await process.run(["sync", all] + common)
                #expect(first.status == 0, "\(first.stderr)")
                let added = Self.objects(first.stdout)
                #expect(added.map { $0["line"] as? Int } == Array(2..<32))
                #expect(added.allSatisfy { $0["status"] as? String == "added" })
                #expect(first.stderr.contains("submitted run"), "\(first.stderr)")
                #expect(await server.contacts(provider: "octopush", list: "demo").count == 30)

                // Run again: every row unchanged, nothing sent.
                let requests = server.requests.count
                let again = try await process.run(["sync", all] + common)
                #expect(again.status == 0, "\(again.stderr)")
                #expect(
                    Self.objects(again.stdout).allSatisfy { $0["status"] as? String == "skipped" })
                #expect(server.requests.count == requests)

                // Five rows gone: more than --max-deletes is refused before anything goes.
                let refused = try await process.run(
                    ["sync", fewer, "--delete-missing", "--max-deletes", "2"] + common)
                #expect(refused.status == 2)
                #expect(refused.stderr.contains("would delete 5"), "\(refused.stderr)")
                #expect(refused.stderr.contains("--max-deletes 5"))
                // The plan, against the store's ledger, sends nothing either.
                let plan = try await process.run(
                    ["sync", fewer, "--delete-missing", "--dry-run"] + common)
                #expect(plan.status == 0, "\(plan.stderr)")
                #expect(
                    Self.objects(plan.stdout).map { $0["action"] as? String }
                        == Array(repeating: "unchanged", count: 25)
                        + Array(repeating: "delete", count: 5))
                #expect(server.requests.count == requests)

                // Detached: the run's id, then its outcomes read back with results.
                let detached = try await process.run(
                    ["sync", fewer, "--delete-missing", "--max-deletes", "5", "--detach"] + common)
                #expect(detached.status == 0, "\(detached.stderr)")
                let run = try #require(
                    Int(detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
                let results = try await process.run(
                    ["results", "\(run)", "--store", url, "--output", "json"])
                #expect(results.status == 0, "\(results.stderr)")
                let outcomes = Self.objects(results.stdout)
                #expect(outcomes.count == 30)
                #expect(outcomes.prefix(25).allSatisfy { $0["status"] as? String == "skipped" })
                #expect(
                    outcomes.suffix(5).allSatisfy {
                        $0["status"] as? String == "deleted" && $0["line"] is NSNull
                    }, "\(outcomes.suffix(5))")
                #expect(await server.contacts(provider: "octopush", list: "demo").count == 25)

                // An import, detached, then read back.
                let submitted = try await process.run(["import", all, "--detach"] + common)
                #expect(submitted.status == 0, "\(submitted.stderr)")
                let imported = try #require(
                    Int(submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
                let read = try await process.run(
                    ["results", "\(imported)", "--store", url, "--output", "json"])
                #expect(read.status == 0, "\(read.stderr)")
                #expect(Self.objects(read.stdout).map { $0["line"] as? Int } == Array(2..<32))
                #expect(await server.contacts(provider: "octopush", list: "demo").count == 30)

                // A ledger file has no use with the store's.
                let both = try await process.run(["sync", all, "--ledger", "x.sqlite"] + common)
                #expect(both.status == 2)
                #expect(both.stderr.contains("--ledger has no use"), "\(both.stderr)")

                worker.terminate()
                worker.waitUntilExit()
                #expect(worker.terminationStatus == 0)
            }
        }
    }
}
