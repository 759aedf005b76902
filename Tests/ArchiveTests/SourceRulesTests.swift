import Foundation
import XCTest

/// Rules of the sources a daemon trusted with compliance data keeps: nothing in `Sources/` traps
/// (`try!`, `fatalError`, `precondition`, a force-unwrapped C or buffer pointer), and no module
/// but the command line's switches over concrete error types.
final class SourceRulesTests: XCTestCase {
    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
    }

    func swiftFiles() throws -> [(String, String)] {
        let root = Self.sources.path
        return try FileManager.default.subpathsOfDirectory(atPath: root).filter { $0.hasSuffix(".swift") }.sorted().map {
            ($0, try String(contentsOfFile: root + "/" + $0, encoding: .utf8))
        }
    }

    func testNoTrapsInSources() throws {
        let files = try swiftFiles()
        XCTAssertGreaterThan(files.count, 50)
        // `deletingLastPathComponent` traps in Foundation on Linux for some one-character paths
        // (`replay --output 0`); `FileIO.parentFolder(of:)` is used instead.
        let traps = ["try!", "fatalError(", "precondition(", "preconditionFailure(", "assertionFailure(", "baseAddress!", "unsafelyUnwrapped",
                     "deletingLastPathComponent", "FileHandle(forWritingAtPath", ".write(Data("]
        var found: [String] = []
        for (name, text) in files {
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.components(separatedBy: "//").first ?? ""
                for t in traps where code.contains(t) { found.append("\(name):\(n + 1): \(t)") }
                // A C call's optional result force-unwrapped: `rd_kafka_…(…)!`, `PQ…(…)!`.
                if code.range(of: #"\b(rd_kafka_|PQ|ZSTD_)\w*\([^)]*\)!"#, options: .regularExpression) != nil { found.append("\(name):\(n + 1): C result!") }
            }
        }
        XCTAssertEqual(found, [], "traps in a daemon: \(found.joined(separator: "; "))")
    }

    func testTheCommandLinePrintsErrorsWithoutKnowingTheirTypes() throws {
        let failure = try String(contentsOf: Self.sources.appendingPathComponent("logbook/Failure.swift"), encoding: .utf8)
        for type in ["CaptureError", "ArchiveError", "ReplayError", "PostgresError", "KafkaError", "S3Error", "SettingsError"] {
            XCTAssertFalse(failure.contains("as \(type)"), "Failure.swift names \(type): every error conforms to LogbookError")
        }
        // Every public error type of the modules conforms to the one protocol.
        for (name, text) in try swiftFiles() where !name.hasPrefix("logbook/") {
            for m in text.matches(of: /public struct (\w+Error)\b/) {
                let type = String(m.1)
                let all = try swiftFiles().map(\.1).joined()
                XCTAssertTrue(all.contains("\(type): LogbookError"), "\(name): \(type) does not conform to LogbookError")
            }
        }
    }
}
