import Archive
import Foundation
import LibPQ
import Logging

/// Where replayed rows go: a database table (bulk COPY) or a file.
protocol RowSink: AnyObject {
    /// How many writers may load at once, each from its own thread through its own lane.
    var lanes: Int { get }
    /// Prepares the destination for a table of this shape.
    func begin(_ def: TableDefinition) throws
    /// Rows in COPY text format (complete lines) whose fields are `columns`, in that order.
    func write(lane: Int, columns: [String], _ lines: UnsafeRawBufferPointer) throws
    /// Ends the load (constraints, indexes, swap). Returns a line describing where rows went.
    func finish(rows: Int) throws -> String
    /// Gives up after a failure: nothing of the load is left behind.
    func abort()
}

extension RowSink {
    var lanes: Int { 1 }
    func abort() {}
    func write(lane: Int = 0, columns: [String], _ lines: [UInt8]) throws {
        try lines.withUnsafeBytes { try write(lane: lane, columns: columns, $0) }
    }
}

/// COPY-text, CSV or SQL output, to a file or to any consumer of bytes (a new base copy).
final class FileSink: RowSink {
    enum Format: String, Sendable { case copy, csv, sql }
    let describe: String
    let format: Format
    let output: ([UInt8]) throws -> Void
    let close: () throws -> Void
    var target: [String] = []
    var def: TableDefinition?
    var buffer: [UInt8] = []

    init(format: Format, describe: String, output: @escaping ([UInt8]) throws -> Void, close: @escaping () throws -> Void) {
        self.format = format
        self.describe = describe
        self.output = output
        self.close = close
    }

    /// Called when the load fails part-way.
    var onAbort: () -> Void = {}

    /// A regular file is written beside `path` (owner-only) and renamed over it once complete and
    /// fsynced, so a failure (a full disk) leaves whatever was there before; a device, pipe or
    /// link to one is written through in place, never replaced.
    convenience init(path: String, format: Format) throws {
        var st = stat()
        let existsSpecial = stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG
        // A link stays a link: the file it points to is the one replaced.
        let finalPath = existsSpecial ? path : (realpath(path, nil).map { p in defer { free(p) }; return String(cString: p) } ?? path)
        let writePath = existsSpecial ? path : finalPath + ".logbook-partial-\(getpid())"
        let fd: Int32
        do { fd = try FileIO.open(writePath, O_WRONLY | O_CREAT | O_TRUNC) } catch let e as ArchiveError {
            throw ReplayError(.target, "cannot write \(path): \(e.message)", fix: e.fix ?? "choose an --output path in a folder you can write to")
        }
        func failed(_ e: Error) -> Error {
            guard let e = e as? ArchiveError else { return e }
            return ReplayError(.target, "writing \(path) failed: \(e.message)", fix: (e.fix ?? "fix the cause and run again") + "; nothing was written to \(path)")
        }
        var open = true
        self.init(format: format, describe: "to \(path) (\(format.rawValue))", output: { bytes in
            do { try FileIO.writeAll(fd, bytes, path: writePath) } catch { throw failed(error) }
        }, close: {
            do {
                if !existsSpecial { try FileIO.fsync(fd, path: writePath) }
                Glibc.close(fd)
                open = false
                if !existsSpecial {
                    try FileIO.rename(writePath, finalPath)
                    try FileIO.fsyncDirectory(FileIO.parentFolder(of: finalPath))
                }
            } catch { throw failed(error) }
        })
        onAbort = {
            if open { Glibc.close(fd); open = false }
            if !existsSpecial { try? FileIO.unlink(writePath) }
        }
    }

    func abort() { onAbort() }

    func begin(_ def: TableDefinition) throws {
        self.def = def
        target = def.storedColumns.map(\.name)
        switch format {
        case .csv:
            try emit(Array(target.map(csvQuote).joined(separator: ",").utf8) + [0x0A])
        case .sql:
            var head = "-- Rebuilt by logbook replay\n"
            for s in SchemaSQL.createStatements(def, as: (def.schema, def.name)) { head += s + ";\n" }
            head += "COPY \(SchemaSQL.q(def.schema)).\(SchemaSQL.q(def.name)) (\(target.map(SchemaSQL.q).joined(separator: ", "))) FROM stdin;\n"
            try emit(Array(head.utf8))
        case .copy: break
        }
    }

    func csvQuote(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || s.isEmpty
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    func emit(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count > 1 << 20 { try flushBuffer() }
    }

    func flushBuffer() throws {
        if !buffer.isEmpty { try output(buffer) }
        buffer.removeAll(keepingCapacity: true)
    }

    func write(lane: Int, columns: [String], _ lines: UnsafeRawBufferPointer) throws {
        let same = columns == target
        if same && format != .csv { try emit(Array(lines)); return }
        let map = target.map { columns.firstIndex(of: $0) }
        // A column the rows predate (added later) holds its default, as in the live table.
        let fillers: [[UInt8]] = target.map { name in
            let literal = def?.columns.first { $0.name == name }.flatMap { SchemaSQL.constantDefault($0.defaultExpression) }
            return literal.map { CopyText.escape(Array($0.utf8)) } ?? CopyText.nullMarker
        }
        var start = 0
        let bytes = Array(lines)
        for i in bytes.indices where bytes[i] == CopyText.newline {
            let line = bytes[start..<i]
            start = i + 1
            let ranges = CopyText.fieldRanges(line)
            var out: [UInt8] = []
            for (n, m) in map.enumerated() {
                if n > 0 { out.append(format == .csv ? UInt8(ascii: ",") : CopyText.tab) }
                guard let m, m < ranges.count else {
                    if format == .csv {
                        if fillers[n] != CopyText.nullMarker { out += Array(csvQuote(String(decoding: CopyText.unescape(fillers[n][...]), as: UTF8.self)).utf8) }
                    } else {
                        out += fillers[n]
                    }
                    continue
                }
                let field = bytes[ranges[m]]
                if format == .csv {
                    if field.elementsEqual(CopyText.nullMarker) { continue }
                    let raw = String(decoding: CopyText.unescape(field), as: UTF8.self)
                    out += Array(csvQuote(raw).utf8)
                } else {
                    out += field
                }
            }
            out.append(CopyText.newline)
            try emit(out)
        }
    }

    func finish(rows: Int) throws -> String {
        if format == .sql {
            var tail = "\\.\n"
            if let def {
                for c in def.columns {
                    if let s = SchemaSQL.sequence(in: c.defaultExpression) {
                        tail += "SELECT setval('\(s)', GREATEST((SELECT max(\(SchemaSQL.q(c.name))) FROM \(SchemaSQL.q(def.schema)).\(SchemaSQL.q(def.name))), 1));\n"
                    }
                }
            }
            try emit(Array(tail.utf8))
        }
        try flushBuffer()
        try close()
        return "wrote \(rows) rows \(describe)"
    }
}

/// Loads rows into a database, as pg_restore does: the rows first, then the key and indexes.
///
/// Two lanes (the usual case): the table is built under a temporary name (`<name>_logbook_new`),
/// committed empty, and filled by two connections at once, each in its own transaction (the
/// server parses rows on two cores); then one transaction adds the key and indexes and renames
/// it into place, dropping the table it replaces (`replace`). A failure drops the build table.
///
/// One lane (`inPlace`: the live, archived table in its own source database): everything happens
/// in one transaction: the build table is created and filled (COPY FREEZE), then its rows replace
/// the live table's with TRUNCATE + INSERT, so the table keeps its identity (publication, grants,
/// foreign keys, triggers) and the archiver records the restore.
final class DatabaseSink: RowSink {
    let conn: PostgresConnection
    let target: (schema: String, name: String)
    let replace: Bool
    let inPlace: Bool
    let buildName: String
    /// Two, or one when a second connection cannot be had (or in place).
    var lanes: Int
    let logger: Logger
    /// Opens another connection to the target (for the second lane).
    let connect: () throws -> PostgresConnection
    /// One connection per lane, each written by one thread only; the list itself is fixed while rows load.
    final class Lane {
        let conn: PostgresConnection
        /// The columns of the COPY in progress, and whether it is binary.
        var copyColumns: [String]?
        var copyBinary = false
        /// The binary encoder for `encoderColumns` (nil when one of their types goes as text).
        var encoder: BinaryCopyEncoder?
        var encoderColumns: [String]?
        let scratch = BinaryCopyBuffer()
        init(_ conn: PostgresConnection) { self.conn = conn }

        /// Ends the COPY in progress, if any.
        func endCopy() throws {
            guard copyColumns != nil else { return }
            if copyBinary { try conn.putCopyData(BinaryCopyEncoder.trailer) }
            copyColumns = nil
            try conn.endCopy()
        }
    }
    var laneList: [Lane]
    var def: TableDefinition?
    /// Whether this sink created the build table (only then may `abort` drop it).
    var createdBuild = false
    /// Part of a set: `finish` builds the keys and indexes only; the set's swap comes after every table is loaded.
    var deferSwap = false
    /// What the restore leaves out knowingly (owner, privileges, policies, triggers).
    var omit = ObjectSQL.Omit()
    /// Told of the connections and build table, for a rollback from a signal.
    var interrupt: ReplayInterrupt?
    /// `--data-only`: the target's table stays as it is; only its rows are replaced (`DataOnly.swift`).
    var dataOnly = false
    /// Foreign keys already made on the build table (among the set's tables, `SetForeignKeys`).
    var foreignKeysMade = Set<String>()

    init(conn: PostgresConnection, target: (schema: String, name: String), replace: Bool, inPlace: Bool = false,
         logger: Logger, connect: @escaping () throws -> PostgresConnection) {
        self.conn = conn
        self.logger = logger
        self.target = target
        self.replace = replace
        self.inPlace = inPlace
        self.connect = connect
        lanes = inPlace ? 1 : 2
        buildName = String("\(target.name)_logbook_new".prefix(63))
        laneList = [Lane(conn)]
    }

    var qualifiedBuild: String { "\(SchemaSQL.q(target.schema)).\(SchemaSQL.q(buildName))" }
    /// While the replaced table exists its names (indexes, partitions, sequences) are taken: the new ones carry this until the swap.
    var buildSuffix: String { replace ? "_lbnew" : "" }

    /// An identity sequence of the build table: its final name, with the build suffix.
    func buildSequenceName(_ c: TableDefinition.Column) -> (schema: String, name: String)? {
        guard let def, let n = SchemaSQL.identitySequenceName(c, of: def, as: target) else { return nil }
        return (n.schema, String((n.name + buildSuffix).prefix(63)))
    }
    var qualifiedTarget: String { "\(SchemaSQL.q(target.schema)).\(SchemaSQL.q(target.name))" }

    /// Marks a build table as replay's own (dropped by the next replay if one was interrupted).
    static let buildNote = "logbook replay: table being built; dropped if the replay is interrupted"

    static func prepare(_ c: PostgresConnection) throws {
        try c.query("SET synchronous_commit = off")
        // Room for building the key and indexes in one pass over the loaded rows.
        try c.query("SET maintenance_work_mem = '256MB'")
    }

    func begin(_ def: TableDefinition) throws {
        self.def = def
        try interrupt?.opened(conn)
        if dataOnly { return try beginDataOnly(def) }
        let exists = try conn.query("SELECT to_regclass($1) IS NOT NULL", [qualifiedTarget]).scalar == "t"
        if exists && !replace {
            throw ReplayError(.targetExists, "table \(target.schema).\(target.name) already exists in the target database",
                              fix: "pass --replace to swap it for the rebuilt one in one transaction, or --into another name")
        }
        if !inPlace { try TargetCheck.require([def], omit: omit, on: conn) }
        try Self.prepare(conn)
        // Check constraints (named per table, so no clash with the table being replaced) are tested
        // as rows arrive; the key and indexes are built once the rows are in.
        let create = SchemaSQL.createTable(def, as: (target.schema, buildName), withConstraints: false, withChecks: true,
                                           identityAs: inPlace ? nil : target, sequenceName: inPlace ? nil : { self.buildSequenceName($0) },
                                           partitioned: !inPlace)
        // A build table left by an interrupted replay is ours to drop; a table of that name that is not, is refused.
        if try conn.query("SELECT to_regclass($1) IS NOT NULL", [qualifiedBuild]).scalar == "t" {
            let note = try conn.query("SELECT obj_description(to_regclass($1), 'pg_class')", [qualifiedBuild]).scalar
            guard note == Self.buildNote else {
                throw ReplayError(.targetExists, "the target database has a table \(target.schema).\(buildName), the name replay builds under",
                                  fix: "rename or drop that table, or replay --into another name")
            }
        }
        if inPlace {
            try conn.query("BEGIN")
            try conn.query("DROP TABLE IF EXISTS \(qualifiedBuild)")
            try conn.query(create)
            return
        }
        // Schemas, types and sequences the table needs (each created only if missing).
        for s in SchemaSQL.createStatements(def, as: target)
        where !s.hasPrefix("CREATE TABLE") && !s.contains(" INDEX ") && !s.hasPrefix("COMMENT ") && !s.hasPrefix("ALTER TABLE ") && !s.hasPrefix("ALTER SEQUENCE ") { try conn.query(s) }
        // Known to a signal's rollback before it exists; made with its note in one transaction, so
        // that it exists marked as replay's own or not at all.
        try interrupt?.building(qualifiedBuild)
        try conn.query("DROP TABLE IF EXISTS \(qualifiedBuild)")
        try conn.query("BEGIN")
        try conn.query(create)
        for s in SchemaSQL.columnSettings(def, on: qualifiedBuild) { try conn.query(s) }
        for s in SchemaSQL.partitionStatements(def, as: target, nameSuffix: buildSuffix, root: buildName) { try conn.query(s) }
        try conn.query("COMMENT ON TABLE \(qualifiedBuild) IS \(PostgresConnection.quoteLiteral(Self.buildNote))")
        try conn.query("COMMIT")
        createdBuild = true
        for _ in 1..<lanes {
            do {
                let c = try connect()
                try interrupt?.opened(c)
                try Self.prepare(c)
                laneList.append(Lane(c))
            } catch let e as PostgresError {
                logger.warning("loading through one connection: a second one was refused (\(e.message))")
                lanes = laneList.count
                break
            }
        }
        for l in laneList { try l.conn.query("BEGIN") }
    }

    func write(lane: Int, columns: [String], _ lines: UnsafeRawBufferPointer) throws {
        let l = laneList[lane], c = l.conn
        guard let def else { throw ReplayError(.target, "rows reached the destination before its table was created") }
        // Binary when every value of the batch is read exactly on this side (BinaryCopyEncoder), else text.
        if l.encoderColumns != columns {
            l.encoder = BinaryCopyEncoder(columns: columns, of: def)
            l.encoderColumns = columns
        }
        var binary = false
        if let encoder = l.encoder, !dataOnly {
            l.scratch.count = 0
            binary = encoder.encode(lines, into: l.scratch)
        }
        if l.copyColumns != columns || l.copyBinary != binary {
            try l.endCopy()
            let known = Set(def.columns.map(\.name))
            guard columns.allSatisfy(known.contains) else {
                throw ReplayError(.target, "rows name columns \(columns.filter { !known.contains($0) }) the table does not have")
            }
            // In one lane the table was created in this transaction: FREEZE writes the rows already frozen.
            var options: [String] = []
            if binary { options.append("FORMAT binary") }
            if inPlace { options.append("FREEZE") }
            try c.beginCopyIn("COPY \(qualifiedBuild) (\(columns.map(SchemaSQL.q).joined(separator: ", "))) FROM STDIN"
                              + (options.isEmpty ? "" : " WITH (\(options.joined(separator: ", ")))"))
            l.copyColumns = columns
            l.copyBinary = binary
            if binary { try c.putCopyData(BinaryCopyEncoder.header) }
        }
        if binary { try c.putCopyData(l.scratch.bytes) } else { try c.putCopyData(lines) }
    }

    func finish(rows: Int) throws -> String {
        guard let def else { return "" }
        if inPlace {
            try laneList[0].endCopy()
            return try finishInPlace(def, rows: rows)
        }
        do {
            if dataOnly { try commitLanes() } else { try buildKeys(def) }
            if deferSwap { return "loaded \(rows) rows into \(target.schema).\(target.name)" }
            try TableSetSwap(sinks: [self], conn: conn, omit: omit, logger: logger).run()
        } catch {
            abort()
            throw error
        }
        return "loaded \(rows) rows into \(target.schema).\(target.name)"
    }

    /// Rolls back and drops the build table (never the target: it is only replaced at the swap).
    func abort() {
        laneList = [laneList[0]] // closing a connection ends its transaction
        try? laneList[0].endCopy()
        _ = try? conn.query("ROLLBACK")
        if !inPlace && createdBuild {
            _ = try? conn.query("DROP TABLE IF EXISTS \(qualifiedBuild)")
            createdBuild = false
            interrupt?.built(qualifiedBuild)
        }
    }

    /// The live table keeps its identity: its rows are replaced by the rebuilt ones in one transaction.
    func finishInPlace(_ def: TableDefinition, rows: Int) throws -> String {
        let liveColumns = Set(try conn.query("""
            SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped
            """, [qualifiedTarget]).rows.compactMap { $0[0] })
        let missing = def.columns.map(\.name).filter { !liveColumns.contains($0) }
        guard missing.isEmpty else {
            _ = try? conn.query("ROLLBACK")
            throw ReplayError(.target, "the live table \(target.schema).\(target.name) no longer has the columns \(missing) it had at that point",
                              fix: "replay --into a new table and move the rows over by hand")
        }
        let cols = def.storedColumns.map { SchemaSQL.q($0.name) }.joined(separator: ", ")
        let overriding = def.columns.contains { $0.identity == "a" } ? " OVERRIDING SYSTEM VALUE" : ""
        do {
            try conn.query("TRUNCATE \(qualifiedTarget)")
            try conn.query("INSERT INTO \(qualifiedTarget) (\(cols))\(overriding) SELECT \(cols) FROM \(qualifiedBuild)")
            try conn.query("DROP TABLE \(qualifiedBuild)")
        } catch let e as PostgresError {
            _ = try? conn.query("ROLLBACK")
            throw ReplayError(.target, "could not replace the rows of \(target.schema).\(target.name): \(e.message)",
                              fix: e.sqlState == "0A000" ? "other tables' foreign keys reference it: replay --into a new table and reconcile by hand" : "nothing was changed; fix the cause and run again")
        }
        // Never move a live sequence backwards: numbers already handed out stay used.
        try setSequences(def, keepAhead: true)
        try conn.query("COMMIT")
        return "replaced the rows of \(target.schema).\(target.name) in place (\(rows) rows, one transaction)"
    }

    /// Sets each sequence a column draws from (serial default or identity) past the highest value
    /// loaded, as pg_restore leaves them; `keepAhead`: never below where it already is.
    func setSequences(_ def: TableDefinition, keepAhead: Bool, on c: PostgresConnection? = nil) throws {
        let conn = c ?? self.conn
        for c in def.columns {
            let seq: String?
            if let s = SchemaSQL.sequence(in: c.defaultExpression) { seq = s } else if c.identity != nil {
                seq = try conn.query("SELECT pg_get_serial_sequence($1, $2)", [qualifiedTarget, c.name]).scalar
            } else { seq = nil }
            guard let seq else { continue }
            let floor = keepAhead ? "(SELECT last_value FROM \(seq))" : "1"
            try conn.query("SELECT setval($1::regclass, GREATEST((SELECT max(\(SchemaSQL.q(c.name))) FROM \(qualifiedTarget)), \(floor)))", [seq])
        }
    }
}
