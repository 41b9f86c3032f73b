import Contactor
import Foundation
import Testing

@testable import ContactorLua

@Suite struct BridgeTests {
    static let source = """
        return {
          echo = function(...) return ... end,
          mathtype = function(v) return math.type(v) end,
          len = function(s) return #s end,
          describe = function(t)
            local keys = {}
            for k, v in pairs(t) do keys[#keys + 1] = tostring(k) .. "=" .. type(v) end
            table.sort(keys)
            return table.concat(keys, ",")
          end,
          make = function()
            return { 1, 2, 3 }, { a = 1, b = { c = { true, false } } }, {}, { 1, nil, 3 },
              { [1] = "x", name = "y" }
          end,
        }
        """

    @Test func stringsWithEmbeddedNULsAndInvalidUTF8SurviveBothWays() async throws {
        let state = try await makeState(Self.source)
        let bytes: [UInt8] = [0x61, 0x00, 0x62, 0xFF, 0xFE, 0x00]
        let echoed = try await state.invoke("echo", .string(bytes))
        #expect(echoed == [.string(bytes)])
        #expect(try await state.invoke("len", .string(bytes)) == [.integer(6)])
    }

    @Test func integersStayIntegersAndFloatsStayFloats() async throws {
        let state = try await makeState(Self.source)
        #expect(try await state.invoke("mathtype", .integer(3)) == [.text("integer")])
        #expect(try await state.invoke("mathtype", .number(3.0)) == [.text("float")])
        #expect(try await state.invoke("echo", .integer(Int64.max)) == [.integer(Int64.max)])
        #expect(try await state.invoke("echo", .number(0.1)) == [.number(0.1)])
        #expect(try await state.invoke("echo", .number(2.0)) == [.number(2.0)])
    }

    @Test func nestedTablesRoundTrip() async throws {
        let state = try await makeState(Self.source)
        let value = LuaValue.record([
            "list": .array([.integer(1), .text("two"), .array([.boolean(true)])]),
            "map": .record(["deep": .record(["deeper": .number(1.5)])]),
        ])
        #expect(try await state.invoke("echo", value) == [value])
        #expect(try await state.invoke("describe", value) == [.text("list=table,map=table")])
    }

    @Test func sequencesReadAsArraysAndOtherTablesAsMaps() async throws {
        let state = try await makeState(Self.source)
        let values = try await state.invoke("make")
        #expect(values.count == 5)
        #expect(values[0] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(
            values[1]
                == .record([
                    "a": .integer(1),
                    "b": .record(["c": .array([.boolean(true), .boolean(false)])]),
                ]))
        #expect(values[2] == .array([]))
        #expect(values[3] == .map([.integer(1): .integer(1), .integer(3): .integer(3)]))
        #expect(values[4] == .map([.integer(1): .text("x"), .text("name"): .text("y")]))
    }

    @Test func nilAndBooleansAndFunctionsCrossTheBridge() async throws {
        let state = try await makeState(Self.source)
        let values = try await state.invoke("echo", .nil, .boolean(true), .boolean(false))
        #expect(values == [.nil, .boolean(true), .boolean(false)])
        let functions = try await state.call(
            "call", [.integer(1), .text("echo"), .nil, .nil])
        #expect(functions == [.nil])
    }

    @Test func aRuntimeErrorKeepsFileLineAndATracebackAndTheStateIsReused() async throws {
        let state = try await makeState(
            """
            local function inner() error("broken on purpose") end
            return { fail = function() inner() end, ok = function() return "fine" end }
            """)
        do {
            _ = try await state.invoke("fail")
            Issue.record("expected an error")
        } catch let error as LuaFailure {
            #expect(error.kind == .runtime)
            #expect(error.message.hasPrefix("inline.lua:1: broken on purpose"))
            #expect(error.message.contains("stack traceback:"))
            #expect(error.message.contains("inline.lua:2:"))
        }
        #expect(!state.isClosed)
        #expect(try await state.invoke("ok") == [.text("fine")])
    }

    @Test(arguments: [
        ("error_table", "behaviours.lua:20: error{code = 42, reason = \"boom\"} has code = 42"),
        ("error_nil", "behaviours.lua:21: error() was called with nil"),
        ("error_tostring", "behaviours.lua:22: custom text"),
    ])
    func errorValuesThatAreNotStringsBecomeReadableMessages(
        mode: String, expected: String
    )
        async throws
    {
        let plugins = try await Fixtures.loader(["behaviours"]).load()
        let mapping = try #require(plugins.mappings["behaviours"])
        let error = await #expect(throws: ContactError.self) {
            _ = try await mapping.map(InputRecord(line: 2, columns: [("mode", mode)]))
        }
        #expect(error?.code == .pluginError)
        #expect(error?.message.contains(expected) == true)
        #expect(error?.message.contains("behaviours.lua") == true)
    }

    @Test func aTableErrorListsItsFields() async throws {
        let state = try await makeState(
            "return { f = function() error({ code = 42, reason = 'boom' }) end }")
        await #expect {
            _ = try await state.invoke("f")
        } throws: { error in
            let message = (error as? LuaFailure)?.message ?? ""
            return message.contains("code = 42") && message.contains("reason = \"boom\"")
        }
    }

    /// Calls without a ctx go straight to the plugin's method; anything else still goes
    /// through sandbox.call, with its checks and messages.
    @Test func callsWithoutCtxFindTheMethodEachTimeAndMissingOnesFailAsBefore() async throws {
        let state = try await makeState(
            """
            local plugin = {}
            function plugin.first() plugin.first = function() return "second" end return "first" end
            plugin.notafunction = 3
            return plugin
            """)
        #expect(try await state.invoke("first") == [.text("first")])
        #expect(try await state.invoke("first") == [.text("second")])
        for method in ["missing", "notafunction"] {
            do {
                _ = try await state.invoke(method)
                Issue.record("expected an error")
            } catch let error as LuaFailure {
                #expect(error.kind == .runtime)
                #expect(error.message.hasPrefix("the plugin has no function '\(method)'"))
            }
        }
        do {
            _ = try await state.invoke("first", plugin: 2)
            Issue.record("expected an error")
        } catch let error as LuaFailure {
            #expect(error.message.hasPrefix("the plugin has no function 'first'"))
        }
        #expect(try await state.invoke("first") == [.text("second")])
    }
}
