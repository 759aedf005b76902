/// Type (`Y`): [Int32 xid inside a stream], Int32 type OID, String namespace, String name.
/// Sent for non-built-in types before a Relation that uses them.
public struct TypeMessage: Sendable, Hashable {
    public var oid: UInt32
    public var namespace: String
    public var name: String

    public static func decode(_ r: inout WireReader) throws -> TypeMessage {
        let m = TypeMessage(oid: try r.readUInt32("Type OID"), namespace: try r.readCString("Type namespace"),
                            name: try r.readCString("Type name"))
        try r.expectEnd("Type")
        return m
    }
}
