import Contactor
import Foundation
import Testing

@testable import ContactorLua

@Suite struct SandboxTests {
    /// Each snippet must fail (raise or return nil, err) inside the sandbox.
    @Test(arguments: [
        ("io", "return io.open('/etc/passwd')"),
        ("os.execute", "return os.execute('true')"),
        ("os.getenv", "return os.getenv('HOME')"),
        ("os.exit", "return os.exit(0)"),
        ("os.remove", "return os.remove('/tmp/x')"),
        ("os.rename", "return os.rename('/tmp/x', '/tmp/y')"),
        ("package.loadlib", "return package.loadlib('libc.so.6', 'puts')"),
        ("debug", "return debug.getregistry()"),
        ("dofile", "return dofile('/etc/passwd')"),
        ("loadfile", "return loadfile('/etc/passwd')"),
        ("collectgarbage", "return collectgarbage('stop')"),
        ("string.dump", "return string.dump(function() end)"),
        ("coroutine", "return coroutine.create(print)"),
        ("__gc", "return setmetatable({}, { __gc = function() while true do end end })"),
    ])
    func forbiddenFacilitiesAreNotReachable(name: String, snippet: String) async throws {
        let state = try await makeState(
            "return { f = function() return pcall(function() \(snippet) end) end }")
        let values = try await state.invoke("f")
        #expect(values.first == .boolean(false), "\(name) should raise, got \(values)")
    }

    @Test func loadAcceptsTextChunksOnlyAndRunsThemInThePluginsEnvironment() async throws {
        let state = try await makeState(
            """
            secret = "mine"
            return {
              binary = function() return load("\\27Lua\\84\\0\\25\\147\\13\\10\\26\\10") end,
              binary_mode = function() return load("return 1", "x", "b") end,
              text = function() return load("return secret, io")() end,
            }
            """)
        let binary = try await state.invoke("binary")
        #expect(binary.first == .nil)
        #expect(binary.dropFirst().first?.stringValue?.contains("binary chunk") == true)
        let binaryMode = try await state.invoke("binary_mode")
        #expect(binaryMode.first == .nil)
        #expect(try await state.invoke("text") == [.text("mine"), .nil])
    }

    @Test(arguments: [
        ("../etc/passwd", "invalid module name"),
        ("/etc/passwd", "invalid module name"),
        ("os", "not found in the plugin directories"),
        ("nonexistent", "not found in the plugin directories"),
    ])
    func requireOnlyFindsModulesInThePluginDirectories(
        module: String, expected: String
    )
        async throws
    {
        let state = try await makeState(
            "return { f = function(name) return pcall(require, name) end }",
            modulePaths: [Fixtures.directory("good")])
        let values = try await state.invoke("f", .text(module))
        #expect(values.first == .boolean(false))
        #expect(values.dropFirst().first?.stringValue?.contains(expected) == true)
    }

    @Test func requireLoadsAModuleFromAPluginDirectoryLib() async throws {
        let state = try await makeState(
            "return { f = function() return require('util').full_name({ first_name = 'A', last_name = 'B' }) end }",
            modulePaths: [Fixtures.directory("good")])
        #expect(try await state.invoke("f") == [.text("A B")])
    }

    @Test func onePluginCannotChangeTheLibrariesAnotherSees() async throws {
        // Both plugins in one state, each in its own environment.
        let state = try await makeState(
            String(
                contentsOf: Fixtures.directory("sandbox/tamper.lua"), encoding: .utf8))
        let observer = try String(
            contentsOf: Fixtures.directory("sandbox/observer.lua"), encoding: .utf8)
        let loaded = try await state.call(
            "load", [.integer(2), .text(observer), .text("@observer.lua")])
        #expect(loaded.first == .boolean(true))
        let refused = try #require(try await state.invoke("validate").first?.stringMap)
        for attempt in ["assign", "metatable", "setmetatable", "json", "nested"] {
            #expect(refused[attempt] == .boolean(true), "\(attempt) was not refused")
        }
        let seen = try #require(try await state.invoke("validate", plugin: 2).first?.stringMap)
        #expect(seen["upper"] == .text("A"))
        #expect(seen["upper2"] == .text("A"))
        #expect(seen["lower"] == .text("a"))
        #expect(seen["pi"] == .number(Double.pi))
        #expect(seen["json"] == .text("function"))
    }

    @Test func theStringMetatableIsProtected() async throws {
        let state = try await makeState(
            "return { f = function() return getmetatable(''), pcall(setmetatable, '', {}) end }")
        let values = try await state.invoke("f")
        #expect(values.first == .boolean(false))
        #expect(values.dropFirst().first == .boolean(false))
    }

    /// The budget counts instructions, not time, so the call ends whatever the machine's
    /// load; a hang would hang this test.
    @Test(arguments: ["loop", "pcall_loop"])
    func runawayLoopsEndWithAPluginError(mode: String) async throws {
        let plugins = try await Fixtures.loader(["behaviours"]).load()
        let mapping = try #require(plugins.mappings["behaviours"])
        var thrown: ContactError?
        do {
            _ = try await mapping.map(InputRecord(line: 2, columns: [("mode", mode)]))
        } catch {
            thrown = error as? ContactError
        }
        #expect(thrown?.code == .pluginError)
        #expect(thrown?.message.contains("instructions") == true)
        // The state survives: the next call works.
        let draft = try await mapping.map(InputRecord(line: 3, columns: [("mode", "ok")]))
        #expect(draft.phone == "+33612345678")
    }

    @Test func toBeClosedVariablesCannotEscapeTheBudget() async throws {
        let state = try await makeState(
            """
            return { f = function()
              local guard <close> = setmetatable({}, { __close = function() while true do end end })
              while true do end
            end }
            """)
        await #expect {
            _ = try await state.invoke("f")
        } throws: { ($0 as? LuaFailure)?.kind == .budget }
    }

    @Test func theInstructionBudgetIsConfigurable() async throws {
        let source =
            "return { f = function(n) local x = 0 for i = 1, n do x = x + i end return x end }"
        let small = try await makeState(source, limits: LuaSandboxLimits(instructionBudget: 10_000))
        await #expect {
            _ = try await small.invoke("f", .integer(100_000))
        } throws: { ($0 as? LuaFailure)?.kind == .budget }
        let large = try await makeState(source)
        #expect(try await large.invoke("f", .integer(100_000)) == [.integer(5_000_050_000)])
    }

    @Test(arguments: ["string_bomb", "table_bomb", "rep_bomb"])
    func memoryBombsEndWithAPluginErrorAndNoCrash(mode: String) async throws {
        let limits = LuaSandboxLimits(memoryLimit: 8 << 20)
        let plugins = try await Fixtures.loader(["behaviours"], limits: limits).load()
        let mapping = try #require(plugins.mappings["behaviours"])
        let error = await #expect(throws: ContactError.self) {
            _ = try await mapping.map(InputRecord(line: 2, columns: [("mode", mode)]))
        }
        #expect(error?.code == .pluginError)
        #expect(error?.message.contains("memory") == true, "\(error?.message ?? "")")
        // A fresh state takes over.
        let draft = try await mapping.map(InputRecord(line: 3, columns: [("mode", "ok")]))
        #expect(draft.firstName == "Zoé")
    }

    @Test func aMemoryErrorClosesTheState() async throws {
        let state = try await makeState(
            "return { f = function() local s = 'x' while true do s = s .. s end end }",
            limits: LuaSandboxLimits(memoryLimit: 4 << 20))
        await #expect {
            _ = try await state.invoke("f")
        } throws: { ($0 as? LuaFailure)?.kind == .memory }
        #expect(state.isClosed)
    }

    @Test func deepRecursionEndsWithAStackOverflowPluginError() async throws {
        let plugins = try await Fixtures.loader(["behaviours"]).load()
        let mapping = try #require(plugins.mappings["behaviours"])
        let error = await #expect(throws: ContactError.self) {
            _ = try await mapping.map(InputRecord(line: 2, columns: [("mode", "recursion")]))
        }
        #expect(error?.code == .pluginError)
        #expect(error?.message.contains("stack overflow") == true)
    }
}
