import PGWire

/// The changes of a transaction that is not yet committed, already in the form a segment stores
/// them: a records payload (position records and changes), compressed. A streamed transaction's
/// spool keeps these, so that at its commit they reach the segment as they are: not decoded,
/// re-encoded or recompressed (`SegmentWriter.appendPrepared`).
public struct PreparedFrame: Sendable, Equatable {
    /// The zstd-compressed records payload.
    public var payload: [UInt8]
    public var rawLength: Int
    /// SHA-256 of the raw payload, taken before it was compressed (for the segment's content hash).
    public var rawDigest: [UInt8]
    public var changes: Int
    /// Changes per relation (OID), in the order each relation first appears.
    public var relations: [(oid: UInt32, changes: Int)]
    /// The key hashes of the changes, per table (for the segment's key index).
    public var keys: [(table: String, hashes: [UInt64])]
    /// Tables any key of which the changes may touch (a keyless table).
    public var everyKey: [String]

    public init(payload: [UInt8], rawLength: Int, rawDigest: [UInt8], changes: Int, relations: [(oid: UInt32, changes: Int)],
                keys: [(table: String, hashes: [UInt64])], everyKey: [String]) {
        self.payload = payload
        self.rawLength = rawLength
        self.rawDigest = rawDigest
        self.changes = changes
        self.relations = relations
        self.keys = keys
        self.everyKey = everyKey
    }

    public static func == (a: PreparedFrame, b: PreparedFrame) -> Bool {
        a.payload == b.payload && a.rawLength == b.rawLength && a.rawDigest == b.rawDigest && a.changes == b.changes
            && a.relations.elementsEqual(b.relations) { $0.oid == $1.oid && $0.changes == $1.changes }
            && a.keys.elementsEqual(b.keys) { $0.table == $1.table && $0.hashes == $1.hashes }
            && a.everyKey == b.everyKey
    }

    /// `u32 raw length, 32 bytes raw digest, u32 changes, u32 n + n × (u32 oid, u32 changes), u32 n + n × (u32 name
    /// length, name, u32 k, k × u64 hash), u32 n + n × (u32 name length, name), u32 payload length, payload`.
    public func encode() -> [UInt8] {
        var w = WireWriter(capacity: payload.count + 64 + 8 * changes)
        w.write(UInt32(rawLength)); w.bytes.append(contentsOf: rawDigest); w.write(UInt32(changes))
        w.write(UInt32(relations.count))
        for r in relations { w.write(r.oid); w.write(UInt32(r.changes)) }
        w.write(UInt32(keys.count))
        for k in keys {
            let name = Array(k.table.utf8)
            w.write(UInt32(name.count)); w.bytes.append(contentsOf: name)
            w.write(UInt32(k.hashes.count))
            for h in k.hashes { w.write(h) }
        }
        w.write(UInt32(everyKey.count))
        for t in everyKey { let name = Array(t.utf8); w.write(UInt32(name.count)); w.bytes.append(contentsOf: name) }
        w.write(UInt32(payload.count)); w.bytes.append(contentsOf: payload)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> PreparedFrame {
        var r = WireReader(bytes)
        let rawLength = Int(try r.readUInt32("raw length"))
        let rawDigest = try r.readBytes(32, "raw digest")
        let changes = Int(try r.readUInt32("changes"))
        var relations: [(oid: UInt32, changes: Int)] = []
        for _ in 0..<Int(try r.readUInt32("relations")) { relations.append((try r.readUInt32("relation OID"), Int(try r.readUInt32("relation changes")))) }
        func name() throws -> String {
            let n = Int(try r.readUInt32("name length"))
            return String(decoding: try r.readBytes(n, "table name"), as: UTF8.self)
        }
        var keys: [(table: String, hashes: [UInt64])] = []
        for _ in 0..<Int(try r.readUInt32("key tables")) {
            let table = try name()
            let n = Int(try r.readUInt32("keys"))
            guard n <= r.remaining / 8 else { throw WireDecodeError("more keys than bytes", offset: r.offset) }
            var hashes: [UInt64] = []
            hashes.reserveCapacity(n)
            for _ in 0..<n { hashes.append(try r.readUInt64("key hash")) }
            keys.append((table, hashes))
        }
        var everyKey: [String] = []
        for _ in 0..<Int(try r.readUInt32("every-key tables")) { everyKey.append(try name()) }
        let payload = try r.readBytes(Int(try r.readUInt32("payload length")), "payload")
        guard r.remaining == 0 else { throw WireDecodeError("bytes after a prepared frame", offset: r.offset) }
        return PreparedFrame(payload: payload, rawLength: rawLength, rawDigest: rawDigest, changes: changes, relations: relations, keys: keys, everyKey: everyKey)
    }
}

/// Collects changes into a `PreparedFrame`, writing their positions as `SegmentWriter` does (an
/// absolute `@` first, then `+` distances).
public struct PreparedFrameBuilder {
    var buffer = RecordBuffer()
    var lastPosition: LSN?
    public private(set) var changes = 0
    var relationOrder: [UInt32] = []
    var relationChanges: [UInt32: Int] = [:]
    var keyOrder: [String] = []
    var keys: [String: [UInt64]] = [:]
    var everyKey: [String] = []

    public init() {}

    public var isEmpty: Bool { buffer.isEmpty }
    /// Bytes of records collected (before compression).
    public var rawBytes: Int { buffer.bytes.count }

    /// Appends one change (a normalized Insert, Update or Delete of `relation`), after its position.
    public mutating func append(change raw: [UInt8], relation: UInt32, lsn: LSN?) {
        buffer.appendPosition(lsn, after: &lastPosition)
        buffer.append(raw)
        changes += 1
        if let n = relationChanges[relation] { relationChanges[relation] = n + 1 } else { relationChanges[relation] = 1; relationOrder.append(relation) }
    }

    public mutating func indexKey(table: String, hash: UInt64) {
        if keys[table] == nil { keyOrder.append(table) }
        keys[table, default: []].append(hash)
    }

    public mutating func indexEveryKey(table: String) { if !everyKey.contains(table) { everyKey.append(table) } }

    /// The frame, compressed with `zstd`; the builder starts over.
    public mutating func finish(zstd: Zstd) throws -> PreparedFrame {
        let payload = try buffer.bytes.withUnsafeBytes { try zstd.compress($0) }
        let frame = PreparedFrame(payload: payload, rawLength: buffer.bytes.count, rawDigest: ContentDigest.rawDigest(buffer.bytes), changes: changes,
                                  relations: relationOrder.map { ($0, relationChanges[$0]!) },
                                  keys: keyOrder.map { ($0, keys[$0]!) }, everyKey: everyKey)
        self = PreparedFrameBuilder(reusing: buffer)
        return frame
    }

    /// The records collected, each position as an absolute `@` record, for a frame too small to
    /// keep as one; the builder starts over.
    public mutating func takeRecords() throws -> [[UInt8]] {
        let out = try recordsWithAbsolutePositions(buffer.bytes)
        self = PreparedFrameBuilder(reusing: buffer)
        return out
    }

    init(reusing old: RecordBuffer) {
        buffer = old
        buffer.removeAll()
    }
}

extension RecordBuffer {
    /// Appends a change's position: as its distance from `last` (the frame's previous position)
    /// where positions grow, else absolute; `last` becomes `lsn`. Nothing for a change without one.
    public mutating func appendPosition(_ lsn: LSN?, after last: inout LSN?) {
        guard let lsn else { return }
        if let l = last, lsn >= l { append(ChangePosition.deltaRecord(lsn, after: l)) } else { append(ChangePosition.record(lsn)) }
        last = lsn
    }
}

extension PreparedFrame {
    /// The frame's records, each position as an absolute `@` record: what its changes were before
    /// they were prepared, to be routed anew.
    public func records(zstd: Zstd) throws -> [[UInt8]] {
        let raw = try payload.withUnsafeBytes { try zstd.decompress($0, rawLength: rawLength) }
        return try recordsWithAbsolutePositions(raw)
    }
}

/// The records of a frame payload, with each `+` position turned into the absolute `@` it stands
/// for (so that each record reads on its own, outside its frame).
func recordsWithAbsolutePositions(_ payload: [UInt8]) throws -> [[UInt8]] {
    var out: [[UInt8]] = []
    var positions = ChangePositionReader()
    for range in try recordRanges(payload) {
        let rec = payload[range]
        if LogbookRecordTag.isChangePosition(rec), let lsn = try positions.read(rec, frameOffset: 0) {
            out.append(ChangePosition.record(lsn))
        } else {
            out.append(Array(rec))
        }
    }
    return out
}
