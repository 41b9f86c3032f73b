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
