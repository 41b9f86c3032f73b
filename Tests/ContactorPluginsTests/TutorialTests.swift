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
