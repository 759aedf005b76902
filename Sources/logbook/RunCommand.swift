import ArgumentParser
import Capture
import FanOut
import Operate
import Foundation
import Monitoring
import OffSite
import PGWire
import Sidecar

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Archive every committed change of the listed tables, continuously.",
        discussion: """
        Creates the publication and the logical slot (pgoutput) if missing, takes a consistent base copy \
        of each table, then streams. A position is confirmed to the server only after the data behind it \
        is fsynced. SIGTERM/SIGINT: finish the frame, fsync, confirm, exit 0.
        The connection string may also come from LOGBOOK_SOURCE; passwords are best kept in PGPASSWORD \
        or ~/.pgpass.
        """)

    @Option(help: "Source connection string (key=value or postgresql:// URI); PG* variables apply.") var source: String?
    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @Option(help: "Comma-separated schema.table list.") var tables: String
    @Option(help: "Replication slot name.") var slot = "logbook"
    @Option(help: "Publication name.") var publication = "logbook"
    @Option(help: "Exit 0 once everything up to this LSN is archived.") var endpos: String?
    @Option(help: ArgumentHelp("Seconds between fsync + confirm.", valueName: "seconds")) var flushInterval: Double = 1.0
    @Option(help: ArgumentHelp("Seconds between watermarks while nothing is pending: how close to now a quiet database restores.", valueName: "seconds")) var watermarkInterval: Double = 2.0
    @Option(help: ArgumentHelp("Seal a segment once it reaches this many MiB.", valueName: "MiB")) var segmentMib: Int = 64
    @Option(help: ArgumentHelp("Seal a segment once it is this many seconds old.", valueName: "seconds")) var segmentSeconds: Double = 3600
    @Option(help: ArgumentHelp("Connections reading one large table's base copy at once (ranges of its pages, one snapshot; default: the cores, at most 4).", valueName: "count")) var baseCopyLanes: Int?
    @Option(help: ArgumentHelp("Write new base copies from the archive this often (e.g. 7d, 12h; 0 = never).", valueName: "duration")) var compactEvery = "7d"
    @Option(help: ArgumentHelp("Prune what no point of this window needs, hourly (e.g. 180d; without --s3-url: with it, use --local-keep).", valueName: "duration")) var retention: String?
    @Option(help: ArgumentHelp("Recompress sealed segments in the background at this zstd level (e.g. 19: about 0.7x the bytes of capture's level 3, ~1 s of one core per 3 MB of records; off unless given).", valueName: "level")) var recompressLevel: Int?
    @Flag(help: "After a lost slot: take new base copies and record the gap.") var resnapshot = false
    @Option(help: "With --source on a hot standby (PostgreSQL 16+): the primary's connection string, for what a standby cannot do (create the publication, the WAL position of watermarks).") var primary: String?
    @Flag(help: "Make the slot a failover slot (PostgreSQL 17+): synchronized to the standby, it survives a promotion. Checks the primary's and the standby's settings first.") var failoverSlot = false
    @Flag(help: "Do not ask the server to stream large in-progress transactions.") var noStreaming = false
    @Option(help: "Serve Prometheus metrics at http://ADDRESS/metrics and health at /healthz (e.g. 127.0.0.1:9187).") var metricsAddress: String?
    @OptionGroup var kafka: KafkaOptions
    @Flag(help: "With --kafka-brokers: publish the initial base copies as snapshot (op r) events before the changes (once; a restart continues after them).") var kafkaSnapshot = false
    @Option(help: "Upload sealed files to S3-compatible storage: s3://bucket/prefix (credentials: AWS_* variables or ~/.aws/credentials).") var s3Url: String?
    @OptionGroup var s3: S3Options
    @OptionGroup var backupLog: BackupLogOptions
    @Option(help: ArgumentHelp("With --s3-url: keep local copies for this window (e.g. 7d); older ones are removed once uploaded.", valueName: "duration")) var localKeep: String?
    @Flag(name: .shortAndLong, help: "Log every confirm.") var verbose = false

    func validate() throws {
        if let endpos, LSN(string: endpos) == nil { throw ValidationError("--endpos '\(endpos)': takes an LSN such as 0/16B3748") }
        try OptionCheck.seconds("flush-interval", flushInterval, 0.01...3600)
        try OptionCheck.seconds("watermark-interval", watermarkInterval, 0.1...3600)
        try OptionCheck.seconds("segment-seconds", segmentSeconds, 0.1...604_800)
        try OptionCheck.count("segment-mib", segmentMib, 1...4096, unit: "MiB")
        if let baseCopyLanes { try OptionCheck.count("base-copy-lanes", baseCopyLanes, 1...16) }
        _ = try OptionCheck.duration("compact-every", compactEvery, zero: true, example: "7d, 12h or 0 (never)")
        if let retention { _ = try OptionCheck.duration("retention", retention, zero: false, example: "180d") }
        if let recompressLevel { try OptionCheck.count("recompress-level", recompressLevel, 4...22, unit: "") }
        if let localKeep { _ = try OptionCheck.duration("local-keep", localKeep, zero: true) }
    }

    func run() throws {
        var options = CaptureOptions(source: Secrets.source(source), archive: archive,
                                     tables: QualifiedName.splitList(tables))
        options.encryptionKey = try encryption.key(for: archive)
        options.slot = slot
        options.publication = publication
        options.endpos = endpos.flatMap { LSN(string: $0) }
        options.flushInterval = flushInterval
        options.watermarkInterval = watermarkInterval
        options.segment.rollBytes = segmentMib << 20
        options.segment.rollSeconds = segmentSeconds
        if let baseCopyLanes { options.baseCopyLanes = baseCopyLanes }
        options.resnapshot = resnapshot
        options.failoverSlot = failoverSlot
        if let primary, primary.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--primary is empty: give the primary's connection string") }
        options.primary = primary
        options.streaming = !noStreaming
        var config = SidecarConfiguration(capture: options)
        config.compactEvery = try OptionCheck.duration("compact-every", compactEvery, zero: true)
        config.metricsAddress = metricsAddress
        config.recompressLevel = recompressLevel
        if let retention {
            guard s3Url == nil else {
                throw ValidationError("with --s3-url, local copies are pruned by --local-keep (only once uploaded); the bucket's lifecycle rules keep the rest")
            }
            config.retention = try OptionCheck.duration("retention", retention, zero: false)
        }
        config.kafka = try kafka.config()
        if kafkaSnapshot {
            guard config.kafka != nil else { throw ValidationError("--kafka-snapshot needs --kafka-brokers") }
            config.kafkaSnapshot = true
        }
        if let s3Url {
            config.upload = .init(s3: try s3.config(url: s3Url), localKeep: try localKeep.map { try OptionCheck.duration("local-keep", $0, zero: true) })
        } else if localKeep != nil {
            throw ValidationError("--local-keep needs --s3-url: local copies are only removed once they are in the store")
        }
        if let target = try backupLog.conninfo(source: options.source), let table = backupLog.logTable {
            config.backupLog = .init(conninfo: target, table: table)
        }
        let sidecar = Sidecar(configuration: config, logger: LoggingSetup.logger(verbose: verbose))
        try AsyncBridge.wait { try await sidecar.run() }
    }
}

/// Durations on the command line: `90s`, `30m`, `12h`, `7d`, or seconds.
enum Duration {
    /// Seconds from `90s`, `5m`, `2h`, `180d` or a number; nil for anything negative, not finite,
    /// or over 100 years.
    static func seconds(_ s: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let value: Double?
        if let last = s.last, let unit = units[last], let v = Double(s.dropLast()) { value = v * unit } else { value = Double(s) }
        guard let value, value.isFinite, value >= 0, value <= 100 * 365.25 * 86400 else { return nil }
        return value
    }
}
