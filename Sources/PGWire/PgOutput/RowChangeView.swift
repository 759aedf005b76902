/// An Insert, Update or Delete (protocol-1 layout, no stream xid) checked once and then read in
/// place: the values are never copied into `TupleValue`s. For readers that turn values straight
/// into another form, such as replay's COPY lines.
public struct RowChangeView {
    public enum Kind: Sendable { case insert, update, delete }
    public let kind: Kind
    public let relation: UInt32
    /// The record (often a view into the frame it was read from). Tuple offsets and value ranges
    /// are indices of this slice.
    public let bytes: ArraySlice<UInt8>
    /// `K` (old key) or `O` (old row, REPLICA IDENTITY FULL), when the message carries an old tuple.
    public let oldKind: UpdateMessage.OldKind?
    /// Indices of the old and new tuples' column counts.
    public let oldTuple: Int?
    public let newTuple: Int?

    public init(_ bytes: [UInt8]) throws { try self.init(bytes[...]) }

    /// Checks the whole message's structure (every length within the record), so that reading
    /// its columns afterwards cannot run past the end. Throws with the offending offset (from the
    /// record's start) and byte.
    public init(_ bytes: ArraySlice<UInt8>) throws {
        self.bytes = bytes
        let base = bytes.startIndex, end = bytes.endIndex
        func short(_ what: String, _ at: Int, _ need: Int) -> WireDecodeError {
            WireDecodeError("message ends inside \(what): needs \(need) bytes, has \(end - at)", offset: at - base)
        }
        func skipTuple(_ p: inout Int) throws {
            guard end - p >= 2 else { throw short("TupleData column count", p, 2) }
            let count = Int(bytes[p]) << 8 | Int(bytes[p + 1])
            p += 2
            for _ in 0..<count {
                guard p < end else { throw short("TupleData column kind", p, 1) }
                let kind = bytes[p]
                switch kind {
                case UInt8(ascii: "n"), UInt8(ascii: "u"): p += 1
                case UInt8(ascii: "t"), UInt8(ascii: "b"):
                    guard end - p >= 5 else { throw short("TupleData value length", p + 1, 4) }
                    let len = Int(Int32(bitPattern: UInt32(bytes[p + 1]) << 24 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 8 | UInt32(bytes[p + 4])))
                    guard len >= 0 else { throw WireDecodeError("negative TupleData value length \(len)", offset: p + 1 - base) }
                    p += 5
                    guard end - p >= len else { throw short("TupleData value", p, len) }
                    p += len
                default:
                    throw WireDecodeError("unknown TupleData column kind", offset: p - base, byte: kind)
                }
            }
        }
        func tupleTag(_ p: inout Int, _ what: String) throws -> UInt8 {
            guard p < end else { throw short(what, p, 1) }
            defer { p += 1 }
            return bytes[p]
        }
        var p = base
        guard end - p >= 5 else { throw short(p < end ? "relation OID" : "pgoutput tag", p < end ? p + 1 : p, p < end ? 4 : 1) }
        let tag = bytes[p]
        relation = UInt32(bytes[p + 1]) << 24 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 8 | UInt32(bytes[p + 4])
        p += 5
        var old: (UpdateMessage.OldKind, Int)?
        var new: Int?
        switch tag {
        case UInt8(ascii: "I"):
            kind = .insert
            let t = p
            let b = try tupleTag(&p, "Insert tuple tag")
            guard b == UInt8(ascii: "N") else { throw WireDecodeError("Insert expects tuple tag 'N'", offset: t - base, byte: b) }
            new = p
            try skipTuple(&p)
        case UInt8(ascii: "U"):
            kind = .update
            var t = p
            var b = try tupleTag(&p, "Update tuple tag")
            if let k = UpdateMessage.OldKind(rawValue: b) {
                old = (k, p)
                try skipTuple(&p)
                t = p
                b = try tupleTag(&p, "Update new tuple tag")
            }
            guard b == UInt8(ascii: "N") else { throw WireDecodeError("Update expects tuple tag 'K', 'O' or 'N'", offset: t - base, byte: b) }
            new = p
            try skipTuple(&p)
        case UInt8(ascii: "D"):
            kind = .delete
            let t = p
            let b = try tupleTag(&p, "Delete tuple tag")
            guard let k = UpdateMessage.OldKind(rawValue: b) else {
                throw WireDecodeError("Delete expects tuple tag 'K' or 'O'", offset: t - base, byte: b)
            }
            old = (k, p)
            try skipTuple(&p)
        default:
            throw WireDecodeError("not an Insert, Update or Delete", offset: 0, byte: tag)
        }
        guard p == end else { throw WireDecodeError("row change has bytes left over", offset: p - base, byte: bytes[p]) }
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

    /// `forEachColumn` over the record's bytes in place: `body` gets each column's index, kind and
    /// value as a buffer (empty for `n` and `u`), valid only during the call.
    @inline(__always)
    public func withColumns(of offset: Int, _ body: (Int, UInt8, UnsafeBufferPointer<UInt8>) -> Void) {
        let start = bytes.startIndex
        bytes.withUnsafeBufferPointer { raw in
            guard let b = raw.baseAddress else { return }
            var p = offset - start
            let count = Int(b[p]) << 8 | Int(b[p + 1])
            p += 2
            for i in 0..<count {
                let kind = b[p]
                p += 1
                if kind == UInt8(ascii: "t") || kind == UInt8(ascii: "b") {
                    let len = Int(b[p]) << 24 | Int(b[p + 1]) << 16 | Int(b[p + 2]) << 8 | Int(b[p + 3])
                    p += 4
                    body(i, kind, UnsafeBufferPointer(start: b + p, count: len))
                    p += len
                } else {
                    body(i, kind, UnsafeBufferPointer(start: b + p, count: 0))
                }
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
