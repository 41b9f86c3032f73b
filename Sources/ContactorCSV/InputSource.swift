import Crypto
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// The system calls under names that the methods below (`read(into:)`) do not shadow.
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
/// The kind of file `fd` is (`st_mode & S_IFMT`), or `nil` when fstat fails.
private func fileKind(_ fd: Int32) -> UInt32? {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    return UInt32(info.st_mode) & 0o170000
}
private func fileSize(_ fd: Int32) -> Int? {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    return Int(info.st_size)
}
private let regularFile: UInt32 = 0o100000
private let directory: UInt32 = 0o040000

/// What a reader shares with the tasks that watch it: bytes read so far, the size when
/// known, the digest once known. Updated by the reading task, read from any.
final class InputProgress: Sendable {
    /// Bytes handed to the reader so far.
    let bytesRead = Atomic<Int>(0)
    /// The input's size in bytes, or -1 when unknown.
    let size = Atomic<Int>(-1)
    /// The SHA-256 of the whole input, hex, once known.
    let digest = Mutex<String?>(nil)
    /// Whether the input's end was reached.
    let atEnd = Atomic<Bool>(false)
}

/// The bytes of an input, read once: a file descriptor (a file, standard input, a pipe, a
/// FIFO, `/dev/fd/N`) or bytes in memory. It counts the bytes it hands out and, when
/// asked, computes their SHA-256 as they pass.
final class InputSource: CSVByteSource {
    private enum Storage {
        case descriptor(Int32, closes: Bool)
        case memory([UInt8], offset: Int)
    }

    private var storage: Storage
    /// What owns the descriptor, kept alive while it is read (a `FileHandle`).
    private var owner: AnyObject?
    /// What errors call the input.
    let name: String
    let progress = InputProgress()
    private var hasher: SHA256?
    /// The digest computed ahead by ``digestRest()``, which the bytes read afterwards must
    /// reproduce (a regular file read again after its digest was computed).
    private var expectedDigest: String?

    private init(storage: Storage, name: String, hashes: Bool) {
        self.storage = storage
        self.name = name
        hasher = hashes ? SHA256() : nil
    }

    /// A source of bytes in memory.
    static func memory(_ bytes: [UInt8], name: String, hashes: Bool) -> InputSource {
        let source = InputSource(storage: .memory(bytes, offset: 0), name: name, hashes: hashes)
        source.progress.size.store(bytes.count, ordering: .relaxed)
        return source
    }

    /// A source reading an open descriptor; `closes` says whether it is closed at the end,
    /// `owner` is kept alive while it is read (the `FileHandle` the descriptor belongs to).
    static func descriptor(
        _ fd: Int32, name: String, closes: Bool, hashes: Bool, owner: AnyObject? = nil
    ) -> InputSource {
        let source = InputSource(
            storage: .descriptor(fd, closes: closes), name: name, hashes: hashes)
        source.owner = owner
        if fileKind(fd) == regularFile, let size = fileSize(fd) {
            let offset = lseek(fd, 0, SEEK_CUR)
            if offset >= 0 { source.progress.size.store(size - Int(offset), ordering: .relaxed) }
        }
        return source
    }

    /// Opens `path` once: `-` and `/dev/stdin` are standard input (not closed); anything
    /// else is opened for reading (a regular file, a FIFO, `/dev/fd/N`, a device).
    ///
    /// - Throws: ``CSVReadError/Code/unreadable`` with the system's reason.
    static func open(path: String, hashes: Bool) throws(CSVReadError) -> InputSource {
        if path == "-" || path == "/dev/stdin" {
            return descriptor(
                STDIN_FILENO, name: path == "-" ? "<stdin>" : path, closes: false,
                hashes: hashes)
        }
        var fd: Int32
        repeat {
            fd = systemOpen(path, O_RDONLY | O_CLOEXEC)
        } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            throw CSVReadError(.unreadable, path: path, reason(errno))
        }
        if fileKind(fd) == directory {
            close(fd)
            throw CSVReadError(.unreadable, path: path, "is a directory")
        }
        return descriptor(fd, name: path, closes: true, hashes: hashes)
    }

    /// The system's reason for `code`, as the messages give it (`no such file`).
    static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES: return "permission denied"
        case EISDIR: return "is a directory"
        default:
            let text = String(cString: strerror(code))
            return text.prefix(1).lowercased() + text.dropFirst()
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CSVReadError) -> Int {
        let count = try readRaw(into: buffer)
        if count > 0 {
            hasher?.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            progress.bytesRead.add(count, ordering: .relaxed)
        } else if !progress.atEnd.load(ordering: .relaxed) {
            try finish()
        }
        return count
    }

    /// At the end of the input: the digest is known (and must be the one computed ahead).
    private func finish() throws(CSVReadError) {
        progress.atEnd.store(true, ordering: .relaxed)
        if case .descriptor(let fd, true) = storage {
            close(fd)
            storage = .memory([], offset: 0)
        }
        guard let hasher else { return }
        self.hasher = nil
        let digest = Self.hex(hasher.finalize())
        if let expectedDigest, expectedDigest != digest {
            throw CSVReadError(
                .unreadable, path: name,
                "the file changed while it was being read (its SHA-256 is no longer the one "
                    + "computed before its records were read)")
        }
        progress.digest.withLock { $0 = digest }
    }

    private func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws(CSVReadError) -> Int {
        switch storage {
        case .memory(let bytes, let offset):
            let count = min(buffer.count, bytes.count - offset)
            if count > 0 {
                bytes.withUnsafeBytes { source in
                    buffer.copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + count]))
                }
                storage = .memory(bytes, offset: offset + count)
            }
            return count
        case .descriptor(let fd, _):
            return try Self.readDescriptor(fd, into: buffer, name: name)
        }
    }

    /// `read(2)`, again after EINTR, after waiting on a non-blocking descriptor.
    private static func readDescriptor(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, name: String
    ) throws(CSVReadError) -> Int {
        while true {
            let count = systemRead(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&waiting, 1, -1)
                continue
            }
            throw CSVReadError(.unreadable, path: name, "cannot read: \(reason(code))")
        }
    }

    /// Reads the rest of the input ahead to compute the digest of the whole input now,
    /// then serves the same bytes again: a regular file is read again from where it was
    /// (its bytes must then give the same digest, or the reading fails at the end); a
    /// stream is copied to an unlinked temporary file while it is digested, and read from
    /// there. Memory stays at one chunk.
    ///
    /// - Returns: The SHA-256 of every byte of the input, hex.
    func digestRest() throws(CSVReadError) -> String {
        if let digest = progress.digest.withLock({ $0 }) { return digest }
        guard var rest = hasher else {
            throw CSVReadError(.unreadable, path: name, "the input is not being digested")
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        switch storage {
        case .memory(let bytes, let offset):
            bytes.withUnsafeBytes {
                rest.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[offset...]))
            }
        case .descriptor(let fd, let closes):
            let offset = lseek(fd, 0, SEEK_CUR)
            if offset >= 0 && fileKind(fd) == regularFile {
                try Self.drain(fd, name: name, chunk: &chunk) { rest.update(bufferPointer: $0) }
                guard lseek(fd, offset, SEEK_SET) == offset else {
                    throw CSVReadError(
                        .unreadable, path: name, "cannot read the file again: \(Self.reason(errno))"
                    )
                }
                let digest = Self.hex(rest.finalize())
                expectedDigest = digest
                progress.digest.withLock { $0 = digest }
                return digest
            }
            let spool = try Self.temporaryFile(name: name)
            do throws(CSVReadError) {
                try Self.drain(fd, name: name, chunk: &chunk) { bytes throws(CSVReadError) in
                    rest.update(bufferPointer: bytes)
                    try Self.write(spool, bytes, name: name)
                }
            } catch {
                close(spool)
                throw error
            }
            let size = lseek(spool, 0, SEEK_CUR)
            guard size >= 0, lseek(spool, 0, SEEK_SET) == 0 else {
                close(spool)
                throw CSVReadError(
                    .unreadable, path: name, "cannot read the temporary copy: \(Self.reason(errno))"
                )
            }
            if closes { close(fd) }
            storage = .descriptor(spool, closes: true)
            // The whole input: what was read before, and the copy of the rest.
            let before = progress.bytesRead.load(ordering: .relaxed)
            progress.size.store(before + Int(size), ordering: .relaxed)
        }
        let digest = Self.hex(rest.finalize())
        hasher = nil  // the bytes served from now on were digested already
        progress.digest.withLock { $0 = digest }
        return digest
    }

    private static func drain(
        _ fd: Int32, name: String, chunk: inout [UInt8],
        _ body: (UnsafeRawBufferPointer) throws(CSVReadError) -> Void
    ) throws(CSVReadError) {
        while true {
            let result: Result<Int, CSVReadError> = chunk.withUnsafeMutableBytes { buffer in
                do throws(CSVReadError) {
                    let count = try readDescriptor(fd, into: buffer, name: name)
                    if count > 0 { try body(UnsafeRawBufferPointer(rebasing: buffer[..<count])) }
                    return .success(count)
                } catch {
                    return .failure(error)
                }
            }
            if try result.get() == 0 { return }
        }
    }

    /// A temporary file, already unlinked, for a copy of a stream.
    private static func temporaryFile(name: String) throws(CSVReadError) -> Int32 {
        var directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if directory.isEmpty { directory = "/tmp" }
        var template = Array((directory + "/contactor-input-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw CSVReadError(
                .unreadable, path: name,
                "cannot create a temporary copy of the input in \(directory): \(reason(errno))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    private static func write(
        _ fd: Int32, _ bytes: UnsafeRawBufferPointer, name: String
    ) throws(CSVReadError) {
        var offset = 0
        while offset < bytes.count {
            let count = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw CSVReadError(
                    .unreadable, path: name,
                    "cannot write the temporary copy of the input: \(reason(errno))")
            }
            offset += count
        }
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    deinit {
        if case .descriptor(let fd, true) = storage { close(fd) }
    }
}
