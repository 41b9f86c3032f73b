import Contactor
import Foundation
import Testing

@testable import ContactorLua

@Suite struct PluginLoaderTests {
    @Test func findsPluginsInTheDirectoryAndItsKindFolders() async throws {
        let plugins = try await Fixtures.loader(["good"]).load()
        #expect(Set(plugins.providers.keys) == ["echo"])
        #expect(Set(plugins.mappings.keys) == ["crm"])
        #expect(Set(plugins.validators.keys) == ["fr_only"])
        #expect(plugins.summaries.map(\.name) == ["echo", "crm", "fr_only"])
    }

    @Test func theSearchPathIsPluginsDirsThenTheEnvironmentThenBundledWithoutDuplicates() {
        let loader = PluginLoader(
            configuration: .init(
                pluginDirectories: [URL(fileURLWithPath: "/a"), URL(fileURLWithPath: "/b")],
                environment: ["CONTACTOR_PLUGIN_PATH": "/c::/a:/d"],
                bundledDirectory: URL(fileURLWithPath: "/e")))
        #expect(loader.directories.map(\.path) == ["/a", "/b", "/c", "/d", "/e"])
    }

    @Test(
        arguments: [
            ("no_name.lua", nil, "has no name"),
            ("unknown_kind.lua", 1, "unknown kind 'exporter'"),
            ("add_not_function.lua", 1, "add must be a function"),
            ("credentials_not_strings.lua", 1, "credentials must be a list of strings"),
            ("syntax_error.lua", 4, "'}' expected"),
            ("runtime_error.lua", 2, "attempt to index a nil value"),
            ("not_a_table.lua", nil, "must return a plugin table"),
        ] as [(String, Int?, String)])
    func malformedPluginsAreReportedWithTheirFileAndLine(
        file: String, line: Int?, expected: String
    ) async throws {
        let report = await Fixtures.loader(["bad/malformed"]).check()
        let problem = try #require(report.problems.first { $0.file.hasSuffix("/" + file) })
        #expect(problem.line == line)
        #expect(problem.message.contains(expected), "\(problem)")
        #expect(problem.description.contains(file))
    }

    @Test func checkReportsEveryProblemAndLoadRefusesThemAll() async throws {
        let report = await Fixtures.loader(["bad/malformed"]).check()
        #expect(report.problems.count == 7)
        await #expect {
            _ = try await Fixtures.loader(["bad/malformed"]).load()
        } throws: { error in
            (error as? ContactError)?.code == .pluginError
                && (error as? ContactError)?.message.contains("7 plugin problems") == true
        }
    }

    @Test func twoPluginsWithOneNameAreAnErrorNamingBothFiles() async throws {
        let report = await Fixtures.loader(["bad/duplicate/one", "bad/duplicate/two"]).check()
        #expect(report.problems.count == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.file.hasSuffix("two/same.lua"))
        #expect(problem.message.contains("one/same.lua"))
        #expect(problem.message.contains("validator 'same' is already defined"))
    }

    @Test func aPluginMayNotShadowABuiltInProvider() async throws {
        let report = await Fixtures.loader(["bad/shadow"], builtins: ["octopush", "avosms"]).check()
        let problem = try #require(report.problems.first)
        #expect(problem.file.hasSuffix("octopush.lua"))
        #expect(problem.message.contains("name of a built-in provider"))
    }

    @Test func aMissingPluginsDirectoryIsAProblem() async throws {
        let report = await Fixtures.loader(["does-not-exist"]).check()
        #expect(report.problems.first?.message == "plugin directory does not exist")
    }

    @Test func loadFileChecksTheKind() async throws {
        let loader = Fixtures.loader([])
        let file = Fixtures.directory("good/mappings/crm.lua")
        let plugins = try await loader.loadFile(file, expecting: .mapping)
        #expect(plugins.mappings["crm"] != nil)
        await #expect(throws: ContactError.self) {
            _ = try await loader.loadFile(file, expecting: .provider)
        }
    }
}

@Suite struct MappingAndValidatorTests {
    func crm() async throws -> LuaMapping {
        try #require(try await Fixtures.loader(["good"]).load().mappings["crm"])
    }

    @Test func mapTurnsARowIntoADraft() async throws {
        let draft = try await crm().map(
            InputRecord(
                line: 2, columns: [("tel", "06 12 34 56 78"), ("prenom", "Zoé"), ("ville", "Lyon")])
        )
        #expect(
            draft
                == ContactDraft(
                    phone: "06 12 34 56 78", firstName: "Zoé", fields: ["param1": "Lyon"]))
    }

    @Test func nilAndAReasonRejectTheRowWithValidationFailed() async throws {
        let error = await #expect(throws: ContactError.self) {
            _ = try await crm().map(InputRecord(line: 2, columns: [("tel", "")]))
        }
        #expect(error?.code == .validationFailed)
        #expect(error?.message == "no phone in column tel")
    }

    @Test(arguments: [
        ("wrong_shape", "must return a contact table"), ("unknown_key", "unknown key 'city'"),
    ])
    func wrongShapesArePluginErrors(mode: String, expected: String) async throws {
        let mapping = try #require(
            try await Fixtures.loader(["behaviours"]).load().mappings["behaviours"])
        let error = await #expect(throws: ContactError.self) {
            _ = try await mapping.map(InputRecord(line: 2, columns: [("mode", mode)]))
        }
        #expect(error?.code == .pluginError)
        #expect(error?.message.contains(expected) == true)
        #expect(error?.message.contains("behaviours.lua") == true)
    }

    @Test func thePayloadFunctionBecomesAPayloadHook() async throws {
        let hook = try #require(try await crm().payloadHook)
        let contact = Contact(phone: phone(), fields: ["param1": "lyon"])
        let edited = try await hook(
            "octopush", contact, ["phone_number": "+33612345678", "keep": nil])
        #expect(
            edited == [
                "phone_number": "+33612345678", "param1": "LYON", "provider": "octopush",
                "keep": nil,
            ])
    }

    @Test func aValidatorAcceptsOrRejectsWithItsReason() async throws {
        let validator = try #require(
            try await Fixtures.loader(["good"]).load().validators["fr_only"])
        #expect(try await validator.validate(Contact(phone: phone())) == nil)
        let rejection = try await validator.validate(Contact(phone: phone("+14155552671")))
        #expect(rejection?.code == .validationFailed)
        #expect(rejection?.message == "only French numbers, got US")
    }
}

@Suite struct HelperTests {
    static let source = """
        return {
          roundtrip = function(s) local v, err = json.decode(s); if v == nil then return nil, err end; return json.encode(v) end,
          null = function() return json.decode('null') == json.null, json.encode({ a = json.null }) end,
          bad = function() return json.decode('{"a": }') end,
          b64 = function(s) local e = base64.encode(s); return e, base64.decode(e) end,
          b64bad = function() return base64.decode('@@@@') end,
          form = function() return form.encode({ z = "a b", a = 1, m = "é/&" }) end,
          phone = function(s, r) local p, err = phone.parse(s, r); if not p then return nil, err end; return p.e164, p.region, p.type end,
        }
        """

    @Test(arguments: [
        (#"{"b":[1,2.5,"x"],"a":{"c":true}}"#, #"{"a":{"c":true},"b":[1,2.5,"x"]}"#),
        ("[]", "[]"), ("{}", "{}"), (#""\u00e9\n""#, #""é\n""#), ("-12", "-12"),
        (#"[null,false]"#, #"[null,false]"#),
    ])
    func jsonRoundTrips(input: String, output: String) async throws {
        let state = try await makeState(Self.source)
        #expect(try await state.invoke("roundtrip", .text(input)) == [.text(output)])
    }

    @Test func jsonNullIsASentinelAndDecodeErrorsAreNilAndAMessage() async throws {
        let state = try await makeState(Self.source)
        #expect(try await state.invoke("null") == [.boolean(true), .text(#"{"a":null}"#)])
        let bad = try await state.invoke("bad")
        #expect(bad.first == .nil)
        #expect(bad.dropFirst().first?.stringValue?.contains("position") == true)
    }

    @Test func base64RoundTripsBytes() async throws {
        let state = try await makeState(Self.source)
        let bytes: [UInt8] = [0, 1, 2, 0xFF, 0x61]
        #expect(
            try await state.invoke("b64", .string(bytes)) == [.text("AAEC/2E="), .string(bytes)])
        #expect(try await state.invoke("b64bad").first == .nil)
    }

    @Test func formEncodeSortsKeys() async throws {
        let state = try await makeState(Self.source)
        #expect(try await state.invoke("form") == [.text("a=1&m=%C3%A9%2F%26&z=a+b")])
    }

    @Test func phoneParseUsesLibphonenumber() async throws {
        let state = try await makeState(Self.source)
        #expect(
            try await state.invoke("phone", .text("06 12 34 56 78"), .text("FR"))
                == [.text("+33612345678"), .text("FR"), .text("mobile")])
        let bad = try await state.invoke("phone", .text("12"), .text("FR"))
        #expect(bad.first == .nil)
        #expect(bad.dropFirst().first?.stringValue != nil)
    }
}
