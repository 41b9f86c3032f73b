import ContactorTesting
import Foundation
import Synchronization
import Testing

extension UsageErrorCase {
    /// Values out of range, malformed URLs and control characters: each refused at parse
    /// time (exit 2) with a message naming the option (and its range), nothing sent.
    static let edges: [UsageErrorCase] = {
        let importCSV = ["import", "CSV", "--provider", "octopush", "--list", "demo"]
        let add = ["add", "--provider", "octopush", "--list", "demo", "--phone", phone]
        let credentials = Secret.credentialArguments(for: "octopush")
        return [
            .init(
                name: "--concurrency Int.max",
                arguments: importCSV + ["--concurrency", "9223372036854775807", "ENDPOINT"],
                message: ["--concurrency", "1 to 256"]),
            .init(
                name: "--concurrency over Int.max",
                arguments: importCSV + ["--concurrency", "99999999999999999999", "ENDPOINT"],
                message: ["--concurrency", "1 to 256"]),
            .init(
                name: "--batch-size -1 is a negative number, not a missing value",
                arguments: importCSV + ["--batch-size", "-1", "ENDPOINT"],
                message: ["--batch-size", "negative number", "1 to 10000"]),
            .init(
                name: "--batch-size too big",
                arguments: importCSV + ["--batch-size", "1000000", "ENDPOINT"],
                message: ["--batch-size", "1 to 10000"]),
            .init(
                name: "--rate-limit 1e-9",
                arguments: importCSV + ["--rate-limit", "1e-9", "ENDPOINT"],
                message: ["--rate-limit", "0.01 to 10000"]),
            .init(
                name: "--rate-limit 5e-324",
                arguments: importCSV + ["--rate-limit", "5e-324", "ENDPOINT"],
                message: ["--rate-limit", "0.01 to 10000"]),
            .init(
                name: "--rate-limit nan",
                arguments: importCSV + ["--rate-limit", "nan", "ENDPOINT"],
                message: ["--rate-limit"]),
            .init(
                name: "--rate-limit -2 is a negative number",
                arguments: importCSV + ["--rate-limit", "-2", "ENDPOINT"],
                message: ["--rate-limit", "negative number"]),
            .init(
                name: "--max-deletes -5",
                arguments: [
                    "sync", "CSV", "--provider", "octopush", "--list", "demo", "--delete-missing",
                    "--max-deletes", "-5", "ENDPOINT",
                ],
                message: ["--max-deletes", "negative number"]),
            .init(
                name: "--timeout 0", arguments: add + ["--timeout", "0", "ENDPOINT"],
                message: ["--timeout", "0.1 to 3600"]),
            .init(
                name: "--timeout -3", arguments: add + ["--timeout", "-3", "ENDPOINT"],
                message: ["--timeout", "negative number"]),
            .init(
                name: "--endpoint port 99999",
                arguments: add + ["--endpoint", "http://127.0.0.1:99999"] + credentials,
                message: ["--endpoint", "port", "1 to 65535"]),
            .init(
                name: "--endpoint port not a number",
                arguments: add + ["--endpoint", "http://127.0.0.1:80a/x"] + credentials,
                message: ["--endpoint", "port"]),
            .init(
                name: "--endpoint with a query",
                arguments: add + ["--endpoint", "SANDBOX_QUERY"] + credentials,
                message: ["--endpoint", "query"]),
            .init(
                name: "--endpoint with a fragment",
                arguments: add + ["--endpoint", "SANDBOX_FRAGMENT"] + credentials,
                message: ["--endpoint", "fragment"]),
            .init(
                name: "--endpoint with CR LF and a header",
                arguments: add + ["--endpoint", "SANDBOX_CRLF"] + credentials,
                message: ["--endpoint", "control character", "\\u{D}\\u{A}"]),
            .init(
                name: "--list with a line break",
                arguments: [
                    "add", "--provider", "octopush", "--list", "demo\r\nX-Injected: 1", "--phone",
                    phone, "ENDPOINT",
                ],
                message: ["--list", "control character"]),
            .init(
                name: "--option value with a line break",
                arguments: add + ["--option", "tag_name=vip\nX-Injected: 1", "ENDPOINT"],
                message: ["--option tag_name", "control character"]),
            .init(
                name: "--credential with a line break",
                arguments: add + [
                    "--credential", "api_login=\(Secret.octopushLogin)", "--credential",
                    "api_key=\(Secret.octopushKey)\r\nX-Injected: 1", "--endpoint", "SANDBOX",
                ],
                message: ["api_key", "control character"]),
            .init(
                name: "credential variable with a line break",
                arguments: add + ["--endpoint", "SANDBOX"],
                message: ["CONTACTOR_OCTOPUSH_API_KEY", "control character"],
                environment: [
                    "CONTACTOR_OCTOPUSH_API_LOGIN": Secret.octopushLogin,
                    "CONTACTOR_OCTOPUSH_API_KEY": Secret.octopushKey + "\nX-Injected: 1",
                ]),
            .init(
                name: "--region XX, a code no region has",
                arguments: add + ["--region", "XX", "ENDPOINT"], message: ["--region", "XX"]),
            .init(
                name: "--region XX on validate", arguments: ["validate", "CSV", "--region", "XX"],
                message: ["--region", "XX"]),
        ]
    }()
}

@Suite("The command line at the edges")
struct EdgeTests {
    /// `count` distinct French mobile numbers, as a CSV.
    static func csv(rows count: Int) -> String {
        "phone,first_name\n"
            + (0..<count).map { "+336120\(String(format: "%05d", $0)),P\($0)\n" }.joined()
    }

    @Test("import | head ends quietly (141), the journal lets --resume finish without loss")
    func brokenPipe() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let rows = 3000
                let file = try directory.write("many.csv", Self.csv(rows: rows))
                let journal = directory.path("run.sqlite")
                let binary = try CommandLineProcess.contactor().executable.path
                let arguments =
                    [
                        binary, "import", file, "--provider", "octopush", "--list", "demo",
                        "--journal", journal, "--output", "json", "--batch-size", "100",
                        "--concurrency", "1",
                    ] + sandbox.arguments(for: "octopush")
                let quoted = arguments.map { "'" + $0 + "'" }.joined(separator: " ")
                // `head` leaves after one line; every later write meets a closed pipe.
                let script =
                    "\(quoted) 2>'\(directory.path("stderr"))' | head -n 1; "
                    + "echo \"${PIPESTATUS[0]}\" > '\(directory.path("status"))'"
                let shell = CommandLineProcess(
                    executable: URL(fileURLWithPath: "/bin/bash"),
                    environment: ["CONTACTOR_BUNDLED_PLUGINS": "/nonexistent"],
                    removedEnvironment: Set(
                        ProcessInfo.processInfo.environment.keys.filter {
                            $0.hasPrefix("CONTACTOR_")
                        }))
                let piped = try await shell.run(["-c", script], timeout: .seconds(120))
                #expect(piped.stdoutLines.count == 1, "\(piped.stdout)")
                let status = try String(contentsOfFile: directory.path("status"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                let stderr = try String(contentsOfFile: directory.path("stderr"), encoding: .utf8)
                #expect(status == "141" || status == "1", "status \(status): \(stderr)")
                #expect(!stderr.contains("Fatal error"), "\(stderr)")
                #expect(stderr.split(separator: "\n").count <= 2, "\(stderr)")
                #expect(await sandbox.phones("octopush", "demo").count < rows)

                let resumed = try await CLI.run(
                    [
                        "import", file, "--provider", "octopush", "--list", "demo", "--journal",
                        journal, "--resume", "--output", "json",
                    ] + sandbox.arguments(for: "octopush"))
                #expect(resumed.status == 0, "\(resumed.stderr)")
                #expect(Set(await sandbox.phones("octopush", "demo")).count == rows)
            }
        }
    }

    @Test("validate | head ends quietly too")
    func brokenPipeOnValidate() async throws {
        try await TemporaryDirectory.with { directory in
            let file = try directory.write("many.csv", Self.csv(rows: 20_000))
            let binary = try CommandLineProcess.contactor().executable.path
            let script =
                "'\(binary)' validate '\(file)' --output json 2>'\(directory.path("stderr"))' | head -n 2; "
                + "echo \"${PIPESTATUS[0]}\" > '\(directory.path("status"))'"
            let shell = CommandLineProcess(executable: URL(fileURLWithPath: "/bin/bash"))
            let piped = try await shell.run(["-c", script], timeout: .seconds(120))
            #expect(piped.stdoutLines.count == 2)
            let status = try String(contentsOfFile: directory.path("status"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let stderr = try String(contentsOfFile: directory.path("stderr"), encoding: .utf8)
            #expect(status == "141", "status \(status): \(stderr)")
            #expect(stderr.isEmpty, "\(stderr)")
        }
    }

    @Test("SMS Partner is reached over https unless --endpoint says http")
    func smsPartnerDefaultsToHTTPS() async throws {
        let common = [
            "add", "--provider", "smspartner", "--list", "5001", "--phone", "+33612345678",
            "--dry-run", "--output", "json", "--credential", "api_key=\(Secret.smsPartnerKey)",
        ]
        let byDefault = try await CLI.run(common)
        #expect(byDefault.status == 0, "\(byDefault.stderr)")
        #expect(
            byDefault.stdout.contains("\"url\":\"https://api.smspartner.fr/v1/"),
            "\(byDefault.stdout)")
        #expect(!byDefault.stdout.contains("http://"), "\(byDefault.stdout)")
        let providers = try await CLI.run(["providers", "--output", "json"])
        #expect(providers.stdout.contains("\"endpoint\":\"https://api.smspartner.fr\""))
        let explicit = try await CLI.run(common + ["--endpoint", "http://127.0.0.1:9/sp"])
        #expect(explicit.status == 0, "\(explicit.stderr)")
        #expect(
            explicit.stdout.contains("\"url\":\"http://127.0.0.1:9/sp/v1/"), "\(explicit.stdout)")
    }

    @Test("--timeout bounds a request to a server that never answers")
    func timeoutBoundsASilentServer() async throws {
        let server = try SilentServer()
        defer { server.close() }
        let result = try await CLI.run(
            [
                "add", "--provider", "octopush", "--list", "demo", "--phone", "+33612345678",
                "--endpoint", "http://127.0.0.1:\(server.port)", "--timeout", "0.3", "--output",
                "json",
            ] + Secret.credentialArguments(for: "octopush"))
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let line = try #require(try CLI.jsonLines(result).first)
        #expect(line["status"] as? String == "failed")
        let error = try #require(line["error"] as? [String: Any])
        #expect(error["code"] as? String == "timeout", "\(line)")
        // Without --timeout each attempt would wait the 20 s read timeout.
        #expect((error["message"] as? String)?.contains("within 0.3 s") == true, "\(line)")
    }

    /// Inputs that cannot hold one contact: exit 2 before anything is read further or sent,
    /// saying why (not a rejection per row).
    static let unusableInputs: [(name: String, data: Data, message: [String])] = [
        (
            "no phone column", Data("name,email\nAda,a@example.org\n".utf8),
            ["no phone column", "'name', 'email'"]
        ),
        ("only NUL bytes", Data(repeating: 0, count: 100), ["NUL"]),
        (
            "UTF-16 without a BOM",
            Data(
                "phone,first_name\n+33612345678,Ada\n".utf16.flatMap {
                    [UInt8($0 & 0xFF), UInt8($0 >> 8)]
                }), ["UTF-16"]
        ),
        (
            "two byte order marks",
            Data([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("phone\n+33612345678\n".utf8)),
            ["two UTF-8 byte order marks"]
        ),
    ]

    @Test(
        "An input that cannot hold a contact is exit 2 naming the problem, nothing sent",
        arguments: 0..<4)
    func unusableInput(_ index: Int) async throws {
        let (_, data, message) = Self.unusableInputs[index]
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write("input.csv", data: data)
                for command in [
                    ["validate", file],
                    ["import", file, "--provider", "octopush", "--list", "demo"]
                        + sandbox.arguments(for: "octopush"),
                ] {
                    let result = try await CLI.run(command)
                    #expect(result.status == 2, "\(command[0]): \(result.stdout)\(result.stderr)")
                    for text in message {
                        #expect(result.stderr.contains(text), "\(result.stderr)")
                    }
                    #expect(result.stdout.isEmpty, "\(result.stdout)")
                }
                #expect(sandbox.requests.isEmpty)
            }
        }
    }

    @Test("Control characters from CSV values are escaped in table output")
    func tableEscapesControlCharacters() async throws {
        try await TemporaryDirectory.with { directory in
            let file = try directory.write(
                "hostile.csv",
                "phone,first_name\n\"+3361\u{1B}[31m2345678\nFORGED  added\",Ada\n")
            let result = try await CLI.run(["validate", file, "--output", "table"])
            #expect(!result.stdout.contains("\u{1B}"), "\(result.stdout)")
            #expect(result.stdout.contains("\\u{1B}[31m"), "\(result.stdout)")
            #expect(
                !result.stdout.split(separator: "\n").contains { $0.hasPrefix("FORGED") },
                "\(result.stdout)")
        }
    }
}

/// A loopback TCP port that accepts connections (through the kernel's backlog) and never
/// answers.
final class SilentServer: Sendable {
    let port: Int
    private let descriptor: Int32
    private let accepted = Mutex<[Int32]>([])

    init() throws {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EBADF) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length)
            }
        }
        guard bound == 0, listen(socket, 16) == 0 else {
            Foundation.close(socket)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(socket, $0, &length)
            }
        }
        descriptor = socket
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits (at most 120 s: a loaded machine starts processes slowly) until a client
    /// connects; the connection is kept open, unanswered.
    func waitForConnection() async throws {
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let client = accept(descriptor, nil, nil)
            if client >= 0 {
                accepted.withLock { $0.append(client) }
                return
            }
            // Polls the listening socket: there is no notification to wait on here.
            try await Task.sleep(for: .milliseconds(10))
        }
        throw POSIXError(.ETIMEDOUT)
    }

    func close() {
        for client in accepted.withLock({ $0 }) { Foundation.close(client) }
        Foundation.close(descriptor)
    }
}
