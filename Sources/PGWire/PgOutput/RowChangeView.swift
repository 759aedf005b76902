/// An Insert, Update or Delete (protocol-1 layout, no stream xid) checked once and then read in
/// place: the values are never copied into `TupleValue`s. For readers that turn values straight
/// into another form, such as replay's COPY lines.
public struct RowChangeView {
    public enum Kind: Sendable { case insert, update, delete }
    public let kind: Kind
    public let relation: UInt32
    public let bytes: [UInt8]
    /// `K` (old key) or `O` (old row, REPLICA IDENTITY FULL), when the message carries an old tuple.
    public let oldKind: UpdateMessage.OldKind?
    /// Offsets of the old and new tuples' column counts.
    public let oldTuple: Int?
    public let newTuple: Int?

    /// Checks the whole message's structure (every length within the record), so that reading
    /// its columns afterwards cannot run past the end. Throws with the offending offset and byte.
    public init(_ bytes: [UInt8]) throws {
        var r = WireReader(bytes)
        let tagOffset = r.offset
        let tag = try r.readUInt8("pgoutput tag")
        self.bytes = bytes
        relation = try r.readUInt32("relation OID")
        var old: (UpdateMessage.OldKind, Int)?
        var new: Int?
        switch tag {
        case UInt8(ascii: "I"):
            kind = .insert
            let t = r.offset
            guard try r.readUInt8("Insert tuple tag") == UInt8(ascii: "N") else {
                throw WireDecodeError("Insert expects tuple tag 'N'", offset: t, byte: bytes[t])
            }
            new = r.offset
            try TupleData.skip(&r)
        case UInt8(ascii: "U"):
            kind = .update
            var t = r.offset
            var b = try r.readUInt8("Update tuple tag")
            if let k = UpdateMessage.OldKind(rawValue: b) {
                old = (k, r.offset)
                try TupleData.skip(&r)
                t = r.offset
                b = try r.readUInt8("Update new tuple tag")
            }
            guard b == UInt8(ascii: "N") else { throw WireDecodeError("Update expects tuple tag 'K', 'O' or 'N'", offset: t, byte: b) }
            new = r.offset
            try TupleData.skip(&r)
        case UInt8(ascii: "D"):
            kind = .delete
            let t = r.offset
            let b = try r.readUInt8("Delete tuple tag")
            guard let k = UpdateMessage.OldKind(rawValue: b) else {
                throw WireDecodeError("Delete expects tuple tag 'K' or 'O'", offset: t, byte: b)
            }
            old = (k, r.offset)
            try TupleData.skip(&r)
        default:
            throw WireDecodeError("not an Insert, Update or Delete", offset: tagOffset, byte: tag)
        }
        try r.expectEnd("row change")
        oldKind = old?.0
        oldTuple = old?.1
        newTuple = new
    }

    /// Calls `body` with each column of the tuple at `offset`: its index, its kind (`n`, `u`, `t`
    /// or `b`) and the byte range of its value (empty for `n` and `u`).
    @inline(__always)
    public func forEachColumn(of offset: Int, _ body: (Int, UInt8, Range<Int>) throws -> Void) rethrows {
        let count = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        var p = offset + 2
        for i in 0..<count {
            let kind = bytes[p]
            p += 1
            if kind == UInt8(ascii: "t") || kind == UInt8(ascii: "b") {
                let len = Int(bytes[p]) << 24 | Int(bytes[p + 1]) << 16 | Int(bytes[p + 2]) << 8 | Int(bytes[p + 3])
                p += 4
                try body(i, kind, p..<p + len)
                p += len
            } else {
                try body(i, kind, p..<p)
            }
        }
    }

    /// Whether the tuple at `offset` holds an unchanged-TOAST (`u`) value.
    public func hasUnchanged(_ offset: Int) -> Bool {
        var found = false
        forEachColumn(of: offset) { _, kind, _ in if kind == UInt8(ascii: "u") { found = true } }
        return found
    }
}

extension RowChangeView {
    /// Column `index` of the tuple at `offset`: its kind and value range; nil past the last column.
    public func column(_ index: Int, of offset: Int) -> (kind: UInt8, value: Range<Int>)? {
        let count = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        guard index < count else { return nil }
        var p = offset + 2
        var i = 0
        while true {
            let kind = bytes[p]
            p += 1
            var len = 0
            if kind == UInt8(ascii: "t") || kind == UInt8(ascii: "b") {
                len = Int(bytes[p]) << 24 | Int(bytes[p + 1]) << 16 | Int(bytes[p + 2]) << 8 | Int(bytes[p + 3])
                p += 4
            }
            if i == index { return (kind, p..<p + len) }
            p += len
            i += 1
        }
    }
}
