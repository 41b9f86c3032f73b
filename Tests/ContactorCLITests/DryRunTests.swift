import Foundation
import Testing

/// A dry run and the requests it must print.
struct DryRunCase: CustomTestStringConvertible, Sendable {
    var name: String
    var provider: String
    var list: String
    var command: [String]
    /// `METHOD path-suffix` of each printed request, in order.
    var requests: [String]
    /// The statuses of the contacts reported (the rejected ones).
    var reported: [String] = []
    var exitCode: Int32 = 0

    var testDescription: String { name }

    static let all: [DryRunCase] = [
        .init(
            name: "add (Octopush, headers redacted)", provider: "octopush", list: "demo",
            command: [
                "add", "--phone", "06 12 34 56 78", "--first-name", "Ada", "--field", "param1=vip",
            ],
            requests: ["POST /octopush/v1/public/contact/create"]),
        .init(
            name: "add (Avosms, form fields redacted)", provider: "avosms", list: "1001",
            command: ["add", "--phone", "0612345678", "--field", "other=vip"],
            requests: ["POST /avosms/v1/contact/add"]),
        .init(
            name: "add (SMS Partner, body member redacted)", provider: "smspartner", list: "5001",
            command: ["add", "--phone", "0612345678"], requests: ["POST /smspartner/v1/contact/add"]
        ),
        .init(
            name: "add (SMS Gateway API)", provider: "smsgatewayapi", list: "100",
            command: ["add", "--phone", "+33612345678"],
            requests: ["POST /smsgatewayapi/v1/contact"]),
        .init(
            name: "add of an invalid number prints no request, reports it, exits 1",
            provider: "octopush", list: "demo", command: ["add", "--phone", "12"], requests: [],
            reported: ["rejected"], exitCode: 1),
        .init(
            name: "delete (Octopush)", provider: "octopush", list: "demo",
            command: ["delete", "--phone", "+33612345678"],
            requests: ["DELETE /octopush/v1/public/contact/delete"]),
        .init(
            name: "delete (Avosms)", provider: "avosms", list: "1001",
            command: ["delete", "--phone", "+33612345678"],
            requests: ["POST /avosms/v1/contact/delete"]),
        .init(
            name: "delete (SMS Partner looks the contact up first)", provider: "smspartner",
            list: "5001", command: ["delete", "--phone", "+33612345678"],
            requests: ["GET /smspartner/v1/contact/list"]),
        .init(
            name: "import (Avosms: one request per contact, the rejected row reported)",
            provider: "avosms", list: "1001", command: ["import", "CSV"],
            requests: ["POST /avosms/v1/contact/add", "POST /avosms/v1/contact/add"],
            reported: ["rejected"], exitCode: 1),
        .init(
            name: "import (Octopush: one batch)", provider: "octopush", list: "demo",
            command: ["import", "VALIDCSV"], requests: ["POST /octopush/v1/public/contact/create"]),
    ]
}

@Suite("Dry runs")
struct DryRunTests {
    @Test(
        "--dry-run prints each request as JSON with secrets as ***, and sends nothing",
        arguments: DryRunCase.all)
    func dryRunPrintsRequestsAndSendsNothing(_ testCase: DryRunCase) async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let csv = try directory.write(
                    "input.csv", "phone,first_name\n+33612345678,Ada\nnope,Eve\n+33612345679,Bob\n")
                let valid = try directory.write(
                    "valid.csv", "phone,first_name\n+33612345678,Ada\n+33612345679,Bob\n")
                let command = testCase.command.map {
                    $0 == "CSV" ? csv : $0 == "VALIDCSV" ? valid : $0
                }
                let result = try await CLI.run(
                    command + [
                        "--provider", testCase.provider, "--list", testCase.list, "--dry-run",
                        "--output", "json",
                    ]
                        + sandbox.arguments(for: testCase.provider))
                #expect(result.status == testCase.exitCode, "\(result.stdout)\(result.stderr)")
                let objects = try CLI.jsonLines(result)
                let requests = objects.compactMap { $0["request"] as? [String: Any] }
                let reported = objects.filter { $0["request"] == nil }
                #expect(
                    reported.map { $0["status"] as? String } == testCase.reported,
                    "\(result.stdout)")
                for object in objects where object["request"] != nil {
                    #expect(Set(object.keys) == ["request"], "\(object)")
                }
                let base = sandbox.server.baseURL.absoluteString
                let seen = requests.map { request in
                    "\(request["method"] as? String ?? "?") "
                        + ((request["url"] as? String)?.replacingOccurrences(of: base, with: "")
                            .split(separator: "?").first.map(String.init) ?? "?")
                }
                #expect(seen == testCase.requests, "\(result.stdout)")
                for request in requests {
                    #expect(
                        Set(request.keys) == ["method", "url", "headers", "body"], "\(request)")
                    #expect(request["headers"] is [String: Any])
                }
                for line in result.stdoutLines where line.hasPrefix(#"{"request""#) {
                    #expect(line.hasPrefix(#"{"request":{"method":""#), "\(line)")
                    #expect(line.contains("***"), "no redacted secret in \(line)")
                }
                #expect(sandbox.requests.isEmpty, "sent: \(sandbox.requests)")
                #expect(await sandbox.phones(testCase.provider, testCase.list).isEmpty)
            }
        }
    }
}

/// Defect 2 of issue 13: a dry run of a batching plugin accounts for every contact, prints
/// its requests in input order, and a plugin that `pcall`s its requests runs to its end.
@Suite("Dry runs of plugins")
struct PluginDryRunTests {
    static let plugin = """
        return {
          kind = "provider", name = "bulk", endpoint = "https://api.bulk.test",
          batch_size = { add = 20 },
          add = function(ctx, list, contacts)
            local phones = {}
            for i, contact in ipairs(contacts) do phones[i] = contact.phone end
            local ok, res = pcall(ctx.http.request, {
              method = "POST", url = ctx.endpoint .. "/lists/" .. list .. "/bulk",
              json = { phones = phones, dry_run = ctx.dry_run },
            })
            local results = {}
            for i = 1, #contacts do
              if ok and res.status == 200 then
                results[i] = { status = "added" }
              else
                results[i] = { status = "failed", error = "transport_error", message = tostring(res) }
              end
            end
            return results
          end,
        }

        """

    /// 201 rows; every 25th has a number that cannot be read.
    static func rows() -> [(line: Int, phone: String?)] {
        (1...201).map { index in
            (index + 1, index % 25 == 0 ? nil : "+336120" + String(format: "%05d", index))
        }
    }

    @Test("201 rows in batches of 20: every contact accounted for, requests in input order")
    func aBatchingPluginsDryRunAccountsForEveryContactInOrder() async throws {
        try await TemporaryDirectory.with { directory in
            try directory.write("plugins/providers/bulk.lua", Self.plugin)
            let csv = try directory.write(
                "in.csv",
                "phone\n" + Self.rows().map { $0.phone ?? "12" }.joined(separator: "\n") + "\n")
            let arguments = [
                "import", csv, "--provider", "bulk", "--list", "l1", "--plugins",
                directory.path("plugins"), "--dry-run", "--concurrency", "4",
            ]
            let json = try await CLI.run(arguments + ["--output", "json"])
            #expect(json.status == 1, "\(json.stdout)\(json.stderr)")
            let objects = try CLI.jsonLines(json)
            let requests = objects.compactMap { $0["request"] as? [String: Any] }
            let valid = Self.rows().compactMap(\.phone)
            #expect(requests.count == (valid.count + 19) / 20, "\(json.stdout)")
            // The requests carry every valid number once, in input order, and the plugin
            // knew it was a dry run.
            let sent = requests.flatMap { request -> [String] in
                let body = request["body"] as? [String: Any]
                #expect(body?["dry_run"] as? Bool == true, "\(request)")
                return body?["phones"] as? [String] ?? []
            }
            #expect(sent == valid)
            let reported = objects.filter { $0["request"] == nil }
            #expect(
                reported.compactMap { $0["line"] as? Int }
                    == Self.rows().filter { $0.phone == nil }.map(\.line))
            #expect(reported.allSatisfy { $0["status"] as? String == "rejected" })
            #expect(!json.stdout.contains("failed"), "a pcall'd request failed: \(json.stdout)")

            let table = try await CLI.run(arguments + ["--output", "table"])
            #expect(table.status == 1)
            // The summary is on stderr, whatever the format.
            #expect(
                table.stderr.contains("201 contacts: 193 valid, 8 rejected in "),
                "\(table.stderr)")
        }
    }
}
