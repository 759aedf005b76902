import Capture
import FanOut
import Foundation
import Logging
import Monitoring
import OffSite
import Operate
import PGWire
import ServiceLifecycle

/// What `logbook run` runs, as a value a program can build: the capture and the parts that follow
/// its archive.
public struct SidecarConfiguration: Sendable {
    public var capture: CaptureOptions
    /// Write new base copies from the archive when the newest are older than this (0: never).
    public var compactEvery: TimeInterval = 7 * 86_400
    /// Prune what no point of this window needs (nil: keep everything).
    public var retention: TimeInterval?
    /// Recompress sealed segments at this zstd level in the background (nil: never).
    public var recompressLevel: Int?
    /// Serve `/metrics` and `/healthz` here (`host:port`).
    public var metricsAddress: String?
    public var kafka: KafkaConfig?
    /// Publish the base copies as snapshot (`r`) events before the changes, once (`--kafka-snapshot`).
    public var kafkaSnapshot = false
    public struct Upload: Sendable {
        public var s3: S3Config
        public var localKeep: TimeInterval?
        /// After the capture stopped, seconds the upload in progress and a last pass may take
        /// before the request in flight is cancelled (the file stays pending for the next start).
        public var stopGrace: TimeInterval = 10
        public init(s3: S3Config, localKeep: TimeInterval?) { self.s3 = s3; self.localKeep = localKeep }
    }
    public var upload: Upload?
    public struct BackupLog: Sendable {
        public var conninfo: String
        public var table: String
        public init(conninfo: String, table: String) { self.conninfo = conninfo; self.table = table }
    }
    public var backupLog: BackupLog?

    public init(capture: CaptureOptions) { self.capture = capture }
}

/// `logbook run` as one `ServiceGroup` (swift-service-lifecycle), so that every part has one
/// lifecycle and a program embedding the library runs exactly what the command does.
///
/// The services, in the order they start; a graceful shutdown — SIGTERM or SIGINT, or the capture
/// ending by itself at `--endpos` or on an error — stops them in the reverse order, each one
/// finishing before the next is asked:
///
/// 1. **metrics** — `/metrics` and `/healthz`, served to the very end.
/// 2. **backup_log recorder** — its last pass comes after the uploader's, so the last uploads are in it.
/// 3. **uploader** — uploads what the capture sealed last, then ends.
/// 4. **publisher** — publishes what the capture made durable, then ends.
/// 5. **maintenance** — compaction, retention and recompression: the job in progress ends, no new one starts.
/// 6. **capture** — stopped first: finishes or discards the frame, fsyncs, confirms, returns.
///
/// Followers (2–4) end by themselves once the capture has stopped. The health rule, in one place:
/// `/healthz` answers 200 while the capture is streaming and its last fsync is no older than
/// max(10 s, 3 × the flush interval).
public struct Sidecar: Sendable {
    public let configuration: SidecarConfiguration
    public let logger: Logger

    public init(configuration: SidecarConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The health rule for `/healthz`.
    public static func health(_ h: CaptureHealth.Snapshot, flushInterval: Double, now: Date = Date()) -> MetricsServer.Health {
        let stale = max(10, 3 * flushInterval)
        let age = h.lastDurable.map { now.timeIntervalSince($0) }
        let detail = "streaming=\(h.streaming) confirmed=\(h.confirmed)"
            + (age.map { String(format: " last_fsync_age_seconds=%.1f", $0) } ?? "")
            + (h.lastCommitTime.map { " last_commit=\($0)" } ?? "")
        return MetricsServer.Health(healthy: h.streaming && (age ?? .infinity) <= stale, detail: detail)
    }

    /// Runs until the capture ends (`endpos`, a stop signal, or an error, which is rethrown once the
    /// others have finished).
    public func run(signals: Bool = true) async throws {
        var c = configuration
        let logger = self.logger
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let mark = c.capture.durableMark ?? DurableMark()
        c.capture.durableMark = mark
        let archive = c.capture.archive, key = c.capture.encryptionKey

        if let address = c.metricsAddress {
            let health = CaptureHealth()
            c.capture.health = health
            let registry = MetricsBackend.bootstrapPrometheus()
            let flush = c.capture.flushInterval
            let server = try await Blocking.run("logbook-metrics-start") {
                try MetricsServer.start(address: address, registry: registry) { Sidecar.health(health.snapshot, flushInterval: flush) }
            }
            logger.info("serving metrics", metadata: ["url": "http://\(address.split(separator: ":").dropLast().joined(separator: ":")):\(server.port)/metrics"])
            services.append(.init(service: MetricsService(server: server), successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        var uploaderDone: FollowerService.Done?
        var atCaptureEnd: [@Sendable () -> Void] = []
        if let upload = c.upload {
            let uploader = Uploader(archive: archive, key: key, s3: upload.s3, options: Uploader.Options(localKeep: upload.localKeep), logger: logger)
            logger.info("uploading sealed files", metadata: ["to": "\(upload.s3.location)"])
            let done = FollowerService.Done()
            uploaderDone = done
            atCaptureEnd.append { [grace = upload.stopGrace] in uploader.requestStop(grace: grace) }
            let follower = FollowerService(name: "uploader") {
                uploader.run(shouldStop: { !mark.captureRunning }, pause: { mark.waitForChange(seconds: $0) })
                done.set()
            }
            if let log = c.backupLog {
                let recorder = BackupLogRecorder(archive: archive, key: key, conninfo: log.conninfo, table: log.table, logger: logger)
                services.append(.init(service: FollowerService(name: "backup_log") {
                    recorder.run(shouldStop: { !mark.captureRunning && done.isSet },
                                 pause: { mark.captureRunning ? mark.waitForChange(seconds: $0) : done.wait(seconds: $0) })
                }, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
            }
            services.append(.init(service: follower, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        } else if let log = c.backupLog {
            let recorder = BackupLogRecorder(archive: archive, key: key, conninfo: log.conninfo, table: log.table, logger: logger)
            services.append(.init(service: FollowerService(name: "backup_log") {
                recorder.run(shouldStop: { !mark.captureRunning }, pause: { mark.waitForChange(seconds: $0) })
            }, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        _ = uploaderDone
        if let kafka = c.kafka {
            var options = Publisher.Options(kafka: kafka)
            // Two captured tables mapping to one topic are refused before anything starts.
            try TopicName.checkDistinct(try c.capture.tables.map { try QualifiedName(parsing: $0) }, prefix: kafka.topicPrefix)
            options.snapshot = c.kafkaSnapshot
            options.snapshotTables = c.kafkaSnapshot ? try c.capture.tables.map { try QualifiedName(parsing: $0).description } : []
            let publisher = try Publisher(archive: archive, key: key, options: options, logger: logger)
            logger.info("publishing to Kafka", metadata: ["settings": "\(kafka.masked.joined(separator: " "))"])
            services.append(.init(service: FollowerService(name: "publisher") {
                do {
                    try publisher.run(follow: true, durable: { mark.commitLSN }, shouldStop: { !mark.captureRunning })
                } catch {
                    logger.error("Kafka publisher stopped", metadata: ["error": "\(error)"])
                }
            }, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        let compaction = c.compactEvery > 0 ? CompactionScheduler(archive: archive, key: key, every: c.compactEvery, logger: logger) : nil
        let retention = c.retention.map { RetentionScheduler(archive: archive, key: key, keep: $0, logger: logger) }
        let recompression = c.recompressLevel.map { RecompressionScheduler(archive: archive, key: key, level: $0, logger: logger) }
        if compaction != nil || retention != nil || recompression != nil {
            let worker = MaintenanceWorker(compaction: compaction, retention: retention, recompression: recompression)
            let earlier = c.capture.onSegmentSealed
            c.capture.onSegmentSealed = { earlier?(); worker.segmentSealed() }
            services.append(.init(service: MaintenanceService(worker: worker), successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        // Last: stopped first. Its end, however it comes, shuts the others down in order.
        let endHooks = atCaptureEnd
        services.append(.init(service: CaptureRunner(options: c.capture, logger: logger, onEnd: { for h in endHooks { h() } }),
                              successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        var groupLogger = logger
        groupLogger.logLevel = max(logger.logLevel, .notice)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [], logger: groupLogger))
        do { try await group.run() } catch let e as ServiceGroupError {
            throw SidecarError(message: "the service group stopped: \(e)")
        }
    }
}

/// The service group itself failed (not one of its services, whose errors pass through unchanged).
public struct SidecarError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { "\(message) — report this with the log: every service's own error is shown as it is" }
}

extension SidecarError: LogbookError {
    public var errorCode: String { "serviceGroup" }
    public var errorFix: String? { nil }
}
