import Contactor
import ContactorTesting
import Foundation
import Testing

@testable import ContactorLua

/// What a plugin raises with `error(...)`, as the plugin author reads it.
@Suite struct RaisedErrorTests {
    /// A provider whose add runs `body` (at line 4 of the file).
    static func provider(_ body: String) -> String {
        """
        return {
          kind = "provider", name = "raiser", endpoint = "https://api.raiser.test",
          add = function(ctx, list, contacts)
            \(body)
          end,
        }
        """
    }

    /// Runs add with `body`; returns the one result's error, or the error thrown.
    func error(from body: String) async throws -> ContactError? {
        let directory = try PluginDirectory(["providers/raiser.lua": Self.provider(body)])
        let provider = try #require(try await directory.load().providers["raiser"])
        do {
            let results = try await provider.add(
                [Contact(phone: phone())], to: "l", context: providerContext())
            return results.first?.error
        } catch let error as ContactError {
            return error
        }
    }

    @Test(arguments: [
        (
            "error({ code = 42 })",
            "raiser.lua:4: error{code = 42} has code = 42, which is not a string; use one of: invalid_phone,"
        ),
        (
            "error(404)",
            #"raiser.lua:4: error() got the number 404; expected error{ code = "<a code from the taxonomy>", message = "..." } or error("message")"#
        ),
        (
            "error()",
            "raiser.lua:4: error() was called with nil (no message); expected error{ code ="
        ),
        ("error(true)", "raiser.lua:4: error() got the boolean true; expected"),
        (
            "error({ reason = 'boom' })",
            #"raiser.lua:4: error() got a table {reason = "boom"} without a code; expected error{"#
        ),
        (
            "error({ code = 'auth_fail', message = 'no' })",
            #"raiser.lua:4: error{code = "auth_fail", message = "no"} has code "auth_fail", which is not one of Contactor's error codes (did you mean `auth_failed`?): invalid_phone, wrong_country,"#
        ),
        (
            "error({ code = 'auth_failed', message = 401 })",
            "raiser.lua:4: error{code = \"auth_failed\", message = 401} has message = 401, which is not a string"
        ),
        (
            "error({ code = 'auth_failed', mesage = 'bad key' })",
            "has an unknown key `mesage` (did you mean `message`?)"
        ),
        (
            "error({ code = 'auth_failed', transient = 'yes' })",
            "has transient = \"yes\"; expected true or false"
        ),
        ("error('plain', 0)", "raiser.lua:4: plain"),
        ("local t = nil; t.x = 1", "raiser.lua:4: attempt to index a nil value"),
    ])
    func anErrorThatIsNotAStructuredOneSaysWhereWhatAndTheShapeExpected(
        body: String, expected: String
    ) async throws {
        let error = try #require(try await error(from: body))
        #expect(error.code == .pluginError)
        #expect(error.message.contains("plugin raiser ("), "\(error.message)")
        #expect(error.message.contains("failed in add: "), "\(error.message)")
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test func aTableErrorNamesTheLineOfTheErrorCallNotOfItsCaller() async throws {
        let error = try #require(
            try await error(
                from: "local function fail() error({ code = 7 }) end\n    fail()"))
        #expect(error.message.contains("raiser.lua:4: error{code = 7}"), "\(error.message)")
    }

    @Test func aValidStructuredErrorFailsTheBatchWithItsCodeAndMessage() async throws {
        let error = try #require(
            try await error(
                from:
                    "error({ code = 'auth_failed', message = 'bad key', provider_code = 401, transient = false })"
            ))
        #expect(error.code == .authFailed)
        #expect(error.message == "bad key")
        #expect(error.providerCode == "401")
        #expect(error.isTransient == false)
        #expect(error.provider == "raiser")
    }

    @Test func mappingErrorsGetTheSameReading() async throws {
        let mapping = try #require(
            try await Fixtures.loader(["behaviours"]).load().mappings["behaviours"])
        let error = await #expect(throws: ContactError.self) {
            _ = try await mapping.map(InputRecord(line: 2, columns: [("mode", "error_nil")]))
        }
        #expect(error?.code == .pluginError)
        #expect(
            error?.message.contains("behaviours.lua:21: error() was called with nil (no message)")
                == true, "\(error?.message ?? "")")
    }

    @Test func aLoadTimeTableErrorIsAProblemAtItsLine() async throws {
        let directory = try PluginDirectory([
            "validators/v.lua": "local x = 1\nerror({ code = 'oops' })\nreturn {}"
        ])
        let problem = try #require(await directory.problems().first)
        #expect(problem.line == 2)
        #expect(
            problem.message.hasPrefix(#"error{code = "oops"} has code "oops", which is not one"#))
    }
}

/// The instruction budget names the line of the loop, readably, even under pcall.
@Suite struct BudgetMessageTests {
    static let source = """
        return {
          loop = function()
            local n = 0
            while true do n = n + 1 end
          end,
          guarded = function()
            local ok, err = pcall(function()
              while true do end
            end)
            return "after the pcall"
          end,
        }
        """

    func failure(_ method: String) async throws -> LuaFailure {
        let state = try await makeState(
            Self.source, limits: LuaSandboxLimits(instructionBudget: 20_000))
        do {
            _ = try await state.invoke(method)
        } catch let failure as LuaFailure {
            return failure
        }
        Issue.record("expected the budget to trip")
        throw CancellationError()
    }

    @Test func theMessageNamesTheLineOfTheLoopAndIsNotGarbled() async throws {
        let failure = try await failure("loop")
        #expect(failure.kind == .budget)
        let first = String(failure.message.split(separator: "\n").first ?? "")
        #expect(
            first == "inline.lua:4: the script ran more than 20000 instructions (an endless loop?)")
        #expect(!failure.message.contains("invalid option"))
        #expect(failure.message.contains("stack traceback:"))
    }

    @Test func underAPcallTheLineIsTheLoopsNotTheLineAfterThePcall() async throws {
        let failure = try await failure("guarded")
        #expect(failure.kind == .budget)
        #expect(
            failure.message.hasPrefix(
                "inline.lua:8: the script ran more than 20000 instructions (an endless loop?)"),
            "\(failure.message)")
    }

    @Test func aPluginErrorForTheBudgetCarriesTheLine() async throws {
        let mapping = try #require(
            try await Fixtures.loader(["behaviours"]).load().mappings["behaviours"])
        let error = await #expect(throws: ContactError.self) {
            _ = try await mapping.map(InputRecord(line: 2, columns: [("mode", "pcall_loop")]))
        }
        let message = try #require(error?.message)
        #expect(message.contains("failed in map (line 2): "), "\(message)")
        #expect(
            message.hasSuffix(
                "behaviours.lua:5: the script ran more than 10000000 instructions (an endless loop?)"
            ),
            "\(message)")
    }
}
