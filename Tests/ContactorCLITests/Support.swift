import ContactorSandbox
import ContactorTesting
import Foundation
import Testing

/// Distinctive credential values: every test checks that no output of the binary holds
/// one of the secret ones (stdout and stderr, errors, verbose logs and dry runs included).
/// The account identifiers (Avosms id, Octopush login, SMS Gateway API client id) are not
/// secrets: they stay readable, as the providers' docs show them.
enum Secret {
    static let avosmsID = "avo-login-Q7x2"
    static let avosmsKey = "avo-key-Z93kd8"
    static let octopushLogin = "octo-login-W4m1"
    static let octopushKey = "octo-key-P0n9s"
    static let gatewayID = "sgw-client-H5t6"
    static let gatewaySecret = "sgw-secret-J8r3e"
    static let smsPartnerKey = "smsp-key-K2v7q"

    /// Every secret value above (not the identifiers).
    static let all = [avosmsKey, octopushKey, gatewaySecret, smsPartnerKey]

    /// A sandbox account with these credentials, so that the emulators accept them.
    static let demo: SandboxDemo = {
        var demo = SandboxDemo.standard
        demo.avosms.id = avosmsID
        demo.avosms.key = avosmsKey
        demo.octopush.apiLogin = octopushLogin
        demo.octopush.apiKey = octopushKey
        demo.smsGatewayAPI.clientID = gatewayID
        demo.smsGatewayAPI.clientSecret = gatewaySecret
        demo.smsPartner.apiKey = smsPartnerKey
        return demo
    }()

    /// `--credential` arguments for `provider`.
    static func credentialArguments(for provider: String) -> [String] {
        demo.credentials(for: provider).sorted { $0.key < $1.key }
            .flatMap { ["--credential", "\($0.key)=\($0.value)"] }
    }

    /// `CONTACTOR_<PROVIDER>_<KEY>` variables for `provider`.
    static func environment(for provider: String) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: demo.credentials(for: provider).map {
                ("CONTACTOR_\(provider.uppercased())_\($0.key.uppercased())", $0.value)
            })
    }

    /// Every provider's variables.
    static let allEnvironment: [String: String] = SandboxDemo.providers.reduce(into: [:]) {
        $0.merge(environment(for: $1)) { first, _ in first }
    }
}

/// Runs the built `contactor` binary and checks what every run must respect.
enum CLI {
    /// Runs `arguments`; records an issue when stdout or stderr holds a secret, or when
    /// stderr holds a progress bar (it is never a terminal here).
    static func run(
        _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil,
        input: Data? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> CommandLineProcess.Result {
        let process = try CommandLineProcess.contactor(
            environment: environment.merging(["CONTACTOR_BUNDLED_PLUGINS": "/nonexistent"]) {
                first, _ in first
            },
            workingDirectory: directory)
        let result = try await process.run(arguments, input: input, timeout: .seconds(120))
        for secret in Secret.all {
            #expect(
                !result.stdout.contains(secret), "stdout of \(arguments) holds a secret",
                sourceLocation: sourceLocation)
            #expect(
                !result.stderr.contains(secret), "stderr of \(arguments) holds a secret",
                sourceLocation: sourceLocation)
        }
        #expect(
            !result.stderr.contains("\r") && !result.stderr.contains("\u{1B}["),
            "stderr of \(arguments) holds terminal control sequences (a progress bar?)",
            sourceLocation: sourceLocation)
        return result
    }

    /// The JSON objects of a run's stdout, one per line.
    static func jsonLines(
        _ result: CommandLineProcess.Result, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [[String: Any]] {
        try result.stdoutLines.map { line in
            let object = try JSONSerialization.jsonObject(
                with: Data(line.utf8), options: [.fragmentsAllowed])
            return try #require(
                object as? [String: Any], "not a JSON object: \(line)",
                sourceLocation: sourceLocation)
        }
    }
}

/// A sandbox running in the test process, whose requests are counted.
final class Sandbox: Sendable {
    let server: SandboxServer
    private let log: LogCapture

    private init(server: SandboxServer, log: LogCapture) {
        self.server = server
        self.log = log
    }

    /// Starts a sandbox with the ``Secret`` credentials on a free port.
    static func start() async throws -> Sandbox {
        let log = LogCapture()
        let server = SandboxServer(
            configuration: SandboxConfiguration(
                port: 0, demo: Secret.demo,
                logger: log.logger(label: "cli-tests.sandbox", level: .debug)))
        try await server.start()
        return Sandbox(server: server, log: log)
    }

    /// Runs `body` with a fresh sandbox, stopping it afterwards.
    static func with<T>(_ body: (Sandbox) async throws -> T) async throws -> T {
        let sandbox = try await start()
        do {
            let value = try await body(sandbox)
            await sandbox.server.stop()
            return value
        } catch {
            await sandbox.server.stop()
            throw error
        }
    }

    /// `--endpoint URL` plus `--credential` for `provider`.
    func arguments(for provider: String) -> [String] {
        ["--endpoint", server.url(for: provider).absoluteString]
            + Secret.credentialArguments(for: provider)
    }

    /// The provider requests the sandbox answered (`METHOD /path → status`): its `debug`
    /// request lines, without those of its admin endpoints (`/_sandbox`).
    var requests: [String] {
        log.records.filter {
            $0.level == .debug && $0.message.contains("→") && !$0.message.contains("/_sandbox")
        }
        .map(\.message)
    }

    /// The phones in one list, in E.164 (SMS Gateway API stores them without the `+`).
    func phones(_ provider: String, _ list: String) async -> [String] {
        await server.contacts(provider: provider, list: list).map {
            $0.phone.hasPrefix("+") ? $0.phone : "+" + $0.phone
        }
    }
}

/// A temporary directory, removed when the value is released by ``with(_:)``.
struct TemporaryDirectory {
    let url: URL

    /// Runs `body` with a new empty directory.
    static func with<T>(_ body: (TemporaryDirectory) async throws -> T) async throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-cli-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try await body(TemporaryDirectory(url: url))
    }

    /// Writes `text` (UTF-8) to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String, permissions: Int? = nil) throws -> String {
        try write(name, data: Data(text.utf8), permissions: permissions)
    }

    /// Writes `data` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, data: Data, permissions: Int? = nil) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
        if let permissions {
            try FileManager.default.setAttributes(
                [.posixPermissions: permissions], ofItemAtPath: file.path)
        }
        return file.path
    }

    /// The path of `name` in the directory.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// A `contactor` process left running (for `contactor sandbox`), its output in files.
final class ContactorProcess: Sendable {
    private let process: SpawnedProcess
    private let stderrFile: URL

    private init(process: SpawnedProcess, stderrFile: URL) {
        self.process = process
        self.stderrFile = stderrFile
    }

    /// Starts `arguments`, writing stdout and stderr into `directory`.
    static func start(
        _ arguments: [String], in directory: TemporaryDirectory
    ) throws
        -> ContactorProcess
    {
        let stderr = directory.url.appendingPathComponent("stderr")
        let process = try CommandLineProcess.contactor().start(
            arguments, stdout: directory.url.appendingPathComponent("stdout"), stderr: stderr)
        return ContactorProcess(process: process, stderrFile: stderr)
    }

    /// Waits (at most 30 s) until stderr holds `text`, and returns stderr.
    func waitForStderr(containing text: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let output = String(
                decoding: (try? Data(contentsOf: stderrFile)) ?? Data(), as: UTF8.self)
            if output.contains(text) { return output }
            if !process.isRunning { break }
            // Polls the file the child writes: there is no notification to wait on.
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CocoaError(
            .fileReadUnknown,
            userInfo: [NSLocalizedDescriptionKey: "stderr never said '\(text)'"])
    }

    /// Sends SIGINT.
    func interrupt() { process.interrupt() }

    /// Sends SIGTERM when still running.
    func terminate() { if process.isRunning { process.terminate() } }

    /// Waits for the process to end and returns its exit status.
    func waitForExit() async throws -> Int32 {
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
