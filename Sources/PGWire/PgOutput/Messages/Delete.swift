/// Delete (`D`): [Int32 xid inside a stream], Int32 relation OID, Byte1 `K` + old key or
/// Byte1 `O` + old row (REPLICA IDENTITY FULL).
public struct DeleteMessage: Sendable, Hashable {
    public var relation: UInt32
    public var oldKind: UpdateMessage.OldKind
    public var old: TupleData

    public static func decode(_ r: inout WireReader) throws -> DeleteMessage {
        let rel = try r.readUInt32("Delete relation OID")
        let tagOffset = r.offset
        let tag = try r.readUInt8("Delete tuple tag")
        guard let kind = UpdateMessage.OldKind(rawValue: tag) else {
            throw WireDecodeError("Delete expects tuple tag 'K' or 'O'", offset: tagOffset, byte: tag)
        }
        let m = DeleteMessage(relation: rel, oldKind: kind, old: try TupleData.decode(&r))
        try r.expectEnd("Delete")
        return m
    }
}
