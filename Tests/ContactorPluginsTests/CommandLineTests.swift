import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

/// The built `contactor` binary with the bundled plugins.
@Suite struct CommandLineTests {
    @Test func pluginsCheckOfTheBundledDirectoryExitsZeroAndListsEveryPlugin() async throws {
        let cli = try CommandLineProcess.contactor(workingDirectory: Repository.root)
        let result = try await cli.run(["plugins", "check", "plugins"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for plugin in [
            "provider brevo", "provider textmagic", "mapping crm_export", "validator eu_mobiles",
        ] {
            #expect(result.stdout.contains("ok       \(plugin) "), "\(plugin): \(result.stdout)")
        }
        #expect(result.stdout.contains("4 plugins loaded, 0 problems"))
    }

    @Test func theCLIFindsTheBundledTextmagicPluginAndAddsThroughIt() async throws {
        let fake = TextmagicFake()
        try await TestHTTPServer.withServer(handler: fake.handler) { server in
            let cli = try CommandLineProcess.contactor(
                environment: ["CONTACTOR_TEXTMAGIC_API_KEY": TextmagicFake.apiKey],
                workingDirectory: FileManager.default.temporaryDirectory)
            let result = try await cli.run([
                "add", "--provider", "textmagic", "--list", "100", "--phone", "06 12 34 56 78",
                "--region", "FR", "--first-name", "Zoé", "--endpoint",
                server.baseURL.absoluteString,
                "--credential", "username=\(TextmagicFake.username)", "--output", "json",
            ])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains(#""status":"added""#), "\(result.stdout)")
            #expect(fake.contains("100", "+33612345678"))
            #expect(!(result.stdout + result.stderr).contains(TextmagicFake.apiKey))
        }
    }

    @Test func aDryRunImportMapsValidatesAndFillsOctopushParam1() async throws {
        let cli = try CommandLineProcess.contactor(workingDirectory: Repository.root)
        let result = try await cli.run([
            "import", "examples/crm-export.csv", "--provider", "octopush", "--list", "clients",
            "--mapping", "plugins/mappings/crm_export.lua", "--validator", "eu_mobiles",
            "--region", "FR", "--credential", "api_login=ada@example.com", "--credential",
            "api_key=octo-secret-1", "--dry-run", "--output", "json",
        ])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = result.stdoutLines
        let request = try #require(lines.first { $0.contains(#""request""#) })
        #expect(lines.filter { $0.contains(#""request""#) }.count == 1)
        for expected in [
            #""param1":"vip","phone_number":"+33612345678""#,
            #""param1":"standard","phone_number":"+33698765432""#,
            #""param1":"retail","phone_number":"+32470123456""#,
        ] {
            #expect(request.contains(expected), "\(expected): \(request)")
        }
        #expect(!request.contains("+16502530000"))
        let rejected = lines.filter { $0.contains(#""status":"rejected""#) }
        #expect(rejected.count == 3, "\(result.stdout)")
        for (line, reason) in [
            (6, "no mobile number"), (7, "is not a DD/MM/YYYY date"), (9, "EU/EEA country (US)"),
        ] {
            #expect(
                rejected.contains { $0.contains(#""line":\#(line),"#) && $0.contains(reason) },
                "line \(line)")
        }
        #expect(!result.stdout.contains("octo-secret-1"))
    }
}
