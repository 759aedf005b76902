import PGWire

/// Logbook's own record tag, next to the pgoutput tags: a table definition as JSON (`#`).
public enum LogbookRecordTag {
    public static let tableDefinition: UInt8 = 0x23 // '#'
    /// The WAL position of the change that follows (`@` + u64): the stream's own per-change LSN.
    public static let changePosition: UInt8 = 0x40 // '@'
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
