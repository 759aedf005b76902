import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// `logbook run --metrics-address`: Prometheus text scraped during a real run, and /healthz.
final class MonitoringTests: XCTestCase {
    func testMetricsEndpointScrapedDuringARun() throws {
        try forEachServer { box in
            _ = try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE TABLE u (id int PRIMARY KEY)")
            let port = try freePort()
            let running = try LogbookBinary.start(["run", "--source", box.conninfo, "--archive", box.archive,
                                                   "--tables", "public.t,public.u", "--slot", box.slot, "--publication", box.slot,
                                                   "--flush-interval", "0.2", "--metrics-address", "127.0.0.1:\(port)"])
            defer { running.process.terminate(); running.process.waitUntilExit() }
            let base = "http://127.0.0.1:\(port)"
            try waitUntil("/healthz answers 200 once streaming") { (try? httpGet(base + "/healthz"))?.status == 200 }
            XCTAssertTrue(try httpGet(base + "/healthz").body.contains("streaming=true"))
            XCTAssertEqual(try httpGet(base + "/nothing").status, 404)

            _ = try box.sql("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 100) g")
            for i in 1...5 { _ = try box.sql("INSERT INTO t VALUES (\(1000 + i), 'y'); INSERT INTO u VALUES (\(i))") }
            var scrape = Scrape(text: "")
            try waitUntil("the counters show the 110 archived changes") {
                scrape = Scrape(text: try httpGet(base + "/metrics").body)
                return scrape.value("logbook_changes_archived_total", ["table": "public.t"]) == 105
                    && scrape.value("logbook_changes_archived_total", ["table": "public.u"]) == 5
                    && (scrape.value("logbook_fsync_duration_seconds_count") ?? 0) > 0
            }
            XCTAssertEqual(scrape.types["logbook_changes_archived_total"], "counter")
            XCTAssertEqual(scrape.value("logbook_table_transactions_archived_total", ["table": "public.t"]), 6)
            XCTAssertEqual(scrape.value("logbook_table_transactions_archived_total", ["table": "public.u"]), 5)
            XCTAssertEqual(scrape.value("logbook_streaming"), 1)
            XCTAssertEqual(scrape.types["logbook_fsync_duration_seconds"], "histogram")
            XCTAssertEqual(scrape.types["logbook_slot_lag_bytes"], "gauge")
            let lastCommit = scrape.value("logbook_last_archived_commit_timestamp_seconds") ?? 0
            XCTAssertLessThan(abs(Date().timeIntervalSince1970 - lastCommit), 600, "the last commit time is the source's clock, now-ish")
            try waitUntil("the bytes of the 110 changes are counted once fsynced") {
                scrape = Scrape(text: try httpGet(base + "/metrics").body)
                return (scrape.value("logbook_archive_bytes_written_total") ?? 0) > 0
            }
            let bytesBefore = scrape.value("logbook_archive_bytes_written_total") ?? 0

            // The counters move with more traffic.
            _ = try box.sql("UPDATE t SET v = 'z' WHERE id <= 50")
            try waitUntil("the counter moves") {
                let s = Scrape(text: try httpGet(base + "/metrics").body)
                return s.value("logbook_changes_archived_total", ["table": "public.t"]) == 155
                    && (s.value("logbook_archive_bytes_written_total") ?? 0) > bytesBefore
            }
            // Caught up: the lag in bytes comes back to zero on a quiet database.
            try waitUntil("lag returns to 0 when caught up") {
                Scrape(text: try httpGet(base + "/metrics").body).value("logbook_slot_lag_bytes") == 0
            }
            running.process.terminate()
            running.process.waitUntilExit()
            XCTAssertEqual(running.process.terminationStatus, 0)
            XCTAssertNil(try? httpGet(base + "/healthz"), "the endpoint closes with the archiver")
        }
    }
}

extension MonitoringTests {
    /// The alerting rules load, pass their promtool unit test, and use only metrics logbook serves.
    func testABusyMetricsAddressIsNamedInOneLine() throws {
        try forEachServer { box in
            _ = try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            // Another process holds the port.
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let port = try freePort()
            holder.arguments = ["python3", "-c", "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1', \(port))); s.listen(); print('ok', flush=True); time.sleep(60)"]
            let out = Pipe()
            holder.standardOutput = out
            try holder.run()
            defer { holder.terminate(); holder.waitUntilExit() }
            _ = out.fileHandleForReading.availableData
            let r = try LogbookBinary.run(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot,
                                           "--publication", box.slot, "--metrics-address", "127.0.0.1:\(port)"], timeout: 60)
            XCTAssertEqual(r.status, 1, r.err)
            XCTAssertTrue(r.err.contains("--metrics-address 127.0.0.1:\(port) is in use"), r.err)
            XCTAssertEqual(r.err.split(separator: "\n").filter { $0.contains("error") }.count, 1, r.err)
        }
    }

    func testAlertRulesPassPromtoolAndNameRealMetrics() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("connectors/prometheus").path
        for args in [["check", "rules", "logbook-alerts.yml"], ["test", "rules", "logbook-alerts.test.yml"]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "promtool \(args.joined(separator: " ")): \(text)")
        }
        let rules = try String(contentsOfFile: dir + "/logbook-alerts.yml", encoding: .utf8)
        let documented = try String(contentsOfFile: root.appendingPathComponent("docs/metrics.md").path, encoding: .utf8)
        let sources = try FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent("Sources").path)
            .filter { $0.hasSuffix(".swift") }
            .map { try String(contentsOfFile: root.appendingPathComponent("Sources/" + $0).path, encoding: .utf8) }.joined()
        let used = Set(rules.matches(of: /logbook_[a-z_]+/).map { String($0.output) }
            .map { $0.replacingOccurrences(of: "_bucket", with: "") })
        XCTAssertGreaterThan(used.count, 5)
        for name in used {
            XCTAssertTrue(sources.contains("\"\(name)\""), "\(name) is in the alert rules but no code records it")
            XCTAssertTrue(documented.contains("`\(name)`"), "\(name) is in the alert rules but not in docs/metrics.md")
        }
        for name in Set(sources.matches(of: /label: "(logbook_[a-z_]+)"/).map { String($0.output.1) }) {
            XCTAssertTrue(documented.contains("`\(name)`"), "\(name) is recorded but not documented in docs/metrics.md")
        }
    }
}

/// The Prometheus text format, read back independently of the library that wrote it.
struct Scrape {
    var types: [String: String] = [:]
    var samples: [(name: String, labels: [String: String], value: Double)] = []

    init(text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let brace = series.firstIndex(of: "{") {
                name = String(series[..<brace])
                let inner = series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)]
                for pair in inner.split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    if kv.count == 2 { labels[String(kv[0])] = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                }
            }
            samples.append((name, labels, value))
        }
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { s in s.name == name && labels.allSatisfy { k, v in s.labels[k] == v } }?.value
    }
}

func httpGet(_ url: String) throws -> (status: Int, body: String) {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<(Int, String), Error> = .failure(URLError(.timedOut))
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 5
    URLSession.shared.dataTask(with: request) { data, response, error in
        if let error { result = .failure(error) } else {
            result = .success(((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self)))
        }
        done.signal()
    }.resume()
    done.wait()
    let (status, body) = try result.get()
    return (status, body)
}

/// A loopback port nobody listens on right now.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &addr) { p in
        try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
            guard bind(fd, sp, len) == 0, getsockname(fd, sp, &len) == 0 else { throw POSIXError(.EADDRINUSE) }
        }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}
