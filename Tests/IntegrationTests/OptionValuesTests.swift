import Foundation
import XCTest

/// Every option of every command, as the parser lists them (`--experimental-dump-help`), fed its
/// worst values: each invocation ends by itself (no hang), without a signal or a Swift runtime
/// trap, and a refusal says why on standard error in one line.
final class OptionValuesTests: XCTestCase {
    /// For options that take a number, size or duration, and for those that take text.
    static let numericWorst = ["0", "-1", "nan", "inf", "1e309", "99999999999999999999", "9999999999TB", "999999999d", "", "x"]
    static let textWorst = ["", "-1", "0"]

    struct Command { var path: [String]; var options: [String]; var numeric: Set<String> }

    /// The leaf commands and their long options with a value, from the parser's own description.
    static func commands() throws -> [Command] {
        let dump = try LogbookBinary.run(["--experimental-dump-help"])
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dump.out.utf8)) as? [String: Any])
        var out: [Command] = []
        func walk(_ c: [String: Any], _ path: [String]) {
            let subs = (c["subcommands"] as? [[String: Any]] ?? []).filter { $0["commandName"] as? String != "help" }
            if !subs.isEmpty { for s in subs { walk(s, path + [s["commandName"] as? String ?? "?"]) }; return }
            var options: [String] = [], numeric: Set<String> = []
            for a in c["arguments"] as? [[String: Any]] ?? [] where a["kind"] as? String == "option" {
                guard let long = (a["names"] as? [[String: Any]])?.first(where: { $0["kind"] as? String == "long" })?["name"] as? String else { continue }
                options.append(long)
                if ["seconds", "MiB", "count", "duration", "size"].contains(a["valueName"] as? String ?? "") { numeric.insert(long) }
            }
            out.append(Command(path: path, options: options, numeric: numeric))
        }
        walk(try XCTUnwrap(root["command"] as? [String: Any]), [])
        return out
    }

    func testEveryOptionsWorstValuesEndCleanly() throws {
        let server = try XCTUnwrap(TestServers.all.first, "no test server")
        let box = try Sandbox(server: server, test: "worst")
        defer { box.cleanUp() }
        try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try box.sql("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 50) g")
        _ = try box.captureToNow(["public.t"])
        let work = NSTemporaryDirectory() + "logbook-worst-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let segment = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: box.archive + "/segments").sorted().first.map { box.archive + "/segments/" + $0 })
        let config = work + "/logbook.toml"
        try "[status]\narchive = \"\(box.archive)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let endpos = try box.currentLSN().description
        // Valid arguments for each command; the option under test replaces its own.
        let base: [String: [String]] = [
            "run": ["--source", box.conninfo, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot,
                    "--publication", box.slot, "--endpos", endpos, "--flush-interval", "0.2"],
            "replay": ["--archive", box.archive, "--table", "public.t", "--output", work + "/t.copy"],
            "mark": ["m", "--source", box.conninfo, "--wait", "1"],
            "schema": ["--archive", box.archive, "--table", "public.t"],
            "inspect": [segment],
            "status": ["--archive", box.archive],
            "verify": ["--archive", box.archive, "--wait", "1"],
            "compact": ["--archive", box.archive],
            "publish": ["--archive", box.archive, "--kafka-brokers", "127.0.0.1:9", "--kafka-config", "message.timeout.ms=2000"],
            "prune": ["--archive", box.archive, "--keep", "180d", "--dry-run"],
            "recompress": ["--archive", box.archive, "--dry-run"],
            "upload": ["--archive", box.archive, "--s3-url", "s3://bucket/p", "--s3-endpoint", "http://127.0.0.1:9", "--attempts", "1"],
            "audit": ["--archive", box.archive, "--manifest", work + "/none.json", "--public-key", work + "/none.pub"],
            "keygen": ["--encryption-key", work + "/k"],
            "history": ["--archive", box.archive, "--table", "public.t", "--key", "id=7"],
            "diff": ["--archive", box.archive, "--table", "public.t", "--from", endpos],
            "config check": [config],
        ]
        // Serves until a signal, by design (a development tool): only its counts are tried.
        let serving: [String: Set<String>] = ["kafka-mock": ["brokers", "partitions"]]
        var jobs: [(name: String, args: [String])] = []
        for command in try Self.commands() {
            let name = command.path.joined(separator: " ")
            let args: [String]
            if let only = serving[name] {
                for o in command.options where only.contains(o) {
                    for v in Self.numericWorst { jobs.append((name, command.path + ["--" + o, v])) }
                }
                continue
            }
            guard let known = base[name] else { XCTFail("no valid arguments for `logbook \(name)`: add them to this test"); continue }
            args = known
            for option in command.options {
                for value in command.numeric.contains(option) ? Self.numericWorst : Self.textWorst {
                    var a = args
                    if let i = a.firstIndex(of: "--" + option) { a.removeSubrange(i...(i + 1)) }
                    jobs.append((name, command.path + a + ["--" + option, value]))
                }
            }
        }
        // Commands in parallel, each command's invocations one after another (they share its archive or slot).
        let lanes = Dictionary(grouping: jobs, by: \.name).values.map { $0 }
        let conninfo = box.conninfo
        let failures = FailureList()
        DispatchQueue.concurrentPerform(iterations: lanes.count) { lane in
            for job in lanes[lane] {
                let what = "logbook " + job.args.map { $0.isEmpty ? "''" : $0 }.joined(separator: " ").replacingOccurrences(of: conninfo, with: "…")
                do {
                    let r = try LogbookBinary.run(job.args, timeout: 90, directory: work)
                    if r.timedOut { failures.add("\(what): still running after 90 s") }
                    if r.signalled { failures.add("\(what): killed by a signal: \(r.err.suffix(300))") }
                    if r.err.contains("Fatal error") || r.err.contains("runtime failure") { failures.add("\(what): \(r.err.suffix(300))") }
                    if r.status != 0 {
                        // A refusal is one line; a report (status thresholds, verify) says what it found.
                        let errors = r.err.split(separator: "\n").filter { $0.hasPrefix("logbook: error:") }.count
                        let report = (r.out + r.err).split(separator: "\n").contains { $0.hasPrefix("BREACH") || $0.hasPrefix("PROBLEM") || $0.hasPrefix("FAIL") }
                        if !(errors == 1 || (errors == 0 && report)) { failures.add("\(what): exit \(r.status) with \(r.err.suffix(400))") }
                    }
                    if job.name == "keygen" { for f in ["k", "k.pub"] { try? FileManager.default.removeItem(atPath: work + "/" + f) } }
                } catch {
                    failures.add("\(what): \(error)")
                }
            }
        }
        for f in failures.all { XCTFail(f) }
        let runs = jobs.count
        XCTAssertGreaterThan(runs, 300, "every option of every command was tried")
    }
}

final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
    /// Appends a line to a file (a log of outcomes for a long run).
    func log(_ file: String, _ line: String) {
        lock.withLock {
            if let h = FileHandle(forWritingAtPath: file) { h.seekToEndOfFile(); h.write(Data((line + "\n").utf8)); h.closeFile() }
            else { FileManager.default.createFile(atPath: file, contents: Data((line + "\n").utf8)) }
        }
    }
}
