import PGWire

/// Counters of one capture run.
public struct CaptureStats: Sendable {
    public var transactions = 0
    public var changes = 0
    public var skippedDuplicates = 0
    public var reconnects = 0
    public var flushes = 0
    public var lastConfirmed: LSN = .zero
    public var lastCommitTime: PGTimestamp?
}
