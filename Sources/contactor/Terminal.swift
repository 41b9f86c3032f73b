import Foundation
import Synchronization

/// Standard output and error written with `write(2)`, so that a closed reader (`contactor
/// import ... | head`) is noticed instead of crashing the process.
///
/// `SIGPIPE` is ignored (``ignoreBrokenPipeSignal()``), so a write to a pipe nobody reads
/// fails with `EPIPE`: standard output is then marked closed, every later write is dropped,
/// and the commands stop their run at the next outcome (``stdoutClosed``), ending with
/// ``brokenPipeExitStatus``.
enum StandardStreams {
    /// The status of a run whose standard output was closed under it: 141, what a shell
    /// reports for a process ended by `SIGPIPE` (128 + 13).
    static let brokenPipeExitStatus: Int32 = 141

    private static let closedOutput = Atomic<Bool>(false)

    /// Whether a write to standard output found it closed.
    static var stdoutClosed: Bool { closedOutput.load(ordering: .relaxed) }

    /// Makes writes to a closed pipe fail with `EPIPE` instead of killing the process at
    /// an arbitrary point.
    static func ignoreBrokenPipeSignal() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Writes `text` to standard output, unless it was found closed.
    static func writeOut(_ text: String) {
        writeOut(bytes: Array(text.utf8))
    }

    /// Writes `bytes` to standard output, unless it was found closed.
    static func writeOut(bytes: [UInt8]) {
        guard !stdoutClosed else { return }
        if !write(bytes, to: STDOUT_FILENO) { closedOutput.store(true, ordering: .relaxed) }
    }

    /// Writes `text` to standard error; a failure there is ignored (there is nowhere left
    /// to report it).
    static func writeErr(_ text: String) {
        _ = write(Array(text.utf8), to: STDERR_FILENO)
    }

    /// Writes all of `text` to `descriptor`; `false` when the descriptor refuses it
    /// (`EPIPE`, `EBADF`, ...).
    private static func write(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        guard !bytes.isEmpty else { return true }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                // A non-blocking descriptor that is full: wait a little, then go on.
                if errno == EAGAIN {
                    usleep(1000)
                    continue
                }
                return false
            }
            offset += written
        }
        return true
    }
}
