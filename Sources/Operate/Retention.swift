import Archive
import Foundation
import PGWire
import Logging
import Synchronization

/// `logbook prune --archive DIR --keep 180d [--dry-run]`: deletes only what no point inside the
/// window needs. For each table it keeps the newest base copy taken at or before the window's start
/// (and every later one); segments go only when every transaction in them committed before the oldest
/// base copy kept, and only from the front, so the hash chain stays verifiable from the recorded head of
/// the pruned prefix (`pruned.json`).
public enum Retention {
    public struct Plan: Sendable {
        public var windowStart: PGTimestamp
        public var floor: LSN?
        public var segments: [(path: String, why: String)]
        public var baseCopies: [(path: String, why: String)]
        public init(windowStart: PGTimestamp, floor: LSN?, segments: [(path: String, why: String)], baseCopies: [(path: String, why: String)]) {
            self.windowStart = windowStart; self.floor = floor; self.segments = segments; self.baseCopies = baseCopies
        }
    }

    /// What the pruned prefix of the chain ended with: the first kept segment chains to `headSHA256`.
    public struct PrunedRecord: Codable, Sendable {
        public var throughSegment: String
        public var headSHA256: String?
        public var windowStart: PGTimestamp
        public var prunedAt: String
        /// Names of the base copies deleted by pruning (a sealed segment may still list them).
        public var baseCopies: [String]?
    }

    static func recordPath(_ archive: ArchiveDirectory) -> String { archive.root + "/pruned.json" }

    public static func prunedRecord(_ archive: ArchiveDirectory) -> PrunedRecord? {
        guard let d = FileManager.default.contents(atPath: recordPath(archive)) else { return nil }
        return try? JSONDecoder().decode(PrunedRecord.self, from: d)
    }

    public static func plan(archive path: String, key: ArchiveKey? = nil, keep seconds: Double, now: Date = Date()) throws -> Plan {
        let archive = ArchiveDirectory(path, key: key)
        _ = try archive.requireIdentity()
        let windowStart = PGTimestamp(date: now.addingTimeInterval(-seconds))
        let headers = try BaseCopyReader.headers(in: archive)
        var floor: LSN?
        var bases: [(String, String)] = []
        for table in Set(headers.map(\.header.table)).sorted() {
            let mine = headers.filter { $0.header.table == table }.sorted { $0.header.lsn < $1.header.lsn }
            let keep = mine.last { $0.header.snapshotTime <= windowStart } ?? mine.first!
            floor = min(floor ?? keep.header.lsn, keep.header.lsn)
            for old in mine where old.header.lsn < keep.header.lsn {
                bases.append((old.path, "\(table): base copy at \(old.header.lsn) is older than the one kept at \(keep.header.lsn) (\(keep.header.snapshotTime)), which serves the window's start"))
            }
        }
        var segments: [(String, String)] = []
        if let floor {
            let zstd = Zstd()
            for seg in try archive.sealedSegments() {
                let footer = try SegmentScanner.footer(of: seg, key: archive.key, zstd: zstd)
                // A segment without a commit (watermarks only) ends where its watermark is.
                if let last = footer.last {
                    guard last.commitLSN < floor else { break }
                    segments.append((seg, "every transaction in it committed before \(floor), the oldest base copy kept (last commit \(last.commitTime))"))
                } else {
                    guard let w = footer.watermark, w.lsn < floor else { break }
                    segments.append((seg, "it holds no transaction, only the watermark \(w.lsn) (\(w.time)), before \(floor), the oldest base copy kept"))
                }
            }
        }
        return Plan(windowStart: windowStart, floor: floor, segments: segments, baseCopies: bases)
    }

    /// Carries out a plan: records the chain head first, then deletes oldest first.
    public static func apply(_ plan: Plan, archive path: String, key: ArchiveKey? = nil) throws {
        let archive = ArchiveDirectory(path, key: key)
        if !plan.segments.isEmpty || !plan.baseCopies.isEmpty {
            let previous = prunedRecord(archive)
            var through = previous?.throughSegment ?? ""
            var head = previous?.headSHA256
            if let lastSeg = plan.segments.last {
                head = try SegmentScanner.footer(of: lastSeg.path, key: archive.key).chainSHA256
                through = (lastSeg.path as NSString).lastPathComponent
            }
            let bases = (previous?.baseCopies ?? []) + plan.baseCopies.map { ($0.path as NSString).lastPathComponent }
            try archive.writeJSONAtomically(PrunedRecord(throughSegment: through, headSHA256: head, windowStart: plan.windowStart,
                                                         prunedAt: ISO8601DateFormatter().string(from: Date()), baseCopies: bases),
                                            to: recordPath(archive))
        }
        for (p, _) in plan.segments + plan.baseCopies {
            do { try FileManager.default.removeItem(atPath: p) } catch {
                throw ArchiveError(.io, "cannot delete: \(error.localizedDescription)", path: p)
            }
        }
        try FileIO.fsyncDirectory(archive.segmentsPath)
        try FileIO.fsyncDirectory(archive.basePath)
    }
}

/// `logbook run --retention 180d`: prunes in the background, at most once an hour, checked when a
/// segment is sealed. One run at a time; a failure is logged and retried at the next check.
public final class RetentionScheduler: Sendable {
    let archive: String
    let key: ArchiveKey?
    let keep: TimeInterval
    let logger: Logger
    let interval: TimeInterval
    /// Whether a pass runs now, and when the last one began.
    private let state = Mutex((running: false, lastRun: Date.distantPast))

    public init(archive: String, key: ArchiveKey? = nil, keep: TimeInterval, interval: TimeInterval = 3600, logger: Logger) {
        self.archive = archive
        self.key = key
        self.keep = keep
        self.interval = interval
        self.logger = logger
    }

    /// Prunes when the interval has passed since the last pass (blocking). Failures are logged.
    public func runIfDue(now: Date = Date()) {
        let start = state.withLock { s -> Bool in
            if s.running || now.timeIntervalSince(s.lastRun) < interval { return false }
            s = (true, now)
            return true
        }
        guard start else { return }
        do {
            defer { state.withLock { $0.running = false } }
            do {
                let plan = try Retention.plan(archive: archive, key: key, keep: keep)
                guard !plan.segments.isEmpty || !plan.baseCopies.isEmpty else { return }
                try Retention.apply(plan, archive: archive, key: key)
                logger.info("scheduled retention pruned", metadata: ["segments": "\(plan.segments.count)", "base_copies": "\(plan.baseCopies.count)",
                                                                     "window_start": "\(plan.windowStart)"])
            } catch {
                logger.error("scheduled retention failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
