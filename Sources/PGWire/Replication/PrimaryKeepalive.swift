/// Primary keepalive (`k`): Int64 current end of WAL, Int64 send time, Byte1 1 if the server
/// wants a reply at once (it disconnects after `wal_sender_timeout` without one).
public struct PrimaryKeepalive: Sendable, Equatable {
    public var walEnd: LSN
    public var sendTime: PGTimestamp
    public var replyRequested: Bool

    public static func decode(_ reader: inout WireReader) throws -> PrimaryKeepalive {
        let end = try reader.readLSN("keepalive walEnd")
        let time = try reader.readTimestamp("keepalive sendTime")
        let reply = try reader.readUInt8("keepalive reply flag")
        guard reply <= 1 else { throw WireDecodeError("keepalive reply flag is not 0 or 1", offset: reader.offset - 1, byte: reply) }
        try reader.expectEnd("keepalive")
        return PrimaryKeepalive(walEnd: end, sendTime: time, replyRequested: reply == 1)
    }
}
