import Foundation
import Testing

@Suite struct LibraryDocTests {
    /// The repository's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: ["Examples/Embedding/main.swift", "Examples/Service/main.swift"])
    func theLibraryGuideShowsExactlyTheCompiledExamplePrograms(_ path: String) throws {
        let guide = try String(
            contentsOf: Self.root.appendingPathComponent("docs/library.md"), encoding: .utf8)
        let program = try String(
            contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
        let blocks = guide.components(separatedBy: "```swift\n").dropFirst().map {
            $0.components(separatedBy: "```\n").first ?? ""
        }
        #expect(
            blocks.contains(program),
            "docs/library.md must contain \(path) verbatim")
    }
}
