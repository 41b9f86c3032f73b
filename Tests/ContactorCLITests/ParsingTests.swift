import Foundation
import Testing

/// A command line that must be refused with exit status 2, a message, and nothing sent.
struct UsageErrorCase: CustomTestStringConvertible, Sendable {
    var name: String
    /// The arguments; `ENDPOINT` is replaced by the sandbox's endpoint and credentials
    /// for `provider`.
    var arguments: [String]
    /// What stderr must say.
    var message: [String]
    /// The provider whose sandbox endpoint and credentials replace `ENDPOINT`.
    var provider = "octopush"
    /// Extra environment variables.
    var environment: [String: String] = [:]

    var testDescription: String { name }

    static let phone = "+33612345678"

    static let all: [UsageErrorCase] = [
        .init(
            name: "unknown option",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--bogus",
            ]
                + ["ENDPOINT"],
            message: ["--bogus"]),
        .init(
            name: "unknown command", arguments: ["frobnicate"], message: ["frobnicate"]),
        .init(
            name: "add without --provider",
            arguments: ["add", "--list", "demo", "--phone", phone, "ENDPOINT"],
            message: ["--provider", "avosms, octopush, smsgatewayapi, smspartner"]),
        .init(
            name: "add without --list",
            arguments: ["add", "--provider", "octopush", "--phone", phone, "ENDPOINT"],
            message: ["--list"]),
        .init(
            name: "add without --phone",
            arguments: ["add", "--provider", "octopush", "--list", "demo", "ENDPOINT"],
            message: ["--phone"]),
        .init(
            name: "delete without --phone",
            arguments: ["delete", "--provider", "octopush", "--list", "demo", "ENDPOINT"],
            message: ["--phone"]),
        .init(
            name: "delete without --list",
            arguments: ["delete", "--provider", "octopush", "--phone", phone, "ENDPOINT"],
            message: ["--list"]),
        .init(
            name: "import without --provider",
            arguments: ["import", "CSV", "--list", "demo", "ENDPOINT"],
            message: ["--provider"]),
        .init(
            name: "import without --list",
            arguments: ["import", "CSV", "--provider", "octopush", "ENDPOINT"],
            message: ["--list"]),
        .init(
            name: "import without a file",
            arguments: ["import", "--provider", "octopush", "--list", "demo", "ENDPOINT"],
            message: ["file.csv"]),
        .init(
            name: "import of a missing file",
            arguments: [
                "import", "/nonexistent/contacts.csv", "--provider", "octopush", "--list", "demo",
                "ENDPOINT",
            ],
            message: ["/nonexistent/contacts.csv"]),
        .init(
            name: "bad --output on add",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--output",
                "xml", "ENDPOINT",
            ],
            message: ["--output", "xml"]),
        .init(
            name: "bad --output on import",
            arguments: [
                "import", "CSV", "--provider", "octopush", "--list", "demo", "--output", "yaml",
                "ENDPOINT",
            ],
            message: ["--output", "yaml"]),
        .init(
            name: "bad --output on validate", arguments: ["validate", "CSV", "--output", "csv"],
            message: ["--output", "csv"]),
        .init(
            name: "bad --region on add",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--region",
                "FRA", "ENDPOINT",
            ],
            message: ["--region", "FRA"]),
        .init(
            name: "bad --region on import",
            arguments: [
                "import", "CSV", "--provider", "octopush", "--list", "demo", "--region", "1",
                "ENDPOINT",
            ],
            message: ["--region"]),
        .init(
            name: "bad --region on validate", arguments: ["validate", "CSV", "--region", "France"],
            message: ["--region"]),
        .init(
            name: "--resume without --journal",
            arguments: [
                "import", "CSV", "--provider", "octopush", "--list", "demo", "--resume", "ENDPOINT",
            ],
            message: ["--resume", "--journal"]),
        .init(
            name: "--field without =",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--field",
                "param1", "ENDPOINT",
            ],
            message: ["--field", "KEY=VALUE"]),
        .init(
            name: "--field the provider has no place for",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--field",
                "shoe_size=42", "ENDPOINT",
            ],
            message: ["shoe_size"]),
        .init(
            name: "--field another provider's extra field",
            arguments: [
                "add", "--provider", "smspartner", "--list", "5001", "--phone", phone, "--field",
                "param1=vip", "ENDPOINT",
            ],
            message: ["param1"], provider: "smspartner"),
        .init(
            name: "unknown provider",
            arguments: [
                "add", "--provider", "textmagic", "--list", "demo", "--phone", phone, "ENDPOINT",
            ],
            message: ["textmagic", "avosms, octopush, smsgatewayapi, smspartner"]),
        .init(
            name: "unknown provider on import",
            arguments: ["import", "CSV", "--provider", "nope", "--list", "demo", "ENDPOINT"],
            message: ["nope", "avosms, octopush, smsgatewayapi, smspartner"]),
        .init(
            name: "missing credential",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone,
                "--credential", "api_login=\(Secret.octopushLogin)", "--endpoint", "SANDBOX",
            ],
            message: ["CONTACTOR_OCTOPUSH_API_KEY"]),
        .init(
            name: "missing credential on import",
            arguments: [
                "import", "CSV", "--provider", "smspartner", "--list", "5001", "--endpoint",
                "SANDBOX",
            ],
            message: ["CONTACTOR_SMSPARTNER_API_KEY"], provider: "smspartner"),
        .init(
            name: "missing credential on delete",
            arguments: [
                "delete", "--provider", "avosms", "--list", "1001", "--phone", phone, "--endpoint",
                "SANDBOX",
            ],
            message: ["CONTACTOR_AVOSMS_ID"], provider: "avosms"),
        .init(
            name: "--credential without =",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone,
                "--credential", "api_key", "--endpoint", "SANDBOX",
            ],
            message: ["--credential", "KEY=VALUE"]),
        .init(
            name: "bad --endpoint",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--endpoint",
                "ftp://example.org",
            ] + Secret.credentialArguments(for: "octopush"),
            message: ["--endpoint"]),
        .init(
            name: "--batch-size 0",
            arguments: [
                "import", "CSV", "--provider", "octopush", "--list", "demo", "--batch-size", "0",
                "ENDPOINT",
            ],
            message: ["--batch-size"]),
        .init(
            name: "--concurrency 0",
            arguments: [
                "import", "CSV", "--provider", "octopush", "--list", "demo", "--concurrency", "0",
                "ENDPOINT",
            ],
            message: ["--concurrency"]),
        .init(
            name: "--rate-limit -1",
            arguments: [
                "import", "CSV", "--provider", "octopush", "--list", "demo", "--rate-limit=-1",
                "ENDPOINT",
            ],
            message: ["--rate-limit"]),
        .init(
            name: "unknown validator",
            arguments: [
                "import", "CSV", "--provider", "octopush", "--list", "demo", "--validator",
                "no_such_rule", "ENDPOINT",
            ],
            message: ["no_such_rule"]),
        .init(
            name: "missing mapping file",
            arguments: [
                "import", "CSV", "--provider", "octopush", "--list", "demo", "--mapping",
                "/nonexistent/map.lua", "ENDPOINT",
            ],
            message: ["/nonexistent/map.lua"]),
        .init(
            name: "plugin that does not load",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--plugins",
                "BROKEN", "ENDPOINT",
            ],
            message: ["broken.lua"]),
        .init(
            name: "missing config file",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--config",
                "/nonexistent/contactor.json", "ENDPOINT",
            ],
            message: ["/nonexistent/contactor.json"]),
        .init(
            name: "unknown profile",
            arguments: [
                "add", "--provider", "octopush", "--list", "demo", "--phone", phone, "--config",
                "CONFIG", "--profile", "staging", "ENDPOINT",
            ],
            message: ["staging"]),
        .init(
            name: "delete on a provider without delete",
            arguments: [
                "delete", "--provider", "smsgatewayapi", "--list", "100", "--phone", phone,
                "ENDPOINT",
            ],
            message: ["delete is not supported by smsgatewayapi"], provider: "smsgatewayapi"),
        .init(
            name: "sandbox port out of range", arguments: ["sandbox", "--port", "70000"],
            message: ["--port"]),
        .init(
            name: "plugins new of an unknown kind",
            arguments: ["plugins", "new", "widget", "acme", "--dir", "DIR"],
            message: ["widget"]),
        .init(
            name: "plugins new with a bad name",
            arguments: ["plugins", "new", "provider", "Acme-SMS", "--dir", "DIR"],
            message: ["Acme-SMS"]),
        .init(
            name: "plugins check of a missing directory",
            arguments: ["plugins", "check", "/nonexistent/plugins"],
            message: ["/nonexistent/plugins"]),
    ]
}

@Suite("Parsing and usage errors")
struct ParsingTests {
    @Test(
        "Usage, configuration, credential and plugin errors exit 2, say why, send nothing",
        arguments: UsageErrorCase.all + UsageErrorCase.edges)
    func usageErrorExitsTwoAndSendsNothing(_ testCase: UsageErrorCase) async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let csv = try directory.write(
                    "contacts.csv", "phone,first_name\n+33612345678,Ada\n")
                try directory.write(
                    "broken/providers/broken.lua", "return { kind = \"provider\", name = ")
                let config = try directory.write(
                    "config.json", #"{"profiles": {"default": {"list": "demo"}}}"#)
                let arguments = testCase.arguments.flatMap { argument -> [String] in
                    switch argument {
                    case "ENDPOINT": sandbox.arguments(for: testCase.provider)
                    case "SANDBOX": [sandbox.server.url(for: testCase.provider).absoluteString]
                    case "SANDBOX_QUERY":
                        [sandbox.server.url(for: testCase.provider).absoluteString + "?a=1"]
                    case "SANDBOX_FRAGMENT":
                        [sandbox.server.url(for: testCase.provider).absoluteString + "#top"]
                    case "SANDBOX_CRLF":
                        [
                            sandbox.server.url(for: testCase.provider).absoluteString
                                + "/x\r\nX-Injected: 1"
                        ]
                    case "CSV": [csv]
                    case "BROKEN": [directory.path("broken")]
                    case "CONFIG": [config]
                    case "DIR": [directory.path("plugins")]
                    default: [argument]
                    }
                }
                let result = try await CLI.run(arguments, environment: testCase.environment)
                #expect(result.status == 2, "\(result.stderr)")
                for text in testCase.message {
                    #expect(
                        result.stderr.contains(text),
                        "stderr does not say '\(text)': \(result.stderr)")
                }
                #expect(result.stdout.isEmpty, "stdout: \(result.stdout)")
                #expect(sandbox.requests.isEmpty, "sent: \(sandbox.requests)")
                #expect(await sandbox.phones(testCase.provider, "demo").isEmpty)
            }
        }
    }

    static let helpCommands: [[String]] = [
        [], ["add"], ["delete"], ["import"], ["validate"], ["sync"], ["list"], ["providers"],
        ["plugins"], ["plugins", "check"], ["plugins", "new"], ["plugins", "test"], ["sandbox"],
        ["runs"], ["runs", "show"], ["worker"], ["results"],
    ]

    @Test("--help of every command exits 0 and shows an example", arguments: helpCommands)
    func helpShowsAnExample(_ command: [String]) async throws {
        let result = try await CLI.run(command + ["--help"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout
        #expect(text.contains("USAGE: contactor \(command.joined(separator: " "))"), "\(text)")
        #expect(text.lowercased().contains("example"), "no example in: \(text)")
        let example = "  contactor " + (command.first.map { "\($0) " } ?? "")
        #expect(text.contains(example), "no example of \(command) in: \(text)")
    }

    @Test("--version prints the version and exits 0")
    func versionPrintsTheVersion() async throws {
        let result = try await CLI.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test(
        "Shell completion scripts are generated for bash, zsh and fish",
        arguments: ["bash", "zsh", "fish"])
    func completionScriptIsGenerated(_ shell: String) async throws {
        let result = try await CLI.run(["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("contactor"))
        #expect(result.stdout.contains("import"))
        #expect(result.stdout.contains(shell == "fish" ? "'provider='" : "--provider"))
        // Provider names are completed, and the path options complete files.
        #expect(result.stdout.contains("smsgatewayapi"))
        if shell == "bash" {
            #expect(
                result.stdout.contains(
                    "'--config')\n        __contactor_add_completions -o plusdirs -fX '!*.@(json)'")
            )
            #expect(
                result.stdout.contains(
                    "'--mapping')\n        __contactor_add_completions -o plusdirs -fX '!*.@(lua)'")
            )
            #expect(
                result.stdout.contains(
                    "'--replay')\n        __contactor_add_completions -o plusdirs -fX '!*.@(json)'")
            )
            // Values from a fixed set are completed from it.
            #expect(
                result.stdout.contains(
                    "'--log-level')\n        __contactor_add_completions -W 'trace'"))
        }
    }
}
