/// Origin (`O`): Int64 LSN of the commit on the origin server, String origin name.
public struct OriginMessage: Sendable, Equatable {
    public var commitLSN: LSN
    public var name: String

    public static func decode(_ r: inout WireReader) throws -> OriginMessage {
        let m = OriginMessage(commitLSN: try r.readLSN("Origin LSN"), name: try r.readCString("Origin name"))
        try r.expectEnd("Origin")
        return m
    }
}
