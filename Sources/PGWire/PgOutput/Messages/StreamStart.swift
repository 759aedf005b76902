/// Stream Start (`S`, protocol 2+): Int32 xid of the streamed transaction, Int8 1 if this is its
/// first segment.
public struct StreamStartMessage: Sendable, Equatable {
    public var xid: UInt32
    public var firstSegment: Bool

    public static func decode(_ r: inout WireReader) throws -> StreamStartMessage {
        let m = StreamStartMessage(xid: try r.readUInt32("Stream Start xid"), firstSegment: try r.readUInt8("Stream Start flag") == 1)
        try r.expectEnd("Stream Start")
        return m
    }
}
