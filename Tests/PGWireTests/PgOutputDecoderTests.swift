import XCTest
@testable import PGWire

/// Byte-level tests of every pgoutput message, built from the layouts in the protocol docs,
/// and one test per kind of malformed input: decoders throw with the offset, never trap.
final class PgOutputDecoderTests: XCTestCase {
    func bytes(_ build: (inout WireWriter) -> Void) -> [UInt8] {
        var w = WireWriter()
        build(&w)
        return w.bytes
    }

    func tuple(_ w: inout WireWriter, _ values: [TupleValue]) { TupleData(values).encode(into: &w) }

    func testBeginAndCommit() throws {
        var d = PgOutputDecoder(protocolVersion: 2)
        let b = bytes { $0.write(UInt8(ascii: "B")); $0.write(LSN(0x16_B374D848)); $0.write(Int64(1234)); $0.write(UInt32(777)) }
        guard case .begin(let begin) = try d.decode(b).message else { return XCTFail() }
        XCTAssertEqual(begin, BeginMessage(finalLSN: LSN(0x16_B374D848), commitTime: PGTimestamp(rawValue: 1234), xid: 777))
        let c = bytes { $0.write(UInt8(ascii: "C")); $0.write(UInt8(0)); $0.write(LSN(10)); $0.write(LSN(20)); $0.write(Int64(99)) }
        guard case .commit(let commit) = try d.decode(c).message else { return XCTFail() }
        XCTAssertEqual(commit.endLSN, LSN(20))
        XCTAssertEqual(commit.commitLSN, LSN(10))
    }

    func testRelationRoundTripsThroughEncode() throws {
        let rel = RelationMessage(oid: 16384, namespace: "public", name: "eld_events", replicaIdentity: UInt8(ascii: "d"), columns: [
            .init(isKey: true, name: "id", typeOID: 20, typmod: -1),
            .init(isKey: false, name: "note", typeOID: 25, typmod: -1),
        ])
        var d = PgOutputDecoder(protocolVersion: 1)
        guard case .relation(let back) = try d.decode(rel.encode()).message else { return XCTFail() }
        XCTAssertEqual(back, rel)
        XCTAssertEqual(back.qualifiedName, "public.eld_events")
    }

    func testInsertUpdateDeleteWithEveryTupleKind() throws {
        var d = PgOutputDecoder(protocolVersion: 1)
        let ins = bytes { $0.write(UInt8(ascii: "I")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "N"))
            tuple(&$0, [.text(Array("1".utf8)), .null, .unchanged, .binary([1, 2])]) }
        guard case .insert(let i) = try d.decode(ins).message else { return XCTFail() }
        XCTAssertEqual(i.new.values, [.text(Array("1".utf8)), .null, .unchanged, .binary([1, 2])])

        let upd = bytes { $0.write(UInt8(ascii: "U")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "K")); tuple(&$0, [.text([0x31])])
            $0.write(UInt8(ascii: "N")); tuple(&$0, [.text([0x32])]) }
        guard case .update(let u) = try d.decode(upd).message else { return XCTFail() }
        XCTAssertEqual(u.oldKind, .key)
        XCTAssertEqual(u.old?.values, [.text([0x31])])
        XCTAssertEqual(u.new.values, [.text([0x32])])

        let updO = bytes { $0.write(UInt8(ascii: "U")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "O")); tuple(&$0, [.text([0x31])])
            $0.write(UInt8(ascii: "N")); tuple(&$0, [.unchanged]) }
        guard case .update(let uo) = try d.decode(updO).message else { return XCTFail() }
        XCTAssertEqual(uo.oldKind, .row)

        let updPlain = bytes { $0.write(UInt8(ascii: "U")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "N")); tuple(&$0, [.null]) }
        guard case .update(let up) = try d.decode(updPlain).message else { return XCTFail() }
        XCTAssertNil(up.oldKind)

        let del = bytes { $0.write(UInt8(ascii: "D")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "O")); tuple(&$0, [.text([0x33])]) }
        guard case .delete(let dl) = try d.decode(del).message else { return XCTFail() }
        XCTAssertEqual(dl.oldKind, .row)
    }

    func testTruncateNamesSeveralRelationsAndFlags() throws {
        var d = PgOutputDecoder(protocolVersion: 1)
        let t = bytes { $0.write(UInt8(ascii: "T")); $0.write(Int32(2)); $0.write(UInt8(3)); $0.write(UInt32(7)); $0.write(UInt32(8)) }
        guard case .truncate(let m) = try d.decode(t).message else { return XCTFail() }
        XCTAssertEqual(m.relations, [7, 8])
        XCTAssertTrue(m.cascade)
        XCTAssertTrue(m.restartIdentity)
    }

    func testMessageOriginAndType() throws {
        var d = PgOutputDecoder(protocolVersion: 2)
        let m = bytes { $0.write(UInt8(ascii: "M")); $0.write(UInt8(1)); $0.write(LSN(42)); $0.write(cString: "logbook.mark")
            $0.write(Int32(4)); $0.write(bytes: Array("v1.2".utf8)) }
        guard case .message(let msg) = try d.decode(m).message else { return XCTFail() }
        XCTAssertTrue(msg.transactional)
        XCTAssertEqual(msg.prefix, "logbook.mark")
        XCTAssertEqual(msg.content, Array("v1.2".utf8))
        let o = bytes { $0.write(UInt8(ascii: "O")); $0.write(LSN(9)); $0.write(cString: "upstream") }
        guard case .origin(let origin) = try d.decode(o).message else { return XCTFail() }
        XCTAssertEqual(origin.name, "upstream")
        let y = bytes { $0.write(UInt8(ascii: "Y")); $0.write(UInt32(16500)); $0.write(cString: "public"); $0.write(cString: "duty_status") }
        guard case .type(let ty) = try d.decode(y).message else { return XCTFail() }
        XCTAssertEqual(ty.name, "duty_status")
    }

    func testStreamingMessagesCarryTheXidInsideAStreamOnly() throws {
        var d = PgOutputDecoder(protocolVersion: 2)
        let start = bytes { $0.write(UInt8(ascii: "S")); $0.write(UInt32(900)); $0.write(UInt8(1)) }
        guard case .streamStart(let s) = try d.decode(start).message else { return XCTFail() }
        XCTAssertEqual(s.xid, 900)
        XCTAssertTrue(s.firstSegment)
        XCTAssertTrue(d.inStream)
        let ins = bytes { $0.write(UInt8(ascii: "I")); $0.write(UInt32(901)); $0.write(UInt32(5)); $0.write(UInt8(ascii: "N")); tuple(&$0, [.null]) }
        let decoded = try d.decode(ins)
        XCTAssertEqual(decoded.streamXid, 901)
        // Normalized: the xid removed, the rest as outside a stream.
        let norm = PgOutputDecoder.normalized(ins, from: 0, hadStreamXid: true)
        var plain = PgOutputDecoder(protocolVersion: 1)
        guard case .insert(let i) = try plain.decode(norm).message else { return XCTFail() }
        XCTAssertEqual(i.relation, 5)
        _ = try d.decode([UInt8(ascii: "E")])
        XCTAssertFalse(d.inStream)
        let commit = bytes { $0.write(UInt8(ascii: "c")); $0.write(UInt32(900)); $0.write(UInt8(0)); $0.write(LSN(1)); $0.write(LSN(2)); $0.write(Int64(3)) }
        guard case .streamCommit(let c) = try d.decode(commit).message else { return XCTFail() }
        XCTAssertEqual(c.xid, 900)
        let abort = bytes { $0.write(UInt8(ascii: "A")); $0.write(UInt32(900)); $0.write(UInt32(905)) }
        guard case .streamAbort(let a) = try d.decode(abort).message else { return XCTFail() }
        XCTAssertEqual(a.subxid, 905)
        XCTAssertNil(a.abortLSN)
        let abortParallel = bytes { $0.write(UInt8(ascii: "A")); $0.write(UInt32(900)); $0.write(UInt32(900)); $0.write(LSN(7)); $0.write(Int64(8)) }
        guard case .streamAbort(let ap) = try d.decode(abortParallel).message else { return XCTFail() }
        XCTAssertEqual(ap.abortLSN, LSN(7))
    }

    func testRoutingChecksARowChangeWithoutDecodingIt() throws {
        var d = PgOutputDecoder(protocolVersion: 1)
        let ins = bytes { $0.write(UInt8(ascii: "I")); $0.write(UInt32(77)); $0.write(UInt8(ascii: "N")); tuple(&$0, [.text([0x31]), .null]) }
        guard case .rowChange(let tag, let rel, let xid) = try d.route(ins) else { return XCTFail() }
        XCTAssertEqual(tag, .insert)
        XCTAssertEqual(rel, 77)
        XCTAssertNil(xid)
        let upd = bytes { $0.write(UInt8(ascii: "U")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "O")); tuple(&$0, [.text([0x31])])
            $0.write(UInt8(ascii: "N")); tuple(&$0, [.unchanged]) }
        guard case .rowChange(.update, 5, nil) = try d.route(upd) else { return XCTFail() }
        // Damage is still found, with its offset.
        var bad = ins
        bad[bad.count - 1] = 0x7A // 'z' where the second column kind should be
        bad.removeLast()
        bad.append(contentsOf: [UInt8(ascii: "z")])
        XCTAssertThrowsError(try d.route(bad)) { XCTAssertEqual(($0 as? WireDecodeError)?.byte, UInt8(ascii: "z")) }
        XCTAssertThrowsError(try d.route(ins + [0])) { XCTAssertNotNil($0 as? WireDecodeError) }
        // Anything else is decoded in full.
        let b = bytes { $0.write(UInt8(ascii: "B")); $0.write(LSN(1)); $0.write(Int64(2)); $0.write(UInt32(3)) }
        guard case .other(let o) = try d.route(b), case .begin = o.message else { return XCTFail() }
    }

    func testARowChangeViewReadsWhatTheDecoderReadsAndFindsDamage() throws {
        let values: [TupleValue] = [.text(Array("42".utf8)), .null, .unchanged, .binary([1, 2]), .text(Array("a\tb".utf8))]
        let upd = bytes { $0.write(UInt8(ascii: "U")); $0.write(UInt32(9)); $0.write(UInt8(ascii: "K")); tuple(&$0, [.text([0x31])])
            $0.write(UInt8(ascii: "N")); tuple(&$0, values) }
        let v = try RowChangeView(upd)
        XCTAssertEqual(v.kind, .update)
        XCTAssertEqual(v.relation, 9)
        XCTAssertEqual(v.oldKind, .key)
        var read: [TupleValue] = []
        v.forEachColumn(of: v.newTuple!) { i, kind, range in
            XCTAssertEqual(i, read.count)
            switch kind {
            case UInt8(ascii: "n"): read.append(.null)
            case UInt8(ascii: "u"): read.append(.unchanged)
            case UInt8(ascii: "b"): read.append(.binary(Array(v.bytes[range])))
            default: read.append(.text(Array(v.bytes[range])))
            }
        }
        XCTAssertEqual(read, values)
        XCTAssertTrue(v.hasUnchanged(v.newTuple!))
        XCTAssertFalse(v.hasUnchanged(v.oldTuple!))
        XCTAssertEqual(v.column(4, of: v.newTuple!).map { Array(v.bytes[$0.value]) }, Array("a\tb".utf8))
        XCTAssertEqual(v.column(0, of: v.oldTuple!).map { Array(v.bytes[$0.value]) }, [0x31])
        XCTAssertNil(v.column(5, of: v.newTuple!))
        let del = bytes { $0.write(UInt8(ascii: "D")); $0.write(UInt32(9)); $0.write(UInt8(ascii: "O")); tuple(&$0, [.text([0x33])]) }
        let d = try RowChangeView(del)
        XCTAssertEqual(d.kind, .delete)
        XCTAssertNil(d.newTuple)
        // Damage is found when the view is made, with its offset and byte: reading it afterwards cannot run off the end.
        XCTAssertThrowsError(try RowChangeView(Array(upd.dropLast()))) { XCTAssertNotNil($0 as? WireDecodeError) }
        var badKind = upd
        badKind[badKind.count - 4 - 3 - 1] = UInt8(ascii: "x")
        XCTAssertThrowsError(try RowChangeView(badKind)) { XCTAssertEqual(($0 as? WireDecodeError)?.byte, UInt8(ascii: "x"), "\($0)") }
        XCTAssertThrowsError(try RowChangeView(upd + [7])) { XCTAssertEqual(($0 as? WireDecodeError)?.byte, 7) }
        XCTAssertThrowsError(try RowChangeView([UInt8(ascii: "B"), 0, 0, 0, 1])) { XCTAssertEqual(($0 as? WireDecodeError)?.offset, 0) }
    }

    // MARK: malformed input

    func assertThrows(_ bytes: [UInt8], version: Int = 2, offset: Int, byte: UInt8? = nil, file: StaticString = #filePath, line: UInt = #line) {
        var d = PgOutputDecoder(protocolVersion: version)
        XCTAssertThrowsError(try d.decode(bytes), file: file, line: line) { e in
            guard let w = e as? WireDecodeError else { return XCTFail("\(e)", file: file, line: line) }
            XCTAssertEqual(w.offset, offset, "\(w)", file: file, line: line)
            if let byte { XCTAssertEqual(w.byte, byte, "\(w)", file: file, line: line) }
        }
    }

    func testUnknownTagNamesTheByte() {
        assertThrows([UInt8(ascii: "Z"), 0, 0], offset: 0, byte: UInt8(ascii: "Z"))
    }

    func testTruncatedMessageThrowsAtTheEnd() {
        assertThrows([UInt8(ascii: "B"), 0, 0, 0], offset: 1)
    }

    func testLeftoverBytesAreAnError() {
        let b = bytes { $0.write(UInt8(ascii: "B")); $0.write(LSN(1)); $0.write(Int64(1)); $0.write(UInt32(1)); $0.write(UInt8(0xAB)) }
        assertThrows(b, offset: 21, byte: 0xAB)
    }

    func testUnknownTupleKind() {
        let b = bytes { $0.write(UInt8(ascii: "I")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "N")); $0.write(UInt16(1)); $0.write(UInt8(ascii: "x")) }
        assertThrows(b, offset: 8, byte: UInt8(ascii: "x"))
    }

    func testNegativeLengthAndBadTupleTag() {
        let neg = bytes { $0.write(UInt8(ascii: "I")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "N")); $0.write(UInt16(1)); $0.write(UInt8(ascii: "t")); $0.write(Int32(-5)) }
        assertThrows(neg, offset: 9)
        let tag = bytes { $0.write(UInt8(ascii: "D")); $0.write(UInt32(5)); $0.write(UInt8(ascii: "N")) }
        assertThrows(tag, offset: 5, byte: UInt8(ascii: "N"))
    }

    func testStreamStopOutsideAStreamAndStreamStartOnProtocol1() {
        assertThrows([UInt8(ascii: "E")], offset: 0)
        assertThrows([UInt8(ascii: "S"), 0, 0, 0, 1, 1], version: 1, offset: 0)
    }

    func testStringWithoutTerminator() {
        let b = bytes { $0.write(UInt8(ascii: "O")); $0.write(LSN(1)); $0.write(bytes: Array("abc".utf8)) }
        assertThrows(b, offset: 9)
    }
}
