import ContactorTesting
import Foundation
import Testing

@Suite("What a person sees of a run")
struct ReportTests {
    static let csv = """
        phone,first_name
        +33612345678,Ada
        not a phone,Bob
        0612345679,Eve

        """

    @Test("A summary (counts, time, exit reason, details) is on stderr also when stdout is piped")
    func summaryOnStderr() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write("input.csv", Self.csv)
                let journal = directory.path("run.sqlite")
                let result = try await CLI.run(
                    [
                        "import", file, "--provider", "octopush", "--list", "demo", "--region",
                        "FR", "--output", "json", "--journal", journal,
                    ] + sandbox.arguments(for: "octopush"))
                #expect(result.status == 1)
                #expect(try CLI.jsonLines(result).count == 3)
                let lines = result.stderr.split(separator: "\n").map(String.init)
                #expect(
                    lines.contains {
                        $0.hasPrefix("contactor: import: 3 contacts: 2 added, 1 rejected in ")
                            && $0.hasSuffix("exit 1: 1 rejected")
                    }, "\(result.stderr)")
                #expect(
                    lines.contains { $0.contains("details:") && $0.contains(journal) },
                    "\(result.stderr)")
                // Each line once.
                #expect(Set(lines).count == lines.count, "\(result.stderr)")

                let quiet = try await CLI.run(
                    [
                        "import", file, "--provider", "octopush", "--list", "demo", "--region",
                        "FR", "--output", "json", "--quiet",
                    ] + sandbox.arguments(for: "octopush"))
                #expect(quiet.status == 1)
                #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
                #expect(quiet.stdoutLines.count == 3)
            }
        }
    }

    @Test("A run stopped by an unknown list says why once on stderr, not once per batch")
    func stopReasonOnce() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write("input.csv", Self.csv)
                for extra in [[], ["--log-level", "critical"]] {
                    let result = try await CLI.run(
                        [
                            "import", file, "--provider", "avosms", "--list", "9999", "--region",
                            "FR", "--output", "json",
                        ] + extra + sandbox.arguments(for: "avosms"))
                    #expect(result.status == 1)
                    let mentions = result.stderr.split(separator: "\n").filter {
                        $0.contains("no contact list with ID '9999'")
                    }
                    #expect(mentions.count == 1, "\(extra): \(result.stderr)")
                }
            }
        }
    }

    @Test("--show problems and none choose the rows on stdout; the counts stay whole")
    func showChoosesRows() async throws {
        try await TemporaryDirectory.with { directory in
            let file = try directory.write("input.csv", Self.csv)
            let problems = try await CLI.run(
                ["validate", file, "--region", "FR", "--output", "json", "--show", "problems"])
            #expect(try CLI.jsonLines(problems).map { $0["line"] as? Int } == [3])
            #expect(problems.stderr.contains("3 contacts: 2 valid, 1 rejected"))
            let none = try await CLI.run(
                ["validate", file, "--region", "FR", "--output", "json", "--show", "none"])
            #expect(none.stdout.isEmpty)
            #expect(none.status == 1)
            #expect(none.stderr.contains("3 contacts: 2 valid, 1 rejected"))
            let bad = try await CLI.run(["validate", file, "--show", "some"])
            #expect(bad.status == 2)
        }
    }

    @Test(
        "--rejects writes the rows that did not go through; importing that file drops its columns")
    func rejectsFile() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write("input.csv", Self.csv)
                let rejects = directory.path("rejects.csv")
                let common =
                    [
                        "--provider", "octopush", "--list", "demo", "--region", "FR", "--output",
                        "json",
                    ]
                    + sandbox.arguments(for: "octopush")
                let result = try await CLI.run(["import", file, "--rejects", rejects] + common)
                #expect(result.status == 1)
                let text = try String(contentsOfFile: rejects, encoding: .utf8)
                #expect(
                    text
                        == "rejected_line,rejected_code,rejected_message,phone,first_name\n"
                        + "3,invalid_phone,'not a phone' is not a phone number,not a phone,Bob\n",
                    "\(text)")
                let mode =
                    try FileManager.default.attributesOfItem(atPath: rejects)[
                        .posixPermissions] as? Int
                #expect(mode == 0o600)
                #expect(result.stderr.contains("1 row that did not go through in \(rejects)"))

                // Fixed, the file is imported: its three columns are not custom fields.
                try directory.write(
                    "rejects.csv",
                    "rejected_line,rejected_code,rejected_message,phone,first_name\n"
                        + "3,invalid_phone,'not a phone' is not a phone number,+33612345690,Bob\n")
                let again = try await CLI.run(["import", rejects] + common)
                #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
                #expect(!again.stderr.contains("rejected_line"), "\(again.stderr)")
                #expect(try CLI.jsonLines(again).first?["line"] as? Int == 2)
                #expect(await sandbox.phones("octopush", "demo").contains("+33612345690"))
            }
        }
    }

    @Test("--max-rejects N: a run with at most N rejected and none failed exits 0")
    func maxRejects() async throws {
        try await TemporaryDirectory.with { directory in
            let file = try directory.write("input.csv", Self.csv)
            let allowed = try await CLI.run([
                "validate", file, "--region", "FR", "--max-rejects", "1",
            ])
            #expect(allowed.status == 0, "\(allowed.stderr)")
            #expect(allowed.stderr.contains("within --max-rejects 1"), "\(allowed.stderr)")
            let strict = try await CLI.run([
                "validate", file, "--region", "FR", "--max-rejects", "0",
            ])
            #expect(strict.status == 1)
            let negative = try await CLI.run(["validate", file, "--max-rejects", "-1"])
            #expect(negative.status == 2)
            #expect(negative.stderr.contains("negative number"))
        }
    }

    @Test("A dry run in table output sums up the requests per operation instead of printing JSON")
    func dryRunTable() async throws {
        try await TemporaryDirectory.with { directory in
            let file = try directory.write("input.csv", Self.csv)
            let result = try await CLI.run(
                [
                    "import", file, "--provider", "smspartner", "--list", "5001", "--region", "FR",
                    "--dry-run", "--output", "table", "--credential",
                    "api_key=\(Secret.smsPartnerKey)",
                ])
            #expect(result.status == 1, "\(result.stderr)")
            #expect(!result.stdout.contains("{\"request\""), "\(result.stdout)")
            #expect(
                result.stdout.contains("It would send 1 request for 2 contacts"), "\(result.stdout)"
            )
            #expect(
                result.stdout.contains(
                    "add: 1 request, 2 contacts — POST https://api.smspartner.fr/v1/contact/add"),
                "\(result.stdout)")
            #expect(result.stdout.contains("invalid_phone"))
        }
    }

    @Test("SIGINT during an import says how to resume, exit 130")
    func interruptSaysHowToResume() async throws {
        let server = try SilentServer()
        defer { server.close() }
        try await TemporaryDirectory.with { directory in
            let file = try directory.write("input.csv", Self.csv)
            let journal = directory.path("run.sqlite")
            let process = try ContactorProcess.start(
                [
                    "import", file, "--provider", "octopush", "--list", "demo", "--region", "FR",
                    "--endpoint", "http://127.0.0.1:\(server.port)", "--journal", journal,
                    "--output", "json",
                ] + Secret.credentialArguments(for: "octopush"), in: directory)
            // The request is on its way (and will wait): the run is under way.
            try await server.waitForConnection()
            process.interrupt()
            let status = try await process.waitForExit()
            #expect(status == 130)
            let stderr = try String(contentsOfFile: directory.path("stderr"), encoding: .utf8)
            #expect(stderr.contains("interrupted"), "\(stderr)")
            #expect(stderr.contains("--resume"), "\(stderr)")
            #expect(stderr.contains(journal), "\(stderr)")
        }
    }
}
