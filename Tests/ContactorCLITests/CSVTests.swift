import Foundation
import Testing

/// A CSV file and what `validate --output json` must say about each record.
struct CSVCase: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    /// `(line, status, phone)` of each output line, in order.
    var expected: [Expected]
    /// The error code of each rejected line.
    var codes: [Int: String] = [:]

    struct Expected: Sendable, Equatable, CustomStringConvertible {
        var line: Int
        var status: String
        var phone: String?
        var description: String { "\(line) \(status) \(phone ?? "null")" }
    }

    var testDescription: String { name }

    init(_ name: String, _ text: String, _ expected: [Expected], codes: [Int: String] = [:]) {
        self.init(name, bytes: Array(text.utf8), expected, codes: codes)
    }

    init(_ name: String, bytes: [UInt8], _ expected: [Expected], codes: [Int: String] = [:]) {
        self.name = name
        self.bytes = bytes
        self.expected = expected
        self.codes = codes
    }

    static let ada = "+33612345678"
    static let bob = "+33612345679"

    static func valid(_ line: Int, _ phone: String) -> Expected {
        Expected(line: line, status: "valid", phone: phone)
    }

    static func rejected(_ line: Int, _ phone: String? = nil) -> Expected {
        Expected(line: line, status: "rejected", phone: phone)
    }

    static let all: [CSVCase] = [
        .init(
            "UTF-8 with a byte order mark", "\u{FEFF}phone,first_name\n+33612345678,Ada\n",
            [valid(2, ada)]),
        .init(
            "semicolon separator and national numbers",
            "phone;first_name;last_name\n06 12 34 56 78;Ada;Lovelace\n0612345679;Bob;\n",
            [valid(2, ada), valid(3, bob)]),
        .init(
            "quoted fields with separators and doubled quotes",
            "phone,first_name\n\"+33 6 12 34 56 78\",\"Ada, \"\"the\"\" Countess\"\n",
            [valid(2, ada)]),
        .init(
            "quoted fields holding newlines keep the starting line",
            "phone,first_name,notes\n+33612345678,Ada,\"one\ntwo\nthree\"\n+33612345679,Bob,x\n",
            [valid(2, ada), valid(5, bob)]),
        .init(
            "CRLF line ends", "phone,first_name\r\n+33612345678,Ada\r\n+33612345679,Bob\r\n",
            [valid(2, ada), valid(3, bob)]),
        .init(
            "a row with missing columns is rejected with its line, the rest goes on",
            "phone,first_name,last_name\n+33612345678,Ada\n+33612345679,Bob,Martin\n",
            [rejected(2), valid(3, bob)], codes: [2: "invalid_field"]),
        .init(
            "a row with too many columns is rejected with its line",
            "phone,first_name\n+33612345678,Ada,extra\n+33612345679,Bob\n",
            [rejected(2), valid(3, bob)], codes: [2: "invalid_field"]),
        // A header without a phone column is a usage error (exit 2): EdgeTests.unusableInput.
        .init("an empty file has no records", "", []),
        .init("a header alone has no records", "phone,first_name,last_name\n", []),
        .init(
            "invalid UTF-8 in one row is rejected with its line, the rest goes on",
            bytes: Array("phone,first_name\n+33612345678,Ad".utf8) + [0xC3, 0x28]
                + Array("a\n+33612345679,Bob\n".utf8),
            [rejected(2), valid(3, bob)], codes: [2: "invalid_field"]),
        .init(
            "an invalid phone is rejected, the valid ones go on",
            "phone\nnot a phone\n+33612345679\n", [rejected(2), valid(3, bob)],
            codes: [2: "invalid_phone"]),
    ]
}

@Suite("CSV input")
struct CSVTests {
    @Test("validate reports each record with its line, in input order", arguments: CSVCase.all)
    func validateReportsEachRecord(_ testCase: CSVCase) async throws {
        try await TemporaryDirectory.with { directory in
            let file = try directory.write("input.csv", data: Data(testCase.bytes))
            let result = try await CLI.run(
                ["validate", file, "--region", "FR", "--output", "json"])
            let lines = try CLI.jsonLines(result)
            let seen = lines.map {
                CSVCase.Expected(
                    line: $0["line"] as? Int ?? -1, status: $0["status"] as? String ?? "?",
                    phone: $0["phone"] as? String)
            }
            #expect(seen == testCase.expected, "\(result.stdout)\n\(result.stderr)")
            for object in lines {
                guard let line = object["line"] as? Int, let code = testCase.codes[line] else {
                    continue
                }
                let error = try #require(object["error"] as? [String: Any])
                #expect(error["code"] as? String == code, "\(object)")
                #expect((error["message"] as? String).map { !$0.isEmpty } == true)
            }
            let rejected = testCase.expected.contains { $0.status == "rejected" }
            #expect(result.status == (rejected ? 1 : 0), "\(result.stderr)")
        }
    }

    @Test(
        "import sends the valid rows of each CSV and reports the others with their line",
        arguments: CSVCase.all)
    func importSendsValidRows(_ testCase: CSVCase) async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write("input.csv", data: Data(testCase.bytes))
                let result = try await CLI.run(
                    [
                        "import", file, "--provider", "smspartner", "--list", "5001", "--output",
                        "json",
                    ]
                        + sandbox.arguments(for: "smspartner"))
                let lines = try CLI.jsonLines(result)
                let seen = lines.map {
                    CSVCase.Expected(
                        line: $0["line"] as? Int ?? -1,
                        status: ($0["status"] as? String).map { $0 == "added" ? "valid" : $0 }
                            ?? "?",
                        phone: $0["phone"] as? String)
                }
                #expect(seen == testCase.expected, "\(result.stdout)\n\(result.stderr)")
                let sent = testCase.expected.filter { $0.status == "valid" }.compactMap(\.phone)
                #expect(await sandbox.phones("smspartner", "5001") == sent)
                let rejected = testCase.expected.contains { $0.status == "rejected" }
                #expect(result.status == (rejected ? 1 : 0), "\(result.stderr)")
            }
        }
    }

    @Test("A quoted field keeps its separators, quotes and newlines when sent")
    func quotedFieldIsSentVerbatim() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write(
                    "input.csv",
                    "phone;first_name;param1\n+33612345678;\"Ada; \"\"the\"\" Countess\";\"a\nb\"\n"
                )
                let result = try await CLI.run(
                    [
                        "import", file, "--provider", "octopush", "--list", "demo", "--output",
                        "json",
                    ]
                        + sandbox.arguments(for: "octopush"))
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
                let contact = try #require(
                    await sandbox.server.contacts(provider: "octopush", list: "demo").first)
                #expect(contact.fields["first_name"] == "Ada; \"the\" Countess")
                #expect(contact.fields["param1"] == "a\nb")
            }
        }
    }

    @Test("A 1 MB field is read whole and rejected as too long, without echoing it")
    func megabyteFieldIsRejectedAsTooLong() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let huge = String(repeating: "x", count: 1 << 20)
                let file = try directory.write(
                    "input.csv",
                    "phone,first_name\n+33612345678,\"\(huge)\"\n+33612345679,Bob\n")
                let result = try await CLI.run(
                    [
                        "import", file, "--provider", "smspartner", "--list", "5001", "--output",
                        "json",
                    ]
                        + sandbox.arguments(for: "smspartner"))
                #expect(result.status == 1)
                let lines = try CLI.jsonLines(result)
                #expect(lines.map { $0["status"] as? String } == ["rejected", "added"])
                let error = try #require(lines.first?["error"] as? [String: Any])
                #expect(error["code"] as? String == "field_too_long")
                #expect(result.stdout.utf8.count < 4096, "the output echoes the field")
                #expect(result.stderr.utf8.count < 4096)
                #expect(await sandbox.phones("smspartner", "5001") == [CSVCase.bob])

                let valid = try await CLI.run(["validate", file, "--output", "json"])
                #expect(valid.status == 0, "without a provider, no length limit applies")
                #expect(
                    try CLI.jsonLines(valid).map { $0["status"] as? String } == ["valid", "valid"])
            }
        }
    }

    @Test("Columns the provider has no place for are named once on stderr and the rows go on")
    func unsentColumnsAreNamedOnce() async throws {
        try await Sandbox.with { sandbox in
            try await TemporaryDirectory.with { directory in
                let file = try directory.write(
                    "input.csv",
                    "phone,first_name,email,birthday,shoe_size,param2\n"
                        + "+33612345678,Ada,ada@example.com,1815-12-10,38,vip\n"
                        + "+33612345679,Bob,bob@example.com,1990-01-01,44,\n")
                let result = try await CLI.run(
                    [
                        "import", file, "--provider", "octopush", "--list", "demo", "--output",
                        "json",
                    ]
                        + sandbox.arguments(for: "octopush"))
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
                for column in ["email", "birthday", "shoe_size"] {
                    #expect(
                        result.stderr.components(separatedBy: column).count - 1 == 1,
                        "'\(column)' not named exactly once: \(result.stderr)")
                }
                #expect(result.stderr.contains("not sent"))
                #expect(!result.stderr.contains("param2"))
                #expect(!result.stderr.contains("first_name"))
                #expect(await sandbox.phones("octopush", "demo") == [CSVCase.ada, CSVCase.bob])
                let ada = try #require(
                    await sandbox.server.contacts(provider: "octopush", list: "demo").first)
                #expect(ada.fields["param2"] == "vip")

                let validated = try await CLI.run(
                    ["validate", file, "--provider", "octopush", "--output", "json"])
                #expect(validated.status == 0, "\(validated.stdout)\(validated.stderr)")
                #expect(
                    try CLI.jsonLines(validated).map { $0["status"] as? String } == [
                        "valid", "valid",
                    ])
                #expect(validated.stderr.components(separatedBy: "shoe_size").count - 1 == 1)
            }
        }
    }
}
