/// Begin (`B`): Int64 final LSN of the transaction (its commit record), Int64 commit timestamp,
/// Int32 xid.
public struct BeginMessage: Sendable, Equatable {
    public var finalLSN: LSN
    public var commitTime: PGTimestamp
    public var xid: UInt32

    public init(finalLSN: LSN, commitTime: PGTimestamp, xid: UInt32) {
        self.finalLSN = finalLSN; self.commitTime = commitTime; self.xid = xid
    }

    public static func decode(_ r: inout WireReader) throws -> BeginMessage {
        let m = BeginMessage(finalLSN: try r.readLSN("Begin final LSN"), commitTime: try r.readTimestamp("Begin commit time"),
                             xid: try r.readUInt32("Begin xid"))
        try r.expectEnd("Begin")
        return m
    }
}
