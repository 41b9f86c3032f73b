import ContactorTesting
import Foundation
import Testing

@Suite("contactor runs")
struct RunsCommandTests {
    @Test("runs lists a journal's runs; runs show N gives counts, problems and how to resume")
    func runsAndShow() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write(
                    "input.csv", "phone,first_name\n+33612345678,Ada\nnot a phone,Bob\n")
                let journal = directory.path("run.sqlite")
                for list in ["5001", "9999"] {
                    _ = try await CLI.run(
                        [
                            "import", file, "--provider", "smspartner", "--list", list,
                            "--journal", journal, "--output", "json",
                        ] + sandbox.arguments(for: "smspartner"))
                }
                let listed = try await CLI.run(["runs", "--journal", journal, "--output", "json"])
                #expect(listed.status == 0, "\(listed.stderr)")
                let runs = try CLI.jsonLines(listed)
                try #require(runs.count == 2, "\(listed.stdout)")
                #expect(runs[0]["run"] as? Int == 1)
                #expect(runs[0]["finished_at"] is String)
                #expect(runs[0]["resumable"] as? Bool == false)
                #expect((runs[0]["counts"] as? [String: Int]) == ["added": 1, "rejected": 1])
                #expect(runs[1]["resumable"] as? Bool == true)
                #expect((runs[1]["counts"] as? [String: Int])?["failed"] == 1)

                let shown = try await CLI.run(
                    ["runs", "show", "2", "--journal", journal, "--output", "table"])
                #expect(shown.status == 0, "\(shown.stderr)")
                #expect(shown.stdout.contains("state: unfinished (--resume continues it)"))
                #expect(shown.stdout.contains("--list 9999 --journal \(journal) --resume"))
                #expect(shown.stdout.contains("invalid_phone"))
                #expect(shown.stdout.contains("list_not_found"), "\(shown.stdout)")

                let missing = try await CLI.run(["runs", "show", "7", "--journal", journal])
                #expect(missing.status == 2)
                #expect(missing.stderr.contains("no run 7"))
                let noJournal = try await CLI.run(["runs", "--journal", directory.path("nope")])
                #expect(noJournal.status == 2)
                #expect(!FileManager.default.fileExists(atPath: directory.path("nope")))
            }
        }
    }
}
