import Foundation
import Testing

@Suite struct LibraryDocTests {
    /// The repository's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func theLibraryGuideShowsExactlyTheCompiledExampleProgram() throws {
        let guide = try String(
            contentsOf: Self.root.appendingPathComponent("docs/library.md"), encoding: .utf8)
        let program = try String(
            contentsOf: Self.root.appendingPathComponent("Examples/Embedding/main.swift"),
            encoding: .utf8)
        let blocks = guide.components(separatedBy: "```swift\n").dropFirst().map {
            $0.components(separatedBy: "```\n").first ?? ""
        }
        #expect(
            blocks.contains(program),
            "docs/library.md must contain Examples/Embedding/main.swift verbatim")
    }
}
