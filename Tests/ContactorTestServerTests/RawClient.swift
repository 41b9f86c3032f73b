import Foundation
import NIOCore
import NIOPosix

/// A plain TCP client: writes bytes and reads what comes back, as it comes.
///
/// The tests use it to see exactly what the server writes (framing included), which an
/// HTTP client would hide.
struct RawClient {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Connects to 127.0.0.1:`port`.
    static func connect(port: Int) async throws -> RawClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return RawClient(channel: channel)
    }

    /// Sends `request`, then hands every piece read (in order) to `body` until it returns
    /// `false` or the server closes; closes the connection and returns the pieces.
    func exchange(
        _ request: [UInt8], readWhile body: ([[UInt8]]) -> Bool = { _ in true }
    ) async throws -> (pieces: [[UInt8]], closedByServer: Bool) {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: request))
            var pieces: [[UInt8]] = []
            for try await buffer in inbound {
                pieces.append(Array(buffer.readableBytesView))
                if !body(pieces) { return (pieces, false) }
            }
            return (pieces, true)
        }
    }

    /// Sends `request` and reads until the server closes, keeping only the first `kept`
    /// bytes and counting the rest (for answers too large to copy around).
    func exchangeCounting(
        _ request: [UInt8], keepingFirst kept: Int
    ) async throws -> (first: [UInt8], total: Int, closedByServer: Bool) {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: request))
            var first: [UInt8] = []
            var total = 0
            for try await buffer in inbound {
                if first.count < kept {
                    first += buffer.readableBytesView.prefix(kept - first.count)
                }
                total += buffer.readableBytes
            }
            return (first, total, true)
        }
    }

    /// `GET path` with `Connection: close`, answered whole until the server closes.
    static func get(
        _ path: String, port: Int, method: String = "GET"
    ) async throws -> (pieces: [[UInt8]], closedByServer: Bool) {
        let client = try await connect(port: port)
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        return try await client.exchange(Array(request.utf8))
    }
}

extension Array where Element == [UInt8] {
    /// Every piece, end to end.
    var joined: [UInt8] { flatMap { $0 } }
}

/// An answer split into its head (status line and fields, as text) and body bytes.
struct RawAnswer {
    var head: String
    var body: [UInt8]

    init?(_ bytes: [UInt8]) {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.firstRange(of: separator) else { return nil }
        head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        body = Array(bytes[end.upperBound...])
    }

    var statusLine: String { head.components(separatedBy: "\r\n").first ?? "" }

    /// The value of the first field `name` (case-insensitive).
    func field(_ name: String) -> String? {
        for line in head.components(separatedBy: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
