import ArgumentParser
import FanOut
import Foundation

/// The Kafka options shared by `run` and `publish`.
struct KafkaOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers (host:port,...): publish every archived change there.") var kafkaBrokers: String?
    @Option(help: "Topic prefix (Debezium's topic.prefix): topics are PREFIX.SCHEMA.TABLE, characters outside [a-zA-Z0-9._-] as '_'.") var kafkaTopicPrefix = "logbook"
    @Option(help: "A librdkafka setting key=value (repeatable), e.g. security.protocol=SASL_SSL.") var kafkaConfig: [String] = []
    @Option(help: "A properties file of librdkafka settings (key=value lines).") var kafkaConfigFile: String?
    @Flag(help: "Send a tombstone (null value) after each delete, as Debezium does.") var kafkaTombstones = false
    @Option(help: "json (schemaless, as JsonConverter with schemas.enable=false) or json-schema (schemas.enable=true).") var kafkaFormat = "json"
    @Option(help: "Numerics and money as precise (Connect Decimal), string (exact text) or double (Debezium's decimal.handling.mode); default precise with json-schema, string with json.") var kafkaDecimalHandling: String?
    @Option(help: "hstore as json (a JSON object as text) or map (Debezium's hstore.handling.mode).") var kafkaHstoreHandling = "json"
    @Option(help: "interval as numeric (µs) or string (ISO 8601) (Debezium's interval.handling.mode).") var kafkaIntervalHandling = "numeric"
    @Option(help: "bytea as bytes, base64, base64-url-safe or hex (Debezium's binary.handling.mode).") var kafkaBinaryHandling = "bytes"
    @Option(help: "Times and timestamps: adaptive (by column precision) or connect (Connect's Date/Time/Timestamp, ms), as Debezium's time.precision.mode.") var kafkaTimePrecision = "adaptive"
    @Flag(help: "Transaction metadata: a transaction block in each event, BEGIN/END events on PREFIX.transaction.") var kafkaTransactionMetadata = false

    func config() throws -> KafkaConfig? {
        guard let kafkaBrokers else { return nil }
        var c = KafkaConfig(brokers: kafkaBrokers)
        c.topicPrefix = kafkaTopicPrefix
        c.tombstones = kafkaTombstones
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ value: String, _: T.Type) throws -> T where T.RawValue == String {
            guard let v = T(rawValue: value) else {
                throw ValidationError("--\(name) '\(value)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return v
        }
        c.events.format = try choice("kafka-format", kafkaFormat, EventFormat.self)
        c.events.decimal = try kafkaDecimalHandling.map { try choice("kafka-decimal-handling", $0, DecimalHandling.self) }
        c.events.hstore = try choice("kafka-hstore-handling", kafkaHstoreHandling, HstoreHandling.self)
        c.events.interval = try choice("kafka-interval-handling", kafkaIntervalHandling, IntervalHandling.self)
        c.events.binary = try choice("kafka-binary-handling", kafkaBinaryHandling, BinaryHandling.self)
        c.events.time = try choice("kafka-time-precision", kafkaTimePrecision, TimePrecision.self)
        c.events.transactionMetadata = kafkaTransactionMetadata
        if let kafkaConfigFile {
            guard let text = try? String(contentsOfFile: kafkaConfigFile, encoding: .utf8) else {
                throw ValidationError("cannot read --kafka-config-file \(kafkaConfigFile)")
            }
            c.extra += try KafkaConfig.parseProperties(text)
        }
        c.extra += try kafkaConfig.map(KafkaConfig.parsePair)
        return c
    }
}
