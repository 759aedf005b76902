import Archive
import Foundation
import Logging
import PGWire
import Replay

/// Runs `Compactor` for `logbook run` once the newest base copies are older than the cadence
/// (weekly by default, as the seed's full backups), so that replay never folds more than one
/// cadence of changes. Checked whenever a segment is sealed, on the `MaintenanceWorker`'s thread.
public struct CompactionScheduler: Sendable {
    let archive: String
    let key: ArchiveKey?
    let every: TimeInterval
    let logger: Logger

    public init(archive: String, key: ArchiveKey? = nil, every: TimeInterval, logger: Logger) {
        self.archive = archive
        self.key = key
        self.every = every
        self.logger = logger
    }

    /// Whether the oldest "newest base copy" of any table is older than the cadence.
    public func isDue(now: Date = Date()) -> Bool {
        guard every > 0, let headers = try? BaseCopyReader.headers(in: ArchiveDirectory(archive, key: key)), !headers.isEmpty else { return false }
        var newest: [String: PGTimestamp] = [:]
        for (_, h) in headers { newest[h.table] = max(newest[h.table] ?? h.snapshotTime, h.snapshotTime) }
        guard let oldest = newest.values.min() else { return false }
        return now.timeIntervalSince(oldest.date) >= every
    }

    /// Compacts when due (blocking). Failures are logged: the archive stays as it was.
    public func runIfDue() {
        guard isDue() else { return }
        do {
            let done = try Compactor.compact(archive: archive, key: key, logger: logger)
            logger.info("scheduled compaction finished", metadata: ["tables": "\(done.map(\.table).joined(separator: ","))"])
        } catch {
            logger.error("scheduled compaction failed", metadata: ["error": "\(error)"])
        }
    }
}
