/// Stream Commit (`c`, protocol 2+): Int32 xid, Int8 flags (0), Int64 commit LSN, Int64 end LSN,
/// Int64 commit timestamp.
public struct StreamCommitMessage: Sendable, Equatable {
    public var xid: UInt32
    public var flags: UInt8
    public var commitLSN: LSN
    public var endLSN: LSN
    public var commitTime: PGTimestamp

    public static func decode(_ r: inout WireReader) throws -> StreamCommitMessage {
        let m = StreamCommitMessage(xid: try r.readUInt32("Stream Commit xid"), flags: try r.readUInt8("Stream Commit flags"),
                                    commitLSN: try r.readLSN("Stream Commit LSN"), endLSN: try r.readLSN("Stream Commit end LSN"),
                                    commitTime: try r.readTimestamp("Stream Commit time"))
        try r.expectEnd("Stream Commit")
        return m
    }
}
