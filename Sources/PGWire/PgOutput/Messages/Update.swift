/// Update (`U`): [Int32 xid inside a stream], Int32 relation OID, then optionally Byte1 `K` + old key
/// (the key changed) or Byte1 `O` + old row (REPLICA IDENTITY FULL), then Byte1 `N` + new row.
/// A `u` value in the new row means "unchanged TOASTed value": take it from the previous row state.
public struct UpdateMessage: Sendable, Hashable {
    public enum OldKind: UInt8, Sendable { case key = 0x4B /* K */, row = 0x4F /* O */ }
    public var relation: UInt32
    public var oldKind: OldKind?
    public var old: TupleData?
    public var new: TupleData

    public static func decode(_ r: inout WireReader) throws -> UpdateMessage {
        let rel = try r.readUInt32("Update relation OID")
        var tagOffset = r.offset
        var tag = try r.readUInt8("Update tuple tag")
        var oldKind: OldKind?
        var old: TupleData?
        if tag == UInt8(ascii: "K") || tag == UInt8(ascii: "O") {
            oldKind = OldKind(rawValue: tag)
            old = try TupleData.decode(&r)
            tagOffset = r.offset
            tag = try r.readUInt8("Update new tuple tag")
        }
        guard tag == UInt8(ascii: "N") else { throw WireDecodeError("Update expects tuple tag 'K', 'O' or 'N'", offset: tagOffset, byte: tag) }
        let m = UpdateMessage(relation: rel, oldKind: oldKind, old: old, new: try TupleData.decode(&r))
        try r.expectEnd("Update")
        return m
    }
}
