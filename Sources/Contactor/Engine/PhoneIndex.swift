/// The phones met so far in one input, with the line where each first appeared, for
/// reporting a repeated phone with the line it repeats.
///
/// Compact, because it holds one entry per distinct phone of the whole input: an E.164
/// number is at most 15 digits, so it is kept as an integer, split into a high part (the
/// key of a small table) and its low 16 bits, stored with the line in sorted arrays. That
/// is about 6 bytes per phone plus the arrays' spare capacity (1,000,000 random numbers:
/// 7–9 MB), where a `[String: Int]` takes several times that.
struct PhoneIndex {
    private struct Block {
        var lows: [UInt16] = []
        var lines: [UInt32] = []
    }

    private var blocks: [UInt64: Block] = [:]

    /// How many phones it holds.
    private(set) var count = 0

    /// Records that `e164` appears at `line`, and returns the line where it first
    /// appeared when this is not the first time (the index then keeps the first line).
    mutating func firstLine(of e164: String, at line: Int) -> Int? {
        guard let number = Self.number(e164) else { return nil }
        let high = number >> 16
        let low = UInt16(truncatingIfNeeded: number)
        var block = blocks.removeValue(forKey: high) ?? Block()
        defer { blocks[high] = block }
        var lower = 0
        var upper = block.lows.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if block.lows[middle] < low { lower = middle + 1 } else { upper = middle }
        }
        if lower < block.lows.count, block.lows[lower] == low {
            return Int(block.lines[lower])
        }
        block.lows.insert(low, at: lower)
        block.lines.insert(UInt32(clamping: line), at: lower)
        count += 1
        return nil
    }

    /// Whether `e164` has been met.
    func contains(_ e164: String) -> Bool {
        guard let number = Self.number(e164) else { return false }
        guard let block = blocks[number >> 16] else { return false }
        let low = UInt16(truncatingIfNeeded: number)
        var lower = 0
        var upper = block.lows.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if block.lows[middle] < low { lower = middle + 1 } else { upper = middle }
        }
        return lower < block.lows.count && block.lows[lower] == low
    }

    /// The digits of an E.164 number as an integer (`+33612345678` → 33612345678).
    private static func number(_ e164: String) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        for byte in e164.utf8 {
            guard byte != UInt8(ascii: "+") || digits > 0 else { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 18 else {
                return nil
            }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
