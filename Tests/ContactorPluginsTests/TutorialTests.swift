import Contactor
import ContactorHTTP
import ContactorLua
import ContactorTestServer
import ContactorTesting
import Foundation
import Synchronization
import Testing

/// The tutorial of docs/plugins.md, step by step: the template, the finished plugin
/// (taken from the docs) against a fake of the Acme API it describes, check and dry run.
@Suite struct TutorialTests {
    /// The Acme API as the tutorial states it (the same as its Python fake).
    final class AcmeFake: Sendable {
        let lists = Mutex<[String: Set<String>]>(["test": []])

        var handler: TestHTTPServer.Handler {
            { [self] request in
                guard request.header("Authorization") == "Bearer test-key" else {
                    return json(401, ["error": "bad key"])
                }
                let parts = request.path.split(separator: "/").map(String.init)
                guard parts.count >= 4, parts[0] == "v1", parts[1] == "lists",
                    parts[3] == "contacts"
                else { return json(404, ["error": "no such route"]) }
                return lists.withLock { lists -> ScriptedReply in
                    guard var members = lists[parts[2]] else {
                        return json(404, ["error": "no such list"])
                    }
                    defer { lists[parts[2]] = members }
                    if request.method == "POST" {
                        let number = body(request)["phone"]?.stringValue ?? ""
                        guard (try? PhoneNumber(parsing: number)) != nil else {
                            return json(400, ["error": "invalid number"])
                        }
                        guard members.insert(number).inserted else {
                            return json(409, ["error": "already in the list"])
                        }
                        return json(201, ["id": .int(Int64(members.count))])
                    }
                    guard parts.count == 5, members.remove(parts[4]) != nil else {
                        return json(404, ["error": "not in the list"])
                    }
                    return .status(204)
                }
            }
        }
    }

    static func pluginDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-tutorial-\(UUID().uuidString)")
        let file = directory.appendingPathComponent("providers/acme.lua")
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try DocsExampleTests.block("tutorial-acme").write(
            to: file, atomically: true, encoding: .utf8)
        return directory
    }

    @Test(arguments: ProviderConformance.Check.allCases)
    func theTutorialPluginPassesTheConformanceSuiteAgainstTheAcmeFake(
        _ check: ProviderConformance.Check
    ) async throws {
        let directory = try Self.pluginDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let provider = try #require(
            try await PluginLoader(
                configuration: .init(pluginDirectories: [directory], environment: [:])
            ).load().providers["acme"])
        let fake = AcmeFake()
        try await withFake(fake.handler) { server, transport in
            let target = ConformanceTarget(
                provider: provider,
                context: ProviderContext(
                    transport: transport,
                    credentials: Credentials(provider: "acme", ["api_key": "test-key"]),
                    endpoint: server.baseURL),
                badCredentials: Credentials(provider: "acme", ["api_key": "wrong"]),
                list: "test", unknownList: "nope", numbers: mobiles, invalidNumber: invalidNumber,
                contains: { list, e164 in fake.lists.withLock { $0[list]?.contains(e164) == true } }
            )
            let failures = try await ProviderConformance.run(check, on: target)
            #expect(failures.isEmpty, "\(failures)")
        }
    }

    @Test func theTemplateFromPluginsNewPassesPluginsCheck() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-template-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cli = try CommandLineProcess.contactor()
        let created = try await cli.run([
            "plugins", "new", "provider", "acme", "--dir", directory.path,
        ])
        #expect(created.status == 0, "\(created.stderr)")
        let checked = try await cli.run(["plugins", "check", directory.path])
        #expect(checked.status == 0, "\(checked.stdout)")
        #expect(checked.stdout.contains("1 plugin loaded, 0 problems"))
    }

    /// The directory `contactor plugins new provider acme` wrote, once for every test (each
    /// process spawned is one more chance for Foundation's intermittent `Process.run` crash
    /// on Linux, swift-corelibs-foundation#5472).
    static let scaffoldDirectory = Task<URL, any Error> {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-scaffold-\(UUID().uuidString)")
        let created = try await CommandLineProcess.contactor().run([
            "plugins", "new", "provider", "acme", "--dir", directory.path,
        ])
        guard created.status == 0 else {
            throw CocoaError(
                .fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: created.stderr])
        }
        return directory
    }

    /// The provider `contactor plugins new provider acme` writes, loaded.
    static func scaffold() async throws -> LuaProvider {
        let directory = try await scaffoldDirectory.value
        return try #require(
            try await PluginLoader(
                configuration: .init(pluginDirectories: [directory], environment: [:])
            ).load().providers["acme"])
    }

    @Test(arguments: ProviderConformance.Check.allCases)
    func theScaffoldPassesTheConformanceSuiteAgainstTheTutorialsAcmeFake(
        _ check: ProviderConformance.Check
    ) async throws {
        let provider = try await Self.scaffold()
        let fake = AcmeFake()
        try await withFake(fake.handler) { server, transport in
            let target = ConformanceTarget(
                provider: provider,
                context: ProviderContext(
                    transport: transport,
                    credentials: Credentials(provider: "acme", ["api_key": "test-key"]),
                    endpoint: server.baseURL),
                badCredentials: Credentials(provider: "acme", ["api_key": "wrong"]),
                list: "test", unknownList: "nope", numbers: mobiles, invalidNumber: invalidNumber,
                contains: { list, e164 in fake.lists.withLock { $0[list]?.contains(e164) == true } }
            )
            let report = try await ProviderConformance.report(check, on: target)
            #expect(report.passed, "\(report)")
        }
    }

    @Test func theScaffoldRaisesAuthFailedOn401AsTheTutorialSays() async throws {
        let provider = try await Self.scaffold()
        try await withFake(AcmeFake().handler) { server, transport in
            let context = ProviderContext(
                transport: transport,
                credentials: Credentials(provider: "acme", ["api_key": "wrong-key"]),
                endpoint: server.baseURL)
            let error = await #expect(throws: ContactError.self) {
                try await provider.add(
                    [Contact(phone: mobiles[0]), Contact(phone: mobiles[1])], to: "test",
                    context: context)
            }
            #expect(error?.code == .authFailed, "\(String(describing: error))")
            #expect(error?.providerCode == "401")
            #expect(error?.isTransient == false)
        }
    }

    @Test func theScaffoldGivesNoIdWhenTheAnswerHasNoneNotTheTextNil() async throws {
        let provider = try await Self.scaffold()
        try await withFake({ _ in .status(201) }) { server, transport in
            let context = ProviderContext(
                transport: transport,
                credentials: Credentials(provider: "acme", ["api_key": "test-key"]),
                endpoint: server.baseURL)
            let results = try await provider.add(
                [Contact(phone: mobiles[0])], to: "test", context: context)
            #expect(results.map(\.status) == [.added])
            #expect(results.first?.id == nil, "\(results)")
        }
    }

    /// Runs a ```sh block of the tutorial in `directory` with `contactor` on the PATH, the
    /// fake's address for the tutorial's `http://127.0.0.1:8099`.
    static func runShellStep(
        _ name: String, in directory: URL, endpoint: String?
    ) async throws -> CommandLineProcess.Result {
        var script = try DocsExampleTests.shellBlock(name)
        if let endpoint {
            var base = endpoint
            while base.hasSuffix("/") { base.removeLast() }
            script = script.replacingOccurrences(of: "http://127.0.0.1:8099", with: base)
        }
        let binary = try CommandLineProcess.contactor().executable
        return try await CommandLineProcess(
            executable: URL(fileURLWithPath: "/bin/sh"),
            environment: [
                "PATH": binary.deletingLastPathComponent().path + ":/usr/bin:/bin",
                "CONTACTOR_BUNDLED_PLUGINS": "/nonexistent",
            ],
            removedEnvironment: Set(
                ProcessInfo.processInfo.environment.keys.filter { $0.hasPrefix("CONTACTOR_") }),
            workingDirectory: directory
        ).run(["-e", "-c", script], timeout: .seconds(120))
    }

    @Test func theTutorialsPluginsTestAndReplayStepsRunAsWritten() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-tutorial-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = directory.appendingPathComponent("my-plugins")
        try FileManager.default.createDirectory(
            at: plugins.appendingPathComponent("providers"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: plugins.appendingPathComponent("tests"), withIntermediateDirectories: true)
        try DocsExampleTests.block("tutorial-acme").write(
            to: plugins.appendingPathComponent("providers/acme.lua"), atomically: true,
            encoding: .utf8)
        var base = ""
        try await TestHTTPServer.withServer(handler: AcmeFake().handler) { server in
            base = server.baseURL.absoluteString
            let tested = try await Self.runShellStep(
                "tutorial-plugins-test", in: directory, endpoint: base)
            #expect(tested.status == 0, "\(tested.stdout)\(tested.stderr)")
            // What the docs show of the output.
            for line in [
                "PASS add", "  add on 'test'",
                "    sent     +33612340100 first_name=Ada last_name=Lovelace",
                "    received added id=1", "11 checks: 9 passed, 0 failed, 2 not applicable",
            ] {
                #expect(tested.stdoutLines.contains(line), "\(line): \(tested.stdout)")
            }
            #expect(
                tested.stdout.contains(
                    "    > POST \(base.hasSuffix("/") ? String(base.dropLast()) : base)/v1/lists/test/contacts  [Authorization: ***; "
                ), "\(tested.stdout)")
            #expect(tested.stdoutLines.contains("    < 201  {\"id\":1}"), "\(tested.stdout)")
            #expect(
                tested.stdout.contains(
                    "not verified (the plugin has no list): +33612340100 in the list"))
            #expect(!tested.stdout.contains("test-key"))
        }
        // The fake is gone: the replay answers from the cassette alone.
        let replayed = try await Self.runShellStep("tutorial-replay", in: directory, endpoint: base)
        #expect(replayed.status == 0, "\(replayed.stdout)\(replayed.stderr)")
        #expect(
            replayed.stdoutLines.last == "11 checks: 9 passed, 0 failed, 2 not applicable",
            "\(replayed.stdout)")
    }

    @Test func theTutorialPluginChecksAndDryRunsTheTemplateCSV() async throws {
        let directory = try Self.pluginDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let csv = directory.appendingPathComponent("acme.csv")
        // The CSV `plugins new` writes (two good rows, one bad number).
        try """
        phone,first_name,last_name,email
        06 12 34 56 78,Ada,Lovelace,ada@example.com
        +33 7 81 23 45 67,Alan,Turing,alan@example.com
        12345,Bad,Number,

        """.write(to: csv, atomically: true, encoding: .utf8)
        let cli = try CommandLineProcess.contactor()
        let checked = try await cli.run(["plugins", "check", directory.path])
        #expect(checked.status == 0, "\(checked.stdout)")
        let dry = try await cli.run([
            "import", csv.path, "--provider", "acme", "--list", "test", "--plugins",
            directory.path, "--credential", "api_key=test-key", "--dry-run", "--output", "json",
        ])
        #expect(dry.status == 1, "\(dry.stderr)")
        let requests = dry.stdoutLines.filter { $0.contains(#""request""#) }
        #expect(requests.count == 2, "\(dry.stdout)")
        #expect(
            requests.allSatisfy {
                $0.contains("https://api.acme-sms.example/v1/lists/test/contacts")
            })
        #expect(!dry.stdout.contains("test-key"))
        #expect(dry.stdoutLines.filter { $0.contains(#""rejected""#) }.count == 1)
    }
}
