import Contactor
import ContactorTesting
import Foundation
import Testing

@testable import ContactorLua

/// A Lua provider's `list(ctx, list, page)` and `update(ctx, list, contacts)`: the page
/// shape checked strictly, the cursor passed through, `update` end to end.
@Suite struct ListAndUpdateTests {
    /// A provider plugin whose `list` returns `page` (Lua source) and whose `update`
    /// reports each contact `updated` with the id it was given.
    static func plugin(list page: String) -> String {
        """
        return {
          kind = "provider", name = "pager", endpoint = "https://api.pager.test",
          batch_size = { add = 10, update = 5 },
          add = function(ctx, list, contacts)
            local results = {}
            for i = 1, #contacts do results[i] = { status = "added" } end
            return results
          end,
          update = function(ctx, list, contacts)
            local results = {}
            for i, c in ipairs(contacts) do
              local res = ctx.http.request {
                method = "PUT", url = ctx.endpoint .. "/contacts/" .. (c.id or "none"),
                json = { phone = c.phone, first_name = c.first_name },
              }
              results[i] = { status = res.status == 200 and "updated" or "skipped", id = c.id }
            end
            return results
          end,
          list = function(ctx, list, page)
            \(page)
          end,
        }
        """
    }

    func provider(_ page: String) async throws -> (LuaProvider, PluginDirectory) {
        let directory = try PluginDirectory(["pager.lua": Self.plugin(list: page)])
        let provider = try #require(try await directory.load().providers["pager"])
        return (provider, directory)
    }

    @Test func theDescriptorListsListWhenThePluginDefinesIt() async throws {
        let (provider, directory) = try await provider("return { contacts = {} }")
        #expect(provider.descriptor.operations == [.add, .update, .list])
        #expect(provider.descriptor.batchSize(for: .update) == 5)
        _ = directory
    }

    @Test func listPassesTheCursorAndReadsEveryContactField() async throws {
        let (provider, directory) = try await provider(
            """
            if page == nil then
              return { contacts = {
                { phone = "+33612345678", first_name = "Ada", last_name = "Lovelace",
                  email = "ada@example.org", birthday = "1815-12-10", civility = "Mme",
                  fields = { vip = "yes", score = 3 }, id = 41 },
              }, next = 2 }
            end
            return { contacts = { { phone = "0698765432", id = "p-" .. page } } }
            """)
        let context = providerContext()
        let first = try await provider.list("vip", cursor: nil, context: context)
        #expect(
            first
                == ContactPage(
                    contacts: [
                        ContactDraft(
                            phone: "+33612345678", firstName: "Ada", lastName: "Lovelace",
                            email: "ada@example.org", birthday: "1815-12-10", civility: "Mme",
                            fields: ["vip": "yes", "score": "3"], providerID: "41")
                    ], next: "2"))
        let second = try await provider.list("vip", cursor: "2", context: context)
        #expect(
            second
                == ContactPage(
                    contacts: [ContactDraft(phone: "0698765432", providerID: "p-2")], next: nil))
        _ = directory
    }

    struct BadPage: Sendable, CustomTestStringConvertible {
        var lua: String
        var says: String
        var testDescription: String { says }
    }

    static let badPages: [BadPage] = [
        BadPage(lua: "return 42", says: "must return a table"),
        BadPage(lua: "return { contacts = {}, nxt = 2 }", says: "did you mean `next`?"),
        BadPage(lua: "return { next = 2 }", says: "without contacts"),
        BadPage(lua: "return { contacts = 'x' }", says: "not a list of contact tables"),
        BadPage(lua: "return { contacts = { 'x' } }", says: "contact 1 = "),
        BadPage(
            lua: "return { contacts = { { first_name = 'Ada' } } }",
            says: "contact 1 without a phone"),
        BadPage(
            lua: "return { contacts = { { phone = '+3361', frist_name = 'A' } } }",
            says: "did you mean `first_name`?"),
        BadPage(lua: "return { contacts = { { phone = true } } }", says: "phone = true"),
        BadPage(
            lua: "return { contacts = { { phone = '+3361', fields = 3 } } }",
            says: "fields that is not a table"),
        BadPage(
            lua: "return { contacts = {}, next = {} }", says: "expected a string, an integer or nil"
        ),
    ]

    @Test(
        "A page of another shape is a plugin_error naming the file, the line and the problem",
        arguments: badPages)
    func malformedPageIsAPluginError(_ bad: BadPage) async throws {
        let (provider, directory) = try await provider(bad.lua)
        await #expect {
            _ = try await provider.list("vip", cursor: nil, context: providerContext())
        } throws: { error in
            guard let error = error as? ContactError else { return false }
            return error.code == .pluginError && error.message.contains(bad.says)
                && error.message.contains("pager.lua:") && error.operation == .list
        }
        _ = directory
    }

    @Test func aListThatRaisesIsAPluginErrorAndAStructuredErrorKeepsItsCode() async throws {
        let (raising, first) = try await provider("error('boom')")
        await #expect {
            _ = try await raising.list("vip", cursor: nil, context: providerContext())
        } throws: { error in
            (error as? ContactError)?.code == .pluginError
                && (error as? ContactError)?.message.contains("boom") == true
        }
        let (structured, second) = try await provider(
            "error({ code = 'list_not_found', message = 'no list ' .. list })")
        await #expect {
            _ = try await structured.list("vip", cursor: nil, context: providerContext())
        } throws: { error in
            (error as? ContactError)?.code == .listNotFound
        }
        _ = (first, second)
    }

    @Test func aProviderWithoutListSaysUnsupported() async throws {
        let directory = try PluginDirectory([
            "plain.lua": """
            return { kind = "provider", name = "plain", endpoint = "https://api.plain.test",
              add = function(ctx, list, contacts) return {} end }
            """
        ])
        let provider = try #require(try await directory.load().providers["plain"])
        #expect(!provider.descriptor.supports(.list))
        await #expect {
            _ = try await provider.list("vip", cursor: nil, context: providerContext())
        } throws: { error in
            (error as? ContactError)?.code == .unsupportedOperation
        }
    }

    @Test func updateRunsThePluginWithTheProviderIDThroughTheTransport() async throws {
        let (provider, directory) = try await provider("return { contacts = {} }")
        let transport = MockTransport { request in
            MockResponse(status: request.url.path == "/contacts/41" ? 200 : 404)
        }
        var known = Contact(phone: phone(), firstName: "Grace")
        known.providerID = "41"
        let results = try await provider.update(
            [known, Contact(phone: phone("+33698765432"))], in: "vip",
            context: providerContext(transport, endpoint: "https://api.pager.test"))
        #expect(results.map(\.status) == [.updated, .skipped])
        #expect(results.first?.id == "41")
        #expect(transport.requests.map(\.url.path) == ["/contacts/41", "/contacts/none"])
        #expect(
            try JSONValue.decode(transport.requests[0].body ?? Data())
                == ["phone": "+33612345678", "first_name": "Grace"])
        _ = directory
    }
}
