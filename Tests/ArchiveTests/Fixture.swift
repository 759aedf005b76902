import Foundation
@testable import Archive
@testable import PGWire

/// Transactions made by hand, as the capture writes them.
enum Fixture {
    static func begin(_ lsn: UInt64) -> (BeginMessage, [UInt8]) {
        let b = BeginMessage(finalLSN: LSN(lsn), commitTime: PGTimestamp(rawValue: Int64(lsn)), xid: UInt32(lsn))
        var w = WireWriter(); w.write(UInt8(ascii: "B")); w.write(b.finalLSN); w.write(b.commitTime); w.write(b.xid)
        return (b, w.bytes)
    }

    static func commit(_ lsn: UInt64) -> (CommitMessage, [UInt8]) {
        let c = CommitMessage(flags: 0, commitLSN: LSN(lsn), endLSN: LSN(lsn + 8), commitTime: PGTimestamp(rawValue: Int64(lsn)))
        var w = WireWriter(); w.write(UInt8(ascii: "C")); w.write(UInt8(0)); w.write(c.commitLSN); w.write(c.endLSN); w.write(c.commitTime)
        return (c, w.bytes)
    }

    static func insert(_ v: String) -> [UInt8] {
        var w = WireWriter(); w.write(UInt8(ascii: "I")); w.write(UInt32(1)); w.write(UInt8(ascii: "N"))
        TupleData([.text(Array(v.utf8))]).encode(into: &w)
        return w.bytes
    }

    static func writeTransaction(_ writer: SegmentWriter, _ lsn: UInt64, rows: Int = 2) throws {
        let (b, braw) = begin(lsn)
        try writer.beginTransaction(b, raw: braw)
        for i in 0..<rows { try writer.appendChange(insert("row \(lsn)-\(i)"), relations: [1]) }
        let (c, craw) = commit(lsn)
        try writer.commitTransaction(c, raw: craw)
    }
}
