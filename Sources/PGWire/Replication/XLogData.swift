/// XLogData (`w`): one pgoutput message with the WAL positions the server sent it at.
///
/// Byte1('w'), Int64 start of the WAL data, Int64 current end of WAL on the server,
/// Int64 send time (µs since 2000-01-01), then the payload.
public struct XLogData: Sendable {
    public var walStart: LSN
    public var walEnd: LSN
    public var sendTime: PGTimestamp
    /// Offset of the payload inside the CopyData buffer the message was decoded from.
    public var payloadOffset: Int

    public static func decode(_ reader: inout WireReader) throws -> XLogData {
        let start = try reader.readLSN("XLogData start")
        let end = try reader.readLSN("XLogData walEnd")
        let time = try reader.readTimestamp("XLogData sendTime")
        return XLogData(walStart: start, walEnd: end, sendTime: time, payloadOffset: reader.offset)
    }
}
