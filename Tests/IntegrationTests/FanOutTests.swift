import Archive
import Capture
import FanOut
import Foundation
import LibPQ
import PGWire
import XCTest

/// Fan-out against librdkafka's mock cluster (real Kafka protocol on loopback), read back with an
/// independent client: kcat.
final class FanOutTests: XCTestCase {
    /// Every message of a topic, as kcat sees it: (key, value) with the value parsed.
    func consume(_ cluster: KafkaMockCluster, topic: String) throws -> [(key: String?, value: [String: Any]?)] {
        try kcatMessages(cluster, topic: topic).map { m in
            (m.key, m.value.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        }
    }

    func kafka(_ cluster: KafkaMockCluster) -> KafkaConfig {
        var c = KafkaConfig(brokers: cluster.bootstrapServers)
        c.extra = [("log_level", "0")]
        return c
    }

    func testChangesArriveAsDebeziumEnvelopesInCommitOrderPerKey() throws {
        try forEachServer { box in
            let cluster = try KafkaMockCluster(brokers: 3)
            cluster.createTopic("logbook.public.t", partitions: 3)
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, n int, body text, at timestamptz, d date, ok boolean, amount numeric(10,2))")
            try box.sql("ALTER TABLE t ALTER body SET STORAGE EXTERNAL")
            try box.sql("INSERT INTO t SELECT g, 0, CASE WHEN g = 1 THEN repeat('x', 5000) END, '2026-11-25 10:00:00+00', '2026-01-02', true, 12.50 FROM generate_series(1, 20) g")
            _ = try box.captureToNow(["public.t"])   // row 1's large body is only in the base copy
            for i in 1...3 { try box.sql("UPDATE t SET n = \(i) WHERE id <= 5") }   // body unchanged: 'u'
            try box.sql("INSERT INTO t (id, n, body) VALUES (100, 0, repeat('y', 4000))")
            try box.sql("UPDATE t SET n = 9 WHERE id = 100")                      // 'u' known from the stream
            try box.sql("UPDATE t SET id = 200 WHERE id = 20")                   // key change
            try box.sql("DELETE FROM t WHERE id = 19")
            try box.sql("SELECT pg_logical_emit_message(true, 'audit', 'hello')")
            _ = try box.captureToNow(["public.t"])
            var config = kafka(cluster)
            config.tombstones = true
            let publisher = try Publisher(archive: box.archive, options: Publisher.Options(kafka: config), logger: box.logger)
            try publisher.run(follow: false, durable: { nil }, shouldStop: { false })
            XCTAssertEqual(PublishPosition.read(ArchiveDirectory(box.archive))?.lsn, publisher.stats.position)

            let got = try consume(cluster, topic: "logbook.public.t")
            let ops = got.compactMap { $0.value?["op"] as? String }
            XCTAssertEqual(ops.filter { $0 == "u" }.count, 16, "[\(box.server)] 15 + 1 updates")
            XCTAssertEqual(ops.filter { $0 == "c" }.count, 2, "insert + key change's create")
            XCTAssertEqual(ops.filter { $0 == "d" }.count, 2, "delete + key change's delete")
            XCTAssertEqual(got.filter { $0.value == nil }.count, 2, "a tombstone after each delete")
            // Envelope fields.
            let first = try XCTUnwrap(got.first { ($0.value?["op"] as? String) == "u" }?.value)
            let source = try XCTUnwrap(first["source"] as? [String: Any])
            XCTAssertEqual(source["connector"] as? String, "postgresql")
            XCTAssertEqual(source["table"] as? String, "t")
            XCTAssertEqual(source["schema"] as? String, "public")
            XCTAssertNotNil(source["lsn"] as? Int)
            XCTAssertNotNil(source["txId"] as? Int)
            // Types: numbers, booleans, dates as days, timestamptz as ISO, numeric as string.
            let after = try XCTUnwrap(got.first { ($0.value?["op"] as? String) == "u" && $0.key == "{\"id\":2}" }?.value?["after"] as? [String: Any])
            XCTAssertEqual(after["n"] as? Int, 1)
            XCTAssertEqual(after["ok"] as? Bool, true)
            XCTAssertEqual(after["d"] as? Int, 20455)
            XCTAssertEqual(after["at"] as? String, "2026-11-25T10:00:00.000000Z", "the fraction to the column's precision, as Debezium")
            XCTAssertEqual(after["amount"] as? String, "12.50")
            // Unchanged TOAST values are filled, from the base copy and from the stream, never null.
            for key in ["{\"id\":1}", "{\"id\":100}"] {
                let updates = got.filter { $0.key == key && ($0.value?["op"] as? String) == "u" }
                XCTAssertFalse(updates.isEmpty)
                for u in updates {
                    let body = (u.value?["after"] as? [String: Any])?["body"] as? String
                    XCTAssertEqual(body?.count, key == "{\"id\":1}" ? 5000 : 4000, "[\(box.server)] body of \(key) filled")
                }
            }
            XCTAssertEqual(publisher.stats.unfilledToastValues, 0)
            // Per-key order is commit order.
            let ns = got.filter { $0.key == "{\"id\":3}" }.compactMap { ($0.value?["after"] as? [String: Any])?["n"] as? Int }
            XCTAssertEqual(ns, [1, 2, 3])
            // The logical message.
            let messages = try consume(cluster, topic: "logbook.message")
            XCTAssertEqual((messages.first?.value?["message"] as? [String: Any])?["prefix"] as? String, "audit")
            // Publishing again from the recorded position sends nothing new.
            let again = try Publisher(archive: box.archive, options: Publisher.Options(kafka: config), logger: box.logger)
            try again.run(follow: false, durable: { nil }, shouldStop: { false })
            XCTAssertEqual(again.stats.messages, 0)
        }
    }

    func testAKafkaOutageNeitherStopsTheSlotNorLosesChanges() throws {
        try forEachServer { box in
            let cluster = try KafkaMockCluster(brokers: 1)
            cluster.createTopic("logbook.public.t", partitions: 2)
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            let mark = DurableMark()
            var o = box.options(tables: ["public.t"])
            o.durableMark = mark
            let capture = BackgroundCapture(o, logger: box.logger)
            let publisher = try Publisher(archive: box.archive, options: Publisher.Options(kafka: kafka(cluster)), logger: box.logger)
            let published = DispatchSemaphore(value: 0)
            Thread {
                try? publisher.run(follow: true, durable: { mark.commitLSN }, shouldStop: { !mark.captureRunning })
                published.signal()
            }.start()
            try box.waitUntilStreaming()
            try box.sql("INSERT INTO t SELECT g, 'before' FROM generate_series(1, 100) g")
            try waitUntil("published before the outage") { publisher.stats.messages == 100 }
            cluster.setAllBrokers(up: false)
            for i in 0..<10 { try box.sql("INSERT INTO t SELECT g, 'during' FROM generate_series(\(1000 + i * 100), \(1000 + i * 100 + 99)) g") }
            let end = try box.currentLSN()
            // The archive and the slot move on while Kafka is down.
            try box.waitUntilConfirmed(end, "the slot advanced during the outage")
            let positionDuringOutage = PublishPosition.read(ArchiveDirectory(box.archive))?.lsn ?? .zero
            XCTAssertLessThan(positionDuringOutage, end, "nothing past the outage is recorded as published")
            cluster.setAllBrokers(up: true)
            try waitUntil(timeout: 60, "everything published after the outage") {
                (PublishPosition.read(ArchiveDirectory(box.archive))?.lsn ?? .zero) >= (try lastArchivedEnd(box))
            }
            try capture.stop()
            XCTAssertEqual(published.wait(timeout: .now() + 30), .success)
            let got = try consume(cluster, topic: "logbook.public.t")
            let ids = Set(got.compactMap { ($0.value?["after"] as? [String: Any])?["id"] as? Int })
            XCTAssertEqual(ids.count, 1100, "[\(box.server)] every change arrived")
        }
    }

    func testSecretsInKafkaSettingsAreMasked() throws {
        var c = KafkaConfig(brokers: "127.0.0.1:1")
        c.extra = try KafkaConfig.parseProperties("# comment\nsasl.mechanism=PLAIN\nsasl.password=s3cret\n")
        XCTAssertTrue(c.masked.contains("sasl.password=****"))
        XCTAssertFalse(c.masked.joined().contains("s3cret"))
        XCTAssertTrue(c.masked.contains("acks=all") && c.masked.contains("enable.idempotence=true"))
        c.extra.append(("no.such.setting", "s3cret"))
        XCTAssertThrowsError(try KafkaProducer(c)) { e in
            XCTAssertTrue("\(e)".contains("no.such.setting"))
        }
    }
}

/// The end LSN of the last archived transaction.
func lastArchivedEnd(_ box: Sandbox) throws -> LSN {
    (try SegmentScanner.lastCommitIncludingOpen(in: ArchiveDirectory(box.archive)))?.endLSN ?? .zero
}

/// Every message of a topic as kcat (an independent client) reads it, partition by partition in offset order.
func kcatMessages(_ cluster: KafkaMockCluster, topic: String) throws -> [(key: String?, value: String?)] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
    p.arguments = ["-b", cluster.bootstrapServers, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q", "-X", "log_level=0"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    var rows: [(String?, String?, Int, Int)] = []
    for line in data.split(separator: 0x0A) {
        guard let obj = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
        rows.append((obj["key"] as? String, obj["payload"] as? String, obj["partition"] as? Int ?? 0, obj["offset"] as? Int ?? 0))
    }
    return rows.map { ($0.0, $0.1) }
}
