import ArgumentParser
import FanOut
import Foundation

/// The Kafka options shared by `run` and `publish`.
struct KafkaOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers (host:port,...): publish every archived change there.") var kafkaBrokers: String?
    @Option(help: "Topic prefix: topics are PREFIX.SCHEMA.TABLE.") var kafkaTopicPrefix = "logbook"
    @Option(help: "A librdkafka setting key=value (repeatable), e.g. security.protocol=SASL_SSL.") var kafkaConfig: [String] = []
    @Option(help: "A properties file of librdkafka settings (key=value lines).") var kafkaConfigFile: String?
    @Flag(help: "Send a tombstone (null value) after each delete, as Debezium does.") var kafkaTombstones = false
    @Option(help: "json (schemaless, as JsonConverter with schemas.enable=false) or json-schema (schemas.enable=true).") var kafkaFormat = "json"
    @Option(help: "Numerics as string (exact text), precise (Connect Decimal) or double (Debezium's decimal.handling.mode).") var kafkaDecimalHandling = "string"
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
        c.events.decimal = try choice("kafka-decimal-handling", kafkaDecimalHandling, DecimalHandling.self)
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
