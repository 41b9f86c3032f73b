import ContactorTesting
import Foundation
import Testing

/// What a person sees on a terminal: the binary runs under a pseudo-terminal (`script`
/// from util-linux), and its bytes are played back on a model of the screen.
@Suite struct TerminalTests {
    /// The screen's lines once `output` is played on it: `\r` goes back to the line's start,
    /// `ESC [2K` clears the line, `\n` starts a new one; any other escape sequence is
    /// dropped.
    static func screen(_ output: String) -> [String] {
        var lines: [[Character]] = [[]]
        var column = 0
        var characters = Array(output)
        characters.removeAll { $0 == "\u{04}" || $0 == "\u{08}" }
        var index = 0
        while index < characters.count {
            let character = characters[index]
            index += 1
            switch character {
            case "\r\n", "\n":
                lines.append([])
                column = 0
            case "\r":
                column = 0
            case "\u{1B}":
                // CSI: ESC [ parameters final-byte.
                guard index < characters.count, characters[index] == "[" else { continue }
                var sequence = ""
                index += 1
                while index < characters.count, !characters[index].isLetter {
                    sequence.append(characters[index])
                    index += 1
                }
                let final = index < characters.count ? characters[index] : " "
                index += 1
                if final == "K", sequence == "2" { lines[lines.count - 1] = [] }
            default:
                if column < lines[lines.count - 1].count {
                    lines[lines.count - 1][column] = character
                } else {
                    lines[lines.count - 1].append(character)
                }
                column += 1
            }
        }
        return lines.map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// Runs the binary with `arguments` on a pseudo-terminal; returns what the screen shows.
    static func onTerminal(
        _ arguments: [String], environment: [String: String] = [:], in directory: URL
    ) async throws -> (status: Int32, output: String) {
        let binary = try CommandLineProcess.contactor().executable.path
        let command = ([binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let process = CommandLineProcess(
            executable: URL(fileURLWithPath: "/usr/bin/script"),
            environment: [
                "TERM": "xterm", "COLUMNS": "120", "CONTACTOR_BUNDLED_PLUGINS": "/nonexistent",
            ].merging(environment) { _, new in new },
            removedEnvironment: ["NO_COLOR"], workingDirectory: directory)
        let result = try await process.run(["-q", "-e", "-c", command, "/dev/null"])
        return (result.status, result.stdout)
    }

    /// A CSV of 3,000 rows in a new directory, line 2,502 holding no phone number.
    static func bigFile() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contactor-tty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var rows = ["phone,first_name"]
        for index in 0..<3000 {
            rows.append(
                index == 2500
                    ? "not a phone,Bad" : "+3361\(String(format: "%07d", 2_000_000 + index)),Ada")
        }
        let file = directory.appendingPathComponent("big.csv")
        try (rows.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test(
        "NO_COLOR draws the bar with no escape sequence; TERM=dumb draws none",
        arguments: [("NO_COLOR", "1"), ("TERM", "dumb")])
    func plainTerminals(_ variable: String, _ value: String) async throws {
        let file = try Self.bigFile()
        let directory = file.deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try await Self.onTerminal(
            ["validate", file.path, "--region", "FR"], environment: [variable: value],
            in: directory)
        #expect(status == 1, "\(output.suffix(300))")
        #expect(!output.contains("\u{1B}"), "an escape sequence with \(variable)=\(value)")
        #expect(output.contains(" done  ") == (variable == "NO_COLOR"), "\(output.suffix(300))")
        #expect(
            Self.screen(output).contains {
                $0.hasPrefix("contactor: validate: 3000 contacts: 2999 valid, 1 rejected")
            }, "\(output.suffix(300))")
    }

    @Test func aBigImportOnATerminalShowsItsProblemsAndABarOnItsOwnLine() async throws {
        let file = try Self.bigFile()
        let directory = file.deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try await Self.onTerminal(
            ["import", file.path, "--provider", "octopush", "--list", "demo", "--sandbox"],
            in: directory)
        #expect(status == 1, "\(output)")
        let screen = Self.screen(output)
        let rowLines = screen.filter { $0.first?.isNumber == true }
        // Every row of the first 100, then only the problems.
        #expect(
            rowLines.prefix(100).map { $0.split(separator: " ").first }
                == (2..<102).map { Substring("\($0)") })
        #expect(rowLines.count == 101, "\(rowLines.suffix(3))")
        #expect(
            rowLines.last?.hasPrefix("2502") == true && rowLines.last?.contains("rejected") == true)
        #expect(
            screen.contains { $0.contains("only rejected and failed ones are shown") },
            "\(screen)")
        // The bar was drawn, and never shares a line with a row or a message: it is taken
        // off first.
        #expect(output.contains(" done "), "no progress bar in: \(output.suffix(500))")
        for line in screen where line.contains(" done  ") {
            #expect(
                line.hasPrefix("[") && line.hasSuffix("s") && !line.contains("contactor:"),
                "the bar shares a line: \(line)")
        }
        for line in screen where line.contains("contactor:") {
            #expect(line.hasPrefix("contactor:"), "a message glued to something: \(line)")
        }
        // The summary has its own line at the end.
        #expect(
            screen.contains { $0.hasPrefix("contactor: import: 3000 contacts") },
            "\(screen.suffix(5))")
    }
}
