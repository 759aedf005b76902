import Foundation

/// Debezium's own PostgreSQL type cases, ported as data: the tables and rows of
/// debezium-connector-postgres `src/test/resources/postgres_create_tables.ddl` and the INSERT
/// statements and expected schema / value per column of `AbstractRecordsProducerTest.java`
/// (`schemasAndValuesFor…`), with `RecordsStreamProducerIT` (enum default, enum arrays),
/// `RecordsSnapshotProducerIT` (time arrays) and `PostgresMoneyIT` (money limits) — debezium/debezium,
/// Apache License 2.0. Expected values are written as `JsonConverter` serialises Debezium's Connect
/// values (bytes and Decimal as base64, structs as objects).
enum DebeziumCases {
    struct Column {
        var name: String
        var schema: [String: Any]
        var value: Any?
        /// The value is JSON text in a string (hstore as io.debezium.data.Json): compared parsed.
        var jsonText = false
    }
    struct Table {
        var schema = "public"
        var name: String
        var ddl: String
        var insert: String
        var columns: [Column]
        /// The published key is null (Debezium: a table without a primary key).
        var nullKey = false
    }

    // MARK: Schema and value helpers (Connect's schemas, as JsonConverter writes them)

    static func s(_ type: String, _ optional: Bool = true, name: String? = nil, params: [String: String]? = nil, def: Any? = nil,
                  extra: [String: Any] = [:]) -> [String: Any] {
        var d: [String: Any] = ["type": type, "optional": optional]
        if let name { d["name"] = name; d["version"] = 1 }
        if let params { d["parameters"] = params }
        if let def { d["default"] = def }
        for (k, v) in extra { d[k] = v }
        return d
    }
    static func named(_ type: String, _ name: String, _ optional: Bool = true) -> [String: Any] { s(type, optional, name: name) }
    static func array(_ items: [String: Any], _ optional: Bool = true) -> [String: Any] { s("array", optional, extra: ["items": items]) }
    static func decimal(_ scale: Int, precision: Int?, _ optional: Bool = true) -> [String: Any] {
        var p = ["scale": "\(scale)"]
        if let precision { p["connect.decimal.precision"] = "\(precision)" }
        return s("bytes", optional, name: "org.apache.kafka.connect.data.Decimal", params: p)
    }
    static func bits(_ length: Int) -> [String: Any] { s("bytes", name: "io.debezium.data.Bits", params: ["length": "\(length)"]) }
    static var variableScale: [String: Any] { s("struct", name: "io.debezium.data.VariableScaleDecimal", extra: [
        "doc": "Variable scaled decimal",
        "fields": [["type": "int32", "optional": false, "field": "scale"], ["type": "bytes", "optional": false, "field": "value"]],
    ]) }
    static var point: [String: Any] { s("struct", name: "io.debezium.data.geometry.Point", extra: [
        "doc": "Geometry (POINT)",
        "fields": [["type": "double", "optional": false, "field": "x"], ["type": "double", "optional": false, "field": "y"],
                   ["type": "bytes", "optional": true, "field": "wkb"], ["type": "int32", "optional": true, "field": "srid"]],
    ]) }
    static func serial(_ type: String = "int32") -> [String: Any] { s(type, false, def: 0) }

    /// Java's `BigInteger.toByteArray()` of an unscaled value (minimal two's complement, big-endian), base64.
    static func unscaled(_ v: Int64) -> String {
        var bytes = withUnsafeBytes(of: v.bigEndian) { Array($0) }
        while bytes.count > 1, (bytes[0] == 0 && bytes[1] & 0x80 == 0) || (bytes[0] == 0xFF && bytes[1] & 0x80 != 0) { bytes.removeFirst() }
        return Data(bytes).base64EncodedString()
    }
    static func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    static func vsd(_ scale: Int, _ v: Int64) -> [String: Any] { ["scale": scale, "value": unscaled(v)] }

    /// Microseconds since 1970 of a UTC wall-clock time (Foundation's Gregorian calendar).
    static func micros(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ sec: Int = 0, us: Int64 = 0) -> Int64 {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC") ?? TimeZone.current
        let date = cal.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: sec)) ?? Date.distantPast
        return Int64(date.timeIntervalSince1970.rounded()) * 1_000_000 + us
    }
    static func epochDay(_ y: Int, _ m: Int, _ d: Int) -> Int { Int(micros(y, m, d) / 86_400_000_000) }
    static func tod(_ h: Int64, _ m: Int64, _ s: Int64, us: Int64 = 0) -> Int64 { (h * 3600 + m * 60 + s) * 1_000_000 + us }

    static var pk: Column { Column(name: "pk", schema: serial(), value: 1) }

    // MARK: The tables (Debezium's DDL and INSERT statements, as they are)

    static var tables: [Table] {
        let intervalMicros = Int64(((((14 * (365.25 / 12) + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1e6 + 780_000)
        let wkb: [UInt8] = [1, 1, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0xF0, 0x3F] + [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]
        return [
            Table(name: "numeric_table", ddl: """
                CREATE TABLE numeric_table (pk SERIAL, si SMALLINT, i INTEGER, bi BIGINT, r REAL, db DOUBLE PRECISION, r_int REAL, db_int DOUBLE PRECISION,
                  r_nan REAL, db_nan DOUBLE PRECISION, r_pinf REAL, db_pinf DOUBLE PRECISION, r_ninf REAL, db_ninf DOUBLE PRECISION,
                  ss SMALLSERIAL, bs BIGSERIAL, b BOOLEAN, o OID, PRIMARY KEY(pk))
                """, insert: """
                INSERT INTO numeric_table (si, i, bi, r, db, r_int, db_int, r_nan, db_nan, r_pinf, db_pinf, r_ninf, db_ninf, ss, bs, b, o)
                VALUES (1, 123456, 1234567890123, 3.3, 4.44, 3, 4, 'NaN', 'NaN', 'Infinity', 'Infinity', '-Infinity', '-Infinity', 1, 123, true, 4000000000)
                """, columns: [
                    pk,
                    Column(name: "si", schema: s("int16"), value: 1), Column(name: "i", schema: s("int32"), value: 123456),
                    Column(name: "bi", schema: s("int64"), value: 1234567890123), Column(name: "r", schema: s("float"), value: 3.3),
                    Column(name: "db", schema: s("double"), value: 4.44), Column(name: "r_int", schema: s("float"), value: 3.0),
                    Column(name: "db_int", schema: s("double"), value: 4.0), Column(name: "ss", schema: serial("int16"), value: 1),
                    Column(name: "bs", schema: serial("int64"), value: 123), Column(name: "b", schema: s("boolean"), value: true),
                    Column(name: "o", schema: s("int64"), value: 4_000_000_000),
                    Column(name: "r_nan", schema: s("float"), value: "NaN"), Column(name: "db_nan", schema: s("double"), value: "NaN"),
                    Column(name: "r_pinf", schema: s("float"), value: "Infinity"), Column(name: "db_pinf", schema: s("double"), value: "Infinity"),
                    Column(name: "r_ninf", schema: s("float"), value: "-Infinity"), Column(name: "db_ninf", schema: s("double"), value: "-Infinity"),
                ]),
            Table(name: "numeric_decimal_table", ddl: """
                CREATE TABLE numeric_decimal_table (pk SERIAL, d DECIMAL(3,2), dzs DECIMAL(4), dvs DECIMAL, d_nn DECIMAL(3,2) NOT NULL, n NUMERIC(6,4), nzs NUMERIC(4), nvs NUMERIC,
                  d_int DECIMAL(3,2), dzs_int DECIMAL(4), dvs_int DECIMAL, n_int NUMERIC(6,4), nzs_int NUMERIC(4), nvs_int NUMERIC,
                  d_nan DECIMAL(3,2), dzs_nan DECIMAL(4), dvs_nan DECIMAL, n_nan NUMERIC(6,4), nzs_nan NUMERIC(4), nvs_nan NUMERIC, PRIMARY KEY(pk))
                """, insert: """
                INSERT INTO numeric_decimal_table (d, dzs, dvs, d_nn, n, nzs, nvs, d_int, dzs_int, dvs_int, n_int, nzs_int, nvs_int, d_nan, dzs_nan, dvs_nan, n_nan, nzs_nan, nvs_nan)
                VALUES (1.1, 10.11, 10.1111, 3.30, 22.22, 22.2, 22.2222, 1, 10, 10, 22, 22, 22, null, null, null, null, null, null)
                """, columns: [
                    pk,
                    Column(name: "d", schema: decimal(2, precision: 3), value: unscaled(110)),
                    Column(name: "dzs", schema: decimal(0, precision: 4), value: unscaled(10)),
                    Column(name: "dvs", schema: variableScale, value: vsd(4, 101111)),
                    Column(name: "d_nn", schema: decimal(2, precision: 3, false), value: unscaled(330)),
                    Column(name: "n", schema: decimal(4, precision: 6), value: unscaled(222200)),
                    Column(name: "nzs", schema: decimal(0, precision: 4), value: unscaled(22)),
                    Column(name: "nvs", schema: variableScale, value: vsd(4, 222222)),
                    Column(name: "d_int", schema: decimal(2, precision: 3), value: unscaled(100)),
                    Column(name: "dvs_int", schema: variableScale, value: vsd(0, 10)),
                    Column(name: "n_int", schema: decimal(4, precision: 6), value: unscaled(220000)),
                    Column(name: "nvs_int", schema: variableScale, value: vsd(0, 22)),
                ]),
            Table(name: "string_table", ddl: """
                CREATE TABLE string_table (pk SERIAL, vc VARCHAR(2), vcv CHARACTER VARYING(2), ch CHARACTER(4), c CHAR(3), t TEXT, b BYTEA, bnn BYTEA NOT NULL, ct CITEXT, PRIMARY KEY(pk))
                """, insert: """
                INSERT INTO string_table (vc, vcv, ch, c, t, b, bnn, ct) VALUES ('\u{017E}\u{0161}', 'bb', 'cdef', 'abc', 'some text', E'\\\\000\\\\001\\\\002'::bytea, E'\\\\003\\\\004\\\\005'::bytea, 'Hello World')
                """, columns: [
                    pk,
                    Column(name: "vc", schema: s("string"), value: "\u{017E}\u{0161}"), Column(name: "vcv", schema: s("string"), value: "bb"),
                    Column(name: "ch", schema: s("string"), value: "cdef"), Column(name: "c", schema: s("string"), value: "abc"),
                    Column(name: "t", schema: s("string"), value: "some text"), Column(name: "b", schema: s("bytes"), value: b64([0, 1, 2])),
                    Column(name: "bnn", schema: s("bytes", false), value: b64([3, 4, 5])), Column(name: "ct", schema: s("string"), value: "Hello World"),
                ]),
            Table(name: "network_address_table", ddl: "CREATE TABLE network_address_table (pk SERIAL, i INET, PRIMARY KEY(pk))",
                  insert: "INSERT INTO network_address_table (i) VALUES ('192.168.2.0/12')",
                  columns: [pk, Column(name: "i", schema: s("string"), value: "192.168.2.0/12")]),
            Table(name: "cidr_network_address_table", ddl: "CREATE TABLE cidr_network_address_table (pk SERIAL, i CIDR, PRIMARY KEY(pk))",
                  insert: "INSERT INTO cidr_network_address_table (i) VALUES ('192.168.100.128/25')",
                  columns: [pk, Column(name: "i", schema: s("string"), value: "192.168.100.128/25")]),
            Table(name: "macaddr_table", ddl: "CREATE TABLE macaddr_table(pk SERIAL, m MACADDR, PRIMARY KEY(pk))",
                  insert: "INSERT INTO macaddr_table (m) VALUES ('08:00:2b:01:02:03')",
                  columns: [pk, Column(name: "m", schema: s("string"), value: "08:00:2b:01:02:03")]),
            Table(name: "cash_table", ddl: "CREATE TABLE cash_table (pk SERIAL, csh MONEY, PRIMARY KEY(pk))",
                  insert: "INSERT INTO cash_table (csh) VALUES ('$1234.11')",
                  columns: [pk, Column(name: "csh", schema: decimal(2, precision: nil), value: unscaled(123411))]),
            Table(name: "negative_cash_table", ddl: "CREATE TABLE negative_cash_table (pk SERIAL, csh MONEY, PRIMARY KEY(pk))",
                  insert: "INSERT INTO negative_cash_table (csh) VALUES ('($1234.11)')",
                  columns: [pk, Column(name: "csh", schema: decimal(2, precision: nil), value: unscaled(-123411))]),
            // PostgresMoneyIT: the limits of money, NOT NULL.
            Table(name: "money_limits", ddl: "CREATE TABLE money_limits (pk SERIAL, lo MONEY NOT NULL, hi MONEY NOT NULL, zero MONEY, PRIMARY KEY(pk))",
                  insert: "INSERT INTO money_limits (lo, hi, zero) VALUES ('-92233720368547758.08'::money, '92233720368547758.07'::money, '0.00'::money)",
                  columns: [pk, Column(name: "lo", schema: decimal(2, precision: nil, false), value: unscaled(Int64.min)),
                            Column(name: "hi", schema: decimal(2, precision: nil, false), value: unscaled(Int64.max)),
                            Column(name: "zero", schema: decimal(2, precision: nil), value: unscaled(0))]),
            Table(name: "bitbin_table", ddl: """
                CREATE TABLE bitbin_table (pk SERIAL, ba BYTEA, bol BIT(1), bol2 BIT, bs BIT(2), bs7 BIT(7), bv1 BIT VARYING(1), bv BIT VARYING(2), bv2 BIT VARYING(24),
                  bvl BIT VARYING(64), bvunlimited1 BIT VARYING, bvunlimited2 BIT VARYING, PRIMARY KEY(pk))
                """, insert: """
                INSERT INTO bitbin_table (ba, bol, bol2, bs, bs7, bv1, bv, bv2, bvl, bvunlimited1, bvunlimited2)
                VALUES (E'\\\\001\\\\002\\\\003'::bytea, '0'::bit(1), '1'::bit(1), '11'::bit(2), '1'::bit(7), '1'::bit varying(1), '00'::bit(2), '000000110000001000000001'::bit(24),
                  '1000000000000000000000000000000000000000000000000000000000000000'::bit(64), '101', '111011010001000110000001000000001')
                """, columns: [
                    pk,
                    Column(name: "ba", schema: s("bytes"), value: b64([1, 2, 3])), Column(name: "bol", schema: s("boolean"), value: false),
                    Column(name: "bol2", schema: s("boolean"), value: true), Column(name: "bs", schema: bits(2), value: b64([3])),
                    Column(name: "bs7", schema: bits(7), value: b64([64])), Column(name: "bv1", schema: s("boolean"), value: true),
                    Column(name: "bv", schema: bits(2), value: b64([])), Column(name: "bv2", schema: bits(24), value: b64([1, 2, 3])),
                    Column(name: "bvl", schema: bits(64), value: b64([0, 0, 0, 0, 0, 0, 0, 0x80])),
                    Column(name: "bvunlimited1", schema: bits(Int(Int32.max)), value: b64([5])),
                    Column(name: "bvunlimited2", schema: bits(Int(Int32.max)), value: b64([1, 2, 35, 0xDA, 1])),
                ]),
            Table(name: "bytea_binmode_table", ddl: "CREATE TABLE bytea_binmode_table (pk SERIAL, ba BYTEA, bytea_array BYTEA[], PRIMARY KEY(pk))",
                  insert: "INSERT INTO bytea_binmode_table (ba, bytea_array) VALUES (E'\\\\001\\\\002\\\\003'::bytea, array[E'\\\\000\\\\001\\\\002'::bytea, E'\\\\003\\\\004\\\\005'::bytea])",
                  columns: [pk, Column(name: "ba", schema: s("bytes"), value: b64([1, 2, 3])),
                            Column(name: "bytea_array", schema: array(s("bytes")), value: [b64([0, 1, 2]), b64([3, 4, 5])])]),
            Table(name: "time_table", ddl: """
                CREATE TABLE time_table (pk SERIAL, ts TIMESTAMP, tsneg TIMESTAMP(6) WITHOUT TIME ZONE, ts_ms TIMESTAMP(3), ts_us TIMESTAMP(6), tz TIMESTAMPTZ, date DATE,
                  date_pinf DATE, date_ninf DATE, ti TIME, tip TIME(3), ttf TIME, ttz TIME WITH TIME ZONE, tptz TIME(3) WITH TIME ZONE, it INTERVAL, tsp TIMESTAMP (0) WITH TIME ZONE,
                  ts_large TIMESTAMP, ts_large_us TIMESTAMP(6), ts_large_ms TIMESTAMP(3), tz_large TIMESTAMPTZ, ts_max TIMESTAMP(6), ts_min TIMESTAMP(6), tz_max TIMESTAMPTZ,
                  tz_min TIMESTAMPTZ, ts_pinf TIMESTAMP(6), ts_ninf TIMESTAMP(6), tz_pinf TIMESTAMPTZ, tz_ninf TIMESTAMPTZ, tz_zero TIMESTAMP WITH TIME ZONE, PRIMARY KEY(pk))
                """, insert: """
                INSERT INTO time_table(ts, tsneg, ts_ms, ts_us, tz, date, date_pinf, date_ninf, ti, tip, ttf, ttz, tptz, it, ts_large, ts_large_us, ts_large_ms, tz_large, ts_max, ts_min, tz_max, tz_min, ts_pinf, ts_ninf, tz_pinf, tz_ninf, tz_zero)
                VALUES ('2016-11-04T13:51:30.123456'::TIMESTAMP, '1936-10-25T22:10:12.608'::TIMESTAMP, '2016-11-04T13:51:30.123456'::TIMESTAMP, '2016-11-04T13:51:30.123456'::TIMESTAMP,
                  '2016-11-04T13:51:30.123456+02:00'::TIMESTAMPTZ, '2016-11-04'::DATE, 'infinity'::DATE, '-infinity'::DATE, '13:51:30'::TIME, '13:51:30.123'::TIME, '24:00:00'::TIME,
                  '13:51:30.123789+02:00'::TIMETZ, '13:51:30.123+02:00'::TIMETZ, 'P1Y2M3DT4H5M6.78S'::INTERVAL, '21016-11-04T13:51:30.123456'::TIMESTAMP,
                  '21016-11-04T13:51:30.123457'::TIMESTAMP, '21016-11-04T13:51:30.124'::TIMESTAMP, '21016-11-04T13:51:30.123456+07:00'::TIMESTAMPTZ,
                  '294247-01-01T23:59:59.999999'::TIMESTAMP, '4713-12-31T23:59:59.999999 BC'::TIMESTAMP, '294247-01-01T23:59:59.999999+00:00'::TIMESTAMPTZ,
                  '4714-12-31T23:59:59.999999Z BC'::TIMESTAMPTZ, 'infinity'::TIMESTAMP, '-infinity'::TIMESTAMP, 'infinity'::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ,
                  '21016-11-04T13:51:30.000000+07:00'::TIMESTAMPTZ)
                """, columns: [
                    pk,
                    Column(name: "ts", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: micros(2016, 11, 4, 13, 51, 30, us: 123_456)),
                    Column(name: "tsneg", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: micros(1936, 10, 25, 22, 10, 12, us: 608_000)),
                    Column(name: "ts_ms", schema: named("int64", "io.debezium.time.Timestamp"), value: micros(2016, 11, 4, 13, 51, 30, us: 123_000) / 1000),
                    Column(name: "ts_us", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: micros(2016, 11, 4, 13, 51, 30, us: 123_456)),
                    Column(name: "tz", schema: named("string", "io.debezium.time.ZonedTimestamp"), value: "2016-11-04T11:51:30.123456Z"),
                    Column(name: "date", schema: named("int32", "io.debezium.time.Date"), value: epochDay(2016, 11, 4)),
                    Column(name: "ti", schema: named("int64", "io.debezium.time.MicroTime"), value: tod(13, 51, 30)),
                    Column(name: "tip", schema: named("int32", "io.debezium.time.Time"), value: tod(13, 51, 30, us: 123_000) / 1000),
                    Column(name: "ttf", schema: named("int64", "io.debezium.time.MicroTime"), value: Int64(86_400_000_000)),
                    Column(name: "ttz", schema: named("string", "io.debezium.time.ZonedTime"), value: "11:51:30.123789Z"),
                    Column(name: "tptz", schema: named("string", "io.debezium.time.ZonedTime"), value: "11:51:30.123Z"),
                    Column(name: "it", schema: named("int64", "io.debezium.time.MicroDuration"), value: intervalMicros),
                    Column(name: "ts_large", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: micros(21016, 11, 4, 13, 51, 30, us: 123_456)),
                    Column(name: "ts_large_us", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: micros(21016, 11, 4, 13, 51, 30, us: 123_457)),
                    Column(name: "ts_large_ms", schema: named("int64", "io.debezium.time.Timestamp"), value: micros(21016, 11, 4, 13, 51, 30, us: 124_000) / 1000),
                    Column(name: "tz_large", schema: named("string", "io.debezium.time.ZonedTimestamp"), value: "+21016-11-04T06:51:30.123456Z"),
                    Column(name: "ts_max", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: Int64(9_223_371_331_200_000_000 - 1)),
                    Column(name: "ts_min", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: Int64(-210_831_897_600_000_001)),
                    Column(name: "tz_max", schema: named("string", "io.debezium.time.ZonedTimestamp"), value: "+294247-01-01T23:59:59.999999Z"),
                    Column(name: "tz_min", schema: named("string", "io.debezium.time.ZonedTimestamp"), value: "-4713-12-31T23:59:59.999999Z"),
                    // PgStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY of the PostgreSQL JDBC driver.
                    Column(name: "ts_pinf", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: Int64(9_223_372_036_825_200_000)),
                    Column(name: "ts_ninf", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: Int64(-9_223_372_036_832_400_000)),
                    Column(name: "tz_pinf", schema: named("string", "io.debezium.time.ZonedTimestamp"), value: "infinity"),
                    Column(name: "tz_ninf", schema: named("string", "io.debezium.time.ZonedTimestamp"), value: "-infinity"),
                    Column(name: "tz_zero", schema: named("string", "io.debezium.time.ZonedTimestamp"), value: "+21016-11-04T06:51:30.000000Z"),
                ]),
            Table(name: "time_array_table", ddl: """
                CREATE TABLE time_array_table (pk SERIAL, timea time[] NOT NULL, timetza timetz[] NOT NULL, timestampa timestamp[] NOT NULL, timestamptza timestamptz[] NOT NULL, primary key(pk))
                """, insert: """
                INSERT INTO time_array_table (timea, timetza, timestampa, timestamptza) values ('{00:01:02,01:02:03}', '{13:51:02+0200,14:51:03+0200}',
                  '{2020-04-01 00:01:02,2020-04-01 01:02:03}', '{2020-04-01 13:51:02+0200,2020-04-01 14:51:03+0200}')
                """, columns: [
                    pk,
                    Column(name: "timea", schema: array(named("int64", "io.debezium.time.MicroTime"), false), value: [tod(0, 1, 2), tod(1, 2, 3)]),
                    Column(name: "timetza", schema: array(named("string", "io.debezium.time.ZonedTime"), false), value: ["11:51:02Z", "12:51:03Z"]),
                    Column(name: "timestampa", schema: array(named("int64", "io.debezium.time.MicroTimestamp"), false),
                           value: [micros(2020, 4, 1, 0, 1, 2), micros(2020, 4, 1, 1, 2, 3)]),
                    Column(name: "timestamptza", schema: array(named("string", "io.debezium.time.ZonedTimestamp"), false),
                           value: ["2020-04-01T11:51:02.000000Z", "2020-04-01T12:51:03.000000Z"]),
                ]),
            Table(name: "text_table", ddl: "CREATE TABLE text_table (pk SERIAL, j JSON, jb JSONB, x XML, u Uuid, PRIMARY KEY(pk))", insert: """
                INSERT INTO text_table(j, jb, x, u) VALUES ('{"bar": "baz"}'::json, '{"bar": "baz"}'::jsonb, '<foo>bar</foo><foo>bar</foo>'::xml, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID)
                """, columns: [
                    pk,
                    Column(name: "j", schema: named("string", "io.debezium.data.Json"), value: "{\"bar\": \"baz\"}"),
                    Column(name: "jb", schema: named("string", "io.debezium.data.Json"), value: "{\"bar\": \"baz\"}"),
                    Column(name: "x", schema: named("string", "io.debezium.data.Xml"), value: "<foo>bar</foo><foo>bar</foo>"),
                    Column(name: "u", schema: named("string", "io.debezium.data.Uuid"), value: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                ]),
            Table(name: "geom_table", ddl: "CREATE TABLE geom_table (pk SERIAL, p POINT, PRIMARY KEY(pk))", insert: "INSERT INTO geom_table(p) VALUES ('(1,1)'::point)",
                  columns: [pk, Column(name: "p", schema: point, value: ["x": 1.0, "y": 1.0, "wkb": b64(wkb), "srid": NSNull()])]),
            Table(name: "range_table", ddl: """
                CREATE TABLE range_table (pk SERIAL, unbounded_exclusive_tsrange TSRANGE, bounded_inclusive_tsrange TSRANGE, unbounded_exclusive_tstzrange TSTZRANGE,
                  bounded_inclusive_tstzrange TSTZRANGE, unbounded_exclusive_daterange DATERANGE, bounded_exclusive_daterange DATERANGE, int4_number_range INT4RANGE,
                  numerange NUMRANGE, int8_number_range INT8RANGE, PRIMARY KEY(pk))
                """, insert: """
                INSERT INTO range_table (unbounded_exclusive_tsrange, bounded_inclusive_tsrange, unbounded_exclusive_tstzrange, bounded_inclusive_tstzrange,
                  unbounded_exclusive_daterange, bounded_exclusive_daterange, int4_number_range, numerange, int8_number_range)
                VALUES ('[2019-03-31 15:30:00, infinity)', '[2019-03-31 15:30:00, 2019-04-30 15:30:00]', '[2017-06-05 11:29:12.549426+00,)',
                  '[2017-06-05 11:29:12.549426+00, 2017-06-05 12:34:56.789012+00]', '[2019-03-31, infinity)', '[2019-03-31, 2019-04-30)', '[1000,6000)', '[5.3,6.3)', '[1000000,6000000)')
                """, columns: [
                    pk,
                    Column(name: "unbounded_exclusive_tsrange", schema: s("string"), value: "[\"2019-03-31 15:30:00\",infinity)"),
                    Column(name: "bounded_inclusive_tsrange", schema: s("string"), value: "[\"2019-03-31 15:30:00\",\"2019-04-30 15:30:00\"]"),
                    // Debezium compares these as instants; the servers of the suite run in UTC.
                    Column(name: "unbounded_exclusive_tstzrange", schema: s("string"), value: "[\"2017-06-05 11:29:12.549426+00\",)"),
                    Column(name: "bounded_inclusive_tstzrange", schema: s("string"), value: "[\"2017-06-05 11:29:12.549426+00\",\"2017-06-05 12:34:56.789012+00\"]"),
                    Column(name: "unbounded_exclusive_daterange", schema: s("string"), value: "[2019-03-31,infinity)"),
                    Column(name: "bounded_exclusive_daterange", schema: s("string"), value: "[2019-03-31,2019-04-30)"),
                    Column(name: "int4_number_range", schema: s("string"), value: "[1000,6000)"),
                    Column(name: "numerange", schema: s("string"), value: "[5.3,6.3)"),
                    Column(name: "int8_number_range", schema: s("string"), value: "[1000000,6000000)"),
                ]),
            Table(name: "array_table", ddl: """
                CREATE TABLE array_table (pk SERIAL, int_array INT[], bigint_array BIGINT[], text_array TEXT[], char_array CHAR(10)[], varchar_array VARCHAR(10)[], date_array DATE[],
                  numeric_array NUMERIC(10, 2)[], varnumeric_array NUMERIC[3], citext_array CITEXT[], inet_array INET[], cidr_array CIDR[], macaddr_array MACADDR[],
                  tsrange_array TSRANGE[], tstzrange_array TSTZRANGE[], daterange_array DATERANGE[], int4range_array INT4RANGE[],numerange_array NUMRANGE[],
                  int8range_array INT8RANGE[], uuid_array UUID[], json_array json[], jsonb_array jsonb[], oid_array OID[], PRIMARY KEY(pk))
                """, insert: """
                INSERT INTO array_table (int_array, bigint_array, text_array, char_array, varchar_array, date_array, numeric_array, varnumeric_array, citext_array, inet_array, cidr_array,
                  macaddr_array, tsrange_array, tstzrange_array, daterange_array, int4range_array, numerange_array, int8range_array, uuid_array, json_array, jsonb_array, oid_array)
                VALUES ('{1,2,3}', '{1550166368505037572}', '{"one","two","three"}', '{"cone","ctwo","cthree"}', '{"vcone","vctwo","vcthree"}', '{2016-11-04,2016-11-05,2016-11-06}',
                  '{1.2,3.4,5.6}', '{1.1,2.22,3.333}', '{"four","five","six"}', '{"192.168.2.0/12","192.168.1.1","192.168.0.2/1"}',
                  '{"192.168.100.128/25", "192.168.0.0/25", "192.168.1.0/24"}', '{"08:00:2b:01:02:03", "08-00-2b-01-02-03", "08002b:010203"}',
                  '{"[2019-03-31 15:30:00, infinity)", "[2019-03-31 15:30:00, 2019-04-30 15:30:00]"}',
                  '{"[2017-06-05 11:29:12.549426+00,)", "[2017-06-05 11:29:12.549426+00, 2017-06-05 12:34:56.789012+00]"}', '{"[2019-03-31, infinity)", "[2019-03-31, 2019-04-30)"}',
                  '{"[1,6)", "[1,4)"}', '{"[5.3,6.3)", "[10.0,20.0)"}', '{"[1000000,6000000)", "[5000,9000)"}',
                  '{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "f0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}',
                  array['{"bar": "baz"}','{"foo": "qux"}']::json[], array['{"bar": "baz"}','{"foo": "qux"}']::jsonb[], '{3,4000000000}')
                """, columns: [
                    pk,
                    Column(name: "int_array", schema: array(s("int32")), value: [1, 2, 3]),
                    Column(name: "bigint_array", schema: array(s("int64")), value: [Int64(1_550_166_368_505_037_572)]),
                    Column(name: "text_array", schema: array(s("string")), value: ["one", "two", "three"]),
                    Column(name: "char_array", schema: array(s("string")), value: ["cone      ", "ctwo      ", "cthree    "]),
                    Column(name: "varchar_array", schema: array(s("string")), value: ["vcone", "vctwo", "vcthree"]),
                    Column(name: "date_array", schema: array(named("int32", "io.debezium.time.Date")),
                           value: [epochDay(2016, 11, 4), epochDay(2016, 11, 5), epochDay(2016, 11, 6)]),
                    Column(name: "numeric_array", schema: array(decimal(2, precision: 10)), value: [unscaled(120), unscaled(340), unscaled(560)]),
                    Column(name: "varnumeric_array", schema: array(variableScale), value: [vsd(1, 11), vsd(2, 222), vsd(3, 3333)]),
                    Column(name: "citext_array", schema: array(s("string")), value: ["four", "five", "six"]),
                    Column(name: "inet_array", schema: array(s("string")), value: ["192.168.2.0/12", "192.168.1.1", "192.168.0.2/1"]),
                    Column(name: "cidr_array", schema: array(s("string")), value: ["192.168.100.128/25", "192.168.0.0/25", "192.168.1.0/24"]),
                    Column(name: "macaddr_array", schema: array(s("string")), value: ["08:00:2b:01:02:03", "08:00:2b:01:02:03", "08:00:2b:01:02:03"]),
                    Column(name: "tsrange_array", schema: array(s("string")), value: ["[\"2019-03-31 15:30:00\",infinity)", "[\"2019-03-31 15:30:00\",\"2019-04-30 15:30:00\"]"]),
                    Column(name: "tstzrange_array", schema: array(s("string")),
                           value: ["[\"2017-06-05 11:29:12.549426+00\",)", "[\"2017-06-05 11:29:12.549426+00\",\"2017-06-05 12:34:56.789012+00\"]"]),
                    Column(name: "daterange_array", schema: array(s("string")), value: ["[2019-03-31,infinity)", "[2019-03-31,2019-04-30)"]),
                    Column(name: "int4range_array", schema: array(s("string")), value: ["[1,6)", "[1,4)"]),
                    Column(name: "numerange_array", schema: array(s("string")), value: ["[5.3,6.3)", "[10.0,20.0)"]),
                    Column(name: "int8range_array", schema: array(s("string")), value: ["[1000000,6000000)", "[5000,9000)"]),
                    Column(name: "uuid_array", schema: array(named("string", "io.debezium.data.Uuid")),
                           value: ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "f0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]),
                    Column(name: "json_array", schema: array(named("string", "io.debezium.data.Json")), value: ["{\"bar\": \"baz\"}", "{\"foo\": \"qux\"}"]),
                    Column(name: "jsonb_array", schema: array(named("string", "io.debezium.data.Json")), value: ["{\"bar\": \"baz\"}", "{\"foo\": \"qux\"}"]),
                    Column(name: "oid_array", schema: array(s("int64")), value: [3, 4_000_000_000]),
                ]),
            Table(name: "custom_table", ddl: "CREATE TABLE custom_table (pk serial, lt ltree, i isbn NOT NULL, n TEXT, lt_array ltree[], PRIMARY KEY(pk))", insert: """
                INSERT INTO custom_table (lt, i, n, lt_array) VALUES ('Top.Collections.Pictures.Astronomy.Galaxies', '978-0-393-04002-9', NULL, '{"Ship.Frigate","Ship.Destroyer"}')
                """, columns: [
                    pk,
                    Column(name: "lt", schema: named("string", "io.debezium.data.Ltree"), value: "Top.Collections.Pictures.Astronomy.Galaxies"),
                    Column(name: "i", schema: s("string", false), value: "0-393-04002-X"),
                    Column(name: "n", schema: s("string"), value: nil),
                    Column(name: "lt_array", schema: array(named("string", "io.debezium.data.Ltree")), value: ["Ship.Frigate", "Ship.Destroyer"]),
                ]),
            Table(name: "hstore_table", ddl: "CREATE TABLE hstore_table (pk serial, hs hstore, PRIMARY KEY(pk))",
                  insert: "INSERT INTO hstore_table (hs) VALUES ('\"key\" => \"val\"'::hstore)",
                  columns: [pk, Column(name: "hs", schema: named("string", "io.debezium.data.Json"), value: "{\"key\":\"val\"}", jsonText: true)]),
            Table(name: "hstore_table_mul", ddl: "CREATE TABLE hstore_table_mul (pk serial, hs hstore, hsarr hstore[], PRIMARY KEY(pk))", insert: """
                INSERT INTO hstore_table_mul (hs, hsarr) VALUES ('"key1" => "val1","key2" => "val2","key3" => "val3"', array['"key4" => "val4","key5" => NULL'::hstore, '"key6" => "val6"'])
                """, columns: [
                    pk,
                    Column(name: "hs", schema: named("string", "io.debezium.data.Json"), value: "{\"key1\":\"val1\",\"key2\":\"val2\",\"key3\":\"val3\"}", jsonText: true),
                    Column(name: "hsarr", schema: array(named("string", "io.debezium.data.Json")), value: ["{\"key5\":null,\"key4\":\"val4\"}", "{\"key6\":\"val6\"}"], jsonText: true),
                ]),
            Table(name: "hstore_table_with_null", ddl: "CREATE TABLE hstore_table_with_null (pk serial, hs hstore, PRIMARY KEY(pk))",
                  insert: "INSERT INTO hstore_table_with_null (hs) VALUES ('\"key1\" => \"val1\",\"key2\" => NULL')",
                  columns: [pk, Column(name: "hs", schema: named("string", "io.debezium.data.Json"), value: "{\"key1\":\"val1\",\"key2\":null}", jsonText: true)]),
            Table(name: "hstore_table_with_special", ddl: "CREATE TABLE hstore_table_with_special (pk serial, hs hstore, PRIMARY KEY(pk))",
                  insert: "INSERT INTO hstore_table_with_special (hs) VALUES ('\"key_#1\" => \"val 1\",\"key 2\" =>\" ##123 78\"')",
                  columns: [pk, Column(name: "hs", schema: named("string", "io.debezium.data.Json"), value: "{\"key_#1\":\"val 1\",\"key 2\":\" ##123 78\"}", jsonText: true)]),
            Table(name: "enum_table", ddl: """
                CREATE TABLE enum_table (pk SERIAL, data varchar(50) NOT NULL, value test_type NOT NULL DEFAULT 'V2'::test_type, PRIMARY KEY (pk))
                """, insert: "INSERT INTO enum_table (data) VALUES ('V1')", columns: [
                    pk, Column(name: "data", schema: s("string", false), value: "V1"),
                    Column(name: "value", schema: s("string", false, name: "io.debezium.data.Enum", params: ["allowed": "V1,V2"], def: "V2"), value: "V2"),
                ]),
            Table(name: "enum_array_table", ddl: "CREATE TABLE enum_array_table (pk SERIAL, value test_type[] NOT NULL, PRIMARY KEY (pk))",
                  insert: "INSERT INTO enum_array_table (value) VALUES ('{V1, V2}')", columns: [
                    pk, Column(name: "value", schema: array(s("string", false, name: "io.debezium.data.Enum", params: ["allowed": "V1,V2"]), false), value: ["V1", "V2"]),
                ]),
            Table(name: "table_without_pk", ddl: "CREATE TABLE table_without_pk(id serial, val INTEGER); ALTER TABLE table_without_pk REPLICA IDENTITY FULL",
                  insert: "INSERT INTO table_without_pk (val) VALUES (7)",
                  columns: [Column(name: "id", schema: serial(), value: 1), Column(name: "val", schema: s("int32"), value: 7)], nullKey: true),
            // RecordsStreamProducerIT (DBZ-4137, shouldReceiveChangesForDefaultValues): defaults in field schemas.
            Table(name: "numeric_table_with_n_defaults", ddl: """
                CREATE TABLE numeric_table_with_n_defaults (r int4 NOT NULL, r_numeric numeric(19, 4) NULL DEFAULT NULL, r_int int4 NULL DEFAULT NULL);
                ALTER TABLE numeric_table_with_n_defaults REPLICA IDENTITY FULL
                """, insert: "INSERT INTO numeric_table_with_n_defaults (r) VALUES (1)", columns: [
                    Column(name: "r", schema: s("int32", false), value: 1), Column(name: "r_numeric", schema: decimal(4, precision: 19), value: nil),
                    Column(name: "r_int", schema: s("int32"), value: nil),
                ], nullKey: true),
            Table(name: "numeric_table_with_defaults", ddl: """
                CREATE TABLE numeric_table_with_defaults (r int4 NOT NULL, r_numeric numeric(19, 4) NOT NULL DEFAULT 1, r_int int4 NOT NULL DEFAULT 2);
                ALTER TABLE numeric_table_with_defaults REPLICA IDENTITY FULL
                """, insert: "INSERT INTO numeric_table_with_defaults (r) VALUES (1)", columns: [
                    Column(name: "r", schema: s("int32", false), value: 1),
                    Column(name: "r_numeric", schema: decimal(4, precision: 19, false).merging(["default": unscaled(10000)]) { $1 }, value: unscaled(10000)),
                    Column(name: "r_int", schema: s("int32", false, def: 2), value: 2),
                ], nullKey: true),
            Table(name: "test_table", ddl: "CREATE TABLE test_table (pk SERIAL, text TEXT, default_column TEXT DEFAULT 'default', PRIMARY KEY(pk))",
                  insert: "INSERT INTO test_table (text) VALUES ('update')", columns: [
                    pk, Column(name: "text", schema: s("string"), value: "update"),
                    Column(name: "default_column", schema: s("string", def: "default"), value: "default"),
                  ]),
            // TsVectorDataTypeIT (init_tsvector.ddl).
            Table(schema: "tsvector", name: "text_search_test", ddl: """
                CREATE SCHEMA tsvector; CREATE TABLE tsvector.text_search_test (id SERIAL PRIMARY KEY, title TEXT, content TEXT, search_vector tsvector)
                """, insert: """
                INSERT INTO tsvector.text_search_test (title, content, search_vector) VALUES ('TC1 - Direct TSV', 'This is a test for direct tsvector insert',
                  to_tsvector('english', 'This is a test for direct tsvector insert'))
                """, columns: [
                    Column(name: "search_vector", schema: named("string", "io.debezium.data.Tsvector"), value: "'direct':6 'insert':8 'test':4 'tsvector':7"),
                ]),
            // DomainTypesIT (dbz#2350): a domain column is written exactly as its base type.
            Table(schema: "domaintypes", name: "t2", ddl: """
                CREATE SCHEMA domaintypes; CREATE DOMAIN domaintypes.num_dom AS numeric; CREATE DOMAIN domaintypes.money_dom AS money;
                CREATE DOMAIN domaintypes.ts_dom AS timestamp;
                CREATE TABLE domaintypes.t2 (id serial primary key, plain_num numeric, dom_num domaintypes.num_dom, plain_money money, dom_money domaintypes.money_dom,
                  plain_ts timestamp, dom_ts domaintypes.ts_dom)
                """, insert: """
                INSERT INTO domaintypes.t2 (id, plain_num, dom_num, plain_money, dom_money, plain_ts, dom_ts)
                VALUES (default, 123.45, 123.45, 67.89, 67.89, '2021-03-08 12:34:56', '2021-03-08 12:34:56')
                """, columns: [
                    Column(name: "plain_num", schema: variableScale, value: vsd(2, 12345)), Column(name: "dom_num", schema: variableScale, value: vsd(2, 12345)),
                    Column(name: "plain_money", schema: decimal(2, precision: nil), value: unscaled(6789)),
                    Column(name: "dom_money", schema: decimal(2, precision: nil), value: unscaled(6789)),
                    Column(name: "plain_ts", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: micros(2021, 3, 8, 12, 34, 56)),
                    Column(name: "dom_ts", schema: named("int64", "io.debezium.time.MicroTimestamp"), value: micros(2021, 3, 8, 12, 34, 56)),
                ]),
            Table(schema: "Quoted_\" . Schema", name: "Quoted_\" . Table", ddl: """
                CREATE SCHEMA "Quoted_"" . Schema"; CREATE TABLE "Quoted_"" . Schema"."Quoted_"" . Table" (pk SERIAL, "Quoted_"" . Text_Column" TEXT, PRIMARY KEY(pk))
                """, insert: "INSERT INTO \"Quoted_\"\" . Schema\".\"Quoted_\"\" . Table\" (\"Quoted_\"\" . Text_Column\") VALUES ('some text')",
                  columns: [pk, Column(name: "Quoted_\" . Text_Column", schema: s("string"), value: "some text")]),
        ]
    }

    /// The same tables under Debezium's other settings: (setting, table, column, schema, value).
    struct Variant { var table: String; var column: Column }

    static var stringDecimals: [Variant] {
        [("d", "1.10"), ("dzs", "10"), ("dvs", "10.1111"), ("n", "22.2200"), ("nzs", "22"), ("nvs", "22.2222"), ("d_int", "1.00"), ("dzs_int", "10"),
         ("dvs_int", "10"), ("n_int", "22.0000"), ("nzs_int", "22"), ("nvs_int", "22")].map { Variant(table: "numeric_decimal_table", column: Column(name: $0.0, schema: s("string"), value: $0.1)) }
            + [Variant(table: "numeric_decimal_table", column: Column(name: "d_nn", schema: s("string", false), value: "3.30")),
               Variant(table: "cash_table", column: Column(name: "csh", schema: s("string"), value: "1234.11")),
               Variant(table: "negative_cash_table", column: Column(name: "csh", schema: s("string"), value: "-1234.11")),
               Variant(table: "money_limits", column: Column(name: "lo", schema: s("string", false), value: "-92233720368547758.08")),
               Variant(table: "money_limits", column: Column(name: "hi", schema: s("string", false), value: "92233720368547758.07")),
               Variant(table: "numeric_nan_table", column: Column(name: "d_nan", schema: s("string"), value: "NAN")),
               Variant(table: "numeric_nan_table", column: Column(name: "dvs_nan", schema: s("string"), value: "POSITIVE_INFINITY")),
               Variant(table: "numeric_nan_table", column: Column(name: "nvs_nan", schema: s("string"), value: "NEGATIVE_INFINITY"))]
    }

    static var doubleDecimals: [Variant] {
        [("d", 1.1), ("dzs", 10), ("dvs", 10.1111), ("n", 22.22), ("nzs", 22), ("nvs", 22.2222)].map {
            Variant(table: "numeric_decimal_table", column: Column(name: $0.0, schema: s("double"), value: $0.1))
        } + [Variant(table: "cash_table", column: Column(name: "csh", schema: s("double"), value: 1234.11)),
             Variant(table: "numeric_table_with_n_defaults", column: Column(name: "r_numeric", schema: s("double"), value: nil)),
             Variant(table: "numeric_table_with_defaults", column: Column(name: "r_numeric", schema: s("double", false, def: 1.0), value: 1.0)),
             Variant(table: "numeric_nan_table", column: Column(name: "d_nan", schema: s("double"), value: "NaN"))]
    }

    /// `numeric_decimal_table` with NaN and infinities (Debezium's INSERT_NUMERIC_DECIMAL_TYPES_STMT_WITH_INFINITY / with NaN).
    static var nanTable: Table { Table(name: "numeric_nan_table", ddl: "CREATE TABLE numeric_nan_table (pk SERIAL, d_nan DECIMAL(3,2), dvs_nan DECIMAL, nvs_nan NUMERIC, PRIMARY KEY(pk))",
                                insert: "INSERT INTO numeric_nan_table (d_nan, dvs_nan, nvs_nan) VALUES ('NaN', 'Infinity', '-Infinity')", columns: [pk]) }

    static var hstoreMap: [Variant] {
        let map = s("map", extra: ["keys": ["type": "string", "optional": false], "values": ["type": "string", "optional": true]])
        return [Variant(table: "hstore_table", column: Column(name: "hs", schema: map, value: ["key": "val"])),
                Variant(table: "hstore_table_mul", column: Column(name: "hs", schema: map, value: ["key1": "val1", "key2": "val2", "key3": "val3"])),
                Variant(table: "hstore_table_mul", column: Column(name: "hsarr", schema: array(map), value: [["key4": "val4", "key5": NSNull()], ["key6": "val6"]])),
                Variant(table: "hstore_table_with_null", column: Column(name: "hs", schema: map, value: ["key1": "val1", "key2": NSNull()])),
                Variant(table: "hstore_table_with_special", column: Column(name: "hs", schema: map, value: ["key_#1": "val 1", "key 2": " ##123 78"]))]
    }

    static var intervalString: [Variant] {
        [Variant(table: "time_table", column: Column(name: "it", schema: named("string", "io.debezium.time.Interval"), value: "P1Y2M3DT4H5M6.78S"))]
    }

    static var byteaBase64: [Variant] {
        [Variant(table: "bytea_binmode_table", column: Column(name: "ba", schema: s("string"), value: "AQID")),
         Variant(table: "bytea_binmode_table", column: Column(name: "bytea_array", schema: array(s("string")), value: ["AAEC", "AwQF"]))]
    }

    /// The bytes `fb ff fe` show the URL-safe alphabet (`+/` → `-_`), beyond Debezium's own case (`AQID`).
    static var byteaBase64UrlSafe: [Variant] {
        [Variant(table: "bytea_binmode_table", column: Column(name: "ba", schema: s("string"), value: "AQID")),
         Variant(table: "bytea_binmode_table", column: Column(name: "bytea_array", schema: array(s("string")), value: ["AAEC", "AwQF"])),
         Variant(table: "bytea_url_table", column: Column(name: "b", schema: s("string"), value: "-__-"))]
    }

    static var byteaUrlTable: Table {
        Table(name: "bytea_url_table", ddl: "CREATE TABLE bytea_url_table (pk SERIAL, b BYTEA, PRIMARY KEY(pk))",
              insert: "INSERT INTO bytea_url_table (b) VALUES ('\\xfbfffe'::bytea)", columns: [pk])
    }

    static var byteaHex: [Variant] {
        [Variant(table: "bytea_binmode_table", column: Column(name: "ba", schema: s("string"), value: "010203")),
         Variant(table: "bytea_binmode_table", column: Column(name: "bytea_array", schema: array(s("string")), value: ["000102", "030405"]))]
    }
}
