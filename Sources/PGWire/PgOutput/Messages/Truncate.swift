/// Truncate (`T`): [Int32 xid inside a stream], Int32 number of relations, Int8 flags
/// (1 = CASCADE, 2 = RESTART IDENTITY), then that many Int32 relation OIDs.
public struct TruncateMessage: Sendable, Hashable {
    public var cascade: Bool
    public var restartIdentity: Bool
    public var relations: [UInt32]

    public static func decode(_ r: inout WireReader) throws -> TruncateMessage {
        let count = try r.readInt32("Truncate relation count")
        guard count >= 0 else { throw WireDecodeError("negative Truncate relation count \(count)", offset: r.offset - 4) }
        let flagOffset = r.offset
        let flags = try r.readUInt8("Truncate flags")
        guard flags & ~3 == 0 else { throw WireDecodeError("unknown Truncate flags", offset: flagOffset, byte: flags) }
        var rels: [UInt32] = []
        for _ in 0..<count { rels.append(try r.readUInt32("Truncate relation OID")) }
        try r.expectEnd("Truncate")
        return TruncateMessage(cascade: flags & 1 != 0, restartIdentity: flags & 2 != 0, relations: rels)
    }
}
