import Archive
import Foundation
import XCTest

/// `--encryption-key-file`: every frame sealed with AES-256-GCM; replay, verify, status and inspect
/// need the key and say so; a wrong key is named before anything is decrypted.
final class EncryptionTests: XCTestCase {
    func keyFile(_ name: String, mode: Int = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "logbook-\(name)-\(UUID().uuidString).key"
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: mode])
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testEncryptedArchiveRoundTripAndWrongOrMissingKey() throws {
        let key = try keyFile("right"), wrong = try keyFile("wrong")
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'driver log ' || g FROM generate_series(1, 500) g")
            // The streamed (spooled) path too: a transaction larger than logical_decoding_work_mem.
            let source = box.conninfo + " options='-c logical_decoding_work_mem=64kB'"
            let run = ["run", "--source", source, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot,
                       "--publication", box.slot, "--flush-interval", "0.2", "--encryption-key-file", key]
            XCTAssertEqual(try LogbookBinary.run(run + ["--endpos", try box.currentLSN().description]).status, 0)
            try box.sql("UPDATE t SET v = v || ' corrected' WHERE id % 2 = 0; INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(501, 3000) g")
            try box.sql("DELETE FROM t WHERE id BETWEEN 10 AND 20")
            let r = try LogbookBinary.run(run + ["--endpos", try box.currentLSN().description])
            XCTAssertEqual(r.status, 0, r.err)

            // Every frame of every file is sealed.
            let files = try FileManager.default.subpathsOfDirectory(atPath: box.archive).filter { $0.hasSuffix(".seg") || $0.hasSuffix(".base") }
            XCTAssertGreaterThanOrEqual(files.count, 2)
            for f in files {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: box.archive + "/" + f)))
                let firstFrame = ArchiveFiles.fileMagic.count
                XCTAssertEqual(bytes[firstFrame + 5] & 1, 1, "\(f): the first frame is encrypted")
            }

            // With the key: replay equals the live table; verify passes.
            let target = try box.scratchDatabase("enc")
            let replay = try LogbookBinary.run(["replay", "--archive", box.archive, "--table", "public.t", "--target", target, "--encryption-key-file", key])
            XCTAssertEqual(replay.status, 0, replay.err)
            assertSameRows(try box.dump("t", on: target), try box.dump("t"), "[\(box.server)] encrypted round trip")
            let verify = try LogbookBinary.run(["verify", "--archive", box.archive, "--encryption-key-file", key])
            XCTAssertEqual(verify.status, 0, verify.out + verify.err)

            // Integrity without the key: checksums, content hashes and the chain, from what is stored in the clear.
            let keyless = try LogbookBinary.run(["verify", "--archive", box.archive])
            XCTAssertEqual(keyless.status, 0, keyless.out + keyless.err)
            XCTAssertTrue(keyless.out.contains("integrity without the key") && keyless.out.contains(" 0 problems"), keyless.out)
            XCTAssertFalse(keyless.out.contains(" 0 frames"), keyless.out)
            // ... which still catches a byte changed in a sealed segment, a base copy, or a deleted segment.
            for victim in [files.first { $0.hasSuffix(".seg") }, files.first { $0.hasSuffix(".base") }].compactMap({ $0 }) {
                let copy = box.archive + "-damaged-" + UUID().uuidString
                try FileManager.default.copyItem(atPath: box.archive, toPath: copy)
                defer { try? FileManager.default.removeItem(atPath: copy) }
                let h = try FileHandle(forUpdating: URL(fileURLWithPath: copy + "/" + victim))
                let size = try h.seekToEnd()
                try h.seek(toOffset: size / 2)
                let b = try XCTUnwrap(h.readData(ofLength: 1).first)
                try h.seek(toOffset: size / 2)
                h.write(Data([b ^ 0x20]))
                try h.close()
                let damaged = try LogbookBinary.run(["verify", "--archive", copy])
                XCTAssertEqual(damaged.status, 1, "[\(box.server)] \(victim): \(damaged.out)")
                XCTAssertTrue(damaged.out.contains("PROBLEM") && damaged.out.contains((victim as NSString).lastPathComponent), damaged.out)
            }

            // A footer rewritten with a valid checksum but without the key: its tag gives it away to a reader with the key.
            do {
                let copy = box.archive + "-forged-" + UUID().uuidString
                try FileManager.default.copyItem(atPath: box.archive, toPath: copy)
                defer { try? FileManager.default.removeItem(atPath: copy) }
                let seg = try XCTUnwrap(try ArchiveDirectory(copy).sealedSegments().first)
                let reader = try FrameFileReader(path: seg, key: nil)
                var footerAt: (Int, FrameHeader)?
                try reader.walkHeaders { at, h in if h.kind == .footer { footerAt = (at, h) } }
                let (at, h) = try XCTUnwrap(footerAt)
                XCTAssertTrue(h.isAuthenticated && !h.isEncrypted, "footers are in the clear, with a tag")
                var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: seg)))
                var payload = Array(bytes[(at + FrameHeader.size)..<(at + FrameHeader.size + h.storedLength)])
                payload[payload.count - 1] ^= 0xFF
                let header = FrameHeader.encode(kind: h.kind, payload: payload, rawLength: h.rawLength, firstLSN: h.firstLSN,
                                                lastEndLSN: h.lastEndLSN, lastCommitTime: h.lastCommitTime, flags: h.flags)
                bytes.replaceSubrange(at..<(at + FrameHeader.size + h.storedLength), with: header + payload)
                try Data(bytes).write(to: URL(fileURLWithPath: seg))
                let keyed = try LogbookBinary.run(["verify", "--archive", copy, "--encryption-key-file", key])
                XCTAssertEqual(keyed.status, 1, keyed.out)
                XCTAssertTrue(keyed.out.contains("tag does not match"), keyed.out)
                let replayForged = try LogbookBinary.run(["replay", "--archive", copy, "--table", "public.t", "--output", "/dev/null", "--encryption-key-file", key])
                XCTAssertEqual(replayForged.status, 1, replayForged.err)
            }

            // Without it, or with another: one line that names the fix, for every reading command.
            for args in [["replay", "--archive", box.archive, "--table", "public.t", "--output", "/dev/null"],
                         ["verify", "--archive", box.archive, "--against", box.conninfo], ["status", "--archive", box.archive]] {
                let missing = try LogbookBinary.run(args)
                XCTAssertEqual(missing.status, 1)
                XCTAssertTrue(missing.err.contains("is encrypted") && missing.err.contains("--encryption-key-file"), missing.out + missing.err)
                let bad = try LogbookBinary.run(args + ["--encryption-key-file", wrong])
                XCTAssertEqual(bad.status, 1)
                XCTAssertTrue(bad.err.contains("wrong encryption key"), bad.err)
                XCTAssertEqual(bad.err.split(separator: "\n").count, 1, bad.err)
            }
            let segment = try XCTUnwrap(files.first { $0.hasSuffix(".seg") })
            let inspect = try LogbookBinary.run(["inspect", box.archive + "/" + segment])
            XCTAssertEqual(inspect.status, 1)
            XCTAssertTrue(inspect.err.contains("encrypted"), inspect.err)
            XCTAssertEqual(try LogbookBinary.run(["inspect", box.archive + "/" + segment, "--encryption-key-file", key]).status, 0)
            // The archiver itself refuses to append with another key or none.
            let mixed = try LogbookBinary.run(Array(run.dropLast(2)) + ["--endpos", try box.currentLSN().description])
            XCTAssertEqual(mixed.status, 1)
            XCTAssertTrue(mixed.err.contains("is encrypted"), mixed.err)
        }
        // A key file others can read is refused.
        let loose = try keyFile("loose", mode: 0o644)
        let r = try LogbookBinary.run(["status", "--archive", "/nonexistent", "--encryption-key-file", loose])
        XCTAssertTrue(r.err.contains("chmod 600"), r.err)
    }
}
