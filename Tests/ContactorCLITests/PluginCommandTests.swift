import ContactorTesting
import Foundation
import Testing

@Suite("plugins and providers commands")
struct PluginCommandTests {
    @Test("plugins new provider writes a template that plugins check passes and providers lists")
    func newProviderTemplateLoads() async throws {
        try await TemporaryDirectory.with { directory in
            let plugins = directory.path("my-plugins")
            let created = try await CLI.run([
                "plugins", "new", "provider", "acme", "--dir", plugins,
            ])
            #expect(created.status == 0, "\(created.stderr)")
            let source = directory.url.appendingPathComponent("my-plugins/providers/acme.lua").path
            #expect(FileManager.default.fileExists(atPath: source))

            let check = try await CLI.run(["plugins", "check", plugins])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(check.stdout.contains("provider acme"), "\(check.stdout)")
            #expect(check.stdout.contains("0 problems"))

            let table = try await CLI.run(["providers", "--plugins", plugins, "--output", "table"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("acme  (\(source))"), "\(table.stdout)")
            #expect(table.stdout.contains("CONTACTOR_ACME_API_KEY"))
            for builtIn in ["avosms", "octopush", "smsgatewayapi", "smspartner"] {
                #expect(table.stdout.contains("\(builtIn)  (built-in)"))
            }

            let json = try await CLI.run(["providers", "--plugins", plugins, "--output", "json"])
            let acme = try #require(
                try CLI.jsonLines(json).first { $0["name"] as? String == "acme" })
            #expect(acme["source"] as? String == source)
            #expect(acme["credentials"] as? [String] == ["CONTACTOR_ACME_API_KEY"])

            let again = try await CLI.run(["plugins", "new", "provider", "acme", "--dir", plugins])
            #expect(again.status == 2, "a second template must not overwrite the first")
            #expect(again.stderr.contains("already exists"))
        }
    }

    @Test("--sandbox with a plugin provider is a usage error that says to use --endpoint")
    func sandboxRefusesPluginProviders() async throws {
        try await TemporaryDirectory.with { directory in
            let plugins = directory.path("plugins")
            _ = try await CLI.run(["plugins", "new", "provider", "acme", "--dir", plugins])
            let result = try await CLI.run([
                "add", "--provider", "acme", "--list", "l1", "--phone", "+33612345678",
                "--plugins", plugins, "--credential", "api_key=k", "--sandbox",
            ])
            #expect(result.status == 2)
            #expect(result.stderr.contains("--sandbox emulates the built-in providers only"))
            #expect(result.stderr.contains("--endpoint"))
            #expect(!result.stderr.contains("sandbox emulators running"), "started for nothing")
        }
    }

    @Test("The template's provider runs a dry-run import")
    func newProviderDryRuns() async throws {
        try await TemporaryDirectory.with { directory in
            let plugins = directory.path("plugins")
            _ = try await CLI.run(["plugins", "new", "provider", "acme", "--dir", plugins])
            let csv = try directory.write("in.csv", "phone,first_name\n+33612345678,Ada\n")
            let result = try await CLI.run(
                [
                    "import", csv, "--provider", "acme", "--list", "l1", "--plugins", plugins,
                    "--dry-run",
                    "--output", "json",
                ],
                environment: ["CONTACTOR_ACME_API_KEY": Secret.smsPartnerKey])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            let request = try #require(
                try CLI.jsonLines(result).first?["request"] as? [String: Any])
            #expect(request["method"] as? String != nil)
        }
    }

    /// Runs the test script `plugins new` wrote, with a PATH that has no `contactor`.
    static func runScaffoldTest(_ script: String) async throws -> CommandLineProcess.Result {
        try await CommandLineProcess(
            executable: URL(fileURLWithPath: "/bin/sh"),
            environment: ["PATH": "/usr/bin:/bin", "CONTACTOR_BUNDLED_PLUGINS": "/nonexistent"]
        ).run([script], timeout: .seconds(120))
    }

    @Test("The scaffold's test passes without contactor on the PATH, batched or not")
    func scaffoldTestPassesWithoutContactorOnThePath() async throws {
        try await TemporaryDirectory.with { directory in
            let plugins = directory.path("my-plugins")
            let created = try await CLI.run([
                "plugins", "new", "provider", "acme", "--dir", plugins,
            ])
            #expect(created.status == 0, "\(created.stderr)")
            let script = directory.path("my-plugins/tests/acme.sh")
            let first = try await Self.runScaffoldTest(script)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("ok: acme"), "\(first.stdout)")

            // The same test holds when the plugin batches its contacts.
            let source = directory.url.appendingPathComponent("my-plugins/providers/acme.lua")
            let original = try String(contentsOf: source, encoding: .utf8)
            let batchedText = original.replacingOccurrences(
                of: "batch_size = 1,", with: "batch_size = 20,")
            try batchedText.write(to: source, atomically: true, encoding: .utf8)
            let batched = try await Self.runScaffoldTest(script)
            #expect(batched.status == 0, "\(batched.stdout)\(batched.stderr)")

            // A batch that makes one more request (a lookup of the list first): the dry run
            // does not count requests, so it still passes; the replay finds a request its
            // cassette has no answer for, and says so.
            try batchedText.replacingOccurrences(
                of:
                    "local results = {}\n    for i, contact in ipairs(contacts) do\n      local res = send(ctx, \"POST\"",
                with:
                    "send(ctx, \"GET\", \"/v1/lists/\" .. list)\n    local results = {}\n    for i, contact in ipairs(contacts) do\n      local res = send(ctx, \"POST\""
            ).write(to: source, atomically: true, encoding: .utf8)
            #expect(try String(contentsOf: source, encoding: .utf8).contains("send(ctx, \"GET\""))
            let lookup = try await Self.runScaffoldTest(script)
            #expect(lookup.status == 1, "\(lookup.stdout)")
            #expect(!lookup.stdout.contains("FAILED: dry run"), "\(lookup.stdout)")
            #expect(lookup.stdout.contains("FAILED: replay"), "\(lookup.stdout)")
            let replayOut = try String(
                contentsOfFile: directory.path("my-plugins/tests/acme.replay.out"), encoding: .utf8)
            #expect(
                replayOut.contains("has no answer for GET https://api.example.com/v1/lists/test"))

            // And it fails, saying why, when a good row is no longer sent.
            try original.replacingOccurrences(
                of: "phone = contact.phone,", with: "phone = \"+33700000000\","
            ).write(to: source, atomically: true, encoding: .utf8)
            let broken = try await Self.runScaffoldTest(script)
            #expect(broken.status == 1, "\(broken.stdout)")
            #expect(broken.stdout.contains("no request carries +33612345678"), "\(broken.stdout)")
        }
    }

    @Test("plugins check reports a broken plugin with its file and line, exit 2")
    func brokenPluginIsReported() async throws {
        try await TemporaryDirectory.with { directory in
            try directory.write(
                "plugins/providers/broken.lua", "return {\n  kind = \"provider\",\n  name = \n")
            let result = try await CLI.run(["plugins", "check", directory.path("plugins")])
            #expect(result.status == 2)
            #expect(result.stdout.contains("broken.lua:"), "\(result.stdout)")
            #expect(result.stdout.contains("1 problem"))
        }
    }

    @Test("providers lists the built-ins with operations, batch sizes and credential variables")
    func providersListsBuiltIns() async throws {
        let result = try await CLI.run(["providers", "--output", "json"])
        #expect(result.status == 0)
        let objects = try CLI.jsonLines(result)
        #expect(
            objects.map { $0["name"] as? String } == [
                "avosms", "octopush", "smsgatewayapi", "smspartner",
            ])
        let gateway = try #require(objects.first { $0["name"] as? String == "smsgatewayapi" })
        #expect(gateway["operations"] as? [String] == ["add", "update"])
        #expect(
            gateway["credentials"] as? [String]
                == ["CONTACTOR_SMSGATEWAYAPI_CLIENT_ID", "CONTACTOR_SMSGATEWAYAPI_CLIENT_SECRET"])
    }

    @Test("sandbox --port serves the emulators until interrupted")
    func sandboxCommandServes() async throws {
        try await TemporaryDirectory.with { directory in
            let process = try ContactorProcess.start(
                ["sandbox", "--port", "0"], in: directory)
            defer { process.terminate() }
            let banner = try await process.waitForStderr(containing: "/_sandbox/reset")
            let base = try #require(
                banner.split(separator: "\n").first {
                    $0.hasPrefix("Contactor sandbox listening on ")
                }
                .map { String($0.dropFirst("Contactor sandbox listening on ".count)) })
            let result = try await CLI.run(
                [
                    "add", "--provider", "octopush", "--list", "demo", "--phone", "+33612345678",
                    "--endpoint", "\(base)/octopush", "--credential",
                    "api_login=demo@contactor.test",
                    "--credential", "api_key=octopush-demo-key", "--output", "json",
                ])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            process.interrupt()
            #expect(try await process.waitForExit() == 0)
        }
    }
}
