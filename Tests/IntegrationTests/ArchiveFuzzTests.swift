import Archive
import Foundation
import XCTest

/// Random damage to a real archive — byte flips, truncations, deletions, duplications and swaps of
/// its files — and for every iteration: `replay` either fails with one line, or writes exactly what
/// the undamaged archive gives. `LOGBOOK_FUZZ_ITERATIONS` (default 200; `make fuzz` runs more) and
/// `LOGBOOK_FUZZ_SEED` (printed on a failure) reproduce a run.
final class ArchiveFuzzTests: XCTestCase {
    /// A small generator with a seed of its own (SplitMix64), so that a failing iteration can be re-run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testDamagedArchivesNeverReplayWrongRows() throws {
        let env = ProcessInfo.processInfo.environment
        let iterations = Int(env["LOGBOOK_FUZZ_ITERATIONS"] ?? "") ?? 200
        let seed = UInt64(env["LOGBOOK_FUZZ_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max / 2)
        let server = try XCTUnwrap(TestServers.all.first, "no test server")
        let box = try Sandbox(server: server, test: "fuzz")
        defer { box.cleanUp() }
        // Sealed segments of inserts, updates and deletes, then an archiver killed mid-stream: an open segment.
        try box.archiveSegments(3, rows: 100)
        try box.sql("UPDATE t SET v = v || ' edited' WHERE id % 3 = 0; DELETE FROM t WHERE id % 7 = 0")
        _ = try box.captureToNow(["public.t"])
        let running = try LogbookBinary.start(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t",
                                               "--slot", box.slot, "--publication", box.slot, "--flush-interval", "0.1"])
        try box.waitUntilStreaming()
        try box.sql("INSERT INTO t SELECT g, 'late ' || g FROM generate_series(1001, 1100) g")
        try box.sql("UPDATE t SET v = 'late edit' WHERE id BETWEEN 1 AND 40")
        try box.waitUntilConfirmed(try box.currentLSN())
        kill(running.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()

        let work = NSTemporaryDirectory() + "logbook-fuzz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let pristine = work + "/pristine"
        try FileManager.default.copyItem(atPath: box.archive, toPath: pristine)
        try? FileManager.default.removeItem(atPath: pristine + "/lock")
        // The reference: the latest state, then pinned to the position that replay reported.
        let latest = try LogbookBinary.run(["replay", "--archive", pristine, "--table", "public.t", "--output", work + "/latest.copy"])
        XCTAssertEqual(latest.status, 0, latest.err)
        let position = try XCTUnwrap(latest.out.range(of: #"as of [0-9A-F]+/[0-9A-F]+"#, options: .regularExpression).map { String(latest.out[$0].dropFirst(6)) }, latest.out)
        let replay: @Sendable (String, String) -> [String] = { archive, out in
            ["replay", "--archive", archive, "--table", "public.t", "--output", out, "--at-lsn", position]
        }
        let reference = try LogbookBinary.run(replay(pristine, work + "/reference.copy"))
        XCTAssertEqual(reference.status, 0, reference.err)
        let expected = try Data(contentsOf: URL(fileURLWithPath: work + "/reference.copy"))
        XCTAssertEqual(expected, try Data(contentsOf: URL(fileURLWithPath: work + "/latest.copy")))
        XCTAssertEqual(String(decoding: expected, as: UTF8.self), try box.dump("t"), "the reference is the live table")

        let files = try FileManager.default.subpathsOfDirectory(atPath: pristine).filter {
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: pristine + "/" + $0, isDirectory: &dir) && !dir.boolValue
        }.sorted()
        XCTAssertTrue(files.contains { $0.hasSuffix(".partial") } && files.contains { $0.hasSuffix(".base") }, "\(files)")

        // Iterations in two lanes, each with a generator seeded from the run's seed.
        let failures = FailureList()
        let outcomes = FailureList()
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            var rng = Seeded(state: seed &+ UInt64(lane))
            for i in stride(from: lane, to: iterations, by: 2) {
                let copy = work + "/it\(i)"
                do {
                    try FileManager.default.copyItem(atPath: pristine, toPath: copy)
                    defer { try? FileManager.default.removeItem(atPath: copy) }
                    var done: [String] = []
                    for _ in 0..<Int.random(in: 1...2, using: &rng) {
                        done.append(try Self.damage(copy, files: files, rng: &rng))
                    }
                    let out = copy + ".copy"
                    defer { try? FileManager.default.removeItem(atPath: out) }
                    let r = try LogbookBinary.run(replay(copy, out), timeout: 120)
                    let what = "seed \(seed) lane \(lane) iteration \(i): \(done.joined(separator: "; "))"
                    if r.timedOut || r.signalled { failures.add("\(what): \(r.timedOut ? "hung" : "killed by a signal") \(r.err.suffix(300))"); continue }
                    if r.status == 0 {
                        let got = (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()
                        if got != expected { failures.add("\(what): exit 0 with other rows (\(got.count) bytes, expected \(expected.count)): \(r.out)") }
                        outcomes.add("same")
                        if let log = env["LOGBOOK_FUZZ_LOG"] { failures.log(log, "\(done.joined(separator: "; ")) => same") }
                    } else {
                        let lines = r.err.split(separator: "\n").filter { $0.hasPrefix("logbook: error:") }
                        if lines.count != 1 { failures.add("\(what): exit \(r.status) without one error line: \(r.err.suffix(400))") }
                        outcomes.add("refused")
                        if let log = env["LOGBOOK_FUZZ_LOG"] { failures.log(log, "\(done.joined(separator: "; ")) => \(lines.first ?? "")") }
                    }
                } catch {
                    failures.add("seed \(seed) iteration \(i): \(error)")
                }
            }
        }
        for f in failures.all.prefix(20) { XCTFail(f) }
        let refused = outcomes.all.filter { $0 == "refused" }.count
        XCTAssertEqual(outcomes.all.count, iterations)
        // Most damage must be noticed; a few kinds (a flip in a JSON value nothing reads) are harmless.
        XCTAssertGreaterThan(refused, iterations / 2, "seed \(seed): only \(refused) of \(iterations) damaged archives refused")
        print("fuzz: seed \(seed), \(iterations) iterations, \(refused) refused, \(iterations - refused) equal to the undamaged archive")
    }

    /// One random kind of damage to one random file of the archive; says what it did.
    static func damage(_ archive: String, files: [String], rng: inout Seeded) throws -> String {
        let present = files.filter { FileManager.default.fileExists(atPath: archive + "/" + $0) }
        guard let name = present.randomElement(using: &rng) else { return "nothing left" }
        let path = archive + "/" + name
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<4 where !bytes.isEmpty:
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            bytes[at] ^= UInt8.random(in: 1...255, using: &rng)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return "flipped byte \(at) of \(name)"
        case 4..<6:
            let n = Int.random(in: 0..<max(bytes.count, 1), using: &rng)
            try Data(bytes.prefix(n)).write(to: URL(fileURLWithPath: path))
            return "truncated \(name) to \(n) of \(bytes.count) bytes"
        case 6..<8:
            try FileManager.default.removeItem(atPath: path)
            return "deleted \(name)"
        case 8:
            // A copy under another name in the same folder, sorting before or after the others.
            let folder = (name as NSString).deletingLastPathComponent
            let ext = name.hasSuffix(".partial") ? "seg.partial" : (name as NSString).pathExtension
            let other = (folder.isEmpty ? "" : folder + "/") + (Bool.random(using: &rng) ? "0000000000000001" : "FFFFFFFFFFFFFFFF") + "-dup." + ext
            try Data(bytes).write(to: URL(fileURLWithPath: archive + "/" + other))
            return "duplicated \(name) as \(other)"
        default:
            guard let second = present.filter({ $0 != name }).randomElement(using: &rng) else { return "no second file" }
            let secondPath = archive + "/" + second
            let other = try Data(contentsOf: URL(fileURLWithPath: secondPath))
            try other.write(to: URL(fileURLWithPath: path))
            try Data(bytes).write(to: URL(fileURLWithPath: secondPath))
            return "swapped \(name) and \(second)"
        }
    }
}
