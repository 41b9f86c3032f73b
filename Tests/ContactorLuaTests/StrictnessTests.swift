import Contactor
import ContactorTesting
import Foundation
import Testing

@testable import ContactorLua

/// Misspelled keys are errors that name the key, its line and the nearest known key.
@Suite struct StrictPluginTableTests {
    /// A provider plugin whose table holds `extra` (one `key = value` per line, from line 4).
    static func provider(_ extra: String) -> String {
        """
        -- a provider with one setting too many
        return {
          kind = "provider", name = "strict", endpoint = "https://api.strict.test",
        \(extra)
          add = function(ctx, list, contacts) return {} end,
        }
        """
    }

    @Test(arguments: [
        ("  batchsize = 20,", "batchsize", "batch_size"),
        ("  custom_field = { \"param1\" },", "custom_field", "custom_fields"),
        ("  endpont = \"https://x.test\",", "endpont", "endpoint"),
        ("  Region = \"FR\",", "Region", "region"),
        ("  credential = { \"api_key\" },", "credential", "credentials"),
        ("  delet = function() end,", "delet", "delete"),
    ])
    func anUnknownProviderKeyFailsTheLoadNamingItsLineAndTheNearestKey(
        line: String, key: String, nearest: String
    ) async throws {
        let directory = try PluginDirectory(["providers/strict.lua": Self.provider(line)])
        let problems = await directory.problems()
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.file.hasSuffix("providers/strict.lua"))
        #expect(problem.line == 4)
        #expect(
            problem.message
                == "the provider table has an unknown key `\(key)` (did you mean `\(nearest)`?)")
        await #expect {
            _ = try await directory.load()
        } throws: { error in
            let error = error as? ContactError
            return error?.code == .pluginError
                && error?.message.contains("strict.lua:4: the provider table has an unknown key")
                    == true
        }
    }

    @Test func aKeyFarFromEveryKnownOneListsTheKnownKeys() async throws {
        let directory = try PluginDirectory([
            "providers/strict.lua": Self.provider("  colour = \"blue\",")
        ])
        let problem = try #require(await directory.problems().first)
        #expect(
            problem.message.hasPrefix(
                "the provider table has an unknown key `colour` (known keys: kind, name,"))
        #expect(problem.message.contains("batch_size"))
    }

    @Test func everyUnknownKeyIsReportedAtOnce() async throws {
        let directory = try PluginDirectory([
            "providers/strict.lua": Self.provider("  batchsize = 2,\n  hots = {},")
        ])
        let problems = await directory.problems()
        #expect(problems.map(\.line) == [4, 5])
        #expect(problems.map { $0.message.contains("`batchsize`") } == [true, false])
        #expect(problems.last?.message.contains("`hots` (did you mean `hosts`?)") == true)
    }

    @Test(arguments: [
        (
            "mappings/m.lua",
            "return { kind = \"mapping\", name = \"m\",\n  mapp = function(row) end,\n  map = function(row) end }",
            "the mapping table has an unknown key `mapp` (did you mean `map`?)"
        ),
        (
            "validators/v.lua",
            "return { kind = \"validator\", name = \"v\",\n  validat = function() end }",
            "the validator table has an unknown key `validat` (did you mean `validate`?)"
        ),
        (
            "mappings/p.lua",
            "return { kind = \"mapping\", name = \"p\", map = function(row) end,\n  paylaod = function() end }",
            "the mapping table has an unknown key `paylaod` (did you mean `payload`?)"
        ),
    ])
    func mappingAndValidatorTablesAreStrictToo(
        path: String, source: String, message: String
    ) async throws {
        let problem = try #require(await PluginDirectory([path: source]).problems().first)
        #expect(problem.line == 2)
        #expect(problem.message == message)
    }

    @Test func updateListAndBatchSizeUpdateAreAcceptedAndUpdateIsAnOperation() async throws {
        let directory = try PluginDirectory([
            "providers/strict.lua": Self.provider(
                """
                  batch_size = { add = 100, delete = 10, update = 50 },
                  update = function(ctx, list, contacts) return {} end,
                  list = function(ctx, list, page) return {} end,
                """)
        ])
        let provider = try #require(try await directory.load().providers["strict"])
        #expect(provider.descriptor.batchSize(for: .add) == 100)
        #expect(provider.descriptor.batchSize(for: .delete) == 10)
        #expect(provider.descriptor.batchSize(for: .update) == 50)
        #expect(provider.descriptor.operations == [.add, .update, .list])
    }

    @Test(arguments: [
        ("  update = 3,", 4, "update must be a function, got 3"),
        ("  list = \"all\",", 4, "list must be a function, got \"all\""),
    ])
    func updateAndListMustBeFunctions(line: String, at: Int, message: String) async throws {
        let problem = try #require(
            await PluginDirectory(["providers/strict.lua": Self.provider(line)]).problems().first)
        #expect(problem.line == at)
        #expect(problem.message == message)
    }

    @Test func anUnknownBatchSizeOperationNamesItsLineAndTheNearestOperation() async throws {
        let directory = try PluginDirectory([
            "providers/strict.lua": Self.provider(
                """
                  batch_size = {
                    add = 100,
                    delet = 5,
                  },
                """)
        ])
        let problem = try #require(await directory.problems().first)
        #expect(problem.line == 6)
        #expect(
            problem.message
                == "batch_size has an unknown operation `delet` (did you mean `delete`?)")
    }

    @Test func fieldsNamesOnlyStandardFields() async throws {
        let problem = try #require(
            await PluginDirectory([
                "providers/strict.lua": Self.provider(
                    "  fields = { \"first_name\", \"lastname\" },")
            ]).problems().first)
        #expect(problem.line == 4)
        #expect(
            problem.message
                == "fields has an unknown field `lastname` (did you mean `last_name`?); custom fields go in custom_fields"
        )
    }

    @Test func maxLengthsNamesKnownFieldsWhenCustomFieldsAreDeclared() async throws {
        let strict = try #require(
            await PluginDirectory([
                "providers/strict.lua": Self.provider(
                    "  custom_fields = { \"param1\" },\n  max_lengths = { first_nam = 32, param1 = 10 },"
                )
            ]).problems().first)
        #expect(strict.line == 5)
        #expect(
            strict.message
                == "max_lengths has an unknown field `first_nam` (did you mean `first_name`?)")
        // Without custom_fields any custom field may be sent, so any name may have a length.
        let open = try PluginDirectory([
            "providers/strict.lua": Self.provider("  max_lengths = { city = 20 },")
        ])
        #expect(try await open.load().providers["strict"]?.descriptor.maxLengths == ["city": 20])
    }

    @Test func theShippedPluginsLoadUnderTheStrictRules() async throws {
        let plugins = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "plugins")
        let report = await PluginLoader(
            configuration: .init(pluginDirectories: [plugins], environment: [:])
        ).check()
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.plugins.count >= 4)
    }
}

/// The nearest-key rule itself.
@Suite struct NearestKeyTests {
    @Test(arguments: [
        ("stauts", "status"), ("provider_cod", "provider_code"), ("batchSize", "batch_size"),
        ("mesage", "message"), ("custom_field", "custom_fields"), ("ide", "id"),
    ])
    func misspellingsFindTheKeyMeant(typed: String, meant: String) {
        let known = PluginKeys.provider + PluginKeys.result
        #expect(PluginKeys.nearest(to: typed, among: known) == meant)
    }

    @Test(arguments: ["colour", "x", "transport_layer"])
    func keysFarFromEveryKnownOneHaveNoSuggestion(typed: String) {
        #expect(PluginKeys.nearest(to: typed, among: PluginKeys.result) == nil)
    }

    @Test func theLineOfAKeyIsFoundInThePluginTableNotInEarlierCode() {
        let source = Array(
            """
            local batchsize = 3
            local t = { batchsize = 4 }
            return {
              kind = "provider",
              ["batchsize"] = 20,
            }
            """.utf8)
        #expect(PluginKeys.line(of: "batchsize", in: source) == 5)
        #expect(PluginKeys.line(of: "kind", in: source) == 4)
        #expect(PluginKeys.line(of: "absent", in: source) == nil)
        #expect(PluginKeys.line(of: "size", in: source) == nil)
        let fieldByField = Array(
            """
            local plugin = { kind = "provider" }
            plugin.batchsize = 20
            function plugin.delet(ctx, list, contacts) end
            return plugin
            """.utf8)
        #expect(PluginKeys.line(of: "batchsize", in: fieldByField) == 2)
        #expect(PluginKeys.line(of: "delet", in: fieldByField) == 3)
        #expect(PluginKeys.line(of: "kind", in: fieldByField) == 1)
    }
}

/// Results returned by add/delete with a key no result has fail the batch.
@Suite struct StrictResultTests {
    static func provider(_ body: String) -> String {
        """
        return {
          kind = "provider", name = "shape", endpoint = "https://api.shape.test", batch_size = 2,
          add = function(ctx, list, contacts)
            \(body)
          end,
          delete = function(ctx, list, contacts)
            return { { status = "deleted", provider_cod = "x" }, { status = "deleted" } }
          end,
        }
        """
    }

    func run(_ body: String, delete: Bool = false) async throws -> [ContactResult] {
        let directory = try PluginDirectory(["providers/shape.lua": Self.provider(body)])
        let provider = try #require(try await directory.load().providers["shape"])
        let batch = [Contact(phone: phone()), Contact(phone: phone("+33698765432"))]
        if delete {
            return try await provider.delete(batch, from: "l", context: providerContext())
        }
        return try await provider.add(batch, to: "l", context: providerContext())
    }

    @Test(arguments: [
        (
            "return { { status = 'added' }, { stauts = 'added' } }",
            "shape.lua:3: result 2 has an unknown key `stauts` (did you mean `status`?)"
        ),
        (
            "return { { status = 'added', ide = 4 }, { status = 'added' } }",
            "shape.lua:3: result 1 has an unknown key `ide` (did you mean `id`?)"
        ),
        (
            "return { { status = 'added', colour = 'x' }, { status = 'added' } }",
            "result 1 has an unknown key `colour` (known keys: status, id, error, message, provider_code, transient)"
        ),
    ])
    func aResultWithAnUnknownKeyFailsTheBatchNamingTheFunctionAndTheKey(
        body: String, message: String
    ) async throws {
        let results = try await run(body)
        #expect(results.count == 2)
        for result in results {
            #expect(result.status == .failed)
            #expect(result.error?.code == .pluginError)
            #expect(
                result.error?.message.contains(message) == true, "\(result.error?.message ?? "")")
            #expect(result.error?.message.hasPrefix("plugin shape (") == true)
        }
    }

    @Test func deleteResultsAreCheckedToo() async throws {
        let results = try await run("return {}", delete: true)
        #expect(results.allSatisfy { $0.error?.code == .pluginError })
        #expect(
            results.first?.error?.message.contains(
                "shape.lua:6: result 1 has an unknown key `provider_cod` (did you mean `provider_code`?)"
            )
                == true, "\(results.first?.error?.message ?? "")")
    }

    @Test func everyDocumentedResultKeyIsAccepted() async throws {
        let results = try await run(
            """
            return { { status = "added", id = "1", message = "ok" },
              { status = "failed", error = "provider_error", message = "HTTP 503",
                provider_code = "503", transient = true } }
            """)
        #expect(results[0] == .added(id: "1"))
        #expect(results[1].error?.isTransient == true)
    }

    @Test func aRequestWithAnUnknownKeyIsAnErrorAtTheCallingLine() async throws {
        let results = try await run(
            """
            ctx.http.request { url = ctx.endpoint .. "/x", header = { a = "1" } }
            """)
        #expect(
            results.first?.error?.message.contains(
                "shape.lua:4: ctx.http.request: the request has an unknown key `header` (did you mean `headers`?)"
            )
                == true, "\(results.first?.error?.message ?? "")")
    }
}
