import Foundation
import Testing

/// `contactor sync`, `delete FILE`, `delete --phone ...` and `list` through the binary,
/// against the in-process emulators, with a ledger in a temporary state directory.
@Suite("Keeping a list in step")
struct SyncCommandTests {
    static let people = [
        ("+33612345678", "Ada"), ("+33612345679", "Alan"), ("+33612345680", "Grace"),
        ("+33612345681", "Edsger"),
    ]

    static func csv(_ rows: [(String, String)]) -> String {
        "phone,first_name\n" + rows.map { "\($0.0),\($0.1)\n" }.joined()
    }

    /// Runs `arguments` with the state directory in `directory`.
    static func run(
        _ arguments: [String], _ directory: TemporaryDirectory, input: Data? = nil
    ) async throws -> (status: Int32, lines: [[String: Any]], stderr: String) {
        let result = try await CLI.run(
            arguments + ["--output", "json"],
            environment: ["CONTACTOR_STATE_DIR": directory.url.path], input: input)
        return (result.status, try CLI.jsonLines(result), result.stderr)
    }

    @Test("a first sync adds, the same file again sends nothing, a changed row is updated")
    func syncSendsOnlyTheDifference() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let common =
                    ["--provider", "avosms", "--list", "1001"] + sandbox.arguments(for: "avosms")
                let file = try directory.write("people.csv", Self.csv(Self.people))
                let first = try await Self.run(["sync", file] + common, directory)
                #expect(first.status == 0, "\(first.stderr)")
                #expect(
                    first.lines.map { $0["status"] as? String }
                        == Array(repeating: "added", count: 4))
                let sent = sandbox.requests.count

                let again = try await Self.run(["sync", file] + common, directory)
                #expect(again.status == 0)
                #expect(again.lines.allSatisfy { $0["status"] as? String == "skipped" })
                #expect(sandbox.requests.count == sent, "the unchanged sync sent requests")

                var changed = Self.people
                changed[2].1 = "Hopper"
                try directory.write("people.csv", Self.csv(changed))
                let third = try await Self.run(["sync", file] + common, directory)
                #expect(third.lines[2]["status"] as? String == "updated")
                #expect(sandbox.requests.count == sent + 1)
                #expect(sandbox.requests.last?.contains("/v1/contact/update") == true)
                let stored = await sandbox.server.contacts(provider: "avosms", list: "1001")
                #expect(
                    stored.first { $0.phone == "+33612345680" }?.fields["contactFirstName"]
                        == "Hopper")
            }
        }
    }

    @Test("--delete-missing deletes only what Contactor added, after the rows, with no line")
    func deleteMissing() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let common =
                    ["--provider", "octopush", "--list", "demo"]
                    + sandbox.arguments(for: "octopush")
                let file = try directory.write("people.csv", Self.csv(Self.people))
                _ = try await Self.run(["sync", file] + common, directory)
                try directory.write("people.csv", Self.csv(Array(Self.people.prefix(2))))

                let plan = try await Self.run(
                    ["sync", file, "--delete-missing", "--dry-run"] + common, directory)
                #expect(plan.status == 0, "\(plan.stderr)")
                #expect(
                    plan.lines.map { $0["action"] as? String } == [
                        "unchanged", "unchanged", "delete", "delete",
                    ])
                #expect(await sandbox.phones("octopush", "demo").count == 4)

                let refused = try await Self.run(
                    ["sync", file, "--delete-missing", "--max-deletes", "1"] + common, directory)
                #expect(refused.status == 2)
                #expect(refused.stderr.contains("would delete 2"), "\(refused.stderr)")
                #expect(refused.stderr.contains("--max-deletes 2"))
                #expect(await sandbox.phones("octopush", "demo").count == 4)

                let synced = try await Self.run(
                    ["sync", file, "--delete-missing"] + common, directory)
                #expect(synced.status == 0, "\(synced.stderr)")
                let deleted = synced.lines.filter { $0["status"] as? String == "deleted" }
                #expect(deleted.count == 2)
                #expect(deleted.allSatisfy { $0["line"] is NSNull })
                #expect(
                    await sandbox.phones("octopush", "demo").sorted()
                        == ["+33612345678", "+33612345679"])
            }
        }
    }

    @Test("delete FILE removes every row in batches; every --phone is deleted")
    func bulkAndRepeatedDelete() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let common =
                    ["--provider", "octopush", "--list", "demo"]
                    + sandbox.arguments(for: "octopush")
                let file = try directory.write("people.csv", Self.csv(Self.people))
                _ = try await Self.run(["import", file] + common, directory)
                let before = sandbox.requests.count
                let gone = try directory.write("gone.csv", Self.csv(Array(Self.people.prefix(3))))
                let deleted = try await Self.run(["delete", gone] + common, directory)
                #expect(deleted.status == 0, "\(deleted.stderr)")
                #expect(
                    deleted.lines.map { $0["status"] as? String } == [
                        "deleted", "deleted", "deleted",
                    ])
                #expect(sandbox.requests.count == before + 1, "not one batch: \(sandbox.requests)")
                #expect(await sandbox.phones("octopush", "demo") == ["+33612345681"])

                _ = try await Self.run(["import", file] + common, directory)
                let both = try await Self.run(
                    ["delete", "--phone", "+33612345678", "--phone", "0612345679"] + common,
                    directory)
                #expect(both.lines.map { $0["status"] as? String } == ["deleted", "deleted"])
                #expect(
                    await sandbox.phones("octopush", "demo").sorted() == [
                        "+33612345680", "+33612345681",
                    ])
            }
        }
    }

    @Test("list exports a list as CSV that import reads back; JSON Lines with the ids")
    func listExport() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let common =
                    ["--provider", "smspartner", "--list", "5001"]
                    + sandbox.arguments(for: "smspartner")
                let file = try directory.write("people.csv", Self.csv(Self.people))
                _ = try await Self.run(["import", file] + common, directory)
                let csv = try await CLI.run(["list"] + common + ["--output", "csv"])
                #expect(csv.status == 0, "\(csv.stderr)")
                #expect(csv.stdoutLines.first?.hasPrefix("phone,first_name") == true)
                #expect(csv.stdoutLines.count == 5)
                #expect(csv.stdout.contains("+33612345680,Grace"))
                let json = try await CLI.run(["list"] + common + ["--output", "json"])
                let objects = try CLI.jsonLines(json)
                #expect(objects.count == 4)
                #expect(objects.allSatisfy { ($0["id"] as? String)?.isEmpty == false })

                // Re-importable: the export goes into the other group.
                let exported = try directory.write("export.csv", csv.stdout)
                let reimported = try await Self.run(
                    ["import", exported, "--provider", "smspartner", "--list", "5002"]
                        + sandbox.arguments(for: "smspartner"), directory)
                #expect(reimported.status == 0, "\(reimported.stderr)")
                #expect(await sandbox.phones("smspartner", "5002").count == 4)
            }
        }
    }

    @Test("list with a provider that documents no way to read a list says so")
    func listUnsupported() async throws {
        try await Sandbox.with { sandbox in
            let result = try await CLI.run(
                ["list", "--provider", "octopush", "--list", "demo"]
                    + sandbox.arguments(for: "octopush"))
            #expect(result.status == 2)
            #expect(result.stderr.contains("list is not supported by octopush"), "\(result.stderr)")
        }
    }

    @Test("a CSV piped to standard input ('-' or /dev/stdin) is read once, whole")
    func pipedInput() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let common =
                    ["--provider", "octopush", "--list", "demo"]
                    + sandbox.arguments(for: "octopush")
                let data = Data(Self.csv(Self.people).utf8)
                for path in ["-", "/dev/stdin"] {
                    let validated = try await Self.run(["validate", path], directory, input: data)
                    #expect(validated.status == 0, "\(validated.stderr)")
                    #expect(validated.lines.count == 4, "validate \(path)")
                }
                let imported = try await Self.run(["import", "-"] + common, directory, input: data)
                #expect(imported.status == 0, "\(imported.stderr)")
                #expect(imported.lines.count == 4)
                #expect(await sandbox.phones("octopush", "demo").count == 4)
                let synced = try await Self.run(
                    ["sync", "-", "--delete-missing"] + common, directory, input: data)
                #expect(synced.status == 0, "\(synced.stderr)")
                #expect(synced.lines.count == 4)
                let journalled = try await Self.run(
                    [
                        "import", "-", "--journal",
                        directory.url.appendingPathComponent("j.sqlite").path,
                    ]
                        + common, directory, input: data)
                #expect(journalled.status == 0, "\(journalled.stderr)")
                #expect(journalled.lines.count == 4)
            }
        }
    }

    @Test("an input that cannot be read is an error, never an empty success")
    func unreadableInput() async throws {
        let missing = try await CLI.run(["validate", "/nonexistent/people.csv"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/people.csv"))
        let empty = try await CLI.run(["validate", "-"], input: Data())
        #expect(empty.status != 0 || empty.stdout.isEmpty)
    }
}
