import Crypto
import Foundation

/// The digest of an input file, as ``Contactor/RunInfo/inputDigest`` records it.
public enum InputDigest {
    /// The size of the chunks the file is read in: memory use stays at this, whatever the
    /// file's size.
    public static let chunkSize = 1 << 16

    /// Computes the SHA-256 of a file's bytes, reading it in fixed-size chunks.
    ///
    /// - Parameter path: The file to digest.
    /// - Returns: The digest as 64 lower-case hexadecimal characters.
    /// - Throws: ``JournalError`` with code ``JournalError/Code/unreadableInput`` when the
    ///   file cannot be opened or read.
    public static func sha256(ofFileAt path: String) throws(JournalError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw JournalError(.unreadableInput, path: path, "cannot open the file for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: chunkSize), !chunk.isEmpty {
                hasher.update(data: chunk)
            }
        } catch {
            throw JournalError(.unreadableInput, path: path, "cannot read the file: \(error)")
        }
        return hex(hasher.finalize())
    }

    /// Computes the SHA-256 of bytes in memory.
    ///
    /// - Returns: The digest as 64 lower-case hexadecimal characters.
    public static func sha256(of bytes: some DataProtocol) -> String {
        hex(SHA256.hash(data: bytes))
    }

    private static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
