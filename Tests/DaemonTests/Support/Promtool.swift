import Foundation
import TestSupport

/// promtool, from Debian's prometheus package (`make deps` installs it without starting the
/// server): the reference checker of the text format, of rule files and of alert behaviour.
enum Promtool {
    static var path: String {
        get throws {
            let path = "/usr/bin/promtool"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw MissingTool("promtool is not installed (Debian package prometheus; make test installs it)")
            }
            return path
        }
    }

    static func run(_ arguments: [String]) throws -> ProcessOutput {
        try runProcess(try path, arguments)
    }

    /// promtool with `input` on its standard input.
    static func run(_ arguments: [String], input: String) throws -> ProcessOutput {
        try runProcess(try path, arguments, input: input)
    }
}

/// promtool did not accept its input; says what it found.
struct PromtoolFailure: Error, CustomStringConvertible {
    let description: String
}

/// Throws, with promtool's findings, unless `promtool check metrics` accepts `text` as a
/// scrape: it must parse as the Prometheus text format and pass promtool's lint (HELP on
/// every metric, counters named `_total`, base units, ...).
func promtoolCheckMetrics(_ text: String) throws {
    let output = try Promtool.run(["check", "metrics"], input: text)
    guard output.status == 0 else {
        throw PromtoolFailure(description: "promtool check metrics failed (\(output.status)):\n\(output.stdout)\(output.stderr)")
    }
}
