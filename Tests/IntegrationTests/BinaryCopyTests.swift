import Archive
@testable import Capture
import Foundation
import LibPQ
@testable import Replay
import XCTest

/// Replay loads rows as binary COPY, turning the archive's COPY text into each type's binary form
/// itself (`BinaryCopyEncoder`). A value read differently from the server's own input function
/// would be a silently wrong restore: these tests load the same text both ways on real servers
/// and compare the stored values byte for byte.
final class BinaryCopyTests: XCTestCase {
    /// Rows the encoder reads (n < 1000) and rows it leaves to the server's text reading (n ≥ 1000).
    static let table = """
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ☺');
        CREATE SCHEMA "Fleet";
        CREATE TYPE "Fleet"."Duty Status" AS ENUM ('off', 'driving');
        CREATE TABLE src (
            n int PRIMARY KEY, a int2, b int4, c int8, d bool, e uuid, f date, g timestamp, h timestamptz,
            i numeric, j numeric(8,5), k text, l varchar(10), m char(5), o jsonb, p json, q mood, r "Fleet"."Duty Status");
        INSERT INTO src VALUES
          (1, -32768, -2147483648, -9223372036854775808, false, '00000000-0000-0000-0000-000000000000', '0001-01-01',
           '0001-01-01 00:00:00', '0001-01-03 00:00:00+00', 0, -0.00001, '', '', '', '{}', '[]', 'sad', 'off'),
          (2, 32767, 2147483647, 9223372036854775807, true, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '9999-12-31',
           '9999-12-31 23:59:59.999999', '9999-12-30 12:00:00.999999+00', -1, 999.99999, 'ten chars!', 'ten chars!', 'abcde',
           '[1, 2.50, "x"]', '{"z": 1, "a": "\\n"}', 'happy ☺', 'driving'),
          (3, 0, 0, 0, true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '2024-02-29', '2000-02-29 12:34:56.5', '1900-01-01 00:00:00+00',
           123456789012345678901234567890.123456789, 0.5, E'tab\\there\\nnew line \\\\ back\\rslash \\b\\f' || chr(11) || ' end', 'ünïcødé', 'ab',
           '{"a": [1, "x\\ty", null], "b": 1.50}', ' {"spaced" : true} ', 'ok', 'off'),
          (4, 7, 70, 700, false, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '1600-02-29', '1999-12-31 23:59:59.000001',
           '1969-07-20 20:17:40.1+00', 1.10, 0.00012, 'x', 'x', 'x', 'null', 'null', 'sad', 'driving'),
          (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (6, -1, -1, -1, true, NULL, '2000-01-01', '2000-01-01 00:00:00', '2026-03-29 01:30:00+00', -0.000, 0.00000, E'\\\\N', '\\N',
           NULL, '"\\\\N"', NULL, NULL, NULL),
          (7, 1, 1, 1, true, NULL, '1970-01-01', '1970-01-01 00:00:00.000001', '2026-10-25 01:30:00.25+00',
           1000000000000000000000000000000, 0.1234, 'a', 'b', 'c', '1', '2', 'ok', 'off'),
          (8, 2, 2, 2, false, NULL, '2100-02-28', '2100-03-01 00:00:00', '2000-01-01 00:00:00+00', 0.00000000000000000001, -999.99999,
           repeat('long text ', 1000), NULL, NULL, '{"k": "v"}', NULL, NULL, NULL),
          (9, 3, 3, 3, true, NULL, NULL, NULL, now(), 10000, 12.3456, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (1000, 1, 1, 1, true, NULL, NULL, NULL, NULL, 'NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (1001, 1, 1, 1, true, NULL, NULL, NULL, NULL, 'Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (1002, 1, 1, 1, true, NULL, NULL, 'infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (1003, 1, 1, 1, true, NULL, '0044-03-15 BC', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (1004, 1, 1, 1, true, NULL, NULL, NULL, '20000-01-01 00:00:00+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (1005, 1, 1, 1, true, NULL, NULL, '-infinity', '-infinity', '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        """

    func testBinaryRowsAreWhatTheServerReadsFromTheText() throws {
        let servers = TestServers.allVersions
        if servers.isEmpty { throw XCTSkip("no test servers (run make test)") }
        for server in servers {
            let box = try Sandbox(server: server, test: "binarycopy")
            let c = try box.connect()
            try c.query(Self.table)
            let def = try XCTUnwrap(Catalog.definition(of: TableName(schema: "public", name: "src"), on: c))
            let columns = def.storedColumns.map(\.name)
            let encoder = try XCTUnwrap(BinaryCopyEncoder(columns: columns, of: def), "every column of src is one the encoder reads")
            // COPY TO writes timestamptz in the session's zone: whole hours, half hours, and the seconds of a local mean time.
            for (z, zone) in ["UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam"].enumerated() {
                try c.query("SET TimeZone = '\(zone)'")
                var usual: [UInt8] = [], odd: [[UInt8]] = []
                for n in try c.query("SELECT n FROM src ORDER BY n").rows.compactMap({ Int($0[0] ?? "") }) {
                    var line: [UInt8] = []
                    try c.copyOut("COPY (SELECT * FROM src WHERE n = \(n)) TO STDOUT") { line.append(contentsOf: $0) }
                    if n < 1000 { usual += line } else { odd.append(line) }
                }
                let buffer = BinaryCopyBuffer()
                XCTAssertTrue(usual.withUnsafeBytes { encoder.encode($0, into: buffer) }, "\(server.name) \(zone): the usual rows are read here")
                for line in odd {
                    buffer.count = 0
                    XCTAssertFalse(line.withUnsafeBytes { encoder.encode($0, into: buffer) },
                                   "\(server.name) \(zone): left to the server: \(String(decoding: line, as: UTF8.self))")
                    XCTAssertEqual(buffer.count, 0)
                }
                // Through the sink: the usual rows as binary, the others as text, in one lane.
                let target = "dst\(z)"
                let sink = DatabaseSink(conn: try box.connect(), target: ("public", target), replace: false, logger: box.logger) { try box.connect() }
                try sink.begin(def)
                try sink.write(lane: 0, columns: columns, usual)
                for line in odd { try sink.write(lane: 0, columns: columns, line) }
                try sink.write(lane: 1, columns: columns, Array("100\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n".utf8))
                _ = try sink.finish(rows: 0)
                try c.query("INSERT INTO src (n) VALUES (100) ON CONFLICT DO NOTHING")
                func stored(_ t: String) throws -> [UInt8] {
                    var out: [UInt8] = []
                    try c.copyOut("COPY (SELECT * FROM \(t) ORDER BY n) TO STDOUT (FORMAT binary)") { out.append(contentsOf: $0) }
                    return out
                }
                let source = try stored("src"), rebuilt = try stored(target)
                XCTAssertEqual(rebuilt.count, source.count, "\(server.name) \(zone)")
                XCTAssertTrue(rebuilt == source, "\(server.name) \(zone): the rebuilt rows are the source's, byte for byte")
                // And as text (scale of numerics, padding of char, the zone's rendering).
                func text(_ t: String) throws -> String {
                    var out: [UInt8] = []
                    try c.copyOut("COPY (SELECT * FROM \(t) ORDER BY n) TO STDOUT") { out.append(contentsOf: $0) }
                    return String(decoding: out, as: UTF8.self)
                }
                XCTAssertEqual(try text(target), try text("src"), "\(server.name) \(zone)")
                try c.query("DELETE FROM src WHERE n = 100")
            }
            // An enum is known by its OID, not its name: here "mood" is also a domain over integer,
            // visible where the enum is not, whose binary form is not its text.
            try c.query("""
                CREATE SCHEMA other; CREATE TYPE other.mood AS ENUM ('1234'); CREATE DOMAIN mood2 AS int;
                ALTER TYPE mood RENAME TO mood_old; ALTER DOMAIN mood2 RENAME TO mood;
                CREATE TABLE shadow (id int PRIMARY KEY, e other.mood, d mood)
                """)
            let shadow = try XCTUnwrap(Catalog.definition(of: TableName(schema: "public", name: "shadow"), on: c))
            XCTAssertEqual(shadow.columns.map(\.type), ["integer", "other.mood", "mood"])
            XCTAssertNotNil(BinaryCopyEncoder(columns: ["id", "e"], of: shadow))
            XCTAssertNil(BinaryCopyEncoder(columns: ["id", "d"], of: shadow), "[\(server.name)] a domain is not the enum of its name")
        }
    }

    func testTextTheEncoderDoesNotReadExactlyIsLeftToTheServer() throws {
        var def = TableDefinition(relationOID: 1, schema: "public", name: "t", columns: [], primaryKey: [], replicaIdentity: "d", enums: [],
                                  indexes: [], checks: [:])
        for (name, oid) in [("i2", 21), ("i4", 23), ("i8", 20), ("b", 16), ("u", 2950), ("d", 1082), ("ts", 1114), ("tz", 1184), ("n", 1700), ("t", 25)] {
            def.columns.append(.init(name: name, type: "x", typeOID: UInt32(oid), typmod: -1, notNull: false, defaultExpression: nil))
        }
        func reads(_ column: String, _ text: String) -> Bool {
            let e = BinaryCopyEncoder(columns: [column], of: def)!
            return Array((text + "\n").utf8).withUnsafeBytes { e.encode($0, into: BinaryCopyBuffer()) }
        }
        for (column, text) in [("i2", "32768"), ("i2", "-32769"), ("i4", "2147483648"), ("i8", "9223372036854775808"), ("i4", "+1"), ("i4", " 1"),
                               ("i4", "1.0"), ("i4", ""), ("i4", "-"), ("b", "true"), ("b", "1"), ("u", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"),
                               ("u", "a0eebc999c0b4ef8bb6d6bb9bd380a11"), ("d", "2023-02-29"), ("d", "2024-13-01"), ("d", "12/06/2026"),
                               ("d", "infinity"), ("d", "0000-01-01"), ("ts", "2026-12-06T10:00:00"), ("ts", "2026-12-06 24:00:00"),
                               ("ts", "2026-12-06 10:00:60"), ("ts", "2026-12-06 10:00:00.1234567"), ("ts", "2026-12-06 10:00:00."),
                               ("tz", "2026-12-06 10:00:00"), ("tz", "2026-12-06 10:00:00 UTC"), ("tz", "2026-12-06 10:00:00+16"),
                               ("tz", "2026-12-06 10:00:00+05:3"), ("n", "1e5"), ("n", ".5"), ("n", "5."), ("n", "NaN"), ("n", "+1"),
                               ("t", "a\\x41"), ("t", "a\\101"), ("t", "a\\."), ("t", "a\r"), ("t", "ends with \\")] {
            XCTAssertFalse(reads(column, text), "\(column) \(text)")
        }
        for (column, text) in [("i2", "-32768"), ("i8", "-9223372036854775808"), ("d", "2024-02-29"), ("ts", "2026-12-06 10:00:00.123456"),
                               ("tz", "1900-01-01 00:19:32+00:19:32"), ("tz", "2026-12-06 10:00:00-03:30"), ("n", "-0.0"), ("t", "\\\\N")] {
            XCTAssertTrue(reads(column, text), "\(column) \(text)")
        }
        // A line with a field too many or too few is not a row of these columns.
        let two = BinaryCopyEncoder(columns: ["i4", "t"], of: def)!
        for line in ["1\tx\ty\n", "1\n", "1\tx"] {
            XCTAssertFalse(Array(line.utf8).withUnsafeBytes { two.encode($0, into: BinaryCopyBuffer()) }, line)
        }
        // Types not read here make the whole COPY text.
        def.columns.append(.init(name: "f", type: "double precision", typeOID: 701, typmod: -1, notNull: false, defaultExpression: nil))
        XCTAssertNil(BinaryCopyEncoder(columns: ["i4", "f"], of: def))
    }
}
