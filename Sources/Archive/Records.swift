import PGWire

/// Logbook's own record tag, next to the pgoutput tags: a table definition as JSON (`#`).
public enum LogbookRecordTag {
    public static let tableDefinition: UInt8 = 0x23 // '#'
    /// The WAL position of the change that follows (`@` + u64): the stream's own per-change LSN.
    public static let changePosition: UInt8 = 0x40 // '@'
    /// The same, as the distance from the previous position record of the same frame
    /// (`+` + unsigned LEB128): about a third of the bytes of `@`.
    public static let changePositionDelta: UInt8 = 0x2B // '+'

    /// Whether a record is a change position (`@` or `+`), which readers of changes skip.
    public static func isChangePosition<C: Collection>(_ rec: C) -> Bool where C.Element == UInt8 {
        guard let t = rec.first else { return false }
        return t == changePosition || t == changePositionDelta
    }
}

/// The `@` record: where in WAL the next change of the transaction was decoded from.
public enum ChangePosition {
    public static func record(_ lsn: LSN) -> [UInt8] {
        let v = lsn.rawValue
        return [LogbookRecordTag.changePosition] + (0..<8).map { UInt8((v >> (56 - 8 * UInt64($0))) & 0xFF) }
    }

    /// The LSN of an `@` record, nil for any other record (or one of the wrong length).
    public static func parse<C: Collection>(_ rec: C) -> LSN? where C.Element == UInt8, C.Index == Int {
        guard rec.count == 9, rec[rec.startIndex] == LogbookRecordTag.changePosition else { return nil }
        var v: UInt64 = 0
        for i in 1...8 { v = v << 8 | UInt64(rec[rec.startIndex + i]) }
        return LSN(rawValue: v)
    }
}

extension ChangePosition {
    /// A `+` record: `lsn` as its distance from `previous` (the last position of the same frame).
    public static func deltaRecord(_ lsn: LSN, after previous: LSN) -> [UInt8] {
        var v = lsn.rawValue - previous.rawValue
        var out: [UInt8] = [LogbookRecordTag.changePositionDelta]
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }
}

/// Turns a frame's `@` and `+` records back into positions, in the order they are read. A `+`
/// counts from the previous position of its own frame, so any frame is readable on its own.
public struct ChangePositionReader {
    var base: LSN?
    var frame = -1

    public init() {}

    /// The position a position record gives; nil (and no error) for a malformed `@`, as before.
    public mutating func read<C: Collection>(_ rec: C, frameOffset: Int) throws -> LSN? where C.Element == UInt8, C.Index == Int {
        if rec.first == LogbookRecordTag.changePosition {
            let lsn = ChangePosition.parse(rec)
            base = lsn
            frame = frameOffset
            return lsn
        }
        guard let b = base, frame == frameOffset else {
            throw WireDecodeError("a relative change position without a position before it in its frame", offset: 0, byte: LogbookRecordTag.changePositionDelta)
        }
        var v: UInt64 = 0, shift: UInt64 = 0
        var i = rec.startIndex + 1
        while true {
            guard i < rec.endIndex, shift < 64 else {
                throw WireDecodeError("a relative change position that does not end", offset: i - rec.startIndex, byte: i < rec.endIndex ? rec[i] : 0)
            }
            let byte = rec[i]
            v |= UInt64(byte & 0x7F) << shift
            i += 1
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        guard i == rec.endIndex else { throw WireDecodeError("bytes after a relative change position", offset: i - rec.startIndex, byte: rec[i]) }
        let (lsn, overflow) = b.rawValue.addingReportingOverflow(v)
        guard !overflow else { throw WireDecodeError("a relative change position past the end of WAL", offset: 1, byte: rec[rec.startIndex + 1]) }
        base = LSN(rawValue: lsn)
        return base
    }
}

/// Appends `u32 length + bytes` records into a frame payload.
public struct RecordBuffer {
    public private(set) var bytes: [UInt8] = []
    public private(set) var count = 0

    public init() { bytes.reserveCapacity(1 << 20) }

    public mutating func append(_ record: [UInt8]) {
        let n = UInt32(record.count)
        bytes.append(UInt8(n >> 24)); bytes.append(UInt8((n >> 16) & 0xFF)); bytes.append(UInt8((n >> 8) & 0xFF)); bytes.append(UInt8(n & 0xFF))
        bytes.append(contentsOf: record)
        count += 1
    }

    public var isEmpty: Bool { count == 0 }
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true); count = 0 }
}

/// Where each record of a records payload lies (`u32 length + bytes`, every length checked).
public func recordRanges(_ payload: [UInt8]) throws -> [Range<Int>] {
    var r = WireReader(payload)
    var out: [Range<Int>] = []
    while r.remaining > 0 {
        let n = Int(try r.readUInt32("record length"))
        let start = r.offset
        try r.skip(n, "record")
        out.append(start..<start + n)
    }
    return out
}

/// Splits a records payload back into its records (copies; readers use `recordRanges`).
public func splitRecords(_ payload: [UInt8]) throws -> [[UInt8]] {
    try recordRanges(payload).map { Array(payload[$0]) }
}
