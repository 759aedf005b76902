/// Message (`M`), from `pg_logical_emit_message`: [Int32 xid inside a stream], Int8 flags
/// (1 = transactional), Int64 LSN, String prefix, Int32 length, content bytes.
/// Non-transactional messages arrive outside Begin/Commit.
public struct LogicalMessage: Sendable, Hashable {
    public var transactional: Bool
    public var lsn: LSN
    public var prefix: String
    public var content: [UInt8]

    public static func decode(_ r: inout WireReader) throws -> LogicalMessage {
        let flagOffset = r.offset
        let flags = try r.readUInt8("Message flags")
        guard flags <= 1 else { throw WireDecodeError("unknown Message flags", offset: flagOffset, byte: flags) }
        let lsn = try r.readLSN("Message LSN")
        let prefix = try r.readCString("Message prefix")
        let len = try r.readInt32("Message length")
        guard len >= 0 else { throw WireDecodeError("negative Message length \(len)", offset: r.offset - 4) }
        let m = LogicalMessage(transactional: flags == 1, lsn: lsn, prefix: prefix, content: try r.readBytes(Int(len), "Message content"))
        try r.expectEnd("Message")
        return m
    }
}
