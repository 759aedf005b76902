/// Insert (`I`): [Int32 xid inside a stream], Int32 relation OID, Byte1 `N`, TupleData new row.
public struct InsertMessage: Sendable, Hashable {
    public var relation: UInt32
    public var new: TupleData

    public static func decode(_ r: inout WireReader) throws -> InsertMessage {
        let rel = try r.readUInt32("Insert relation OID")
        let tagOffset = r.offset
        let tag = try r.readUInt8("Insert tuple tag")
        guard tag == UInt8(ascii: "N") else { throw WireDecodeError("Insert expects tuple tag 'N'", offset: tagOffset, byte: tag) }
        let m = InsertMessage(relation: rel, new: try TupleData.decode(&r))
        try r.expectEnd("Insert")
        return m
    }
}
