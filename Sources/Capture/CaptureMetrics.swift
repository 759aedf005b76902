import Archive
import CoreMetrics
import Foundation
import PGWire
import Synchronization

/// What `logbook run` records through swift-metrics (names and meaning: docs/metrics.md).
/// Without a bootstrapped backend every call is a no-op.
final class CaptureMetrics {
    private var changesByTable: [String: Counter] = [:]
    private var transactionsByTable: [String: Counter] = [:]
    /// Changes per relation in the transaction being written; counted once it commits.
    private var pending: [UInt32: Int] = [:]

    let transactions = Counter(label: "logbook_transactions_archived_total")
    let bytesWritten = Counter(label: "logbook_archive_bytes_written_total")
    let segmentsSealed = Counter(label: "logbook_segments_sealed_total")
    let reconnects = Counter(label: "logbook_reconnects_total")
    let fsync = CoreMetrics.Timer(label: "logbook_fsync_duration_seconds")
    let lagBytes = Gauge(label: "logbook_slot_lag_bytes")
    let lagSeconds = Gauge(label: "logbook_slot_lag_seconds")
    let lastCommit = Gauge(label: "logbook_last_archived_commit_timestamp_seconds")
    let confirmedLSN = Gauge(label: "logbook_confirmed_lsn")
    let streaming = Gauge(label: "logbook_streaming")

    /// The server's WAL end at some earlier confirm that is not yet confirmed, and when it was seen.
    private var behind: (lsn: LSN, since: Date)?

    func change(_ relation: UInt32, count: Int = 1) { pending[relation, default: 0] += count }
    func abortTransaction() { pending.removeAll(keepingCapacity: true) }

    func commit(tableName: (UInt32) -> String?, commitTime: PGTimestamp) {
        transactions.increment()
        for (relation, n) in pending {
            let table = tableName(relation) ?? "oid \(relation)"
            counter(&changesByTable, "logbook_changes_archived_total", table).increment(by: Int64(n))
            counter(&transactionsByTable, "logbook_table_transactions_archived_total", table).increment()
        }
        pending.removeAll(keepingCapacity: true)
        lastCommit.record(commitTime.date.timeIntervalSince1970)
    }

    /// After each confirm: lag in bytes behind the server's WAL end, and the age of the oldest
    /// server position seen at a confirm that is still not confirmed (0 once caught up).
    func confirmed(_ lsn: LSN, serverEnd: LSN, now: Date = Date()) {
        confirmedLSN.record(Double(lsn.rawValue))
        lagBytes.record(Double(serverEnd > lsn ? serverEnd.rawValue - lsn.rawValue : 0))
        if let b = behind, lsn >= b.lsn { behind = nil }
        lagSeconds.record(behind.map { now.timeIntervalSince($0.since) } ?? 0)
        if behind == nil && serverEnd > lsn { behind = (serverEnd, now) }
    }

    func error(_ code: String) {
        Counter(label: "logbook_errors_total", dimensions: [("code", code)]).increment()
    }

    private func counter(_ cache: inout [String: Counter], _ label: String, _ table: String) -> Counter {
        if let c = cache[table] { return c }
        let c = Counter(label: label, dimensions: [("table", table)])
        cache[table] = c
        return c
    }
}

/// The archiver's state for `/healthz`: streaming, and when data was last made durable.
public final class CaptureHealth: Sendable {
    public struct Snapshot: Sendable {
        public var streaming = false
        public var lastDurable: Date?
        public var confirmed: LSN = .zero
        public var lastCommitTime: PGTimestamp?
        /// The archive's last durable watermark.
        public var watermark: Watermark?
    }
    private let state = Mutex(Snapshot())
    public init() {}
    public var snapshot: Snapshot { state.withLock { $0 } }
    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }
}
