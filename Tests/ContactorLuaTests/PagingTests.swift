import Contactor
import ContactorHTTP
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

@testable import ContactorLua

/// ctx.http.pages against a loopback server that serves a list of `count` items in the
/// three usual shapes, over real HTTP through the host's transport.
@Suite struct PagingTests {
    /// A provider whose add walks the pages described by `spec` (a Lua table expression
    /// that may use `ctx`) and answers one result whose id is "ids|pages".
    static func provider(_ spec: String) -> String {
        """
        return {
          kind = "provider", name = "pager", endpoint = "https://api.pager.test",
          add = function(ctx, list, contacts)
            local ids, pages = {}, 0
            for items, res, n in ctx.http.pages(\(spec)) do
              pages = n
              for _, item in ipairs(items) do ids[#ids + 1] = tostring(item.id) end
            end
            return { { status = "added", id = table.concat(ids, ",") .. "|" .. pages } }
          end,
        }
        """
    }

    /// The fake: `/page?page=P&per_page=S`, `/offset?offset=O&limit=L` and
    /// `/cursor?cursor=C` (or a JSON body `{ "cursor": C }`) over items 1...count (from
    /// the `count` query parameter, default 45; `size` is the server's page size when the
    /// client sends none). `/status/N` answers N.
    static func handler(_ request: RecordedRequest) -> ScriptedReply {
        let items = URLComponents(string: "http://x" + request.uri)?.queryItems ?? []
        func number(_ name: String) -> Int? {
            items.first { $0.name == name }?.value.flatMap { Int($0) }
        }
        let count = number("count") ?? 45
        func page(_ range: Range<Int>) -> String {
            let clamped = range.clamped(to: 0..<count)
            return "[" + clamped.map { #"{"id":\#($0 + 1)}"# }.joined(separator: ",") + "]"
        }
        switch request.path {
        case "/page":
            let size = number("per_page") ?? 10
            let first = ((number("page") ?? 1) - 1) * size
            return .json(200, #"{"data":\#(page(first..<first + size))}"#)
        case "/offset":
            let size = number("limit") ?? 10
            let first = number("offset") ?? 0
            return .json(200, page(first..<first + size))
        case "/cursor":
            var cursor = number("cursor")
            if let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
                let value = body["cursor"] as? Int
            {
                cursor = value
            }
            let first = cursor ?? 0
            let next = first + 20 < count ? "\(first + 20)" : "null"
            return .json(200, #"{"items":\#(page(first..<first + 20)),"next":\#(next)}"#)
        case "/stuck":
            return .json(200, #"{"items":[{"id":1}],"next":"same"}"#)
        default:
            let status = Int(request.path.split(separator: "/").last ?? "") ?? 404
            return .status(status, body: "nope")
        }
    }

    /// Runs add with `spec` against the fake; returns the results or the error thrown, and
    /// the requests' targets.
    func run(_ spec: String) async throws -> (Result<[ContactResult], ContactError>, [String]) {
        let directory = try PluginDirectory(["providers/pager.lua": Self.provider(spec)])
        let provider = try #require(try await directory.load().providers["pager"])
        return try await TestHTTPServer.withServer(handler: { Self.handler($0) }) { server in
            try await AsyncHTTPClientTransport.withTransport(
                configuration: .init(proxy: nil)
            ) { transport in
                let context = providerContext(transport, endpoint: server.baseURL.absoluteString)
                let result: Result<[ContactResult], ContactError>
                do {
                    result = .success(
                        try await provider.add([Contact(phone: phone())], to: "l", context: context)
                    )
                } catch let error as ContactError {
                    result = .failure(error)
                }
                return (result, server.requests.map(\.uri))
            }
        }
    }

    func ids(_ range: ClosedRange<Int>) -> String { range.map(String.init).joined(separator: ",") }

    @Test func pageStyleStopsOnAShortPage() async throws {
        let (result, requests) = try await run(
            """
            { request = { url = ctx.endpoint .. "/page", query = { count = 45 } }, style = "page",
              size = 10, size_param = "per_page", items = function(res) return res.json.data end }
            """)
        #expect(try result.get() == [.added(id: ids(1...45) + "|5")])
        #expect(requests == (1...5).map { "/page?count=45&page=\($0)&per_page=10" })
    }

    @Test func pageStyleStopsOnAnEmptyPageWhenTheLastOneIsFull() async throws {
        let (result, requests) = try await run(
            """
            { request = { url = ctx.endpoint .. "/page", query = { count = 40 } },
              size = 10, items = function(res) return res.json.data end }
            """)
        #expect(try result.get() == [.added(id: ids(1...40) + "|4")])
        #expect(requests.count == 5)
        #expect(requests.last == "/page?count=40&page=5")
    }

    @Test func pageStyleWithoutASizeStopsOnlyOnAnEmptyPage() async throws {
        let (result, requests) = try await run(
            """
            { request = { url = ctx.endpoint .. "/page", query = { { "count", 15 } } },
              param = "page", start = 2, items = function(res) return res.json.data end }
            """)
        #expect(try result.get() == [.added(id: ids(11...15) + "|1")])
        #expect(requests == ["/page?count=15&page=2", "/page?count=15&page=3"])
    }

    @Test func offsetStyleAdvancesByTheItemsReceived() async throws {
        let (result, requests) = try await run(
            """
            { request = { url = ctx.endpoint .. "/offset?count=25" }, style = "offset",
              size = 10, size_param = "limit" }
            """)
        #expect(try result.get() == [.added(id: ids(1...25) + "|3")])
        #expect(
            requests == [
                "/offset?count=25&limit=10&offset=0", "/offset?count=25&limit=10&offset=10",
                "/offset?count=25&limit=10&offset=20",
            ])
    }

    @Test func cursorStyleFollowsTheNextCursorUntilThereIsNone() async throws {
        let (result, requests) = try await run(
            """
            { request = { url = ctx.endpoint .. "/cursor", query = { count = 50 } }, style = "cursor",
              items = function(res) return res.json.items end,
              next_cursor = function(res) return res.json.next end }
            """)
        #expect(try result.get() == [.added(id: ids(1...50) + "|3")])
        #expect(
            requests == [
                "/cursor?count=50", "/cursor?count=50&cursor=20", "/cursor?count=50&cursor=40",
            ])
    }

    @Test func aRequestFunctionMayPutTheCursorInTheBody() async throws {
        let (result, requests) = try await run(
            """
            { style = "cursor",
              request = function(cursor)
                return { method = "POST", url = ctx.endpoint .. "/cursor?count=30", json = { cursor = cursor } }
              end,
              items = function(res) return res.json.items end,
              next_cursor = function(res) return res.json.next end }
            """)
        #expect(try result.get() == [.added(id: ids(1...30) + "|2")])
        #expect(requests == ["/cursor?count=30", "/cursor?count=30"])
    }

    @Test func reachingMaxPagesWithMoreToReadIsAnErrorAtTheLoop() async throws {
        let (result, requests) = try await run(
            """
            { request = { url = ctx.endpoint .. "/page" }, size = 10, max_pages = 2,
              items = function(res) return res.json.data end }
            """)
        let results = try result.get()
        #expect(requests.count == 2)
        #expect(results.first?.error?.code == .pluginError)
        #expect(
            results.first?.error?.message.contains(
                "pager.lua:5: ctx.http.pages: there are more than max_pages = 2 pages") == true,
            "\(results.first?.error?.message ?? "")")
    }

    @Test func aCursorThatDoesNotMoveIsAnError() async throws {
        let (result, requests) = try await run(
            """
            { request = { url = ctx.endpoint .. "/stuck" }, style = "cursor", start = "same",
              items = function(res) return res.json.items end,
              next_cursor = function(res) return res.json.next end }
            """)
        #expect(requests.count == 1)
        #expect(
            try result.get().first?.error?.message.contains(
                "ctx.http.pages: next_cursor gave the cursor of the page it read again (same)")
                == true)
    }

    @Test(arguments: [
        (401, ContactError.Code.authFailed, false), (429, .rateLimited, true),
        (503, .providerError, true), (404, .providerError, false),
    ])
    func anErrorStatusFailsTheBatchWithAStructuredError(
        status: Int, code: ContactError.Code, transient: Bool
    ) async throws {
        let (result, requests) = try await run(
            "{ request = { url = ctx.endpoint .. \"/status/\(status)?secret=1\" } }")
        #expect(requests.count == 1)
        guard case .failure(let error) = result else {
            Issue.record("expected the batch to fail, got \(result)")
            return
        }
        #expect(error.code == code)
        #expect(error.isTransient == transient)
        // 429 and 5xx fail the request itself, as every plugin request does (for the
        // engine to retry the batch); the helper maps the other statuses, with the status
        // as the provider code.
        #expect(error.providerCode == (transient ? nil : "\(status)"))
        #expect(error.message.hasPrefix("GET http://127.0.0.1:"))
        #expect(error.message.hasSuffix("/status/\(status) answered HTTP \(status)"))
    }

    @Test func aCheckFunctionDecidesWhatAnErrorStatusMeans() async throws {
        let (result, _) = try await run(
            """
            { request = { url = ctx.endpoint .. "/status/404" },
              check = function(res) if res.status ~= 404 then error("unexpected") end end,
              items = function(res) return {} end }
            """)
        #expect(try result.get() == [.added(id: "|0")])
    }

    @Test(arguments: [
        (
            "{ request = {}, sise = 10 }",
            "ctx.http.pages: the table has an unknown key `sise` (did you mean `size`?)"
        ),
        (
            "{ request = {}, style = 'pages' }",
            #"ctx.http.pages: style must be "page", "offset" or "cursor", got pages"#
        ),
        (
            "{ request = {}, style = 'cursor' }",
            #"ctx.http.pages: style "cursor" needs next_cursor"#
        ),
        ("{ request = {}, size = 0 }", "ctx.http.pages: size must be a positive integer"),
        ("{ }", "ctx.http.pages: request must be a request table"),
        ("'x'", "ctx.http.pages expects a table"),
        (
            "{ request = { url = ctx.endpoint .. '/status/200' } }",
            "ctx.http.pages: the response body (give items = function(res) ... end) is a nil, not a list of items"
        ),
    ])
    func aMalformedSpecIsAnErrorAtTheCallingLine(spec: String, message: String) async throws {
        let (result, _) = try await run(spec)
        let error = try #require(try result.get().first?.error)
        #expect(error.code == .pluginError)
        #expect(error.message.contains("pager.lua:5: " + message), "\(error.message)")
    }
}
