import Archive
import FanOut
import Foundation
import XCTest

/// Under `--kafka-format json-schema` the defaults are Debezium's; the schemaless `json` format keeps
/// Logbook's (docs/fan-out.md names each difference).
final class ConnectDefaultsTests: XCTestCase {
    func testJsonSchemaTakesDebeziumsDefaultsAndJsonKeepsItsOwn() throws {
        var settings = EventSettings()
        XCTAssertEqual(settings.decimalHandling, .string, "json: numerics as their exact text")
        settings.format = .jsonSchema
        XCTAssertEqual(settings.decimalHandling, .precise, "json-schema: decimal.handling.mode=precise")
        XCTAssertEqual(settings.hstore, .json)
        XCTAssertEqual(settings.interval, .numeric)
        XCTAssertEqual(settings.binary, .bytes)
        XCTAssertEqual(settings.time, .adaptive)
        settings.decimal = .double
        XCTAssertEqual(settings.decimalHandling, .double, "a setting given wins")

        try forEachServer { box in
            try box.sql("CREATE TABLE priced (id int PRIMARY KEY, amount numeric(10,2) NOT NULL)")
            try box.sql("CREATE TABLE readings (sensor text, value int); ALTER TABLE readings REPLICA IDENTITY FULL")
            _ = try box.captureToNow(["public.priced", "public.readings"])
            try box.sql("INSERT INTO priced VALUES (1, 12.50); INSERT INTO readings VALUES ('a', 1)")
            _ = try box.captureToNow(["public.priced", "public.readings"])
            for format in [EventFormat.json, .jsonSchema] {
                let cluster = try KafkaMockCluster(brokers: 1)
                cluster.createTopic("logbook.public.priced", partitions: 1)
                cluster.createTopic("logbook.public.readings", partitions: 1)
                var config = KafkaConfig(brokers: cluster.bootstrapServers)
                config.extra = [("log_level", "0")]
                config.events.format = format
                var options = Publisher.Options(kafka: config)
                options.recordPosition = false
                let publisher = try Publisher(archive: box.archive, options: options, logger: box.logger)
                try publisher.run(follow: false, durable: { nil }, shouldStop: { false })
                func payload(_ s: String?) -> [String: Any]? {
                    let o = s.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                    return format == .jsonSchema ? o?["payload"] as? [String: Any] : o
                }
                let priced = try kcatMessages(cluster, topic: "logbook.public.priced")
                XCTAssertEqual(priced.count, 1, "[\(box.server)] \(format)")
                let amount = (payload(priced.first?.value)?["after"] as? [String: Any])?["amount"] as? String
                let readings = try kcatMessages(cluster, topic: "logbook.public.readings")
                XCTAssertEqual(readings.count, 1, "[\(box.server)] \(format)")
                switch format {
                case .json:
                    XCTAssertEqual(amount, "12.50", "[\(box.server)] json: the exact text")
                    XCTAssertEqual(payload(readings.first?.key)?["sensor"] as? String, "a", "[\(box.server)] json: a table without a key is keyed by its row")
                case .jsonSchema:
                    XCTAssertEqual(amount, Data([0x04, 0xE2]).base64EncodedString(), "[\(box.server)] json-schema: Decimal, 1250 unscaled")
                    XCTAssertNil(readings.first?.key, "[\(box.server)] json-schema: Debezium's null key")
                    for m in priced + readings {
                        XCTAssertEqual(JsonConverterRules.errors(m.key), [])
                        XCTAssertEqual(JsonConverterRules.errors(m.value), [])
                    }
                }
            }
        }
    }
}
