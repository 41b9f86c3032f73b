import Contactor
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

/// `contactor plugins test` and `--record` / `--replay`, through the built binary, on the
/// bundled Textmagic and Brevo plugins and their loopback fakes. Serialized: each test runs
/// whole conformance suites through a process, which is load enough one at a time.
@Suite(.serialized) struct PluginsTestCommandTests {
    /// A shipped plugin, its fake, and what `plugins test` needs to run on it.
    struct Shipped: Sendable, CustomTestStringConvertible {
        var name: String
        var defaultEndpoint: String
        var list: String
        var environment: [String: String]
        var arguments: [String]
        var handler: @Sendable () -> TestHTTPServer.Handler
        var secrets: [String]

        var testDescription: String { name }
        var plugin: String { "plugins/providers/\(name).lua" }
        /// The committed cassette of its conformance run.
        var cassette: URL { Repository.file("plugins/tests/\(name).conformance.json") }

        static let textmagic = Shipped(
            name: "textmagic", defaultEndpoint: "https://rest.textmagic.com", list: "100",
            environment: ["CONTACTOR_TEXTMAGIC_API_KEY": TextmagicFake.apiKey],
            arguments: ["--credential", "username=\(TextmagicFake.username)"],
            handler: { TextmagicFake().handler }, secrets: [TextmagicFake.apiKey])
        static let brevo = Shipped(
            name: "brevo", defaultEndpoint: "https://api.brevo.com", list: "7",
            environment: ["CONTACTOR_BREVO_API_KEY": BrevoFake.apiKey],
            // Brevo updates a contact added twice (updateEnabled), as it documents.
            arguments: ["--duplicate-add-status", "updated"],
            handler: { BrevoFake().handler }, secrets: [BrevoFake.apiKey])
        static let all = [textmagic, brevo]
    }

    static let numbers = ["--phones-from", "+33612345670"]

    static func cli(_ environment: [String: String] = [:]) throws -> CommandLineProcess {
        try CommandLineProcess.contactor(
            environment: environment, workingDirectory: Repository.root)
    }

    static func arguments(_ plugin: Shipped, _ extra: [String]) -> [String] {
        ["plugins", "test", plugin.plugin, "--list", plugin.list, "--unknown-list", "999"]
            + plugin.arguments + numbers + extra
    }

    @Test(arguments: Shipped.all)
    func everyCheckPassesAgainstTheFakeAndPrintsWhatWasSentAndReceived(
        _ plugin: Shipped
    )
        async throws
    {
        try await TestHTTPServer.withServer(handler: plugin.handler()) { server in
            let result = try await Self.cli(plugin.environment).run(
                Self.arguments(plugin, ["--endpoint", server.baseURL.absoluteString]))
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            for check in ProviderConformance.Check.allCases {
                #expect(result.stdoutLines.contains("PASS \(check)"), "\(check): \(result.stdout)")
            }
            #expect(result.stdout.contains("11 checks: 11 passed, 0 failed"), "\(result.stdout)")
            #expect(result.stdout.contains("    sent     +33612345670 first_name=Ada"))
            #expect(result.stdout.contains("    received added id="))
            #expect(result.stdout.contains("    > POST \(server.baseURL.absoluteString)"))
            #expect(result.stdoutLines.contains { $0.hasPrefix("    < 201") })
            #expect(result.stdout.contains("***"))
            for secret in plugin.secrets + ["contactor-bad-api_key"] {
                #expect(!(result.stdout + result.stderr).contains(secret), "\(secret) printed")
            }
        }
    }

    @Test func aCheckThatFailsSaysWhatWasExpectedAndExitsOne() async throws {
        let brevo = Shipped.brevo
        try await TestHTTPServer.withServer(handler: brevo.handler()) { server in
            var plugin = brevo
            plugin.arguments = []  // brevo answers `updated` to a duplicate add, not `skipped`
            let result = try await Self.cli(plugin.environment).run(
                Self.arguments(
                    plugin,
                    ["--endpoint", server.baseURL.absoluteString, "--check", "duplicateAdd"]))
            #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
            #expect(result.stdoutLines.contains("FAIL duplicateAdd"), "\(result.stdout)")
            #expect(
                result.stdout.contains(
                    "  - brevo duplicateAdd: expected one of [skipped], got ContactResult(status: updated"
                ),
                "\(result.stdout)")
            #expect(result.stdout.contains("1 check: 0 passed, 1 failed"))
        }
    }

    @Test(arguments: [
        (["--phone", "+33612345670", "--phone", "+33612345671"], "give 12 distinct numbers"),
        (["--phones-from", "+33612345670", "--check", "nope"], "--check nope: no such check"),
        (
            ["--phones-from", "+33612345670", "--record", "a.json", "--replay", "b.json"],
            "give --record or --replay, not both"
        ),
        (["--phones-from", "+33612345670", "--output", "json"], "plugins test takes no --output"),
        (
            ["--phones-from", "+33612345670", "--replay", "/nonexistent.json"],
            "cannot read the cassette /nonexistent.json"
        ),
    ])
    func usageErrorsExitTwo(_ extra: [String], _ message: String) async throws {
        let result = try await Self.cli(Shipped.textmagic.environment).run(
            [
                "plugins", "test", "plugins/providers/textmagic.lua", "--list", "100",
                "--credential",
                "username=ada",
            ] + extra)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    /// Records the conformance run against the fake, as the committed cassette holds it
    /// (the fake's address written as the plugin's endpoint). With
    /// CONTACTOR_UPDATE_CASSETTES=1 in the environment, writes it to the committed file.
    @Test(arguments: Shipped.all)
    func theCommittedCassetteIsWhatARecordingAgainstTheFakeGivesEveryTime(
        _ plugin: Shipped
    )
        async throws
    {
        var recordings: [String] = []
        do {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "cassette-\(UUID().uuidString).json")
            defer { try? FileManager.default.removeItem(at: file) }
            try await TestHTTPServer.withServer(handler: plugin.handler()) { server in
                let result = try await Self.cli(plugin.environment).run(
                    Self.arguments(
                        plugin,
                        ["--endpoint", server.baseURL.absoluteString, "--record", file.path]))
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
                #expect(result.stderr.contains("recorded "), "\(result.stderr)")
                var base = server.baseURL.absoluteString
                while base.hasSuffix("/") { base.removeLast() }
                let text = try String(contentsOf: file, encoding: .utf8)
                for secret in plugin.secrets { #expect(!text.contains(secret)) }
                recordings.append(
                    text.replacingOccurrences(of: base, with: plugin.defaultEndpoint))
            }
        }
        // Equal to the committed file, recorded earlier: the order and content are stable.
        if ProcessInfo.processInfo.environment["CONTACTOR_UPDATE_CASSETTES"] == "1" {
            try recordings[0].write(to: plugin.cassette, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: plugin.cassette, encoding: .utf8)
        #expect(
            committed == recordings[0],
            "\(plugin.cassette.path) is out of date: run this test with CONTACTOR_UPDATE_CASSETTES=1"
        )
    }

    @Test(arguments: Shipped.all)
    func theCommittedCassetteReplaysEveryCheckWithNoNetworkAndNoKey(
        _ plugin: Shipped
    )
        async throws
    {
        // No fake is running, no endpoint and no key are given: every answer is recorded.
        var shipped = plugin
        shipped.arguments = plugin.arguments.filter {
            !$0.hasPrefix("username=") && $0 != "--credential"
        }
        let result = try await Self.cli().run(
            Self.arguments(shipped, ["--replay", plugin.cassette.path]))
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("11 checks: 11 passed, 0 failed"), "\(result.stdout)")
        #expect(result.stdout.contains("against the cassette"))
    }

    @Test func importRecordsThenReplaysTheSameOutcomesAndAMissIsRejected() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let csv = directory.appendingPathComponent("in.csv")
        try "phone,first_name\n+33612345678,Ada\n+33612345679,Alan\n".write(
            to: csv, atomically: true, encoding: .utf8)
        let cassette = directory.appendingPathComponent("import.json").path
        let base = [
            "import", csv.path, "--provider", "textmagic", "--list", "100", "--credential",
            "username=\(TextmagicFake.username)", "--output", "json", "--concurrency", "4",
        ]
        let cli = try Self.cli(Shipped.textmagic.environment)
        let recorded = try await TestHTTPServer.withServer(handler: TextmagicFake().handler) {
            server in
            try await cli.run(
                base + ["--endpoint", server.baseURL.absoluteString, "--record", cassette])
        }
        #expect(recorded.status == 0, "\(recorded.stdout)\(recorded.stderr)")
        let text = try String(contentsOf: URL(fileURLWithPath: cassette), encoding: .utf8)
        #expect(!text.contains(TextmagicFake.apiKey))
        let cassetteValue = try Cassette.load(from: URL(fileURLWithPath: cassette))
        let endpoint = try #require(
            cassetteValue.interactions.first.flatMap { URL(string: $0.request.url) }
                .map { "\($0.scheme!)://\($0.host!):\($0.port!)" })

        // The fake is gone: the replay answers from the file alone, the same way.
        let replayed = try await cli.run(base + ["--endpoint", endpoint, "--replay", cassette])
        #expect(replayed.status == 0, "\(replayed.stdout)\(replayed.stderr)")
        #expect(replayed.stdout == recorded.stdout)

        // A number the cassette has no answer for is rejected, saying so; the rest goes on.
        try "phone,first_name\n+33612345678,Ada\n+33612345670,Eve\n".write(
            to: csv, atomically: true, encoding: .utf8)
        let missed = try await cli.run(base + ["--endpoint", endpoint, "--replay", cassette])
        #expect(missed.status == 1, "\(missed.stdout)\(missed.stderr)")
        let lines = missed.stdoutLines
        #expect(lines.first?.contains(#""status":"added""#) == true, "\(missed.stdout)")
        #expect(lines.last?.contains(#""status":"rejected""#) == true, "\(missed.stdout)")
        #expect(lines.last?.contains("has no answer for") == true, "\(missed.stdout)")
        #expect(lines.last?.contains("record it again with --record") == true)
    }

    @Test func recordAndReplayRefuseADryRun() async throws {
        let result = try await Self.cli().run([
            "add", "--provider", "textmagic", "--list", "100", "--phone", "+33612345678",
            "--credential", "username=ada", "--credential", "api_key=k", "--dry-run",
            "--record", "x.json",
        ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("--dry-run sends nothing"), "\(result.stderr)")
    }
}
