import Crypto
import Foundation

/// Short stable digests of text, for fingerprints of what was sent.
enum Fingerprint {
    /// The first 16 bytes of the SHA-256 of `text`, in lower-case hex (32 characters).
    static func hex(of text: String) -> String {
        let digest = SHA256.hash(data: Data(text.utf8))
        var out = ""
        out.reserveCapacity(32)
        let digits = Array("0123456789abcdef")
        for byte in digest.prefix(16) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return out
    }
}
