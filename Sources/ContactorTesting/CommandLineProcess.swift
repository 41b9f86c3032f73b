import Foundation

/// Runs the built `contactor` binary (or any executable) as a subprocess, for end-to-end
/// tests of the command line.
public struct CommandLineProcess: Sendable {
    /// What a finished run printed and how it ended.
    public struct Result: Sendable {
        /// The exit status (or 128 + the signal number when it was killed).
        public var status: Int32
        /// Everything written to standard output.
        public var stdout: String
        /// Everything written to standard error.
        public var stderr: String

        /// Standard output's non-empty lines.
        public var stdoutLines: [String] {
            stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }
    }

    /// The executable.
    public var executable: URL
    /// Extra environment variables, on top of (and replacing) the test process's own.
    public var environment: [String: String]
    /// Environment variables to remove (e.g. credentials of the developer's shell).
    public var removedEnvironment: Set<String>
    /// The working directory.
    public var workingDirectory: URL?

    /// Creates a runner for `executable`.
    public init(
        executable: URL, environment: [String: String] = [:],
        removedEnvironment: Set<String> = [], workingDirectory: URL? = nil
    ) {
        self.executable = executable
        self.environment = environment
        self.removedEnvironment = removedEnvironment
        self.workingDirectory = workingDirectory
    }

    /// The `contactor` binary built next to the running test bundle (`.build/<config>/`).
    /// - Throws: when it was not built (the test target must depend on `contactor`).
    public static func contactor(
        environment: [String: String] = [:], workingDirectory: URL? = nil
    ) throws -> CommandLineProcess {
        let candidates =
            [Bundle.main.bundleURL, Bundle.main.executableURL?.deletingLastPathComponent()]
            .compactMap { $0 }
            + [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for directory in candidates {
            var folder = directory
            for _ in 0..<4 {
                let binary = folder.appendingPathComponent("contactor")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: binary.path, isDirectory: &isDirectory),
                    !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: binary.path)
                {
                    return CommandLineProcess(
                        executable: binary, environment: environment,
                        removedEnvironment: Set(
                            ProcessInfo.processInfo.environment.keys.filter {
                                $0.hasPrefix("CONTACTOR_")
                            }),
                        workingDirectory: workingDirectory)
                }
                folder.deleteLastPathComponent()
            }
        }
        throw CocoaError(
            .fileNoSuchFile,
            userInfo: [
                NSLocalizedDescriptionKey: "the contactor binary was not found near \(candidates)"
            ])
    }

    /// Starts `arguments` and returns the running process, for tests that must signal it.
    /// Standard output and error go to the given files.
    public func start(
        _ arguments: [String], stdout: URL, stderr: URL, stdin: Pipe? = nil
    ) throws -> SpawnedProcess {
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        for key in removedEnvironment { environment[key] = nil }
        environment.merge(self.environment) { _, new in new }
        return try SpawnedProcess.spawn(
            executable: executable.path, arguments: arguments, environment: environment,
            directory: workingDirectory?.path, stdout: stdout.path, stderr: stderr.path,
            stdin: stdin?.fileHandleForReading.fileDescriptor)
    }

    /// Runs `arguments` to completion (killed after `timeout`) and returns its output.
    /// With `input`, the process reads it from a pipe on its standard input (as in
    /// `cat file | contactor ...`); without, standard input is empty.
    public func run(
        _ arguments: [String], input: Data? = nil, timeout: Duration = .seconds(60)
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("stdout")
        let err = directory.appendingPathComponent("stderr")
        let pipe = input.map { _ in Pipe() }
        let process = try start(arguments, stdout: out, stderr: err, stdin: pipe)
        if let pipe, let input {
            // Written from another thread, so that a process reading slowly never blocks
            // this task; closed at the end, as a shell pipe would be.
            let writer = pipe.fileHandleForWriting
            Thread.detachNewThread {
                try? writer.write(contentsOf: input)
                try? writer.close()
            }
        }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.waitUntilExit()
        let status =
            process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
        return Result(
            status: status,
            stdout: String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self))
    }
}
