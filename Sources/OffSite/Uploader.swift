import Archive
import CoreMetrics
import Foundation
import Logging
import Operate

/// Copies every sealed file of the archive (segments, base copies, `archive.json`, `gaps.json`) to
/// S3-compatible storage, each with its SHA-256 for the store to check, and records it in
/// `offsite/s3.json` only once the store confirmed it. With `localKeep`, local copies older than
/// that window are then removed, the way `logbook prune` would, but only if uploaded.
public final class Uploader: @unchecked Sendable {
    public struct Options: Sendable {
        /// Remove local copies no point of this window (seconds) needs, once uploaded. nil: keep all.
        public var localKeep: Double?
        /// How often to look for newly sealed files when following.
        public var pollSeconds: Double = 2
        public init(localKeep: Double? = nil) { self.localKeep = localKeep }
    }

    let archive: ArchiveDirectory
    let client: S3Client
    let options: Options
    let logger: Logger
    var ledger: UploadLedger
    /// Called after each confirmed upload (tests interrupt here).
    public var afterEachUpload: ((String) throws -> Void)?

    let pendingGauge = Gauge(label: "logbook_upload_pending_files")
    let uploadedBytes = Counter(label: "logbook_uploaded_bytes_total")
    let uploadErrors = Counter(label: "logbook_upload_errors_total")
    let uploadTime = CoreMetrics.Timer(label: "logbook_upload_duration_seconds")

    public init(archive path: String, key: ArchiveKey? = nil, s3: S3Config, options: Options = Options(), logger: Logger) {
        archive = ArchiveDirectory(path, key: key)
        client = S3Client(config: s3)
        self.options = options
        self.logger = logger
        let location = s3.location.description
        let existing = UploadLedger.read(archive)
        ledger = existing?.location == location ? existing! : UploadLedger(location: location)
    }

    /// Files (relative paths) that are sealed and not yet confirmed with their current content.
    public func pending() throws -> [(relative: String, path: String, size: Int)] {
        // The archiver creates the archive: nothing to send before it did.
        guard FileManager.default.fileExists(atPath: archive.identityPath) else { return [] }
        var files: [String] = [archive.identityPath]
        files += try archive.baseFiles()
        files += try archive.sealedSegments()
        if FileManager.default.fileExists(atPath: archive.gapsPath) { files.append(archive.gapsPath) }
        var out: [(String, String, Int)] = []
        for path in files {
            let relative = String(path.dropFirst(archive.root.count + 1))
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            if let e = ledger.objects[relative] {
                // Sealed files change only when recompressed (a new size, the same content and chain
                // hash): sent again then. The small metadata files may change, and are sent again then.
                let mutable = !(relative.hasPrefix("segments/") || relative.hasPrefix("base/"))
                if !mutable && (e.size == size || relative.hasPrefix("base/")) { continue }
                if e.size == size, try fileSHA256(path, length: size) == e.sha256 { continue }
            }
            out.append((relative, path, size))
        }
        return out
    }

    /// Uploads what is pending, retrying a store that is unreachable or failing up to `attempts`
    /// times with backoff (1 s, 2 s, 4 s … up to 30 s). Returns how many files were uploaded.
    @discardableResult
    public func uploadPending(attempts: Int) throws -> Int {
        var attempt = 0
        while true {
            do {
                return try uploadPending()
            } catch let e as S3Error where e.isTransient && attempt + 1 < attempts {
                attempt += 1
                let delay = min(30.0, pow(2.0, Double(attempt - 1)))
                logger.warning("upload failed, retrying", metadata: ["attempt": "\(attempt)", "in_seconds": "\(delay)", "error": "\(e)"])
                Thread.sleep(forTimeInterval: delay)
            }
        }
    }

    /// One pass: uploads what is pending, oldest first. Returns how many files were uploaded.
    @discardableResult
    public func uploadPending() throws -> Int {
        let todo = try pending()
        pendingGauge.record(Double(todo.count))
        var done = 0
        for (relative, path, _) in todo {
            let (sha, md5, size) = try fileDigests(path)
            let key = client.config.location.key(relative)
            let began = DispatchTime.now().uptimeNanoseconds
            let client = self.client
            try inflight.run { try await client.put(key: key, file: path, sha256: sha, md5: md5, size: size) }
            uploadTime.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - began))
            ledger.objects[relative] = UploadLedger.Entry(sha256: sha, size: size, uploadedAt: ISO8601DateFormatter().string(from: Date()))
            try ledger.write(archive)
            uploadedBytes.increment(by: Int64(size))
            done += 1
            pendingGauge.record(Double(todo.count - done))
            logger.info("uploaded", metadata: ["file": "\(relative)", "bytes": "\(size)", "to": "\(client.config.location)"])
            try afterEachUpload?(relative)
        }
        if options.localKeep != nil { try removeUploadedLocalCopies() }
        return done
    }

    /// `--local-keep`: what retention with that window would delete, restricted to what the store holds.
    func removeUploadedLocalCopies() throws {
        guard let keep = options.localKeep else { return }
        let plan = try Retention.plan(archive: archive.root, key: archive.key, keep: keep)
        func uploaded(_ path: String) -> Bool {
            ledger.objects[String(path.dropFirst(archive.root.count + 1))] != nil
        }
        // Segments only from the front, and only while each one is in the store.
        var segments: [(path: String, why: String)] = []
        for s in plan.segments { if uploaded(s.path) { segments.append(s) } else { break } }
        let bases = plan.baseCopies.filter { uploaded($0.path) }
        guard !segments.isEmpty || !bases.isEmpty else { return }
        try Retention.apply(Retention.Plan(windowStart: plan.windowStart, floor: plan.floor, segments: segments, baseCopies: bases),
                            archive: archive.root)
        logger.info("removed local copies kept in the store", metadata: ["segments": "\(segments.count)", "base_copies": "\(bases.count)"])
    }

    /// The request in flight, cancelled by `requestStop` once its grace has passed.
    let inflight = CancellableRequests()

    /// Asks a following uploader (`run`) to end: the upload in progress and a last pass may take
    /// `grace` seconds; then the request in flight is cancelled. Nothing is lost: a file is
    /// recorded as uploaded only once the store confirmed it, so one cut short stays pending and
    /// is sent at the next start.
    public func requestStop(grace: Double) {
        let inflight = self.inflight
        DispatchQueue.global().asyncAfter(deadline: .now() + grace) { inflight.cancelAll() }
    }

    /// Follows the archive until `shouldStop`: uploads as files are sealed, retrying failures with
    /// backoff (one log line per attempt); a last pass runs after the stop (cut short by `requestStop`).
    /// `pause(seconds)` waits between passes and returns early when there is news (the archive moved,
    /// the capture stopped): the sidecar passes `DurableMark.waitForChange`.
    public func run(shouldStop: @Sendable () -> Bool, pause: (Double) -> Void) {
        var attempt = 0
        while true {
            let stopping = shouldStop()
            if inflight.isCancelled {
                logger.notice("upload stopped at shutdown; what was not confirmed by the store is sent at the next start",
                              metadata: ["pending": "\((try? pending().count) ?? -1)"])
                return
            }
            do {
                _ = try uploadPending()
                attempt = 0
            } catch {
                attempt += 1
                uploadErrors.increment()
                let delay = min(60.0, pow(2.0, Double(min(attempt, 7) - 1)))
                logger.warning("upload failed, retrying", metadata: ["attempt": "\(attempt)", "in_seconds": "\(delay)", "error": "\(error)"])
                if stopping { return }
                pauseUntil(Date().addingTimeInterval(delay), unless: shouldStop, pause)
                continue
            }
            if stopping { return }
            pause(options.pollSeconds)
        }
    }

    /// A backoff that ends early only when the capture stops (news of new files does not shorten it).
    func pauseUntil(_ end: Date, unless stop: () -> Bool, _ pause: (Double) -> Void) {
        while !stop(), case let left = end.timeIntervalSinceNow, left > 0 { pause(left) }
    }
}
