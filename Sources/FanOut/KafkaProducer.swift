import CRdKafka
import Foundation

/// An idempotent librdkafka producer (`acks=all`): per-partition order is kept and every message
/// is acknowledged by the in-sync replicas. The only type that holds an `rd_kafka_t`; used by one
/// thread (the publisher's), hence `@unchecked Sendable`.
public final class KafkaProducer: @unchecked Sendable {
    let rk: OpaquePointer
    var topics: [String: OpaquePointer] = [:]
    let reports: DeliveryReports

    /// Counts delivery reports; written by librdkafka's callback during `poll`/`flush` on the same thread.
    final class DeliveryReports {
        var delivered = 0
        var failed = 0
        var lastError: String?
    }

    public init(_ config: KafkaConfig) throws {
        let conf = rd_kafka_conf_new()
        var err = [CChar](repeating: 0, count: 512)
        for (k, v) in config.settings {
            if rd_kafka_conf_set(conf, k, v, &err, err.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let shown = KafkaConfig.isSecret(k) ? "****" : v
                throw KafkaError(.configuration, "librdkafka rejects \(k)=\(shown): \(String(cString: err))",
                                 fix: "check --kafka-config against librdkafka's CONFIGURATION.md")
            }
        }
        reports = DeliveryReports()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(reports).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            let r = Unmanaged<KafkaProducer.DeliveryReports>.fromOpaque(opaque).takeUnretainedValue()
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                r.delivered += 1
            } else {
                r.failed += 1
                r.lastError = String(cString: rd_kafka_err2str(message.pointee.err))
            }
        }
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &err, err.count) else {
            // rd_kafka_new takes the configuration only when it succeeds.
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create the Kafka producer: \(String(cString: err))", fix: "check --kafka-brokers and --kafka-config")
        }
        rk = handle
    }

    deinit {
        for t in topics.values { rd_kafka_topic_destroy(t) }
        rd_kafka_destroy(rk)
    }

    func topic(_ name: String) throws -> OpaquePointer {
        if let t = topics[name] { return t }
        guard let t = rd_kafka_topic_new(rk, name, nil) else {
            throw KafkaError(.client, "cannot create a handle for topic \(name): \(String(cString: rd_kafka_err2str(rd_kafka_last_error())))",
                             fix: "check the topic name (--kafka-topic-prefix) and --kafka-config")
        }
        topics[name] = t
        return t
    }

    /// Queues one message (key and value may be nil: a tombstone has no value). Blocks, polling,
    /// while librdkafka's queue is full.
    public func produce(topic name: String, key: [UInt8]?, value: [UInt8]?) throws {
        let t = try topic(name)
        while true {
            let r: Int32 = (value ?? []).withUnsafeBytes { v in
                (key ?? []).withUnsafeBytes { k in
                    rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                     value == nil ? nil : UnsafeMutableRawPointer(mutating: v.baseAddress), value?.count ?? 0,
                                     key == nil ? nil : k.baseAddress, key?.count ?? 0, nil)
                }
            }
            if r == 0 { return }
            let e = rd_kafka_last_error()
            if e == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_poll(rk, 50)
                continue
            }
            throw KafkaError(.client, "cannot queue a message for \(name): \(String(cString: rd_kafka_err2str(e)))")
        }
    }

    /// Serves delivery reports.
    public func poll(milliseconds: Int32 = 0) { rd_kafka_poll(rk, milliseconds) }

    /// Waits until every queued message has a delivery report (or the timeout passes).
    /// Returns the number of messages still outstanding.
    @discardableResult
    public func flush(milliseconds: Int32) -> Int {
        _ = rd_kafka_flush(rk, milliseconds)
        return Int(rd_kafka_outq_len(rk))
    }

    public var delivered: Int { reports.delivered }
    public var failed: Int { reports.failed }
    public var lastDeliveryError: String? { reports.lastError }
    public func resetCounts() { reports.delivered = 0; reports.failed = 0; reports.lastError = nil }
}
