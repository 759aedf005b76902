import Archive
import Foundation
import Logging
import PGWire
import Replay

/// Runs `Compactor` in the background of `logbook run` once the newest base copies are older than
/// the cadence (weekly by default, as the seed's full backups), so that replay never folds more than
/// one cadence of changes. One compaction at a time; checked whenever a segment is sealed.
public final class CompactionScheduler: @unchecked Sendable {
    let archive: String
    let every: TimeInterval
    let logger: Logger
    private let lock = NSLock()
    private var running = false

    public init(archive: String, every: TimeInterval, logger: Logger) {
        self.archive = archive
        self.every = every
        self.logger = logger
    }

    /// Whether the oldest "newest base copy" of any table is older than the cadence.
    public func isDue(now: Date = Date()) -> Bool {
        guard every > 0, let headers = try? BaseCopyReader.headers(in: ArchiveDirectory(archive)), !headers.isEmpty else { return false }
        var newest: [String: PGTimestamp] = [:]
        for (_, h) in headers { newest[h.table] = max(newest[h.table] ?? h.snapshotTime, h.snapshotTime) }
        guard let oldest = newest.values.min() else { return false }
        return now.timeIntervalSince(oldest.date) >= every
    }

    public func segmentSealed() {
        let start = lock.withLock { () -> Bool in
            if running { return false }
            running = true
            return true
        }
        guard start else { return }
        guard isDue() else { lock.withLock { running = false }; return }
        Thread { [self] in
            defer { lock.withLock { running = false } }
            do {
                let done = try Compactor.compact(archive: archive, logger: logger)
                logger.info("scheduled compaction finished", metadata: ["tables": "\(done.map(\.table).joined(separator: ","))"])
            } catch {
                logger.error("scheduled compaction failed", metadata: ["error": "\(error)"])
            }
        }.start()
    }
}
