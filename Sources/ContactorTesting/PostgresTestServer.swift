import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL server for tests: Debian's `postgresql` binaries
/// (`/usr/lib/postgresql/<version>/bin`, installed by `scripts/bootstrap`) started once per
/// test process in a throwaway directory, on 127.0.0.1 at a random port, with a watchdog
/// that stops it and removes the directory once the test process is gone (however it
/// ends). Run as root, the server runs as the `postgres` user (PostgreSQL refuses root).
///
/// `CONTACTOR_TEST_POSTGRES_URL` names a server to use instead (no server is started).
/// Give each test its own schema (`?schema=...`) so that parallel tests do not meet.
public enum PostgresTestServer {
    /// A test server failed to start: what was run and what it said.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
    }

    /// Started on a thread of its own: `initdb` and the wait for the server take seconds
    /// (many more on a loaded machine), and blocking one of the few threads of Swift's
    /// cooperative pool that long stalls every other test of the process (their requests
    /// to 127.0.0.1 then time out).
    private static let started = Task<String, any Error> {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try start() }) }
        }
    }

    /// The server's URL (`postgres://contactor@127.0.0.1:PORT/postgres`), starting it on
    /// first use.
    public static func url() async throws -> String {
        try await started.value
    }

    /// The server's URL with a schema of its own for one test (`prefix` and a random
    /// suffix).
    public static func url(schema prefix: String) async throws -> String {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        return try await url() + "?schema=\(prefix)_\(suffix)"
    }

    private static func start() throws -> String {
        if let url = ProcessInfo.processInfo.environment["CONTACTOR_TEST_POSTGRES_URL"],
            !url.isEmpty
        {
            return url
        }
        let bin = try binaries()
        let asRoot = geteuid() == 0
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("contactor-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if asRoot { try run("/bin/chown", ["postgres", directory.path], asPostgres: false) }
        let data = directory.appendingPathComponent("data").path
        try run(
            bin + "/initdb",
            [
                "-D", data, "-U", "contactor", "-A", "trust", "-E", "UTF8", "--locale=C",
                "--no-sync",
            ],
            asPostgres: asRoot)
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let options = [
                "-p \(port)", "-c listen_addresses=127.0.0.1", "-k \(directory.path)",
                "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
                "-c max_connections=400",
            ].joined(separator: " ")
            do {
                try startServer(
                    bin: bin, data: data, options: options, log: directory.path + "/server.log",
                    port: port, asPostgres: asRoot)
            } catch {
                lastError = error
                continue
            }
            try watch(directory: directory.path, data: data, bin: bin, asPostgres: asRoot)
            return "postgres://contactor@127.0.0.1:\(port)/postgres"
        }
        throw lastError ?? Failure(description: "PostgreSQL did not start")
    }

    /// The newest installed `bin` directory of Debian's PostgreSQL packages.
    private static func binaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        guard
            let version = versions.compactMap(Int.init).sorted().last(where: {
                FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb")
            })
        else {
            throw Failure(
                description:
                    "no PostgreSQL server in \(root) (scripts/bootstrap installs Debian's postgresql); "
                    + "or set CONTACTOR_TEST_POSTGRES_URL")
        }
        return "\(root)/\(version)/bin"
    }

    /// Stops the server and removes its directory once this process has ended.
    private static func watch(
        directory: String, data: String, bin: String, asPostgres: Bool
    )
        throws
    {
        let pid = ProcessInfo.processInfo.processIdentifier
        let script = """
            while [ -d /proc/\(pid) ]; do sleep 1; done
            '\(bin)/pg_ctl' -D '\(data)' -m immediate stop >/dev/null 2>&1
            rm -rf '\(directory)'
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments =
            asPostgres
            ? ["/usr/sbin/runuser", "-u", "postgres", "--", "/bin/sh", "-c", script]
            : ["/bin/sh", "-c", script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Starts the server with `pg_ctl` and waits until it accepts connections.
    ///
    /// pg_ctl is not waited for: Foundation's `Process` learns that a child ended when
    /// every copy of a descriptor it gave the child is closed, and the server pg_ctl starts
    /// keeps one for as long as it runs. So readiness is asked of `pg_isready` instead.
    private static func startServer(
        bin: String, data: String, options: String, log: String, port: Int, asPostgres: Bool
    ) throws {
        let process = Process()
        let arguments = ["-D", data, "-o", options, "-l", log, "start"]
        if asPostgres {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--", bin + "/pg_ctl"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: bin + "/pg_ctl")
            process.arguments = arguments
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if (try? run(
                bin + "/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port)],
                asPostgres: false)) != nil
            {
                return
            }
            if !process.isRunning, process.terminationStatus != 0 {
                let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw Failure(description: "pg_ctl start failed on port \(port): \(said)")
            }
            usleep(100_000)
        }
        throw Failure(
            description: "PostgreSQL did not accept connections on port \(port) within 60 s")
    }

    @discardableResult
    private static func run(
        _ executable: String, _ arguments: [String], asPostgres: Bool
    ) throws
        -> String
    {
        let process = Process()
        if asPostgres {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        // Output goes to a file, not a pipe: the server pg_ctl starts keeps the pipe open
        // for as long as it runs, so reading a pipe to its end would never end.
        let log = FileManager.default.temporaryDirectory
            .appendingPathComponent("contactor-pg-output-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(
                description:
                    "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(text)"
            )
        }
        return text
    }
}
