import Foundation
import LibPQ
import Replay
import XCTest

/// Values travel as text (base copies, pgoutput, COPY into the destination), each written and read
/// under some session's settings. A source whose databases speak `SQL, DMY` dates, `sql_standard`
/// intervals and 15-digit floats, replayed into a server that reads `SQL, MDY`, must still give back
/// the very values: logbook's sessions pin the forms that read back the same everywhere.
final class SessionSettingsTests: XCTestCase {
    func testValuesReadBackTheSameWhateverTheServersDateStyleAndFloatDigits() throws {
        try forEachServer { box in
            try box.sql("""
                ALTER DATABASE \(box.database) SET DateStyle = 'SQL, DMY';
                ALTER DATABASE \(box.database) SET IntervalStyle = 'sql_standard';
                ALTER DATABASE \(box.database) SET extra_float_digits = 0;
                ALTER DATABASE \(box.database) SET TimeZone = 'America/St_Johns';
                """)
            let table = """
                CREATE TABLE readings (id int PRIMARY KEY, day date, at timestamptz, local timestamp, ratio float8, gauge real,
                                       span interval, days date[], note text);
                INSERT INTO readings
                    SELECT g, DATE '2026-03-04' + g, TIMESTAMPTZ '2026-03-04 05:06:07.891234+00' + g * interval '1 day 1 second',
                           TIMESTAMP '2026-11-02 10:00:00' + g * interval '1 minute', pi() * g / 7, (g / 3.0)::real,
                           make_interval(days => g, hours => -g, secs => 1.5), ARRAY[DATE '2026-01-02' + g, DATE '2026-12-11'], 'row ' || g
                    FROM generate_series(1, 40) g;
                """
            try box.sql(table)
            let capture = BackgroundCapture(box.options(tables: ["public.readings"]), logger: box.logger)
            try box.waitUntilStreaming()
            try box.sql("""
                INSERT INTO readings SELECT g, DATE '2026-05-06' + g, now(), TIMESTAMP '2026-07-08 09:10:11.5', 1.0 / g, 0.1, interval '1 year 2 mons -3 days', NULL, 'later'
                    FROM generate_series(41, 60) g;
                UPDATE readings SET ratio = ratio * exp(1), span = span * 3, day = day + 7 WHERE id % 3 = 0;
                """)
            try box.waitUntilConfirmed(try box.currentLSN(), running: capture)
            _ = try capture.stop()
            // The destination reads month first.
            let target = try box.scratchDatabase("mdy")
            let targetName = String(target.split(separator: "=").last ?? "")
            try box.sql("ALTER DATABASE \(targetName) SET DateStyle = 'SQL, MDY'; ALTER DATABASE \(targetName) SET extra_float_digits = 0")
            try Replay(box).run(table: "public.readings", target: target)
            // Compared in binary form: every bit of each value.
            func stored(_ conninfo: String) throws -> [UInt8] {
                var out: [UInt8] = []
                try PostgresConnection(conninfo: conninfo).copyOut("COPY (SELECT * FROM readings ORDER BY id) TO STDOUT (FORMAT binary)") {
                    out.append(contentsOf: $0)
                }
                return out
            }
            let want = try stored(box.conninfo), got = try stored(target)
            XCTAssertGreaterThan(want.count, 1000)
            if got != want {
                XCTFail("[\(box.server)] the rebuilt rows are not the source's:\n\(try box.dump("readings", on: target).prefix(800))\nsource:\n\(try box.dump("readings").prefix(800))")
            }
        }
    }
}
