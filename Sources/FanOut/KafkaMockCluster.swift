import CRdKafka
import Glibc

/// librdkafka's own mock Kafka cluster: real brokers speaking the Kafka protocol on loopback,
/// inside this process. For tests and demos; brokers can be taken down and up to simulate an outage.
public final class KafkaMockCluster: @unchecked Sendable {
    let host: OpaquePointer
    let cluster: OpaquePointer
    public let bootstrapServers: String
    public let brokerCount: Int32

    public init(brokers: Int32 = 3) throws {
        let conf = rd_kafka_conf_new()
        var err = [CChar](repeating: 0, count: 256)
        rd_kafka_conf_set(conf, "log_level", "0", &err, err.count)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &err, err.count) else {
            // On failure the configuration is still the caller's to free.
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create the mock cluster's host: \(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        host = rk
        guard let c = rd_kafka_mock_cluster_new(rk, brokers) else {
            rd_kafka_destroy(rk)
            throw KafkaError(.client, "cannot create the mock cluster")
        }
        cluster = c
        brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(c))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(host)
    }

    /// `logbook kafka-mock`: serves a cluster until SIGTERM or SIGINT. The signals are blocked
    /// first (librdkafka's threads inherit that), then awaited with `sigwait`: no handler, no flag,
    /// no polling. `ready` is given the bootstrap servers once the cluster is up.
    public static func serve(brokers: Int32, topics: [String], partitions: Int32, ready: (String) -> Void) throws {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let cluster = try KafkaMockCluster(brokers: brokers)
        for t in topics { cluster.createTopic(t, partitions: partitions) }
        ready(cluster.bootstrapServers)
        var received: Int32 = 0
        _ = sigwait(&signals, &received)
        withExtendedLifetime(cluster) {}
    }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int32 = 3) {
        _ = rd_kafka_mock_topic_create(cluster, name, partitions, min(3, brokerCount))
    }

    /// Takes every broker down (an outage) or brings them back.
    public func setAllBrokers(up: Bool) {
        for id in 1...brokerCount {
            if up { _ = rd_kafka_mock_broker_set_up(cluster, id) } else { _ = rd_kafka_mock_broker_set_down(cluster, id) }
        }
    }
}
