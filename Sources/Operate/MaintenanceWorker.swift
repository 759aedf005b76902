import Foundation
import Logging

/// Compaction, retention and recompression for `logbook run`, one job at a time on a thread of its own: the
/// capture says a segment was sealed (`segmentSealed`, never blocks), the worker runs what is due.
/// `finish()` lets the running job end and joins the thread, so nothing is left behind at shutdown.
public final class MaintenanceWorker: @unchecked Sendable {
    let compaction: CompactionScheduler?
    let retention: RetentionScheduler?
    let recompression: RecompressionScheduler?
    private let condition = NSCondition()
    private var pending = false
    private var stopping = false
    private var finished = false
    private var thread: Thread?

    public init(compaction: CompactionScheduler?, retention: RetentionScheduler?, recompression: RecompressionScheduler? = nil) {
        self.compaction = compaction
        self.retention = retention
        self.recompression = recompression
    }

    /// Starts the worker's thread.
    public func start() {
        let t = Thread { [self] in loop() }
        t.name = "logbook-maintenance"
        thread = t
        t.start()
    }

    /// A segment was sealed: check what is due (coalesced with any check already waiting).
    public func segmentSealed() {
        condition.lock()
        pending = true
        condition.signal()
        condition.unlock()
    }

    /// Lets the job in progress end, runs none after it, and waits for the thread to exit.
    public func finish() {
        recompression?.stop()
        condition.lock()
        stopping = true
        condition.signal()
        while thread != nil && !finished { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while !pending && !stopping { condition.wait() }
            if stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            pending = false
            condition.unlock()
            compaction?.runIfDue()
            retention?.runIfDue()
            recompression?.runIfDue()
        }
    }
}
