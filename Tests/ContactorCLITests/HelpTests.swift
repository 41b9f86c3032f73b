import ContactorTesting
import Foundation
import Testing

/// `--help` as a person reads it: text that reflows to the terminal's width, and on each
/// command only the options that mean something there.
@Suite struct HelpTests {
    static let commands: [[String]] = [
        [], ["add"], ["delete"], ["import"], ["validate"], ["sync"], ["list"], ["providers"],
        ["plugins"], ["plugins", "check"], ["plugins", "new"], ["plugins", "test"], ["sandbox"],
        ["runs"], ["runs", "show"], ["worker"], ["results"], ["completions"],
    ]

    static func help(_ command: [String], columns: Int) async throws -> String {
        let result = try await CLI.run(
            command + ["--help"], environment: ["COLUMNS": "\(columns)"])
        #expect(result.status == 0, "\(command): \(result.stderr)")
        return result.stdout
    }

    /// A line of prose: not indented (an example, an option), not a label such as
    /// `Examples:` or `OPTIONS:`.
    static func isProse(_ line: Substring) -> Bool {
        guard let first = line.first, first != " " else { return false }
        return !(line.hasSuffix(":") && line.split(separator: " ").count <= 2)
    }

    @Test(
        "Help text has no hard-wrapped line: at any width it is the terminal that wraps it",
        arguments: commands)
    func helpReflows(_ command: [String]) async throws {
        // So wide that nothing is wrapped: two lines of prose in a row can only be a
        // newline written into the text.
        let wide = try await Self.help(command, columns: 1000)
        let lines = wide.split(separator: "\n", omittingEmptySubsequences: false)
        for (line, next) in zip(lines, lines.dropFirst()) where Self.isProse(line) {
            #expect(
                !Self.isProse(next) || line.hasPrefix("USAGE:"),
                "\(command): a hard line break after '\(line)' (before '\(next)')")
        }
        // Narrow: every line fits, except a single word longer than the width.
        let narrow = try await Self.help(command, columns: 60)
        // (The usage synopsis and the subcommands' footer are ArgumentParser's own lines.)
        for line in narrow.split(separator: "\n")
        where line.count > 60 && !line.hasPrefix("USAGE:") && !line.contains("for detailed help") {
            #expect(
                !line.trimmingCharacters(in: .whitespaces).contains(" "),
                "\(command): a line wider than 60 columns: '\(line)'")
        }
        // Examples fit in 80 columns, so that they can be copied from a usual terminal.
        for line in wide.split(separator: "\n") where line.hasPrefix("  contactor ") {
            #expect(line.count <= 80, "\(command): an example wider than 80: '\(line)'")
        }
    }

    @Test(
        "Options that mean nothing on a command are neither shown nor accepted there",
        arguments: [
            // A worker's runs carry their list, endpoint and options; it prints no outcome.
            (
                ["worker"],
                ["--list", "--dry-run", "--region", "--output", "--endpoint", "--option"]
            ),
            // Results only read the store.
            (["results", "1"], ["--plugins", "--region", "--config", "--profile", "--provider"]),
            // A listing has nothing to dry-run.
            (["list"], ["--dry-run"]),
            (["providers"], ["--region"]),
            (["plugins", "check"], ["--region", "--output", "--profile"]),
        ])
    func meaninglessOptionsAreGone(_ command: [String], _ options: [String]) async throws {
        let help = try await Self.help(command.filter { $0 != "1" }, columns: 200)
        for option in options {
            #expect(
                !help.contains(" \(option) ") && !help.contains(" \(option)\n"),
                "\(command) --help shows \(option)")
            let value = ["--dry-run"].contains(option) ? [] : ["x"]
            let result = try await CLI.run(command + [option] + value)
            #expect(result.status == 2, "\(command) \(option): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("Unknown option"), "\(result.stderr)")
        }
    }
}
