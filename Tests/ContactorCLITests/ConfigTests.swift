import Foundation
import Testing

@Suite("Config file, profiles and precedence")
struct ConfigTests {
    /// A config file with two profiles; `credentials` is added to the default profile.
    static func config(
        endpoint: String, list: String = "vip", credentials: [String: String]? = nil
    )
        -> String
    {
        var profile: [String: Any] = ["provider": "octopush", "list": list, "endpoint": endpoint]
        if let credentials { profile["credentials"] = ["octopush": credentials] }
        let root: [String: Any] = [
            "profiles": [
                "default": profile,
                "partner": [
                    "provider": "smspartner", "list": "5001",
                    "endpoint": endpoint.replacingOccurrences(of: "octopush", with: "smspartner"),
                ],
            ]
        ]
        let data = try! JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static let goodCredentials = ["api_login": Secret.octopushLogin, "api_key": Secret.octopushKey]

    @Test("A private (0600) config file supplies provider, list, endpoint and credentials")
    func privateConfigFileIsUsed() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let config = try directory.write(
                    "contactor.json",
                    Self.config(
                        endpoint: sandbox.server.url(for: "octopush").absoluteString,
                        credentials: Self.goodCredentials),
                    permissions: 0o600)
                let result = try await CLI.run(
                    ["add", "--phone", "+33612345678", "--config", config, "--output", "json"])
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
                #expect(await sandbox.phones("octopush", "vip") == ["+33612345678"])
            }
        }
    }

    @Test(
        "Credentials in a group- or world-readable config file are refused, saying why",
        arguments: [0o644, 0o640, 0o604])
    func readableConfigFileWithCredentialsIsRefused(_ permissions: Int) async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let config = try directory.write(
                    "contactor.json",
                    Self.config(
                        endpoint: sandbox.server.url(for: "octopush").absoluteString,
                        credentials: Self.goodCredentials),
                    permissions: permissions)
                let result = try await CLI.run(
                    ["add", "--phone", "+33612345678", "--config", config, "--output", "json"],
                    environment: Secret.environment(for: "octopush"))
                #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
                #expect(result.stderr.contains("other users can read it"), "\(result.stderr)")
                #expect(result.stderr.contains("chmod 600"))
                #expect(sandbox.requests.isEmpty)
            }
        }
    }

    @Test("A readable config file without credentials is fine")
    func readableConfigFileWithoutCredentialsIsUsed() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let config = try directory.write(
                    "contactor.json",
                    Self.config(endpoint: sandbox.server.url(for: "octopush").absoluteString),
                    permissions: 0o644)
                let result = try await CLI.run(
                    ["add", "--phone", "+33612345678", "--config", config, "--output", "json"],
                    environment: Secret.environment(for: "octopush"))
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
                #expect(await sandbox.phones("octopush", "vip") == ["+33612345678"])
            }
        }
    }

    @Test("--profile and CONTACTOR_PROFILE pick a profile")
    func profileIsSelected() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let config = try directory.write(
                    "contactor.json",
                    Self.config(endpoint: sandbox.server.url(for: "octopush").absoluteString))
                let flag = try await CLI.run(
                    [
                        "add", "--phone", "+33612345678", "--config", config, "--profile",
                        "partner",
                        "--output", "json",
                    ],
                    environment: Secret.environment(for: "smspartner"))
                #expect(flag.status == 0, "\(flag.stdout)\(flag.stderr)")
                #expect(await sandbox.phones("smspartner", "5001") == ["+33612345678"])

                let variable = try await CLI.run(
                    ["add", "--phone", "+33612345679", "--output", "json"],
                    environment: Secret.environment(for: "smspartner").merging([
                        "CONTACTOR_CONFIG": config, "CONTACTOR_PROFILE": "partner",
                    ]) { first, _ in first })
                #expect(variable.status == 0, "\(variable.stdout)\(variable.stderr)")
                #expect(await sandbox.phones("smspartner", "5001").count == 2)
            }
        }
    }

    /// Where a setting comes from in one precedence case.
    struct ListCase: CustomTestStringConvertible, Sendable {
        var name: String
        var flag: String?
        var environment: String?
        var file: String
        var expected: String
        var testDescription: String { name }
    }

    @Test(
        "Settings: flags > CONTACTOR_* environment > config file",
        arguments: [
            ListCase(name: "file alone", flag: nil, environment: nil, file: "vip", expected: "vip"),
            ListCase(
                name: "environment over file", flag: nil, environment: "demo", file: "vip",
                expected: "demo"),
            ListCase(
                name: "flag over environment", flag: "vip", environment: "demo", file: "demo",
                expected: "vip"),
            ListCase(
                name: "flag over file", flag: "demo", environment: nil, file: "vip",
                expected: "demo"),
        ])
    func settingsPrecedence(_ testCase: ListCase) async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let config = try directory.write(
                    "contactor.json",
                    Self.config(
                        endpoint: sandbox.server.url(for: "octopush").absoluteString,
                        list: testCase.file))
                var environment = Secret.environment(for: "octopush")
                environment["CONTACTOR_LIST"] = testCase.environment
                let result = try await CLI.run(
                    ["add", "--phone", "+33612345678", "--config", config, "--output", "json"]
                        + (testCase.flag.map { ["--list", $0] } ?? []),
                    environment: environment)
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
                #expect(await sandbox.phones("octopush", testCase.expected) == ["+33612345678"])
            }
        }
    }

    /// Which source holds the right key; the others hold a wrong one.
    @Test(
        "Credentials: --credential > CONTACTOR_<PROVIDER>_<KEY> > config file",
        arguments: ["flag", "environment", "file"])
    func credentialPrecedence(_ winner: String) async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let wrong = "wrong-key-0000"
                let right = Secret.octopushKey
                let config = try directory.write(
                    "contactor.json",
                    Self.config(
                        endpoint: sandbox.server.url(for: "octopush").absoluteString,
                        credentials: [
                            "api_login": Secret.octopushLogin,
                            "api_key": winner == "file" ? right : wrong,
                        ]),
                    permissions: 0o600)
                var environment: [String: String] = [:]
                if winner != "file" {
                    environment["CONTACTOR_OCTOPUSH_API_KEY"] =
                        winner == "environment" ? right : wrong
                }
                let flag = winner == "flag" ? ["--credential", "api_key=\(right)"] : []
                let result = try await CLI.run(
                    ["add", "--phone", "+33612345678", "--config", config, "--output", "json"]
                        + flag,
                    environment: environment)
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
                #expect(await sandbox.phones("octopush", "vip") == ["+33612345678"])

                // The flag wins even when it is the wrong one.
                if winner != "flag" {
                    let overridden = try await CLI.run(
                        [
                            "add", "--phone", "+33612345679", "--config", config, "--output",
                            "json",
                            "--credential", "api_key=\(wrong)",
                        ],
                        environment: environment)
                    #expect(overridden.status == 1, "\(overridden.stdout)\(overridden.stderr)")
                    #expect(await sandbox.phones("octopush", "vip").count == 1)
                }
            }
        }
    }

    @Test(
        "A config file with an unknown key or bad JSON is refused with exit 2",
        arguments: [
            #"{"profiles": {"default": {"provder": "octopush"}}}"#, "{not json",
            #"{"default": {}}"#,
        ])
    func badConfigFileIsRefused(_ text: String) async throws {
        try await TemporaryDirectory.with { directory in
            let config = try directory.write("contactor.json", text)
            let result = try await CLI.run(
                [
                    "add", "--provider", "octopush", "--list", "demo", "--phone", "+33612345678",
                    "--config", config, "--dry-run",
                ])
            #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains(config))
            #expect(result.stdout.isEmpty)
        }
    }
}

@Suite("Config file discovery")
struct ConfigDiscoveryTests {
    static let profile = #"{"profiles": {"default": {"provider": "octopush", "list": "demo"}}}"#

    @Test(
        "Without --config: $XDG_CONFIG_HOME/contactor/config.json, else ~/.config/contactor/config.json; -v names it",
        arguments: ["xdg", "home"])
    func discoversTheConfigFile(_ place: String) async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file =
                    place == "xdg"
                    ? try directory.write("xdg/contactor/config.json", Self.profile)
                    : try directory.write("home/.config/contactor/config.json", Self.profile)
                let result = try await CLI.run(
                    ["add", "--phone", "+33612345678", "--output", "json", "-v"]
                        + sandbox.arguments(for: "octopush"),
                    environment: [
                        "HOME": directory.path("home"),
                        "XDG_CONFIG_HOME": place == "xdg" ? directory.path("xdg") : "",
                    ])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(
                    result.stderr.contains("read the config file \(file), profile 'default'"),
                    "\(result.stderr)")
                #expect(await sandbox.phones("octopush", "demo") == ["+33612345678"])
            }
        }
    }

    @Test("--profile X without any config file is exit 2 saying so")
    func profileWithoutAConfigFile() async throws {
        try await TemporaryDirectory.with { directory in
            let result = try await CLI.run(
                [
                    "add", "--provider", "octopush", "--list", "demo", "--phone", "+33612345678",
                    "--profile", "staging",
                ] + Secret.credentialArguments(for: "octopush"),
                environment: ["HOME": directory.url.path, "XDG_CONFIG_HOME": ""])
            #expect(result.status == 2)
            #expect(result.stderr.contains("profile 'staging'"), "\(result.stderr)")
            #expect(result.stderr.contains("no config file"), "\(result.stderr)")
        }
    }
}
