import Foundation
import Testing

/// One command against the sandbox and the status and exit code it must end with.
struct OutcomeCase: CustomTestStringConvertible, Sendable {
    var name: String
    var provider: String
    var list: String
    /// Commands run first to set the state up (e.g. add the contact before a duplicate).
    var setup: [[String]] = []
    var command: [String]
    var status: String
    var exitCode: Int32
    var errorCode: String?

    var testDescription: String { name }

    static let phone = "+33612345678"

    static let all: [OutcomeCase] = [
        .init(
            name: "added → 0", provider: "octopush", list: "demo",
            command: ["add", "--phone", phone], status: "added", exitCode: 0),
        .init(
            name: "updated → 0", provider: "octopush", list: "demo",
            setup: [["add", "--phone", phone]],
            command: ["add", "--phone", phone, "--first-name", "Ada"], status: "updated",
            exitCode: 0),
        .init(
            name: "skipped (already in the list) → 0", provider: "smspartner", list: "5001",
            setup: [["add", "--phone", phone]], command: ["add", "--phone", phone],
            status: "skipped", exitCode: 0, errorCode: "already_in_list"),
        .init(
            name: "deleted → 0", provider: "avosms", list: "1001",
            setup: [["add", "--phone", phone]], command: ["delete", "--phone", phone],
            status: "deleted", exitCode: 0),
        .init(
            name: "skipped (not in the list) → 0", provider: "avosms", list: "1001",
            command: ["delete", "--phone", phone], status: "skipped", exitCode: 0,
            errorCode: "not_in_list"),
        .init(
            name: "rejected locally → 1", provider: "octopush", list: "demo",
            command: ["add", "--phone", "12"], status: "rejected", exitCode: 1,
            errorCode: "invalid_phone"),
        .init(
            name: "rejected by the provider → 1", provider: "avosms", list: "1003",
            command: ["add", "--phone", phone], status: "rejected", exitCode: 1,
            errorCode: "wrong_country"),
        .init(
            name: "failed (unknown list) → 1", provider: "smspartner", list: "9999",
            command: ["add", "--phone", phone], status: "failed", exitCode: 1,
            errorCode: "list_not_found"),
    ]
}

@Suite("Output formats and exit codes")
struct OutputTests {
    @Test(
        "Each outcome prints its status and exits with the contract's code",
        arguments: OutcomeCase.all)
    func outcomeSetsTheExitCode(_ testCase: OutcomeCase) async throws {
        try await Sandbox.with { sandbox in
            let common =
                ["--provider", testCase.provider, "--list", testCase.list, "--output", "json"]
                + sandbox.arguments(for: testCase.provider)
            for setup in testCase.setup {
                let result = try await CLI.run(setup + common)
                #expect(result.status == 0, "setup \(setup): \(result.stdout)\(result.stderr)")
            }
            let result = try await CLI.run(testCase.command + common)
            #expect(result.status == testCase.exitCode, "\(result.stdout)\(result.stderr)")
            let line = try #require(try CLI.jsonLines(result).first)
            #expect(line["status"] as? String == testCase.status, "\(line)")
            let error = line["error"] as? [String: Any]
            #expect(error?["code"] as? String == testCase.errorCode, "\(line)")
        }
    }

    @Test("JSON lines have exactly the contract's members, in its order")
    func jsonLinesHaveTheContractShape() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write(
                    "input.csv", "phone,first_name\n+33612345678,Ada\nnope,Bob\n")
                let result = try await CLI.run(
                    [
                        "import", file, "--provider", "smspartner", "--list", "5001", "--output",
                        "json",
                    ]
                        + sandbox.arguments(for: "smspartner"))
                #expect(result.status == 1)
                let lines = result.stdoutLines
                try #require(lines.count == 2, "\(result.stdout)")
                #expect(
                    lines[0]
                        == #"{"line":2,"phone":"+33612345678","status":"added","id":"700001","error":null}"#
                )
                #expect(
                    lines[1].hasPrefix(
                        #"{"line":3,"phone":null,"status":"rejected","id":null,"error":{"code":"invalid_phone","message":""#
                    ), "\(lines[1])")
                #expect(lines[1].hasSuffix(#"","provider_code":null}}"#), "\(lines[1])")
                let objects = try CLI.jsonLines(result)
                for object in objects {
                    #expect(Set(object.keys) == ["line", "phone", "status", "id", "error"])
                }
                let error = try #require(objects[1]["error"] as? [String: Any])
                #expect(Set(error.keys) == ["code", "message", "provider_code"])
            }
        }
    }

    @Test("The provider's own error code is in provider_code")
    func providerCodeIsReported() async throws {
        try await Sandbox.with { sandbox in
            let result = try await CLI.run(
                [
                    "add", "--provider", "avosms", "--list", "1003", "--phone", "+33612345678",
                    "--output", "json",
                ] + sandbox.arguments(for: "avosms"))
            #expect(result.status == 1)
            let error = try #require(try CLI.jsonLines(result).first?["error"] as? [String: Any])
            #expect(error["provider_code"] as? String == "ERR_106", "\(error)")
        }
    }

    @Test("validate uses the statuses valid and rejected, in input order")
    func validateUsesValidAndRejected() async throws {
        try await TemporaryDirectory.with { directory in
            let rows = (0..<50).map {
                $0 % 7 == 3 ? "bad\($0)" : "+336123456\(String(format: "%02d", $0))"
            }
            let file = try directory.write("input.csv", "phone\n" + rows.joined(separator: "\n"))
            let result = try await CLI.run(["validate", file, "--output", "json"])
            #expect(result.status == 1)
            let objects = try CLI.jsonLines(result)
            #expect(objects.map { $0["line"] as? Int } == Array(2...51))
            #expect(
                objects.map { $0["status"] as? String }
                    == rows.map { $0.hasPrefix("bad") ? "rejected" : "valid" })
        }
    }

    @Test("Table output has a header and one row per contact; the summary is on stderr")
    func tableOutputHasASummary() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write(
                    "input.csv", "phone,first_name\n+33612345678,Ada\n+33612345679,Bob\nnope,Eve\n")
                let result = try await CLI.run(
                    [
                        "import", file, "--provider", "octopush", "--list", "demo", "--output",
                        "table",
                    ]
                        + sandbox.arguments(for: "octopush"))
                #expect(result.status == 1)
                let lines = result.stdoutLines
                try #require(lines.count == 4, "\(result.stdout)")
                #expect(lines[0].hasPrefix("LINE"))
                #expect(lines[1].contains("+33612345678") && lines[1].contains("added"))
                #expect(lines[3].contains("rejected") && lines[3].contains("invalid_phone"))
                #expect(
                    result.stderr.contains(
                        "contactor: import: 3 contacts: 2 added, 1 rejected in "),
                    "\(result.stderr)")

                let validate = try await CLI.run(["validate", file, "--output", "table"])
                #expect(
                    validate.stderr.contains("validate: 3 contacts: 2 valid, 1 rejected"),
                    "\(validate.stderr)")
            }
        }
    }

    @Test("Logs go to stderr; -v logs each request without secrets; no progress bar off a terminal")
    func verboseLogsGoToStderr() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let rows = (10..<40).map { "+336123456\($0)" }
                let file = try directory.write(
                    "input.csv", "phone\n" + rows.joined(separator: "\n"))
                for provider in ["smspartner", "avosms", "octopush", "smsgatewayapi"] {
                    let list = Secret.demo.lists(for: provider)[0]
                    let result = try await CLI.run(
                        [
                            "import", file, "--provider", provider, "--list", list, "--output",
                            "json", "-v",
                        ]
                            + sandbox.arguments(for: provider))
                    #expect(result.status == 0, "\(provider): \(result.stderr)")
                    #expect(result.stdoutLines.count == rows.count)
                    #expect(result.stderr.contains("POST /\(provider)/v1/"), "\(result.stderr)")
                }
            }
        }
    }
}
