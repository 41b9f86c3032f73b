import Contactor
import ContactorHTTP
import ContactorTestServer
import ContactorTesting
import Foundation
import Testing

@testable import ContactorLua

/// The ```lua examples of docs/plugins.md about ctx.log and ctx.http.pages, run as the
/// text around them says (found by their `<!-- doc-test: NAME -->` markers, as
/// Tests/ContactorPluginsTests/DocsExampleTests.swift finds the others).
@Suite struct DocsBlockTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/plugins.md")

    /// The ```lua block after the marker `name`.
    static func block(_ name: String) throws -> String {
        let text = try String(contentsOf: docs, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let line = lines.popFirst() {
            guard line == "<!-- doc-test: \(name) -->", lines.popFirst() == "```lua" else {
                continue
            }
            var code: [Substring] = []
            while let line = lines.popFirst(), !line.hasPrefix("```") { code.append(line) }
            return code.joined(separator: "\n") + "\n"
        }
        Issue.record("no block \(name) in docs/plugins.md")
        return ""
    }

    /// A provider whose add runs `block`, then returns `result` (a Lua expression).
    static func provider(_ block: String, result: String) -> String {
        """
        return {
          kind = "provider", name = "doc", endpoint = "https://api.doc.test",
          credentials = { "api_key" },
          add = function(ctx, list, contacts)
        \(block)
            return { \(result) }
          end,
        }
        """
    }

    @Test func theCtxLogExampleLogsWhatItsCommentsSay() async throws {
        let source = Self.provider(
            try Self.block("ctx-log"),
            result: "{ status = 'added' }, { status = 'added' }")
        let directory = try PluginDirectory(["providers/doc.lua": source])
        let provider = try #require(try await directory.load().providers["doc"])
        let capture = LogCapture()
        let results = try await provider.add(
            [Contact(phone: phone(), firstName: "Zoé"), Contact(phone: phone("+33698765432"))],
            to: "vip",
            context: providerContext(credentials: ["api_key": "k-123"], logger: capture.logger()))
        #expect(results == [.added(), .added()])
        let records = capture.records
        #expect(records.map(\.level) == [.info, .debug, .info, .warning, .error])
        #expect(records[0].message == "adding 2 contacts to vip")
        #expect(records[1].message.hasPrefix(#"first contact {"fields":{},"first_name":"Zoé","#))
        #expect(records[2].message == #"credentials {"api_key":"***"}"#)
        #expect(records[3].message == #"slow answer {"ms":950,"status":200}"#)
        #expect(records[4].message == "unexpected body <html>")
        #expect(
            records.allSatisfy { $0.metadata["plugin"] == "doc" && !$0.message.contains("k-123") })
    }

    @Test func theHTTPPagesExampleReadsEveryPageOfBothShapes() async throws {
        let source = Self.provider(
            try Self.block("http-pages"),
            result: "{ status = 'added', id = #phones .. '/' .. events }")
        let directory = try PluginDirectory(["providers/doc.lua": source])
        let provider = try #require(try await directory.load().providers["doc"])
        let handler: TestHTTPServer.Handler = { request in
            let query = URLComponents(string: "http://x" + request.uri)?.queryItems ?? []
            func value(_ name: String) -> Int? {
                query.first { $0.name == name }?.value.flatMap { Int($0) }
            }
            guard request.header("Authorization") == "Bearer k-1" || request.path == "/v1/events"
            else { return .status(401) }
            if request.path == "/v1/lists/vip/contacts" {
                // 250 contacts, `per_page` a page.
                let size = value("per_page") ?? 10
                let first = ((value("page") ?? 1) - 1) * size
                let page = (first..<min(first + size, 250)).map { #"{"phone":"+3361234\#($0)"}"# }
                return .json(200, #"{"contacts":[\#(page.joined(separator: ","))]}"#)
            }
            // 3 pages of events behind cursors a, b.
            let cursor = query.first { $0.name == "cursor" }?.value
            let next = ["a": #""b""#, "b": "null"][cursor ?? ""] ?? #""a""#
            return .json(200, #"{"data":[1,2,3],"next":\#(next)}"#)
        }
        try await TestHTTPServer.withServer(handler: handler) { server in
            try await AsyncHTTPClientTransport.withTransport(configuration: .init(proxy: nil)) {
                transport in
                let results = try await provider.add(
                    [Contact(phone: phone())], to: "vip",
                    context: providerContext(
                        transport, credentials: ["api_key": "k-1"],
                        endpoint: server.baseURL.absoluteString))
                #expect(results == [.added(id: "250/9")])
                #expect(
                    server.requests.map(\.uri) == [
                        "/v1/lists/vip/contacts?page=1&per_page=100",
                        "/v1/lists/vip/contacts?page=2&per_page=100",
                        "/v1/lists/vip/contacts?page=3&per_page=100",
                        "/v1/events", "/v1/events?cursor=a", "/v1/events?cursor=b",
                    ])
            }
        }
    }
}
