/// What arrives in a CopyData message of a replication stream.
public enum ReplicationMessage: Sendable {
    case xlogData(XLogData)        // 'w'
    case keepalive(PrimaryKeepalive) // 'k'

    public static func decode(_ bytes: [UInt8]) throws -> ReplicationMessage {
        var reader = WireReader(bytes)
        let tag = try reader.readUInt8("message tag")
        switch tag {
        case UInt8(ascii: "w"): return .xlogData(try XLogData.decode(&reader))
        case UInt8(ascii: "k"): return .keepalive(try PrimaryKeepalive.decode(&reader))
        default: throw WireDecodeError("unknown replication message", offset: 0, byte: tag)
        }
    }
}
