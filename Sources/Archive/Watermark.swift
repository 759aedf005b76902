import PGWire

/// How far the archive is complete: every transaction of the archived tables whose commit LSN is
/// below `lsn`, and every one the server committed at or before `time`, is in the archive.
///
/// The archiver writes one, in a frame of its own, when nothing is pending (no transaction open or
/// spooled, nothing unflushed) from what the server's keepalives said — its WAL end and its clock —
/// and fsyncs it before it confirms that position to the slot. So a quiet stretch after the last
/// commit is restorable up to the watermark, and never past what is durable.
public struct Watermark: Codable, Sendable, Equatable {
    public var lsn: LSN
    /// The server's clock (µs since 2000-01-01), never this machine's.
    public var time: PGTimestamp
    public init(lsn: LSN, time: PGTimestamp) { self.lsn = lsn; self.time = time }
}

/// The end of what an archive (or a view of it) can restore: the later of the last commit and
/// the last watermark, by LSN and by time.
public struct ArchiveEnd: Sendable, Equatable, CustomStringConvertible {
    /// End LSN and commit time of the last archived commit.
    public var commitEnd: LSN?
    public var commitTime: PGTimestamp?
    public var watermark: Watermark?
    public init(commitEnd: LSN? = nil, commitTime: PGTimestamp? = nil, watermark: Watermark? = nil) {
        self.commitEnd = commitEnd; self.commitTime = commitTime; self.watermark = watermark
    }

    /// Takes the later of each part.
    mutating func merge(commitEnd e: LSN, time t: PGTimestamp) {
        if commitEnd.map({ e > $0 }) ?? true { commitEnd = e; commitTime = t }
    }
    /// A watermark replaces the one held when it is behind in neither part and ahead in one: one
    /// carrying a position alone (a stop, a source without the probe) keeps the last known time
    /// and still moves the end forward, as far as the archiver confirmed.
    mutating func merge(_ w: Watermark) {
        if watermark.map({ w.lsn >= $0.lsn && w.time >= $0.time && w != $0 }) ?? true { watermark = w }
    }

    /// The position every pass of a command stops at: transactions whose commit record ends at or
    /// before it are in, and none after it.
    public var lsn: LSN? { Self.later(commitEnd, watermark?.lsn) }
    /// The latest server time up to which the archive is known complete.
    public var time: PGTimestamp? { Self.later(commitTime, watermark?.time) }

    static func later<T: Comparable>(_ a: T?, _ b: T?) -> T? {
        guard let a else { return b }
        guard let b else { return a }
        return max(a, b)
    }

    public var description: String {
        guard let lsn, let time else { return "nothing archived yet" }
        return "\(lsn), \(time)"
    }
}
