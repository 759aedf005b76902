/// Stream Abort (`A`, protocol 2+): Int32 xid of the transaction, Int32 xid of the aborted
/// subtransaction (equal to the first when the whole transaction aborts). Under
/// `streaming = parallel` (protocol 4) an abort LSN and timestamp follow.
public struct StreamAbortMessage: Sendable, Equatable {
    public var xid: UInt32
    public var subxid: UInt32
    public var abortLSN: LSN?
    public var abortTime: PGTimestamp?

    public static func decode(_ r: inout WireReader) throws -> StreamAbortMessage {
        var m = StreamAbortMessage(xid: try r.readUInt32("Stream Abort xid"), subxid: try r.readUInt32("Stream Abort subxid"))
        if r.remaining == 16 {
            m.abortLSN = try r.readLSN("Stream Abort LSN")
            m.abortTime = try r.readTimestamp("Stream Abort time")
        }
        try r.expectEnd("Stream Abort")
        return m
    }
}
