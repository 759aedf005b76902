import Archive
import FanOut
import Foundation
import LibPQ
import PGWire
import XCTest

/// Debezium's JSON with schemas (`--kafka-format json-schema`), snapshot events and transaction
/// metadata, against librdkafka's mock cluster, read back with kcat. Expectations follow Debezium's
/// PostgreSQL type mapping as docs/fan-out.md cites it; each is computed here from that rule.
final class ConnectFormatTests: XCTestCase {
    struct Message { var key: [String: Any]?; var value: [String: Any]? }

    /// Every message of a topic as kcat reads it, key and value parsed.
    func messages(_ cluster: KafkaMockCluster, _ topic: String) throws -> [Message] {
        try kcatMessages(cluster, topic: topic).map { m in
            func parse(_ s: String?) -> [String: Any]? { s.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } }
            return Message(key: parse(m.key), value: parse(m.value))
        }
    }

    func publish(_ box: Sandbox, _ cluster: KafkaMockCluster, _ configure: (inout Publisher.Options) -> Void) throws -> Publisher.Stats {
        var config = KafkaConfig(brokers: cluster.bootstrapServers)
        config.extra = [("log_level", "0")]
        config.events.format = .jsonSchema
        var options = Publisher.Options(kafka: config)
        configure(&options)
        let publisher = try Publisher(archive: box.archive, options: options, logger: box.logger)
        try publisher.run(follow: false, durable: { nil }, shouldStop: { false })
        return publisher.stats
    }

    /// A payload is what its schema says, as Kafka Connect's JsonConverter checks when it reads it
    /// (JsonConverterRules, written from Kafka's source).
    func assertFits(_ value: Any?, _ schema: [String: Any], _ path: String, file: StaticString = #filePath, line: UInt = #line) {
        var errors: [String] = []
        JsonConverterRules.checkSchema(schema, path, &errors)
        if errors.isEmpty { JsonConverterRules.checkValue(value, schema, path, &errors) }
        XCTAssertEqual(errors, [], "\(path): a JsonConverter sink rejects it", file: file, line: line)
    }

    /// The schema of a field of a struct schema.
    func field(_ schema: [String: Any]?, _ name: String) -> [String: Any]? {
        (schema?["fields"] as? [[String: Any]])?.first { $0["field"] as? String == name }
    }

    /// Microseconds since 1970 of a UTC wall-clock time, by Foundation's calendar.
    func micros(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0, us: Int64 = 0) -> Int64 {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let date = cal.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s))!
        return Int64(date.timeIntervalSince1970) * 1_000_000 + us
    }

    func testEveryTypeHasDebeziumsSchemaAndValueAndTheSchemaFollowsTheTable() throws {
        try forEachServer { box in
            try box.sql("CREATE TYPE duty AS ENUM ('off_duty', 'sleeper', 'driving', 'on_duty')")
            try box.sql("CREATE DOMAIN odometer AS numeric(12,1) CHECK (VALUE >= 0)")
            try box.sql("""
                CREATE TABLE typed (id bigint PRIMARY KEY, small smallint NOT NULL, i integer, b boolean, r real, d double precision,
                  n numeric(10,2), nv numeric, t text NOT NULL, vc varchar(20), u uuid, j json, jb jsonb,
                  day date, ts timestamp, ts3 timestamp(3), tstz timestamptz, tm time, tm3 time(3), tmtz timetz, iv interval,
                  ba bytea, bit1 bit(1), bits bit(10), vb varbit, status duty, statuses duty[], ints int[], texts text[], odo odometer, ip inet)
                """)
            _ = try box.captureToNow(["public.typed"])
            try box.sql("""
                BEGIN;
                INSERT INTO typed VALUES (1, -7, 42, true, 1.5, -2.25, 12.50, -1.5, 'tab\there "q"', 'v', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
                  '{"a": [1, 2]}', '{"b": null}', '2026-01-02', '2026-11-25 10:00:00.123456', '2026-11-25 10:00:00.123',
                  '2026-11-25 10:00:00.5+05:30', '13:14:15.123456', '13:14:15.123', '13:14:15+02', '1 year 2 mons 3 days 04:05:06.5',
                  '\\x0102ff', B'1', B'1000000001', B'101', 'driving', '{driving,on_duty}', '{1,NULL,3}', '{"a b","c,d",NULL}', 1234.5, '10.0.0.1');
                INSERT INTO typed (id, small, t) VALUES (2, 0, 'second');
                COMMIT;
                """)
            try box.sql("ALTER TABLE typed ADD COLUMN note text DEFAULT 'x'")
            try box.sql("INSERT INTO typed (id, small, t, note) VALUES (3, 1, 'third', 'added')")
            _ = try box.captureToNow(["public.typed"])

            let cluster = try KafkaMockCluster(brokers: 1)
            cluster.createTopic("logbook.public.typed", partitions: 1)
            let stats = try publish(box, cluster) { $0.kafka.events.decimal = .string }
            XCTAssertEqual(stats.unreadableValues, 0, "[\(box.server)] every value read")
            let got = try messages(cluster, "logbook.public.typed")
            XCTAssertEqual(got.count, 3)
            for (n, m) in got.enumerated() {
                let schema = try XCTUnwrap(m.value?["schema"] as? [String: Any])
                assertFits(m.value?["payload"], schema, "[\(box.server)] message \(n)")
                let keySchema = try XCTUnwrap(m.key?["schema"] as? [String: Any])
                assertFits(m.key?["payload"], keySchema, "[\(box.server)] key \(n)")
                XCTAssertEqual(keySchema["name"] as? String, "logbook.public.typed.Key")
                XCTAssertEqual((keySchema["fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String }, ["id"])
                XCTAssertEqual(schema["name"] as? String, "logbook.public.typed.Envelope")
                XCTAssertEqual((schema["fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String },
                               ["before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"])
                XCTAssertEqual(field(schema, "after")?["name"] as? String, "logbook.public.typed.Value")
                XCTAssertEqual(field(schema, "source")?["name"] as? String, "io.debezium.connector.postgresql.Source")
            }
            let schema = got[0].value?["schema"] as? [String: Any]
            let after = field(schema, "after")
            func type(_ c: String) -> (String?, String?, Bool?) {
                let f = field(after, c)
                return (f?["type"] as? String, f?["name"] as? String, f?["optional"] as? Bool)
            }
            let expected: [String: (String, String?)] = [
                "id": ("int64", nil), "small": ("int16", nil), "i": ("int32", nil), "b": ("boolean", nil), "r": ("float", nil),
                "d": ("double", nil), "n": ("string", nil), "nv": ("string", nil), "t": ("string", nil), "vc": ("string", nil),
                "u": ("string", "io.debezium.data.Uuid"), "j": ("string", "io.debezium.data.Json"), "jb": ("string", "io.debezium.data.Json"),
                "day": ("int32", "io.debezium.time.Date"), "ts": ("int64", "io.debezium.time.MicroTimestamp"),
                "ts3": ("int64", "io.debezium.time.Timestamp"), "tstz": ("string", "io.debezium.time.ZonedTimestamp"),
                "tm": ("int64", "io.debezium.time.MicroTime"), "tm3": ("int32", "io.debezium.time.Time"), "tmtz": ("string", "io.debezium.time.ZonedTime"),
                "iv": ("int64", "io.debezium.time.MicroDuration"), "ba": ("bytes", nil), "bit1": ("boolean", nil), "bits": ("bytes", "io.debezium.data.Bits"),
                "vb": ("bytes", "io.debezium.data.Bits"), "status": ("string", "io.debezium.data.Enum"), "statuses": ("array", nil),
                "ints": ("array", nil), "texts": ("array", nil), "odo": ("string", nil), "ip": ("string", nil),
            ]
            for (c, e) in expected {
                let (t, name, optional) = type(c)
                XCTAssertEqual(t, e.0, "[\(box.server)] type of \(c)")
                XCTAssertEqual(name, e.1, "[\(box.server)] name of \(c)")
                XCTAssertEqual(optional, !["id", "small", "t"].contains(c), "[\(box.server)] optional of \(c) follows NOT NULL")
            }
            XCTAssertEqual((field(after, "status")?["parameters"] as? [String: String])?["allowed"], "off_duty,sleeper,driving,on_duty")
            XCTAssertEqual((field(after, "statuses")?["items"] as? [String: Any])?["name"] as? String, "io.debezium.data.Enum")
            XCTAssertEqual((field(after, "ints")?["items"] as? [String: Any])?["type"] as? String, "int32")
            XCTAssertEqual((field(after, "bits")?["parameters"] as? [String: String])?["length"], "10")
            XCTAssertNil(field(after, "note"), "the column added later is not in the first schema")

            let row = try XCTUnwrap((got[0].value?["payload"] as? [String: Any])?["after"] as? [String: Any])
            XCTAssertEqual(row["small"] as? Int, -7)
            XCTAssertEqual(row["b"] as? Bool, true)
            XCTAssertEqual(row["r"] as? Double, 1.5)
            XCTAssertEqual(row["n"] as? String, "12.50")
            XCTAssertEqual(row["t"] as? String, "tab\there \"q\"")
            XCTAssertEqual(row["jb"] as? String, "{\"b\": null}")
            XCTAssertEqual(row["day"] as? Int, Int(micros(2026, 1, 2) / 86_400_000_000))
            XCTAssertEqual((row["ts"] as? NSNumber)?.int64Value, micros(2026, 11, 25, 10, us: 123_456))
            XCTAssertEqual((row["ts3"] as? NSNumber)?.int64Value, micros(2026, 11, 25, 10, us: 123_000) / 1000)
            XCTAssertEqual(row["tstz"] as? String, "2026-11-25T04:30:00.500000Z", "ZonedTimestamp is in UTC, the fraction to the column's precision")
            XCTAssertEqual((row["tm"] as? NSNumber)?.int64Value, (13 * 3600 + 14 * 60 + 15) * 1_000_000 + 123_456)
            XCTAssertEqual(row["tm3"] as? Int, (13 * 3600 + 14 * 60 + 15) * 1000 + 123)
            XCTAssertEqual(row["tmtz"] as? String, "11:14:15Z")
            let months = 14.0 * 365.25 / 12
            XCTAssertEqual((row["iv"] as? NSNumber)?.int64Value, Int64((((months + 3) * 86400 + 4 * 3600 + 5 * 60 + 6.5) * 1e6).rounded()))
            XCTAssertEqual(row["ba"] as? String, Data([1, 2, 0xFF]).base64EncodedString())
            XCTAssertEqual(row["bit1"] as? Bool, true)
            XCTAssertEqual(row["bits"] as? String, Data([0x01, 0x02]).base64EncodedString(), "bits little-endian: bit 0 and bit 9")
            XCTAssertEqual(row["vb"] as? String, Data([0x05]).base64EncodedString())
            XCTAssertEqual(row["status"] as? String, "driving")
            XCTAssertEqual(row["statuses"] as? [String], ["driving", "on_duty"])
            XCTAssertEqual((row["ints"] as? [Any])?.map { $0 as? Int }, [1, nil, 3])
            XCTAssertEqual((row["texts"] as? [Any])?.map { $0 as? String }, ["a b", "c,d", nil])
            XCTAssertEqual(row["odo"] as? String, "1234.5", "a domain is its base type")

            // The source block: each change's own LSN, sequence [last commit, lsn], the transaction.
            let sources = got.compactMap { ($0.value?["payload"] as? [String: Any])?["source"] as? [String: Any] }
            let lsns = sources.compactMap { ($0["lsn"] as? NSNumber)?.uint64Value }
            XCTAssertEqual(lsns.count, 3)
            XCTAssertLessThan(lsns[0], lsns[1], "[\(box.server)] two changes of one transaction have their own LSNs")
            XCTAssertEqual(sources[0]["txId"] as? Int, sources[1]["txId"] as? Int)
            for s in sources {
                let commit = LSN(string: s["commit_lsn"] as? String ?? "")!.rawValue
                let lsn = (s["lsn"] as? NSNumber)!.uint64Value
                XCTAssertLessThanOrEqual(lsn, commit, "a change comes before its commit")
                let seq = try JSONSerialization.jsonObject(with: Data((s["sequence"] as? String ?? "").utf8)) as? [Any]
                XCTAssertEqual(seq?.last as? String, String(lsn))
                XCTAssertEqual(s["snapshot"] as? String, "false")
                XCTAssertEqual(s["db"] as? String, box.database)
            }
            let third = try JSONSerialization.jsonObject(with: Data((sources[2]["sequence"] as! String).utf8)) as! [Any]
            XCTAssertEqual(third.first as? String, String(LSN(string: sources[0]["commit_lsn"] as! String)!.rawValue),
                           "sequence[0] is the commit LSN of the transaction before")

            // A column added mid-stream is in the schema from that change on.
            let later = field(got[2].value?["schema"] as? [String: Any], "after")
            XCTAssertEqual(field(later, "note")?["type"] as? String, "string")
            XCTAssertEqual(((got[2].value?["payload"] as? [String: Any])?["after"] as? [String: Any])?["note"] as? String, "added")

            // Debezium's other modes: decimals precise, Connect's own times.
            let precise = try KafkaMockCluster(brokers: 1)
            precise.createTopic("logbook.public.typed", partitions: 1)
            _ = try publish(box, precise) { $0.recordPosition = false; $0.kafka.events.decimal = .precise; $0.kafka.events.time = .connect }
            let p = try XCTUnwrap(try messages(precise, "logbook.public.typed").first?.value)
            let pAfter = field(p["schema"] as? [String: Any], "after")
            assertFits(p["payload"], try XCTUnwrap(p["schema"] as? [String: Any]), "[\(box.server)] precise")
            XCTAssertEqual(field(pAfter, "n")?["name"] as? String, "org.apache.kafka.connect.data.Decimal")
            XCTAssertEqual(field(pAfter, "n")?["parameters"] as? [String: String], ["scale": "2", "connect.decimal.precision": "10"])
            XCTAssertEqual(field(pAfter, "nv")?["name"] as? String, "io.debezium.data.VariableScaleDecimal")
            XCTAssertEqual(field(pAfter, "odo")?["parameters"] as? [String: String], ["scale": "1", "connect.decimal.precision": "12"])
            XCTAssertEqual(field(pAfter, "day")?["name"] as? String, "org.apache.kafka.connect.data.Date")
            XCTAssertEqual(field(pAfter, "ts")?["name"] as? String, "org.apache.kafka.connect.data.Timestamp")
            XCTAssertEqual(field(pAfter, "tm")?["name"] as? String, "org.apache.kafka.connect.data.Time")
            let pRow = try XCTUnwrap((p["payload"] as? [String: Any])?["after"] as? [String: Any])
            XCTAssertEqual(pRow["n"] as? String, Data([0x04, 0xE2]).base64EncodedString(), "12.50 is 1250 unscaled")
            let nv = try XCTUnwrap(pRow["nv"] as? [String: Any])
            XCTAssertEqual(nv["scale"] as? Int, 1)
            XCTAssertEqual(nv["value"] as? String, Data([0xF1]).base64EncodedString(), "-1.5 is -15 unscaled, two's complement")
            XCTAssertEqual((pRow["ts"] as? NSNumber)?.int64Value, micros(2026, 11, 25, 10, us: 123_456) / 1000)
            XCTAssertEqual(pRow["tm"] as? Int, (13 * 3600 + 14 * 60 + 15) * 1000 + 123)
        }
    }

    func testSnapshotEventsThenChangesRebuildTheTableThroughASinkLikeConsumer() throws {
        try forEachServer { box in
            try box.sql("""
                CREATE TABLE eld_events (id bigint PRIMARY KEY, driver_id int NOT NULL, status text NOT NULL, recorded_at timestamptz NOT NULL,
                  day date, odometer numeric(10,1), location jsonb, device uuid, note text, raw bytea, edited boolean DEFAULT false)
                """)
            try box.sql("""
                INSERT INTO eld_events SELECT g, g % 17, (ARRAY['off_duty','driving','on_duty'])[g % 3 + 1],
                  '2026-11-01 00:00:00.000001+00'::timestamptz + g * interval '1 minute 0.000123 seconds', DATE '2026-11-01' + g % 30, g * 1.5,
                  jsonb_build_object('lat', g, 'lon', -g), md5(g::text)::uuid, CASE WHEN g % 5 = 0 THEN NULL ELSE 'n' || g END,
                  decode(md5(g::text), 'hex'), false FROM generate_series(1, 400) g
                """)
            _ = try box.captureToNow(["public.eld_events"])
            // After the base copy: edits (keeping the originals is the archive's job), deletes, a key change, inserts.
            try box.sql("UPDATE eld_events SET status = 'on_duty', edited = true, note = 'edited \"by\" dispatcher' WHERE id % 7 = 0")
            try box.sql("DELETE FROM eld_events WHERE id % 11 = 0")
            try box.sql("UPDATE eld_events SET id = 1000 WHERE id = 1")
            try box.sql("BEGIN; INSERT INTO eld_events (id, driver_id, status, recorded_at) VALUES (2000, 1, 'driving', now()); UPDATE eld_events SET odometer = NULL WHERE id = 2; COMMIT")
            try box.sql("INSERT INTO eld_events SELECT g, 3, 'sleeper', now(), NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM generate_series(3000, 3049) g")
            _ = try box.captureToNow(["public.eld_events"])

            let cluster = try KafkaMockCluster(brokers: 1)
            cluster.createTopic("logbook.public.eld_events", partitions: 3)
            let stats = try publish(box, cluster) {
                $0.snapshot = true
                $0.recordPosition = false
                $0.kafka.tombstones = true
                $0.kafka.events.time = .connect
                $0.kafka.events.transactionMetadata = true
            }
            XCTAssertEqual(stats.snapshotRows, 400, "[\(box.server)]")
            XCTAssertEqual(stats.unreadableValues, 0)
            let got = try messages(cluster, "logbook.public.eld_events")
            let snapshot = got.filter { ($0.value?["payload"] as? [String: Any])?["op"] as? String == "r" }
            XCTAssertEqual(snapshot.count, 400)
            let flags = snapshot.compactMap { (($0.value?["payload"] as? [String: Any])?["source"] as? [String: Any])?["snapshot"] as? String }
            XCTAssertEqual(flags.filter { $0 == "last" }.count, 1, "the table's last snapshot row says last")
            XCTAssertEqual(flags.filter { $0 == "true" }.count, 399)

            // The sink: what Confluent's JDBC sink does behind ExtractNewRecordState, into a mirror table.
            try box.sql("CREATE TABLE mirror (LIKE eld_events INCLUDING ALL)")
            let sink = try SinkLikeConsumer.shipped(connection: try box.connect(), into: "mirror")
            for m in got { try sink.apply(m) }
            assertSameRows(try box.dump("mirror"), try box.dump("eld_events"), "[\(box.server)] the sink's table equals the source")

            // Transaction metadata: one BEGIN and one END per archived transaction that changed the table,
            // END's count is the number of events the transaction sent.
            var archived = 0
            let base = try XCTUnwrap(try BaseCopyReader.headers(in: ArchiveDirectory(box.archive)).map(\.header.lsn).max())
            let cursor = try ArchiveCursor(archive: ArchiveDirectory(box.archive))
            var touched = false, final = LSN.zero
            while let ev = try cursor.next() {
                switch ev {
                case .begin(let b): touched = false; final = b.finalLSN
                case .change(let msg, _):
                    switch msg { case .insert, .update, .delete: touched = true; default: break }
                case .commit: if touched && final >= base { archived += 1 }
                default: break
                }
            }
            let txns = try messages(cluster, "logbook.transaction")
            let status = txns.compactMap { ($0.value?["payload"] as? [String: Any])?["status"] as? String }
            XCTAssertEqual(status.filter { $0 == "BEGIN" }.count, archived, "[\(box.server)]")
            XCTAssertEqual(status.filter { $0 == "END" }.count, archived)
            for t in txns { assertFits(t.value?["payload"], try XCTUnwrap(t.value?["schema"] as? [String: Any]), "transaction event") }
            let changeEvents = got.filter { m in ["c", "u", "d"].contains((m.value?["payload"] as? [String: Any])?["op"] as? String ?? "") }
            let counted = txns.compactMap { ($0.value?["payload"] as? [String: Any])?["event_count"] as? Int }.reduce(0, +)
            XCTAssertEqual(counted, changeEvents.count, "END's event_count adds up to the change events")
            let blocks = changeEvents.compactMap { ($0.value?["payload"] as? [String: Any])?["transaction"] as? [String: Any] }
            XCTAssertEqual(blocks.count, changeEvents.count, "every change event has its transaction block")
            let ids = Set(txns.compactMap { ($0.value?["payload"] as? [String: Any])?["id"] as? String })
            XCTAssertTrue(blocks.allSatisfy { ids.contains($0["id"] as? String ?? "") })
        }
    }

    /// `logbook run --kafka-snapshot`: the initial base copy is published as snapshot events, then the
    /// changes; a second start continues after them without publishing the snapshot again.
    func testRunPublishesTheInitialCopyOnceAndThenTheChanges() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, at date)")
            try box.sql("INSERT INTO t SELECT g, 'v' || g, DATE '2026-01-01' + g FROM generate_series(1, 300) g")
            let cluster = try KafkaMockCluster(brokers: 1)
            cluster.createTopic("logbook.public.t", partitions: 2)
            func run() throws {
                let r = try LogbookBinary.run(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot,
                                               "--publication", box.slot, "--endpos", try box.currentLSN().description, "--flush-interval", "0.2",
                                               "--kafka-brokers", cluster.bootstrapServers, "--kafka-config", "log_level=0", "--kafka-snapshot",
                                               "--kafka-format", "json-schema", "--kafka-time-precision", "connect", "--kafka-tombstones"], timeout: 120)
                XCTAssertEqual(r.status, 0, "[\(box.server)] \(r.err)")
            }
            try run()
            try box.sql("UPDATE t SET v = 'edited' WHERE id % 10 = 0")
            try box.sql("DELETE FROM t WHERE id % 25 = 0")
            try box.sql("INSERT INTO t VALUES (1000, 'new', NULL)")
            try run()
            let got = try messages(cluster, "logbook.public.t")
            let ops = got.map { ($0.value?["payload"] as? [String: Any])?["op"] as? String }
            XCTAssertEqual(ops.filter { $0 == "r" }.count, 300, "[\(box.server)] the snapshot once")
            XCTAssertEqual(ops.filter { $0 == "u" }.count, 30)
            try box.sql("CREATE TABLE mirror (LIKE t INCLUDING ALL)")
            let sink = SinkLikeConsumer(connection: try box.connect(), table: "mirror")
            for m in got { try sink.apply(m) }
            assertSameRows(try box.dump("mirror"), try box.dump("t"), "[\(box.server)] the sink's table equals the source")
        }
    }
}

/// What Confluent's JDBC sink does with Debezium's events behind `ExtractNewRecordState`
/// (`delete.handling.mode=drop`, tombstones kept), `insert.mode=upsert`, `pk.mode=record_key`,
/// `delete.enabled=true`, on a connection with `stringtype=unspecified`: each value converted by its
/// Connect schema alone (Connect's own logical types; every other string bound as text the server
/// casts), never by knowledge of the source.
struct SinkLikeConsumer {
    let connection: PostgresConnection
    let table: String

    /// The connector shipped in `connectors/`: the consumer does what its settings say, and refuses a
    /// setting it does not implement, so the example and the test cannot drift apart.
    static func shipped(connection: PostgresConnection, into table: String) throws -> SinkLikeConsumer {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try Data(contentsOf: root.appendingPathComponent("connectors/eld_events-jdbc-sink.json"))
        let config = try XCTUnwrap((try JSONSerialization.jsonObject(with: file) as? [String: Any])?["config"] as? [String: String])
        let implemented: [String: String] = [
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "true",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true",
            "transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.drop.tombstones": "false", "transforms.unwrap.delete.handling.mode": "drop",
            "insert.mode": "upsert", "pk.mode": "record_key", "delete.enabled": "true",
        ]
        for (k, v) in implemented { XCTAssertEqual(config[k], v, "connectors/eld_events-jdbc-sink.json: \(k)") }
        XCTAssertTrue(config["connection.url"]?.hasSuffix("stringtype=unspecified") == true, "strings are cast by the server")
        XCTAssertEqual(config["topics"], "logbook.public.eld_events")
        return SinkLikeConsumer(connection: connection, table: table)
    }

    func apply(_ m: ConnectFormatTests.Message) throws {
        let key = try XCTUnwrap(m.key?["payload"] as? [String: Any])
        let keySchema = try XCTUnwrap(m.key?["schema"] as? [String: Any])
        let keyFields = keySchema["fields"] as? [[String: Any]] ?? []
        guard let value = m.value else {
            // A tombstone: delete by the key.
            let cond = try keyFields.map { f in "\(PostgresConnection.quoteIdent(f["field"] as! String)) = \(try literal(key[f["field"] as! String], f))" }
            try connection.query("DELETE FROM \(table) WHERE \(cond.joined(separator: " AND "))")
            return
        }
        let payload = try XCTUnwrap(value["payload"] as? [String: Any])
        guard ["r", "c", "u"].contains(payload["op"] as? String ?? "") else { return } // d and t: dropped by the transform
        let schema = try XCTUnwrap(((value["schema"] as? [String: Any])?["fields"] as? [[String: Any]])?.first { $0["field"] as? String == "after" })
        let after = try XCTUnwrap(payload["after"] as? [String: Any])
        let fields = schema["fields"] as? [[String: Any]] ?? []
        let names = fields.map { PostgresConnection.quoteIdent($0["field"] as! String) }
        let values = try fields.map { try literal(after[$0["field"] as! String], $0) }
        let keys = keyFields.map { PostgresConnection.quoteIdent($0["field"] as! String) }
        let updates = names.filter { !keys.contains($0) }.map { "\($0) = EXCLUDED.\($0)" }
        try connection.query("INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(values.joined(separator: ", "))) "
                             + "ON CONFLICT (\(keys.joined(separator: ", "))) DO UPDATE SET \(updates.joined(separator: ", "))")
    }

    func literal(_ v: Any?, _ schema: [String: Any]) throws -> String {
        guard let v, !(v is NSNull) else { return "NULL" }
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        switch schema["name"] as? String {
        case "org.apache.kafka.connect.data.Date": return "DATE '1970-01-01' + \(try XCTUnwrap(v as? Int))"
        case "org.apache.kafka.connect.data.Timestamp": return "(TIMESTAMP '1970-01-01' + \(try XCTUnwrap(v as? Int)) * INTERVAL '1 millisecond')"
        case "org.apache.kafka.connect.data.Time": return "(TIME '00:00' + \(try XCTUnwrap(v as? Int)) * INTERVAL '1 millisecond')"
        case "org.apache.kafka.connect.data.Decimal":
            let bytes = [UInt8](try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(v as? String))))
            var n: Int64 = bytes.first.map { $0 & 0x80 != 0 ? -1 : 0 } ?? 0
            for b in bytes { n = n << 8 | Int64(b) }
            let scale = Int((schema["parameters"] as? [String: String])?["scale"] ?? "0")!
            return "(\(n)::numeric / 10::numeric ^ \(scale))"
        default: break
        }
        switch schema["type"] as? String {
        case "int8", "int16", "int32", "int64", "float", "double": return "\(v)"
        case "boolean": return (v as? Bool) == true ? "true" : "false"
        case "string": return quoted(try XCTUnwrap(v as? String))
        case "bytes": return "decode(\(quoted(try XCTUnwrap(v as? String))), 'base64')"
        default: throw XCTSkip("the JDBC sink does not write \(schema["type"] ?? "?") fields")
        }
    }
}
