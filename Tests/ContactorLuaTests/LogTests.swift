import Contactor
import ContactorTesting
import Foundation
import Logging
import Testing

@testable import ContactorLua

/// ctx.log: levels, any arguments, tables as JSON, secrets redacted, on the context's logger.
@Suite struct ContextLogTests {
    static let secret = "s3cret-Value"

    /// A provider whose add runs `body`, then adds the contact.
    static func provider(_ body: String) -> String {
        """
        return {
          kind = "provider", name = "logger", endpoint = "https://api.logger.test",
          credentials = { "api_key" },
          add = function(ctx, list, contacts)
            \(body)
            return { { status = "added" } }
          end,
        }
        """
    }

    /// The records logged while add ran `body`, with the logger at `level`.
    func records(_ body: String, level: Logger.Level = .trace) async throws -> [LogRecord] {
        let directory = try PluginDirectory(["providers/logger.lua": Self.provider(body)])
        let provider = try #require(try await directory.load().providers["logger"])
        let capture = LogCapture()
        let results = try await provider.add(
            [Contact(phone: phone())], to: "l",
            context: providerContext(
                credentials: ["api_key": Self.secret], logger: capture.logger(level: level)))
        #expect(results == [.added()], "\(results)")
        return capture.records
    }

    @Test func eachLevelGoesToTheContextsLoggerWithThePluginsName() async throws {
        let records = try await records(
            """
            ctx.log("as before")
            ctx.log.debug("d")
            ctx.log.info("i")
            ctx.log.warning("w")
            ctx.log.error("e")
            """)
        #expect(records.map(\.message) == ["as before", "d", "i", "w", "e"])
        #expect(records.map(\.level) == [.info, .debug, .info, .warning, .error])
        #expect(records.allSatisfy { $0.metadata["plugin"] == "logger" })
    }

    @Test func linesBelowTheLoggersLevelAreDropped() async throws {
        let records = try await records(
            "ctx.log('i') ctx.log.debug('d') ctx.log.warning('w') print('p')", level: .warning)
        #expect(records.map(\.message) == ["w"])
    }

    @Test func anyNumberOfArgumentsAreJoinedBySpacesAndTablesReadAsJSON() async throws {
        let records = try await records(
            """
            ctx.log("n", 42, 2.5, nil, true)
            ctx.log.debug("t", { b = 2, a = { 1, "x", json.null }, [3] = false, e = {} , f = json.array() })
            print("p", { 1 })
            """)
        #expect(
            records.map(\.message) == [
                "n 42 2.5 nil true",
                #"t {"3":false,"a":[1,"x",null],"b":2,"e":{},"f":[]}"#,
                "p\t[1]",
            ])
    }

    @Test func cyclesDepthAndSizeAreBounded() async throws {
        let records = try await records(
            """
            local t = { name = "loop" }
            t.self = t
            local shared = { 1 }
            ctx.log(t, { shared, shared })
            local deep = {}
            local cur = deep
            for i = 1, 20 do cur.next = {} cur = cur.next end
            ctx.log(deep)
            local big = {}
            for i = 1, 45 do big[i] = string.rep("x", 100) end
            ctx.log(big)
            local long = {}
            for i = 1, 5000 do long[i] = i end
            ctx.log(long)
            ctx.log({ f = print, s = setmetatable({}, { __tostring = function() return "custom" end }) })
            """)
        #expect(records.count == 5)
        #expect(records[0].message == #"{"name":"loop","self":"<cycle>"} [[1],[1]]"#)
        #expect(
            records[1].message
                == #"{"next":{"next":{"next":{"next":{"next":{"next":"<table>"}}}}}}"#)
        #expect(records[2].message.hasPrefix("[\"" + String(repeating: "x", count: 100) + "\","))
        #expect(records[2].message.hasSuffix("..."))
        #expect(records[2].message.utf8.count == 4003)
        #expect(
            records[3].message == "[" + (1...50).map(String.init).joined(separator: ",")
                + ",\"...\"]")
        #expect(records[4].message == #"{"f":"<function>","s":"custom"}"#)
    }

    @Test func credentialsNeverAppearInLogLines() async throws {
        let records = try await records(
            """
            ctx.log(ctx.credentials)
            ctx.log("key is " .. ctx.credentials.api_key)
            ctx.log.debug(ctx)
            ctx.log.error({ header = "Bearer " .. ctx.credentials.api_key })
            print(ctx.credentials.api_key)
            """)
        #expect(records.count == 5)
        #expect(records[0].message == #"{"api_key":"***"}"#)
        #expect(records[1].message == "key is ***")
        #expect(records[2].message.contains(#""credentials":{"api_key":"***"}"#))
        #expect(
            records[2].message.contains(#""http":{"pages":"<function>","request":"<function>"}"#))
        #expect(records[3].message == #"{"header":"Bearer ***"}"#)
        #expect(records.allSatisfy { !$0.message.contains(Self.secret) })
    }

    @Test func anUnknownLevelIsAnErrorThatListsTheLevels() async throws {
        let records = try await records(
            """
            local ok, err = pcall(function() ctx.log.warn("x") end)
            ctx.log(ok, err)
            """)
        let message = try #require(records.first?.message)
        #expect(message.hasPrefix("false "))
        #expect(
            message.hasSuffix(
                "logger.lua:5: ctx.log.warn does not exist: use ctx.log(...) or ctx.log.debug, ctx.log.info, ctx.log.warning, ctx.log.error"
            ), "\(message)")
    }

    @Test func printInAMappingGoesToThePluginLoadersLogger() async throws {
        let directory = try PluginDirectory([
            "mappings/m.lua": """
            return { kind = "mapping", name = "m", map = function(row)
              print("row", row)
              return { phone = row.tel }
            end }
            """
        ])
        let capture = LogCapture()
        let loader = PluginLoader(
            configuration: .init(
                pluginDirectories: [directory.url], environment: [:], logger: capture.logger()))
        let mapping = try #require(try await loader.load().mappings["m"])
        _ = try await mapping.map(InputRecord(line: 2, columns: [("tel", "0612345678")]))
        #expect(capture.records.map(\.message) == ["row\t{\"tel\":\"0612345678\"}"])
        #expect(capture.records.first?.metadata["plugin"] == "m")
    }
}
