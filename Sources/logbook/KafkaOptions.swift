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

    func config() throws -> KafkaConfig? {
        guard let kafkaBrokers else { return nil }
        var c = KafkaConfig(brokers: kafkaBrokers)
        c.topicPrefix = kafkaTopicPrefix
        c.tombstones = kafkaTombstones
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
