import Contactor
import ContactorHTTP
import ContactorLua
import ContactorTestServer
import ContactorTesting
import Foundation
import Synchronization
import Testing

/// Every ```lua block of docs/plugins.md, run: each block follows a marker comment
/// `<!-- doc-test: NAME -->`, and the test named after NAME loads it (as a plugin, or
/// wrapped in one) and checks that it does what the text around it says.
@Suite struct DocsExampleTests {
    /// The ```lua blocks of docs/plugins.md by marker; `nil` marks a block without one.
    static func blocks() throws -> [(name: String?, code: String)] {
        let text = try String(contentsOf: Repository.file("docs/plugins.md"), encoding: .utf8)
        var blocks: [(name: String?, code: String)] = []
        var marker: String?
        var code: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if var open = code {
                if line.hasPrefix("```") {
                    blocks.append((marker, open.joined(separator: "\n") + "\n"))
                    code = nil
                    marker = nil
                } else {
                    open.append(line)
                    code = open
                }
            } else if let match = line.wholeMatch(of: /<!-- doc-test: ([a-z0-9-]+) -->/) {
                marker = String(match.1)
            } else if line == "```lua" {
                code = []
            } else if line.hasPrefix("```") {
                marker = nil
            }
        }
        return blocks
    }

    static func block(_ name: String) throws -> String {
        try #require(try blocks().first { $0.name == name }?.code, "no block \(name)")
    }

    /// The markers the tests below cover.
    static let covered: Set<String> = [
        "tutorial-acme", "provider-reference", "contact", "http-request", "results", "mapping",
        "validator", "ctx-log", "http-pages", "provider-update-list", "http-retry",
    ]

    /// The ```sh block of docs/plugins.md after the marker `<!-- doc-test: NAME -->`.
    static func shellBlock(_ name: String) throws -> String {
        let text = try String(contentsOf: Repository.file("docs/plugins.md"), encoding: .utf8)
        let marker = "<!-- doc-test: \(name) -->\n```sh\n"
        let start = try #require(text.range(of: marker), "no sh block \(name)")
        let end = try #require(
            text.range(of: "\n```", range: start.upperBound..<text.endIndex), "unclosed \(name)")
        return String(text[start.upperBound..<end.lowerBound]) + "\n"
    }

    /// Writes `source` as `kind/name.lua` in a fresh directory and loads that directory.
    static func load(_ source: String, as path: String) async throws -> LuaPlugins {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-docs-\(UUID().uuidString)")
        let file = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try source.write(to: file, atomically: true, encoding: .utf8)
        return try await PluginLoader(
            configuration: .init(pluginDirectories: [directory], environment: [:])
        ).load()
    }

    @Test func everyLuaBlockOfTheDocsHasAMarkerThatATestCovers() throws {
        let blocks = try Self.blocks()
        #expect(blocks.count >= Self.covered.count)
        #expect(blocks.allSatisfy { $0.name != nil }, "a ```lua block has no doc-test marker")
        let names = blocks.compactMap(\.name)
        #expect(Set(names).count == names.count, "a marker is used twice")
        #expect(Set(names) == Self.covered)
    }

    @Test func theProviderReferenceLoadsWithEveryDocumentedSetting() async throws {
        let plugins = try await Self.load(
            try Self.block("provider-reference"), as: "providers/textmagic.lua")
        let provider = try #require(plugins.providers["textmagic"])
        let descriptor = provider.descriptor
        #expect(descriptor.credentialKeys == ["username", "api_key"])
        #expect(descriptor.defaultEndpoint.absoluteString == "https://rest.textmagic.com")
        #expect(provider.extraOrigins == ["https://auth.example.com"])
        #expect(descriptor.defaultRegion == "FR")
        #expect(descriptor.batchSize(for: .add) == 1)
        #expect(descriptor.maxLengths == ["first_name": 32])
        #expect(descriptor.defaultRateLimit == 5)
        #expect(descriptor.customFields == ["param1"])
        let context = ProviderContext(
            transport: MockTransport.unreachable,
            credentials: Credentials(provider: "textmagic", ["username": "u", "api_key": "k"]),
            endpoint: descriptor.defaultEndpoint)
        let contacts = [Contact(phone: mobiles[0]), Contact(phone: mobiles[1])]
        #expect(
            try await provider.add(contacts, to: "1", context: context) == [.added(), .added()])
        #expect(
            try await provider.delete(contacts, from: "1", context: context)
                == [.deleted(), .deleted()])
    }

    @Test func theUpdateAndListExampleUpdatesByIdAndPagesWithNext() async throws {
        let plugins = try await Self.load(
            try Self.block("provider-update-list"), as: "providers/pager.lua")
        let provider = try #require(plugins.providers["pager"])
        #expect(provider.descriptor.operations == [.add, .update, .list])
        #expect(provider.descriptor.batchSize(for: .update) == 10)
        let transport = MockTransport { request in
            if request.method == "PUT" {
                return MockResponse(status: request.url.path == "/contacts/41" ? 200 : 404)
            }
            let page = request.url.query ?? ""
            return page.contains("page=1")
                ? .json(
                    200,
                    ["items": [["phone": "+33612345678", "first": "Ada", "id": 41]], "more": true])
                : .json(200, ["items": [], "more": false])
        }
        let context = ProviderContext(
            transport: transport, credentials: Credentials(provider: "pager", [:]),
            endpoint: provider.descriptor.defaultEndpoint)
        var known = Contact(phone: mobiles[0], firstName: "Grace")
        known.providerID = "41"
        var unknown = Contact(phone: mobiles[1])
        unknown.providerID = "42"
        let updated = try await provider.update([known, unknown], in: "vip", context: context)
        #expect(updated.map(\.status) == [.updated, .skipped])
        #expect(updated[1].error?.code == .notInList)
        let first = try await provider.list("vip", cursor: nil, context: context)
        #expect(
            first.contacts == [
                ContactDraft(phone: "+33612345678", firstName: "Ada", providerID: "41")
            ])
        #expect(first.next == "2")
        let second = try await provider.list("vip", cursor: first.next, context: context)
        #expect(second == ContactPage(contacts: [], next: nil))
    }

    @Test func theContactExampleIsAValidLuaTableWithTheDocumentedKeys() async throws {
        let source = """
            return { kind = "validator", name = "doc", validate = function(_)
              local contact = \(try Self.block("contact"))
              if contact.phone == "+33612345678" and contact.fields.param1 == "Lyon"
                and contact.birthday == "1990-05-17" and contact.type == "mobile" then
                return true
              end
              return false, "the example changed"
            end }
            """
        let validator = try #require(
            try await Self.load(source, as: "validators/doc.lua").validators["doc"])
        #expect(try await validator.validate(Contact(phone: mobiles[0])) == nil)
    }

    @Test func theHTTPRequestExampleSendsWhatItSays() async throws {
        let source = """
            return { kind = "provider", name = "doc", endpoint = "https://rest.textmagic.com",
              credentials = { "api_key" },
              add = function(ctx, list, contacts)
                local contact = contacts[1]
            \(try Self.block("http-request"))
                return { { status = "added", id = res.status .. "/" .. res.json.id } }
              end }
            """
        let provider = try #require(
            try await Self.load(source, as: "providers/doc.lua").providers["doc"])
        let transport = MockTransport.json(status: 201, ["id": 9])
        let context = ProviderContext(
            transport: transport, credentials: Credentials(provider: "doc", ["api_key": "k-1"]),
            endpoint: URL(string: "https://rest.textmagic.com")!)
        let results = try await provider.add(
            [Contact(phone: mobiles[0])], to: "l", context: context)
        #expect(results == [.added(id: "201/9")])
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.path == "/api/v2/contacts")
        #expect(request.url.query == "page=1&search=a+b")
        #expect(request.header("X-TM-Key") == "k-1")
        #expect(request.header("Content-Type") == "application/json")
        #expect(try JSONValue.decode(request.body ?? Data()) == ["phone": "+33612345670"])
    }

    @Test func theRetryExampleHandsA503ToTheScriptAndSendsTheCreateOnce() async throws {
        let source = """
            return { kind = "provider", name = "doc", endpoint = "https://api.doc.test",
              add = function(ctx, list, contacts)
                local contact = contacts[1]
            \(try Self.block("http-retry"))
                return { { status = "added" } }
              end }
            """
        let provider = try #require(
            try await Self.load(source, as: "providers/doc.lua").providers["doc"])
        let transport = MockTransport { _ in MockResponse(status: 503) }
        let client = ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([provider]),
                clock: ImmediateClock()))
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678")], provider: "doc", list: "l")
        #expect(transport.requests.count == 1)
        #expect(outcomes.map(\.result.status) == [.failed])
        #expect(outcomes.first?.result.error?.message.hasPrefix("HTTP 503") == true)
        #expect(outcomes.first?.result.error?.isTransient == false)
    }

    @Test func theResultsExampleIsAcceptedAsFourValidResults() async throws {
        let source = """
            return { kind = "provider", name = "doc", endpoint = "https://api.doc.test",
              add = function(ctx, list, contacts)
                return (function()
            \(try Self.block("results"))
                end)()
              end }
            """
        let provider = try #require(
            try await Self.load(source, as: "providers/doc.lua").providers["doc"])
        let context = ProviderContext(
            transport: MockTransport.unreachable, credentials: Credentials([:]),
            endpoint: URL(string: "https://api.doc.test")!)
        let results = try await provider.add(
            Array(mobiles.prefix(4)).map { Contact(phone: $0) }, to: "l", context: context)
        #expect(results.map(\.status) == [.added, .skipped, .rejected, .failed])
        #expect(results[0].id == "123")
        #expect(results.map(\.error?.code) == [nil, .alreadyInList, .invalidPhone, .providerError])
        #expect(results[2].error?.providerCode == "9")
        #expect(results[3].error?.isTransient == true)
    }

    @Test func theMappingExampleMapsRejectsAndEditsThePayload() async throws {
        let mapping = try #require(
            try await Self.load(try Self.block("mapping"), as: "mappings/crm.lua").mappings["crm"])
        let draft = try await mapping.map(
            InputRecord(
                line: 2, columns: [("tel", "0612345678"), ("prenom", "Zoé"), ("ville", "Lyon")]))
        #expect(
            draft == ContactDraft(phone: "0612345678", firstName: "Zoé", fields: ["param1": "Lyon"])
        )
        let error = await #expect(throws: ContactError.self) {
            try await mapping.map(InputRecord(line: 3, columns: [("tel", ""), ("prenom", "X")]))
        }
        #expect(error?.code == .validationFailed)
        #expect(error?.message == "no phone")
        let hook = try #require(mapping.payloadHook)
        let edited = try await hook(
            "octopush", Contact(phone: mobiles[0], fields: ["param1": "Lyon"]),
            ["phone_number": "+33612345670"])
        #expect(edited == ["phone_number": "+33612345670", "param1": "Lyon"])
    }

    @Test func theValidatorExampleAcceptsFrenchNumbersOnly() async throws {
        let validator = try #require(
            try await Self.load(try Self.block("validator"), as: "validators/fr_only.lua")
                .validators["fr_only"])
        #expect(try await validator.validate(Contact(phone: phone("+33612345678"))) == nil)
        let problem = try await validator.validate(Contact(phone: phone("+32470123456")))
        #expect(problem?.code == .validationFailed)
        #expect(problem?.message == "only French numbers")
    }
}
