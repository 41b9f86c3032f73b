import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, for tests.
///
/// Foundation's `Process.run()` on Linux reads `/proc/self/fd` to close the descriptors a
/// child must not inherit, and over-reads a buffer while doing it when many are open
/// (swift-corelibs-foundation #5472): a test process with hundreds of loopback sockets
/// crashed there now and then. This starts the child with `posix_spawn`, closing every
/// descriptor above 2 in the child (`posix_spawn_file_actions_addclosefrom_np`), and waits
/// with `waitpid`. Its members are named as `Process`'s, so tests read the same.
public final class SpawnedProcess: Sendable {
    /// The child's process id.
    public let processIdentifier: Int32
    /// The raw `waitpid` status, once the child has ended.
    private let status = Mutex<Int32?>(nil)

    private init(pid: Int32) { processIdentifier = pid }

    /// Starts `executable` with `arguments` and `environment`, in `directory` when given,
    /// standard output and error appended to the given files, standard input from
    /// `stdin`'s read end (or `/dev/null`).
    static func spawn(
        executable: String, arguments: [String], environment: [String: String],
        directory: String?, stdout: String, stderr: String, stdin: Int32?
    ) throws -> SpawnedProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let directory {
            guard let chdir = Self.addChdir else {
                throw Failure(description: "posix_spawn_file_actions_addchdir_np is missing")
            }
            _ = directory.withCString { chdir(&actions, $0) }
        }
        guard let closeFrom = Self.addCloseFrom else {
            throw Failure(description: "posix_spawn_file_actions_addclosefrom_np is missing")
        }
        _ = closeFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Every signal at its default and none blocked, whatever this process set.
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw Failure(
                description:
                    "\(executable) could not be started: \(String(cString: strerror(result)))")
        }
        return SpawnedProcess(pid: pid)
    }

    /// Whether the child is still running.
    public var isRunning: Bool { poll(block: false) == nil }

    /// Waits until the child has ended.
    public func waitUntilExit() { _ = poll(block: true) }

    /// Sends SIGTERM.
    public func terminate() { kill(processIdentifier, SIGTERM) }

    /// Sends SIGINT.
    public func interrupt() { kill(processIdentifier, SIGINT) }

    /// Whether the child exited or was killed by a signal (once it has ended).
    public var terminationReason: Process.TerminationReason {
        guard let status = poll(block: false) else { return .exit }
        return status & 0x7F == 0 ? .exit : .uncaughtSignal
    }

    /// The exit status, or the signal that ended the child (once it has ended).
    public var terminationStatus: Int32 {
        guard let status = poll(block: false) else { return 0 }
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : status & 0x7F
    }

    private func poll(block: Bool) -> Int32? {
        status.withLock { known in
            if let known { return known }
            var raw: Int32 = 0
            while true {
                let result = waitpid(processIdentifier, &raw, block ? 0 : WNOHANG)
                if result == processIdentifier {
                    known = raw
                    return raw
                }
                if result == -1, errno == EINTR { continue }
                return nil
            }
        }
    }

    /// A child could not be started.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
    }

    private typealias FileAction =
        @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32
        ) -> Int32
    private typealias PathAction =
        @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
        ) -> Int32

    // glibc 2.34 and 2.29 have them; Swift's Glibc module does not declare them.
    private static let addCloseFrom: FileAction? = dlsym(
        UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np"
    ).map { unsafeBitCast($0, to: FileAction.self) }
    private static let addChdir: PathAction? = dlsym(
        UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np"
    ).map { unsafeBitCast($0, to: PathAction.self) }
}
