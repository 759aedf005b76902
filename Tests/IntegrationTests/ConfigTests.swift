import Foundation
import XCTest

/// `--config FILE`, `LOGBOOK_*` and `logbook config check`, through the real binary.
final class ConfigTests: XCTestCase {
    func write(_ text: String, mode: Int = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "logbook-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testConfigCheckOnGoodAndBadFiles() throws {
        let good = try write("""
        source = "host=db.internal user=logbook password=hunter2-secret dbname=eld"
        archive = "/var/lib/logbook"
        [run]
        tables = ["public.eld_events", "public.audit_log"]
        segment_mib = 32
        metrics-address = "127.0.0.1:9187"
        [status]
        max-age = "5m"
        """, mode: 0o644)
        let ok = try LogbookBinary.run(["config", "check", good], env: ["LOGBOOK_SEGMENT_MIB": "16"])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertTrue(ok.out.contains("tables = public.eld_events,public.audit_log   (file)"), ok.out)
        XCTAssertTrue(ok.out.contains("segment-mib = 16   (environment LOGBOOK_SEGMENT_MIB)"), ok.out)
        XCTAssertTrue(ok.out.contains("password=****"), ok.out)
        XCTAssertFalse(ok.out.contains("hunter2") || ok.err.contains("hunter2"), "the password is masked")
        XCTAssertTrue(ok.out.contains("chmod 600"), "a readable file holding a password is flagged")

        let cases: [(String, String)] = [
            ("[run]\nsegment-mb = 4\n", "has no option 'segment-mb'"),
            ("[rnu]\narchive = '/x'\n", "unknown section [rnu]"),
            ("[run]\nsegment-mib = 'lots'\n", "The value 'lots' is invalid for '--segment-mib"),
            ("[run]\nverbose = 'yes'\n", "is a flag"),
            ("[run\n", ":1:"),
        ]
        for (text, expected) in cases {
            let bad = try LogbookBinary.run(["config", "check", try write(text)])
            XCTAssertEqual(bad.status, 1, text)
            XCTAssertTrue(bad.err.contains(expected), "\(text): \(bad.err)")
            XCTAssertEqual(bad.err.split(separator: "\n").count, 1, "one line: \(bad.err)")
        }
    }

    /// The example shipped in deploy/ (and shown in docs/operations.md) is valid.
    func testTheShippedExampleIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let example = root.appendingPathComponent("deploy/logbook.toml.example").path
        let r = try LogbookBinary.run(["config", "check", example])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("s3-url = s3://eld-backups/logbook   (file)"), r.out)
        let docs = try String(contentsOfFile: root.appendingPathComponent("docs/operations.md").path, encoding: .utf8)
        let shipped = try String(contentsOfFile: example, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
        XCTAssertTrue(docs.contains(shipped), "docs/operations.md shows the shipped example")
    }

    func testCommandsTakeOptionsFromTheFileUnderEnvironmentAndFlags() throws {
        let archive = NSTemporaryDirectory() + "logbook-config-\(UUID().uuidString)"
        let file = try write("archive = \"\(archive)-file\"\n")
        // No archive exists at any of the three paths: the error names the one that won.
        let fromFile = try LogbookBinary.run(["status", "--config", file])
        XCTAssertTrue(fromFile.err.contains("\(archive)-file"), fromFile.err)
        let fromEnv = try LogbookBinary.run(["status", "--config", file], env: ["LOGBOOK_ARCHIVE": "\(archive)-env"])
        XCTAssertTrue(fromEnv.err.contains("\(archive)-env"), fromEnv.err)
        let fromFlag = try LogbookBinary.run(["status", "--archive", "\(archive)-flag"],
                                             env: ["LOGBOOK_ARCHIVE": "\(archive)-env", "LOGBOOK_CONFIG": file])
        XCTAssertTrue(fromFlag.err.contains("\(archive)-flag"), fromFlag.err)
    }
}
