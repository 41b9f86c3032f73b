import Testing

@testable import ContactorLua

/// Inputs found by fuzzing the bridge's value codec (fuzz/lua-codec, docs/fuzzing.md).
@Suite struct CodecFuzzRegressionTests {
    /// `count, value...` as the codec writes it (native byte order).
    static func u64(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    /// 40 maps nested in each other, each announcing 999,999 entries, in 369 bytes: the
    /// decoder sized a table for each count before reading its entries, so these bytes
    /// claimed over a gigabyte (and seconds of work) before failing as truncated.
    @Test func countsThatDoNotFitInTheBytesLeftFailBeforeTablesAreSizedForThem() async throws {
        let state = try await makeState("return { echo = function(...) return ... end }")
        var bytes = Self.u64(1)
        for _ in 0..<40 { bytes += [7] + Self.u64(999_999) }
        let before = state.memoryUsed
        do {
            _ = try await state.call("call", encoded: bytes)
            Issue.record("a truncated encoding was accepted")
        } catch {
            #expect(error.kind == .bridge)
            #expect(error.message.contains("truncated"))
        }
        #expect(state.memoryUsed - before < 1 << 20)
        // The state is still usable.
        #expect(try await state.invoke("echo", .integer(7)) == [.integer(7)])
    }

    /// A valid encoding whose counts are exact still decodes (the check is not too strict).
    @Test func exactCountsAtTheEndOfTheInputStillDecode() async throws {
        let state = try await makeState("return { echo = function(...) return ... end }")
        let values: [LuaValue] = [
            .array([.array([]), .map([.text("k"): .array([.boolean(true)])])]), .nil,
        ]
        #expect(try await state.invoke("echo", values[0], values[1]) == values)
    }

    /// A plugin's result of arrays nested 90 deep: the encoder wrote each table as a map,
    /// then again as an array once its keys turned out to be 1...n, encoding its values
    /// twice at every level: 2^90 steps, in C, where the script's instruction budget does
    /// not apply, so the call never returned (nor does this test on that code: Swift's
    /// time limits cannot stop a C loop).
    @Test func nestedArraysInAResultAreEncodedOnceEach() async throws {
        let state = try await makeState(
            """
            return { deep = function(n)
              local t = { "leaf" }
              for _ = 1, n do t = { t } end
              return t
            end }
            """)
        let values = try await state.invoke("deep", .integer(90))
        var value = try #require(values.first)
        var depth = 0
        while case .array(let items) = value, items.count == 1, case .array = items[0] {
            value = items[0]
            depth += 1
        }
        #expect(depth == 90)
        #expect(value == .array([.text("leaf")]))
    }
}
