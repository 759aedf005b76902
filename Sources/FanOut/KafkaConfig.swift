import Foundation

/// librdkafka settings: the brokers, what Logbook needs for ordered, acknowledged delivery, and
/// whatever the user passes through (SASL, SSL, …) with `--kafka-config key=value` or a properties file.
public struct KafkaConfig: Sendable {
    public var brokers: String
    public var topicPrefix = "logbook"
    public var tombstones = false
    /// Event format and Debezium's conversion settings.
    public var events = EventSettings()
    public var extra: [(String, String)] = []

    public init(brokers: String) { self.brokers = brokers }

    /// Keys whose values are secrets: never printed.
    static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("password") || k.contains("secret") || k.hasSuffix(".key") || k.contains("token") || k.contains("key.pem")
    }

    /// Parses `key=value`.
    public static func parsePair(_ s: String) throws -> (String, String) {
        guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
            throw KafkaError(.invalidOption, "'\(s.split(separator: "=").first ?? "")' is not key=value", fix: "write --kafka-config sasl.mechanism=PLAIN")
        }
        return (String(s[..<eq]).trimmingCharacters(in: .whitespaces), String(s[s.index(after: eq)...]).trimmingCharacters(in: .whitespaces))
    }

    /// Reads a Java-style properties file (`key=value`, `#` comments).
    public static func parseProperties(_ text: String) throws -> [(String, String)] {
        try text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix("!") }
            .map { try parsePair($0) }
    }

    /// Every setting handed to librdkafka, Logbook's own first so that the user's can override
    /// what they may (acks and idempotence are not overridable: ordering depends on them).
    var settings: [(String, String)] {
        var s: [(String, String)] = [("bootstrap.servers", brokers), ("client.id", "logbook"), ("linger.ms", "20"),
                                     ("compression.type", "zstd"), ("batch.num.messages", "10000")]
        s += extra.filter { $0.0 != "enable.idempotence" && $0.0 != "acks" }
        s += [("enable.idempotence", "true"), ("acks", "all")]
        return s
    }

    /// The settings as they can be shown: secrets masked.
    public var masked: [String] { settings.map { "\($0.0)=\(Self.isSecret($0.0) ? "****" : $0.1)" } }
}
