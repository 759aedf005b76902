import ArgumentParser
import FanOut
import Foundation
import PGWire
import Replay

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish archived changes to Kafka (catch up, or re-publish history with --from to backfill a consumer).",
        discussion: """
        Without --from: from the position `logbook run --kafka-brokers` recorded, and the position is kept. \
        With --from LSN or TIME: every transaction committed after it, as a one-off (the recorded position \
        is left alone). Delivery is at least once; every message carries its commit LSN.
        """)
    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @OptionGroup var kafka: KafkaOptions
    @Option(help: "Publish transactions committed after this LSN or ISO 8601 time.") var from: String?
    @Option(help: "Comma-separated schema.table list (default: all).") var tables: String?
    @Flag(help: "First each table's newest base copy as snapshot (op r) events, then the changes after it: a consumer starting from empty topics ends with the full tables. A one-off, like --from.") var snapshot = false

    func run() throws {
        let key = try encryption.key(for: archive)
        guard let config = try kafka.config() else { throw ValidationError("--kafka-brokers is required") }
        var options = Publisher.Options(kafka: config)
        if let from {
            options.recordPosition = false
            if let lsn = LSN(string: from) { options.from = lsn } else { options.fromTime = try ReplayPoint.parseTime(from) }
        }
        if snapshot {
            guard from == nil else { throw ValidationError("--snapshot starts from each table's base copy: leave out --from") }
            options.snapshot = true
            options.recordPosition = false
        }
        if let tables { options.tables = Set(try QualifiedName.splitList(tables).map { try QualifiedName(parsing: $0).description }) }
        let publisher = try Publisher(archive: archive, key: key, options: options, logger: LoggingSetup.logger(verbose: false))
        try publisher.run(follow: false, durable: { nil }, shouldStop: { false })
        let s = publisher.stats
        print("published \(s.messages) messages (\(s.snapshotRows) snapshot rows) from \(s.transactions) transactions, through \(s.position)")
        if s.unreadableValues > 0 { print("warning: \(s.unreadableValues) values could not be mapped and were published as null (see the log)") }
    }
}
