import Archive
import PGWire

/// Counters of one capture run.
public struct CaptureStats: Sendable {
    public var transactions = 0
    public var changes = 0
    public var skippedDuplicates = 0
    /// Transactions the server streamed before their commit (spooled, then archived).
    public var streamedCommits = 0
    /// Streamed transactions that aborted (spool dropped, nothing archived).
    public var streamedAborts = 0
    /// Changes of streamed transactions written at their commit as they were prepared while they
    /// streamed (compressed frames copied into the segment), not routed again.
    public var preparedChanges = 0
    public var reconnects = 0
    public var flushes = 0
    public var lastConfirmed: LSN = .zero
    public var lastCommitTime: PGTimestamp?
    /// The archive's last durable watermark.
    public var lastWatermark: Watermark?
    /// Base copies taken by this run: table → how many connections read it at once.
    public var baseCopyLanes: [String: Int] = [:]
}
