import ArgumentParser
import Capture
import FanOut
import Operate
import Foundation
import Monitoring
import OffSite
import PGWire

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
    @Option(help: ArgumentHelp("Write new base copies from the archive this often (e.g. 7d, 12h; 0 = never).", valueName: "duration")) var compactEvery = "7d"
    @Option(help: ArgumentHelp("Prune what no point of this window needs, hourly (e.g. 180d; without --s3-url: with it, use --local-keep).", valueName: "duration")) var retention: String?
    @Flag(help: "After a lost slot: take new base copies and record the gap.") var resnapshot = false
    @Flag(help: "Do not ask the server to stream large in-progress transactions.") var noStreaming = false
    @Option(help: "Serve Prometheus metrics at http://ADDRESS/metrics and health at /healthz (e.g. 127.0.0.1:9187).") var metricsAddress: String?
    @OptionGroup var kafka: KafkaOptions
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
        _ = try OptionCheck.duration("compact-every", compactEvery, zero: true, example: "7d, 12h or 0 (never)")
        if let retention { _ = try OptionCheck.duration("retention", retention, zero: false, example: "180d") }
        if let localKeep { _ = try OptionCheck.duration("local-keep", localKeep, zero: true) }
    }

    func run() throws {
        try encryption.apply(archive: archive)
        var options = CaptureOptions(source: Secrets.source(source), archive: archive,
                                     tables: QualifiedName.splitList(tables))
        options.slot = slot
        options.publication = publication
        if let endpos {
            guard let lsn = LSN(string: endpos) else { throw ValidationError("--endpos takes an LSN such as 0/16B3748") }
            options.endpos = lsn
        }
        options.flushInterval = flushInterval
        options.watermarkInterval = watermarkInterval
        options.segment.rollBytes = segmentMib << 20
        options.segment.rollSeconds = segmentSeconds
        options.resnapshot = resnapshot
        options.streaming = !noStreaming
        let cadence = try OptionCheck.duration("compact-every", compactEvery, zero: true)
        let logger = LoggingSetup.logger(verbose: verbose)
        var metricsServer: MetricsServer?
        if let metricsAddress {
            let health = CaptureHealth()
            options.health = health
            let registry = MetricsBackend.bootstrapPrometheus()
            let stale = max(10, 3 * flushInterval)
            metricsServer = try MetricsServer.start(address: metricsAddress, registry: registry) {
                let h = health.snapshot
                let age = h.lastDurable.map { Date().timeIntervalSince($0) }
                let detail = "streaming=\(h.streaming) confirmed=\(h.confirmed)"
                    + (age.map { String(format: " last_fsync_age_seconds=%.1f", $0) } ?? "")
                    + (h.lastCommitTime.map { " last_commit=\($0)" } ?? "")
                return MetricsServer.Health(healthy: h.streaming && (age ?? .infinity) <= stale, detail: detail)
            }
            logger.info("serving metrics", metadata: ["url": "http://\(metricsAddress.split(separator: ":").dropLast().joined(separator: ":")):\(metricsServer!.port)/metrics"])
        }
        defer { metricsServer?.stop() }
        var onSealed: [@Sendable () -> Void] = []
        if cadence > 0 {
            let scheduler = CompactionScheduler(archive: archive, every: cadence, logger: logger)
            onSealed.append { scheduler.segmentSealed() }
        }
        if let retention {
            let keep = try OptionCheck.duration("retention", retention, zero: false)
            guard s3Url == nil else {
                throw ValidationError("with --s3-url, local copies are pruned by --local-keep (only once uploaded); the bucket's lifecycle rules keep the rest")
            }
            let scheduler = RetentionScheduler(archive: archive, keep: keep, logger: logger)
            onSealed.append { scheduler.segmentSealed() }
        }
        if !onSealed.isEmpty { options.onSegmentSealed = { [onSealed] in onSealed.forEach { $0() } } }
        // Fan-out: a publisher that follows the archive on a thread of its own.
        var publishing: Follower?
        if let config = try kafka.config() {
            let mark = options.durableMark ?? DurableMark()
            options.durableMark = mark
            let publisher = try Publisher(archive: archive, options: Publisher.Options(kafka: config), logger: logger)
            logger.info("publishing to Kafka", metadata: ["settings": "\(config.masked.joined(separator: " "))"])
            publishing = Follower.start {
                do {
                    try publisher.run(follow: true, durable: { mark.commitLSN }, shouldStop: { !mark.captureRunning })
                } catch {
                    logger.error("Kafka publisher stopped", metadata: ["error": "\(error)"])
                }
            }
        }
        // Off-site: an uploader that follows the sealed files.
        var uploading: Follower?
        if let s3Url {
            let keep = try localKeep.map { try OptionCheck.duration("local-keep", $0, zero: true) }
            let mark = options.durableMark ?? DurableMark()
            options.durableMark = mark
            let uploader = Uploader(archive: archive, s3: try s3.config(url: s3Url), options: Uploader.Options(localKeep: keep), logger: logger)
            logger.info("uploading sealed files", metadata: ["to": "\(s3Url)", "local_keep": "\(localKeep ?? "all")"])
            uploading = Follower.start { uploader.run(shouldStop: { !mark.captureRunning }) }
        } else if localKeep != nil {
            throw ValidationError("--local-keep needs --s3-url: local copies are only removed once they are in the store")
        }
        // The seed's backup_log: its last pass comes after the uploader's, so the last uploads are in it.
        var recording: Follower?
        if let target = try backupLog.conninfo(source: options.source), let table = backupLog.logTable {
            let mark = options.durableMark ?? DurableMark()
            options.durableMark = mark
            let recorder = BackupLogRecorder(archive: archive, conninfo: target, table: table, logger: logger)
            let upload = uploading
            recording = Follower.start { recorder.run(shouldStop: { !mark.captureRunning && (upload?.isFinished ?? true) }) }
        }
        defer {
            publishing?.wait(seconds: 30)
            uploading?.wait(seconds: 60)
            recording?.wait(seconds: 60)
        }
        StopSignal.installSignalHandlers()
        let service = CaptureService(options: options, logger: logger)
        try service.run()
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
