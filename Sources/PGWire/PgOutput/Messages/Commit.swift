/// Commit (`C`): Int8 flags (unused, 0), Int64 commit LSN, Int64 end LSN of the transaction,
/// Int64 commit timestamp. The end LSN is what a client confirms once the transaction is durable.
public struct CommitMessage: Sendable, Equatable {
    public var flags: UInt8
    public var commitLSN: LSN
    public var endLSN: LSN
    public var commitTime: PGTimestamp

    public init(flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTime: PGTimestamp) {
        self.flags = flags; self.commitLSN = commitLSN; self.endLSN = endLSN; self.commitTime = commitTime
    }

    public static func decode(_ r: inout WireReader) throws -> CommitMessage {
        let m = CommitMessage(flags: try r.readUInt8("Commit flags"), commitLSN: try r.readLSN("Commit LSN"),
                              endLSN: try r.readLSN("Commit end LSN"), commitTime: try r.readTimestamp("Commit time"))
        try r.expectEnd("Commit")
        return m
    }
}
