import Contactor
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive lock on a file beside a store (`run.sqlite.lock`), held by one process for
/// one run: a second run is refused, naming the holder, and the kernel releases the lock
/// when the holder's process ends, however it ends (`kill -9` included), so a stale lock
/// never blocks the next run.
///
/// The lock is `flock(2)` on the lock file; the file itself only says who holds it
/// (process id, host and start time), for the message a second run gets.
final class FileLock: StoreLease {
    private let descriptor: Mutex32

    /// The lock file's path.
    let path: String

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex32(descriptor)
    }

    /// Takes the lock on `path`, writing `holder` into the file.
    /// - Throws: ``ContactorError`` `busy` naming the holder when another process (or this
    ///   one) holds it; `journal_failed`-style errors are the caller's to wrap.
    static func acquire(path: String, holder: String, what: String) throws -> FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ContactorError(
                .busy,
                "\(what): cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let current =
                count > 0
                ? String(decoding: buffer[0..<count], as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines) : "another run"
            throw ContactorError(
                .busy,
                reason == EWOULDBLOCK
                    ? "\(what) is in use by \(current) (lock \(path))"
                    : "\(what): cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        let host = ProcessInfo.processInfo.hostName
        let text =
            "\(holder) on \(host) since \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        return FileLock(path: path, descriptor: fd)
    }

    func release() async { releaseNow() }

    /// Releases the lock (also done when the process ends).
    func releaseNow() {
        let fd = descriptor.take()
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }

    deinit { releaseNow() }
}

/// A file descriptor taken once.
private final class Mutex32: Sendable {
    private let value: Synchronization.Mutex<Int32>
    init(_ value: Int32) { self.value = Synchronization.Mutex(value) }
    func take() -> Int32 {
        value.withLock { current in
            defer { current = -1 }
            return current
        }
    }
}
