import Crypto
import Foundation

/// Short stable digests of text, for fingerprints of what was sent.
enum Fingerprint {
    /// The first 16 bytes of the SHA-256 of `text`, in lower-case hex (32 characters).
    static func hex(of text: String) -> String {
        var hasher = Hasher()
        hasher.add(text)
        return hasher.hex()
    }

    /// A digest fed piece by piece: the same as ``hex(of:)`` of the pieces joined, without
    /// building the joined text.
    struct Hasher {
        private var sha = SHA256()

        /// Adds the UTF-8 bytes of `text`.
        mutating func add(_ text: String) {
            var text = text
            text.withUTF8 { sha.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        }

        /// Adds one byte.
        mutating func add(byte: UInt8) {
            withUnsafeBytes(of: byte) { sha.update(bufferPointer: $0) }
        }

        /// The first 16 bytes of the digest, in lower-case hex.
        func hex() -> String {
            let digest = sha.finalize()
            return String(unsafeUninitializedCapacity: 32) { buffer in
                var index = 0
                for byte in digest.prefix(16) {
                    buffer[index] = Self.digit(byte >> 4)
                    buffer[index + 1] = Self.digit(byte & 0xF)
                    index += 2
                }
                return 32
            }
        }

        private static func digit(_ value: UInt8) -> UInt8 {
            value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
        }
    }
}
