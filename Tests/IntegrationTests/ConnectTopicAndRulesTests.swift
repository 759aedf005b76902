import Archive
import FanOut
import Foundation
import PGWire
import XCTest

/// Topic names a broker accepts (Debezium's), and the JsonConverter rules the suite checks messages with.
final class ConnectTopicAndRulesTests: XCTestCase {
    func testTopicNamesReplaceInvalidCharactersAsDebeziumDoes() {
        // Debezium's postgres_create_tables.ddl: "Quoted_"" . Schema"."Quoted_"" . Table".
        XCTAssertEqual(TopicName.of(prefix: "test_server", schema: "Quoted_\" . Schema", table: "Quoted_\" . Table"),
                       "test_server.Quoted___._Schema.Quoted___._Table")
        XCTAssertEqual(TopicName.sanitized("fleet-ops.v2_x"), "fleet-ops.v2_x", "valid characters are kept")
        XCTAssertEqual(TopicName.sanitized("zürich"), "z_rich", "one '_' per UTF-16 unit")
        XCTAssertEqual(TopicName.sanitized("a😀b"), "a__b", "a character outside the BMP is two UTF-16 units")
    }

    func testAPrefixABrokerRefusesIsRefused() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            _ = try box.captureToNow(["public.t"])
            var config = KafkaConfig(brokers: "127.0.0.1:1")
            config.topicPrefix = "fleet ops"
            XCTAssertThrowsError(try Publisher(archive: box.archive, options: Publisher.Options(kafka: config), logger: box.logger)) { e in
                XCTAssertEqual((e as? KafkaError)?.code, .configuration, "[\(box.server)] \(e)")
                XCTAssertNotNil((e as? KafkaError)?.fix)
            }
        }
    }

    /// `"fleet ops".trips` and `fleet_ops.trips` would share `logbook.fleet_ops.trips`: refused before
    /// anything is published, whether the tables are named or found in the archive.
    func testTwoTablesMappingToOneTopicAreRefusedAtStart() throws {
        try forEachServer { box in
            try box.sql("CREATE SCHEMA \"fleet ops\"; CREATE SCHEMA fleet_ops")
            try box.sql("CREATE TABLE \"fleet ops\".trips (id int PRIMARY KEY); CREATE TABLE fleet_ops.trips (id int PRIMARY KEY)")
            try box.sql("INSERT INTO \"fleet ops\".trips VALUES (1); INSERT INTO fleet_ops.trips VALUES (2)")
            _ = try box.captureToNow(["\"fleet ops\".trips", "fleet_ops.trips"])
            let cluster = try KafkaMockCluster(brokers: 1)
            var config = KafkaConfig(brokers: cluster.bootstrapServers)
            config.extra = [("log_level", "0")]
            config.events.format = .jsonSchema
            for tables in [Set<String>(), ["\"fleet ops\".trips", "fleet_ops.trips"]] {
                var options = Publisher.Options(kafka: config)
                options.tables = tables
                XCTAssertThrowsError(try Publisher(archive: box.archive, options: options, logger: box.logger)) { e in
                    XCTAssertEqual((e as? KafkaError)?.code, .configuration, "[\(box.server)] \(e)")
                    XCTAssertTrue("\(e)".contains("logbook.fleet_ops.trips"), "\(e)")
                }
            }
            cluster.createTopic("logbook.fleet_ops.trips", partitions: 1)
            XCTAssertEqual(try kcatMessages(cluster, topic: "logbook.fleet_ops.trips").count, 0, "[\(box.server)] nothing was published")
            // One of them alone is published, to the sanitized topic.
            var options = Publisher.Options(kafka: config)
            options.tables = ["\"fleet ops\".trips"]
            options.snapshot = true
            options.recordPosition = false
            let publisher = try Publisher(archive: box.archive, options: options, logger: box.logger)
            try publisher.run(follow: false, durable: { nil }, shouldStop: { false })
            let got = try kcatMessages(cluster, topic: "logbook.fleet_ops.trips")
            XCTAssertEqual(got.count, 1, "[\(box.server)]")
            XCTAssertEqual(got.first.flatMap { JsonConverterRules.errors($0.value) }, [])
        }
    }

    /// `logbook run` refuses to start when two of its tables would share a topic.
    func testRunRefusesTablesSharingATopic() throws {
        try forEachServer { box in
            try box.sql("CREATE SCHEMA \"fleet ops\"; CREATE SCHEMA fleet_ops")
            try box.sql("CREATE TABLE \"fleet ops\".trips (id int PRIMARY KEY); CREATE TABLE fleet_ops.trips (id int PRIMARY KEY)")
            let cluster = try KafkaMockCluster(brokers: 1)
            let r = try LogbookBinary.run(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "\"fleet ops\".trips,fleet_ops.trips",
                                           "--slot", box.slot, "--publication", box.slot, "--endpos", try box.currentLSN().description,
                                           "--kafka-brokers", cluster.bootstrapServers, "--kafka-config", "log_level=0"], timeout: 60)
            XCTAssertNotEqual(r.status, 0, "[\(box.server)]")
            XCTAssertTrue(r.err.contains("logbook.fleet_ops.trips"), "[\(box.server)] \(r.err)")
        }
    }

    /// The rules reject what Kafka's JsonConverter rejects, so that a passing suite means something.
    func testJsonConverterRulesRejectWhatASinkRejects() {
        func message(_ fields: String, _ payload: String) -> String {
            "{\"schema\":{\"type\":\"struct\",\"fields\":[\(fields)],\"optional\":false,\"name\":\"x.Value\"},\"payload\":\(payload)}"
        }
        let ok = message("{\"type\":\"int32\",\"optional\":false,\"field\":\"a\"},{\"type\":\"float\",\"optional\":true,\"field\":\"r\"},"
                         + "{\"type\":\"bytes\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\"2\"},\"field\":\"d\"},"
                         + "{\"type\":\"int32\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Date\",\"version\":1,\"field\":\"day\"},"
                         + "{\"type\":\"map\",\"keys\":{\"type\":\"string\",\"optional\":false},\"values\":{\"type\":\"string\",\"optional\":true},\"optional\":true,\"field\":\"m\"},"
                         + "{\"type\":\"int16\",\"optional\":false,\"default\":0,\"field\":\"s\"}",
                         "{\"a\":1,\"r\":\"NaN\",\"d\":\"BNI=\",\"day\":20000,\"m\":{\"k\":null},\"s\":null}")
        XCTAssertEqual(JsonConverterRules.errors(ok), [])
        XCTAssertEqual(JsonConverterRules.errors(nil), [], "a null record (tombstone) is passed as null")
        let bad: [(String, String)] = [
            ("unknown type float32", message("{\"type\":\"float32\",\"optional\":true,\"field\":\"r\"}", "{\"r\":1.5}")),
            ("null in a required field", message("{\"type\":\"bytes\",\"optional\":false,\"field\":\"b\"}", "{\"b\":null}")),
            ("a missing required field", message("{\"type\":\"string\",\"optional\":false,\"field\":\"s\"}", "{}")),
            ("bytes not base64", message("{\"type\":\"bytes\",\"optional\":true,\"field\":\"b\"}", "{\"b\":\"$1,234.11\"}")),
            ("Decimal without scale", message("{\"type\":\"bytes\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Decimal\",\"field\":\"d\"}", "{\"d\":\"AQ==\"}")),
            ("Date not an int", message("{\"type\":\"int32\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Date\",\"field\":\"d\"}", "{\"d\":\"2026-01-01\"}")),
            ("Timestamp not integral", message("{\"type\":\"int64\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Timestamp\",\"field\":\"t\"}", "{\"t\":1.5}")),
            ("string not textual", message("{\"type\":\"string\",\"optional\":true,\"field\":\"s\"}", "{\"s\":5}")),
            ("int16 out of range", message("{\"type\":\"int16\",\"optional\":true,\"field\":\"s\"}", "{\"s\":40000}")),
            ("parameter not a string", message("{\"type\":\"string\",\"optional\":true,\"parameters\":{\"length\":3},\"field\":\"s\"}", "{\"s\":\"x\"}")),
            ("array without items", message("{\"type\":\"array\",\"optional\":true,\"field\":\"a\"}", "{\"a\":[]}")),
            ("a default of the wrong type", message("{\"type\":\"int32\",\"optional\":true,\"default\":\"0\",\"field\":\"i\"}", "{\"i\":1}")),
            ("an extra envelope field", "{\"schema\":{\"type\":\"string\",\"optional\":true},\"payload\":\"x\",\"extra\":1}"),
        ]
        for (why, m) in bad { XCTAssertNotEqual(JsonConverterRules.errors(m), [], why) }
    }
}
