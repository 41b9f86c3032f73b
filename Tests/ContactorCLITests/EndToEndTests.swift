import ContactorTesting
import Foundation
import Testing

/// A built-in provider and a list the sandbox has.
struct ProviderCase: CustomTestStringConvertible, Sendable {
    var provider: String
    var list: String
    var supportsDelete: Bool

    var testDescription: String { provider }

    static let all: [ProviderCase] = [
        .init(provider: "avosms", list: "1001", supportsDelete: true),
        .init(provider: "octopush", list: "demo", supportsDelete: true),
        .init(provider: "smsgatewayapi", list: "100", supportsDelete: false),
        .init(provider: "smspartner", list: "5001", supportsDelete: true),
    ]
}

@Suite("End to end against the sandbox")
struct EndToEndTests {
    static let csv = """
        phone,first_name,last_name
        +33612345678,Ada,Lovelace
        06 12 34 56 79,Bob,Martin
        +33612345680,Eve,Durand

        """

    @Test(
        "add, import and delete with --endpoint and --credential change the emulator's state",
        arguments: ProviderCase.all)
    func operationsThroughEndpoint(_ testCase: ProviderCase) async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let common =
                    [
                        "--provider", testCase.provider, "--list", testCase.list, "--region", "FR",
                        "--output", "json",
                    ] + sandbox.arguments(for: testCase.provider)
                let file = try directory.write("contacts.csv", Self.csv)
                let imported = try await CLI.run(["import", file] + common)
                #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
                #expect(
                    try CLI.jsonLines(imported).map { $0["status"] as? String }
                        == ["added", "added", "added"])
                // Avosms takes one contact per request, sent concurrently: compare as sets.
                #expect(
                    Set(await sandbox.phones(testCase.provider, testCase.list))
                        == ["+33612345678", "+33612345679", "+33612345680"])

                let added = try await CLI.run(
                    ["add", "--phone", "+33612345681", "--first-name", "Zoe"] + common)
                #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
                #expect(try CLI.jsonLines(added).first?["status"] as? String == "added")
                #expect(await sandbox.phones(testCase.provider, testCase.list).count == 4)

                let deleted = try await CLI.run(["delete", "--phone", "0612345679"] + common)
                if testCase.supportsDelete {
                    #expect(deleted.status == 0, "\(deleted.stdout)\(deleted.stderr)")
                    #expect(try CLI.jsonLines(deleted).first?["status"] as? String == "deleted")
                    #expect(
                        Set(await sandbox.phones(testCase.provider, testCase.list))
                            == ["+33612345678", "+33612345680", "+33612345681"])
                } else {
                    #expect(deleted.status == 2)
                    #expect(
                        deleted.stderr.contains(
                            "delete is not supported by \(testCase.provider)"), "\(deleted.stderr)")
                    #expect(deleted.stdout.isEmpty)
                    #expect(await sandbox.phones(testCase.provider, testCase.list).count == 4)
                }
            }
        }
    }

    @Test(
        "add, import and delete with --sandbox run against in-process emulators",
        arguments: ProviderCase.all)
    func operationsWithSandboxFlag(_ testCase: ProviderCase) async throws {
        try await TemporaryDirectory.with { directory in
            let file = try directory.write("contacts.csv", Self.csv)
            let common = [
                "--provider", testCase.provider, "--list", testCase.list, "--sandbox", "--region",
                "FR", "--output", "json",
            ]
            let imported = try await CLI.run(["import", file] + common)
            #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
            #expect(imported.stderr.contains("sandbox"))
            #expect(
                try CLI.jsonLines(imported).map { $0["status"] as? String } == [
                    "added", "added", "added",
                ])

            let added = try await CLI.run(["add", "--phone", "+33612345678"] + common)
            #expect(added.status == 0)
            #expect(try CLI.jsonLines(added).first?["status"] as? String == "added")

            let deleted = try await CLI.run(["delete", "--phone", "+33612345678"] + common)
            if testCase.supportsDelete {
                // Each run has its own emulators, which start empty: nothing to delete
                // (Octopush answers 204 whether or not the number was there: deleted).
                #expect(deleted.status == 0, "\(deleted.stdout)\(deleted.stderr)")
                let status = try CLI.jsonLines(deleted).first?["status"] as? String
                #expect(status == (testCase.provider == "octopush" ? "deleted" : "skipped"))
            } else {
                #expect(deleted.status == 2)
                #expect(deleted.stderr.contains("delete is not supported by \(testCase.provider)"))
            }
        }
    }

    @Test(
        "Credentials from CONTACTOR_<PROVIDER>_<KEY> environment variables",
        arguments: ProviderCase.all)
    func credentialsFromEnvironment(_ testCase: ProviderCase) async throws {
        try await Sandbox.with { sandbox in
            let result = try await CLI.run(
                [
                    "add", "--provider", testCase.provider, "--list", testCase.list, "--phone",
                    "+33612345678", "--endpoint",
                    sandbox.server.url(for: testCase.provider).absoluteString,
                    "--output", "json",
                ],
                environment: Secret.environment(for: testCase.provider))
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(await sandbox.phones(testCase.provider, testCase.list) == ["+33612345678"])
        }
    }

    @Test("A wrong credential fails the contact with auth_failed (exit 1), without echoing it")
    func wrongCredentialFails() async throws {
        try await Sandbox.with { sandbox in
            let result = try await CLI.run(
                [
                    "add", "--provider", "octopush", "--list", "demo", "--phone", "+33612345678",
                    "--endpoint", sandbox.server.url(for: "octopush").absoluteString,
                    "--credential", "api_login=\(Secret.octopushLogin)",
                    "--credential", "api_key=wrong-\(Secret.octopushKey)", "--output", "json", "-v",
                ])
            #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
            let line = try #require(try CLI.jsonLines(result).first)
            #expect(line["status"] as? String == "failed")
            #expect((line["error"] as? [String: Any])?["code"] as? String == "auth_failed")
            #expect(await sandbox.phones("octopush", "demo").isEmpty)
        }
    }

    @Test("--journal keeps the run; --resume continues an unfinished run, refuses a changed file")
    func journalAndResume() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write("contacts.csv", Self.csv)
                let journal = directory.path("run.sqlite")
                func run(list: String, resume: Bool) async throws -> CommandLineProcess.Result {
                    try await CLI.run(
                        [
                            "import", file, "--provider", "smspartner", "--list", list, "--journal",
                            journal,
                            "--region", "FR", "--output", "json",
                        ] + (resume ? ["--resume"] : [])
                            + sandbox.arguments(for: "smspartner"))
                }
                // A finished run leaves nothing to resume.
                let finished = try await run(list: "5001", resume: false)
                #expect(finished.status == 0, "\(finished.stderr)")
                #expect(FileManager.default.fileExists(atPath: journal))
                let sent = sandbox.requests.count
                let nothingToResume = try await run(list: "5001", resume: true)
                #expect(nothingToResume.status == 2)
                #expect(
                    nothingToResume.stderr.contains("no unfinished run"),
                    "\(nothingToResume.stderr)")
                #expect(sandbox.requests.count == sent)

                // An unknown group fails the run: it stays unfinished.
                let failed = try await run(list: "9999", resume: false)
                #expect(failed.status == 1)
                let afterFailure = sandbox.requests.count
                #expect(afterFailure > sent)

                // The input changed: refused, nothing sent.
                try directory.write("contacts.csv", Self.csv + "+33612345690,New,Row\n")
                let changed = try await run(list: "9999", resume: true)
                #expect(changed.status == 2, "\(changed.stdout)\(changed.stderr)")
                #expect(
                    changed.stderr.contains("differs from the one recorded"), "\(changed.stderr)")
                #expect(changed.stdout.isEmpty)
                #expect(sandbox.requests.count == afterFailure)

                // The same input: the failed lines are sent again.
                try directory.write("contacts.csv", Self.csv)
                let resumed = try await run(list: "9999", resume: true)
                #expect(resumed.status == 1, "\(resumed.stdout)\(resumed.stderr)")
                #expect(sandbox.requests.count > afterFailure)
            }
        }
    }
}
