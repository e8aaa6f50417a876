import Foundation
import TestSupport
import XCTest

/// The `make bench-…` commands of docs/benchmarks.md run as written: every swift command
/// their recipes run takes the options it is given. SwiftPM checks options before it looks
/// for a package, so each command is run where there is none: nothing is built.
final class MakeTargetTests: XCTestCase {
    private let root = SourceTree.root

    func testEverySwiftCommandOfTheDocumentedBenchTargetsTakesItsOptions() throws {
        let benchmarks = try String(contentsOfFile: root + "/docs/benchmarks.md", encoding: .utf8)
        let targets = Set(benchmarks.matches(of: /make (bench-[a-z0-9-]+)/).map { String($0.output.1) })
        XCTAssertTrue(targets.isSuperset(of: ["bench-maglev", "bench-datapath", "bench-control", "bench-health",
                                              "bench-metrics", "bench-e2e"]), "\(targets)")
        let empty = try temporaryDirectory(self)
        for target in targets.sorted() {
            let recipe = try runProcess("/usr/bin/make", ["-n", "-C", root, target])
            XCTAssertEqual(recipe.status, 0, "make -n \(target): \(recipe.stderr)")
            let commands = recipe.stdout.matches(of: /(?:^|[\s(])swift (?:build|run|test)[^)\n]*/.anchorsMatchLineEndings())
                .map { $0.output.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines.union(["("])) }
            XCTAssertFalse(commands.isEmpty, "\(target) runs no swift command:\n\(recipe.stdout)")
            for command in commands {
                let words = command.split(separator: " ").map(String.init)
                let output = try runProcess("/usr/bin/env", ["-C", empty] + words)
                // Accepted: the bin path printed, or the package looked for.
                let accepted = output.status == 0 || output.stderr.contains("Could not find Package.swift")
                XCTAssertTrue(accepted, "make \(target): \(command) exited \(output.status)\n\(output.stderr)")
            }
        }
    }
}
