@testable import Balancer
import Foundation
import TestSupport
import XCTest

/// The state file: atomic replacement, refusal of damaged files, crash leftovers.
final class StateStoreTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + uniqueName("lbd-state-")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private var store: StateStore { StateStore(directory: directory + "/nested") }

    private func fileBytes() throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: store.path))
    }

    private func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/nested").sorted()
    }

    func testMissingFileIsAFirstStart() throws {
        XCTAssertNil(try store.load(limits: testLimits))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "loading creates nothing")
    }

    func testSaveThenLoad() throws {
        let state = try sampleState()
        try store.save(state)
        XCTAssertEqual(try store.load(limits: testLimits), state)
        XCTAssertEqual(try fileBytes(), state.jsonData())
        XCTAssertEqual(try files(), ["state.json"], "no temporary file left behind")
        let next = try state.applying(.removeVIP(vip("10.0.0.10:80/tcp")), limits: testLimits)
        try store.save(next)
        XCTAssertEqual(try store.load(limits: testLimits), next)
        XCTAssertEqual(try files(), ["state.json", "state.json.prev"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.previousPath)), state.jsonData(),
                       "the state the save replaced")
    }

    /// A damaged state.json: the error says how to go back, and `recoverPrevious` does,
    /// keeping the damaged file aside.
    func testADamagedStateRecoversThePreviousOne() throws {
        let state = try sampleState()
        try store.save(state)
        try store.save(try state.applying(.removeVIP(vip("10.0.0.10:80/tcp")), limits: testLimits))
        let damaged = Data("{\"version\": 1, \"serv".utf8)
        try damaged.write(to: URL(fileURLWithPath: store.path))
        XCTAssertThrowsError(try store.load(limits: testLimits)) {
            XCTAssertTrue("\($0)".hasSuffix("; start lbd once with --recover-state to go back to state.json.prev "
                + "(the state before the last change), fix it, or remove it to start from the configured services"), "\($0)")
        }
        XCTAssertEqual(try store.recoverPrevious(limits: testLimits), state)
        XCTAssertEqual(try store.load(limits: testLimits), state)
        XCTAssertEqual(try files(), ["state.json", "state.json.corrupt", "state.json.prev"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory + "/nested/state.json.corrupt")), damaged)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.previousPath)), state.jsonData())
    }

    func testRecoveryWithoutAPreviousStateChangesNothing() throws {
        try store.save(try sampleState())
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: store.path))
        XCTAssertThrowsError(try store.recoverPrevious(limits: testLimits)) {
            XCTAssertEqual("\($0)", "\(store.previousPath): recover from failed: there is no previous state")
        }
        XCTAssertEqual(try fileBytes(), Data("garbage".utf8))
        XCTAssertEqual(try files(), ["state.json"])
    }

    /// The daemon saves only accepted edits: after a refused one the file is byte for
    /// byte what it was.
    func testRefusedEditLeavesTheFileUntouched() throws {
        let state = try sampleState()
        try store.save(state)
        let before = try fileBytes()
        for (edit, limits, _) in EditTests.invalidEdits {
            let loaded = try XCTUnwrap(try store.load(limits: testLimits))
            do {
                try store.save(try loaded.applying(edit, limits: limits))
                XCTFail("\(edit) was accepted")
            } catch is EditError {
                XCTAssertEqual(try fileBytes(), before, "\(edit)")
            }
        }
    }

    /// A crash between writing the temporary file and the rename leaves the temporary
    /// file: the next load ignores its content, removes it, and keeps the state file.
    func testLeftoverTemporaryFileIsIgnoredAndRemoved() throws {
        let state = try sampleState()
        try store.save(state)
        let leftover = directory + "/nested/" + StateStore.temporaryPrefix + "4242.17"
        try Data("{\"version\": 1, \"services\": [".utf8).write(to: URL(fileURLWithPath: leftover))
        XCTAssertEqual(try files().count, 2)
        XCTAssertEqual(try store.load(limits: testLimits), state)
        XCTAssertEqual(try files(), ["state.json"])
    }

    /// A crash before the first rename: only a temporary file, so still a first start.
    func testLeftoverWithoutStateFileIsAFirstStart() throws {
        try FileManager.default.createDirectory(atPath: directory + "/nested", withIntermediateDirectories: true)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: directory + "/nested/" + StateStore.temporaryPrefix + "1.2"))
        XCTAssertNil(try store.load(limits: testLimits))
        XCTAssertEqual(try files(), [])
    }

    func testDamagedFilesAreErrorsNeverAnEmptyState() throws {
        let state = try sampleState()
        let full = state.jsonData()
        let path = store.path
        let advice = "; start lbd once with --recover-state to go back to state.json.prev (the state before the last change), "
            + "fix it, or remove it to start from the configured services"
        // (content, the message, or its start where it quotes the JSON parser)
        let cases: [(Data, String)] = [
            (Data(), "\(path): malformed state: the file is empty (truncated?)\(advice)"),
            (full.prefix(full.count / 2), "\(path): malformed state: "),
            (Data("not json".utf8), "\(path): malformed state: "),
            (Data(#"{"version": 9, "services": []}"#.utf8),
             "\(path): state format version 9 is not supported (this lbd reads version 1)\(advice)"),
        ]
        for (content, message) in cases {
            try store.save(state)
            try content.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try store.load(limits: testLimits)) { error in
                guard case .corrupt = error as? StateStoreError else { return XCTFail("\(error)") }
                XCTAssertTrue("\(error)".hasPrefix(message), "\(error)")
                XCTAssertTrue("\(error)".hasSuffix(advice), "\(error)")
            }
            XCTAssertEqual(try fileBytes(), content, "a damaged file is left for the operator")
        }
    }

    /// Limits lowered since the state was saved: the state is refused with the reasons.
    func testStateOutsideTheLimitsIsRefused() throws {
        try store.save(try sampleState())
        XCTAssertThrowsError(try store.load(limits: Limits(maxVIPs: 2, ringSize: 1009))) {
            XCTAssertEqual("\($0)", "\(store.path): state does not validate: 3 VIPs exceed limits.max_vips 2; "
                + "start lbd once with --recover-state to go back to state.json.prev (the state before the last change), "
                + "fix it, or remove it to start from the configured services")
        }
    }

    func testUnwritableDirectoryIsAnIOError() throws {
        try Data().write(to: URL(fileURLWithPath: directory))
        XCTAssertThrowsError(try StateStore(directory: directory + "/sub").save(DesiredState())) {
            guard case .io(let operation, _, _) = $0 as? StateStoreError else { return XCTFail("\($0)") }
            XCTAssertEqual(operation, "create directory")
        }
    }
}
