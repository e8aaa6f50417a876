import Foundation

/// What the binaries under test should say they were built from, read from the source
/// tree itself: the VERSION file and git's HEAD (make writes both into every build).
public enum SourceTree {
    /// The repository's top directory, from this file's place in it.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    public static var version: String {
        get throws {
            try String(contentsOfFile: root + "/VERSION", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// HEAD's 12-digit abbreviation, as make writes it.
    public static var commit: String {
        get throws {
            let output = try runProcess("/usr/bin/git", ["-C", root, "rev-parse", "--short=12", "HEAD"])
            guard output.status == 0 else { throw MissingTool("git rev-parse failed: \(output.stderr)") }
            return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
