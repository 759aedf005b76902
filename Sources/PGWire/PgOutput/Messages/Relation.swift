/// Relation (`R`): [Int32 xid inside a stream], Int32 relation OID, String namespace (empty for
/// pg_catalog), String relation name, Int8 replica identity (`d`, `n`, `f`, `i`), Int16 column count,
/// then per column Int8 flags (1 = part of the key), String name, Int32 type OID, Int32 typmod.
///
/// Sent before the first change of a relation in a session and after its cache is invalidated,
/// not at the time of the DDL: compare with the cached version to see a change of shape.
public struct RelationMessage: Sendable, Hashable, Codable {
    public struct Column: Sendable, Hashable, Codable {
        public var isKey: Bool
        public var name: String
        public var typeOID: UInt32
        public var typmod: Int32
        public init(isKey: Bool, name: String, typeOID: UInt32, typmod: Int32) {
            self.isKey = isKey; self.name = name; self.typeOID = typeOID; self.typmod = typmod
        }
    }
    public var oid: UInt32
    public var namespace: String
    public var name: String
    public var replicaIdentity: UInt8
    public var columns: [Column]

    public init(oid: UInt32, namespace: String, name: String, replicaIdentity: UInt8, columns: [Column]) {
        self.oid = oid; self.namespace = namespace; self.name = name
        self.replicaIdentity = replicaIdentity; self.columns = columns
    }

    /// `schema.table` as written in `--tables`.
    public var qualifiedName: String { QualifiedName(schema: namespace.isEmpty ? "pg_catalog" : namespace, name: name).description }

    public static func decode(_ r: inout WireReader) throws -> RelationMessage {
        let oid = try r.readUInt32("Relation OID")
        let ns = try r.readCString("Relation namespace")
        let name = try r.readCString("Relation name")
        let ident = try r.readUInt8("Relation replica identity")
        let count = Int(try r.readUInt16("Relation column count"))
        var cols: [Column] = []
        cols.reserveCapacity(count)
        for _ in 0..<count {
            let flagOffset = r.offset
            let flags = try r.readUInt8("Relation column flags")
            guard flags <= 1 else { throw WireDecodeError("unknown Relation column flags", offset: flagOffset, byte: flags) }
            cols.append(Column(isKey: flags == 1, name: try r.readCString("column name"),
                               typeOID: try r.readUInt32("column type OID"), typmod: try r.readInt32("column typmod")))
        }
        try r.expectEnd("Relation")
        return RelationMessage(oid: oid, namespace: ns, name: name, replicaIdentity: ident, columns: cols)
    }

    /// Encodes the message as pgoutput sends it outside a stream (tag included).
    public func encode() -> [UInt8] {
        var w = WireWriter()
        w.write(UInt8(ascii: "R"))
        w.write(oid)
        w.write(cString: namespace)
        w.write(cString: name)
        w.write(replicaIdentity)
        w.write(UInt16(columns.count))
        for c in columns {
            w.write(UInt8(c.isKey ? 1 : 0))
            w.write(cString: c.name)
            w.write(c.typeOID)
            w.write(c.typmod)
        }
        return w.bytes
    }
}
