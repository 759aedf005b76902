import XCTest
@testable import PGWire

final class ReplicationMessageTests: XCTestCase {
    func testLSNParsesAndPrintsAsPostgresDoes() {
        XCTAssertEqual(LSN(string: "16/B374D848")?.rawValue, 0x16_B374D848)
        XCTAssertEqual(LSN(0x16_B374D848).description, "16/B374D848")
        XCTAssertNil(LSN(string: "16B374D848"))
        XCTAssertNil(LSN(string: "G/1"))
        XCTAssertEqual(LSN(0x1_0000_0000).fileName, "0000000100000000")
        XCTAssertLessThan(LSN(1).fileName, LSN(0x10).fileName)
        XCTAssertEqual(LSN(fileName: "0000000100000000"), LSN(0x1_0000_0000))
    }

    func testKeepaliveDecodes() throws {
        var w = WireWriter()
        w.write(UInt8(ascii: "k")); w.write(LSN(500)); w.write(Int64(7)); w.write(UInt8(1))
        guard case .keepalive(let k) = try ReplicationMessage.decode(w.bytes) else { return XCTFail() }
        XCTAssertEqual(k, PrimaryKeepalive(walEnd: LSN(500), sendTime: PGTimestamp(rawValue: 7), replyRequested: true))
    }

    func testKeepaliveWithBadFlagThrows() {
        var w = WireWriter()
        w.write(UInt8(ascii: "k")); w.write(LSN(500)); w.write(Int64(7)); w.write(UInt8(2))
        XCTAssertThrowsError(try ReplicationMessage.decode(w.bytes)) { XCTAssertEqual(($0 as? WireDecodeError)?.byte, 2) }
    }

    func testXLogDataPointsAtItsPayload() throws {
        var w = WireWriter()
        w.write(UInt8(ascii: "w")); w.write(LSN(1)); w.write(LSN(2)); w.write(Int64(3)); w.write(UInt8(ascii: "B"))
        guard case .xlogData(let x) = try ReplicationMessage.decode(w.bytes) else { return XCTFail() }
        XCTAssertEqual(x.payloadOffset, 25)
        XCTAssertEqual(x.walEnd, LSN(2))
    }

    func testUnknownCopyMessage() {
        XCTAssertThrowsError(try ReplicationMessage.decode([0x71])) { XCTAssertEqual(($0 as? WireDecodeError)?.byte, 0x71) }
    }

    func testStandbyStatusUpdateLayout() {
        let bytes = StandbyStatusUpdate(written: LSN(3), flushed: LSN(2), applied: LSN(1), clock: PGTimestamp(rawValue: 9), replyRequested: true).encode()
        XCTAssertEqual(bytes.count, 34)
        XCTAssertEqual(bytes[0], UInt8(ascii: "r"))
        var r = WireReader(bytes, offset: 1)
        XCTAssertEqual(try r.readLSN(), LSN(3))
        XCTAssertEqual(try r.readLSN(), LSN(2))
        XCTAssertEqual(try r.readLSN(), LSN(1))
        XCTAssertEqual(try r.readInt64(), 9)
        XCTAssertEqual(try r.readUInt8(), 1)
    }

    func testTimestampsPrintInUTC() {
        XCTAssertEqual(PGTimestamp(rawValue: 0).description, "2000-01-01T00:00:00.000000Z")
        XCTAssertEqual(PGTimestamp(rawValue: 1_500_000).description, "2000-01-01T00:00:01.500000Z")
    }
}
