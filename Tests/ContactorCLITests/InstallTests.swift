import ContactorTesting
import Foundation
import Testing

@Suite("scripts/install")
struct InstallTests {
    /// The checkout: the test file's directory is `Tests/ContactorCLITests`.
    static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("An installed binary works from another directory: plugins, completions, searched dirs")
    func installIntoAPrefix() async throws {
        try await TemporaryDirectory.with { directory in
            let prefix = directory.path("prefix")
            let built = try CommandLineProcess.contactor().executable.path
            // The built (debug) binary, so that the test needs no release build; .ci/run
            // installs a release build the same way.
            let install = CommandLineProcess(
                executable: Self.checkout.appendingPathComponent("scripts/install"))
            let installed = try await install.run(
                ["--prefix", prefix, "--binary", built], timeout: .seconds(120))
            #expect(installed.status == 0, "\(installed.stderr)")
            for file in [
                "bin/contactor", "share/contactor/plugins/mappings/crm_export.lua",
                "share/contactor/plugins/providers/brevo.lua",
                "share/bash-completion/completions/contactor",
                "share/zsh/site-functions/_contactor",
                "share/fish/vendor_completions.d/contactor.fish",
            ] {
                #expect(FileManager.default.fileExists(atPath: "\(prefix)/\(file)"), "\(file)")
            }

            // From a directory that is not the checkout, with no plugin variables.
            let elsewhere = directory.url.appendingPathComponent("elsewhere")
            try FileManager.default.createDirectory(
                at: elsewhere, withIntermediateDirectories: true)
            let binary = CommandLineProcess(
                executable: URL(fileURLWithPath: "\(prefix)/bin/contactor"),
                removedEnvironment: ["CONTACTOR_PLUGIN_PATH", "CONTACTOR_BUNDLED_PLUGINS"],
                workingDirectory: elsewhere)
            let check = try await binary.run(["plugins", "check"])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(
                check.stdout.contains("searched: \(prefix)/share/contactor/plugins"),
                "\(check.stdout)")
            #expect(check.stdout.contains("4 plugins loaded"), "\(check.stdout)")
            let providers = try await binary.run(["providers", "--output", "table"])
            #expect(providers.stdout.contains("brevo  (\(prefix)/share/contactor/plugins"))
            #expect(providers.stderr.contains("searched: \(prefix)/share/contactor/plugins"))
            try FileManager.default.copyItem(
                at: Self.checkout.appendingPathComponent("examples/crm-export.csv"),
                to: elsewhere.appendingPathComponent("crm.csv"))
            let validated = try await binary.run(
                ["validate", "crm.csv", "--mapping", "crm_export", "--output", "json"])
            #expect(!validated.stderr.contains("no such file"), "\(validated.stderr)")
            #expect(validated.status != 2, "\(validated.stderr)")
            #expect(validated.stdoutLines.count > 1, "\(validated.stdout)")
        }
    }

    @Test("scripts/install refuses an unknown argument with exit 2")
    func unknownArgument() async throws {
        let install = CommandLineProcess(
            executable: Self.checkout.appendingPathComponent("scripts/install"))
        let result = try await install.run(["--prefx", "/tmp/x"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--prefx"))
    }
}
