import Archive
import Foundation
import LibPQ

/// Where replayed rows go: a database table (bulk COPY) or a file.
protocol RowSink: AnyObject {
    /// Prepares the destination for a table of this shape.
    func begin(_ def: TableDefinition) throws
    /// Rows in COPY text format (complete lines) whose fields are `columns`, in that order.
    func write(columns: [String], _ lines: UnsafeRawBufferPointer) throws
    /// Ends the load (constraints, indexes, swap). Returns a line describing where rows went.
    func finish(rows: Int) throws -> String
}

extension RowSink {
    func write(columns: [String], _ lines: [UInt8]) throws {
        try lines.withUnsafeBytes { try write(columns: columns, $0) }
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

    convenience init(path: String, format: Format) throws {
        // Opened in place (created owner-only if new): an existing device, pipe or link is written
        // through, never replaced.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ReplayError(.target, "cannot write \(path): \(String(cString: strerror(errno)))", fix: "choose an --output path in a folder you can write to")
        }
        let h = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var st = stat()
        let regular = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        self.init(format: format, describe: "to \(path) (\(format.rawValue))", output: { h.write(Data($0)) },
                  close: { if regular { try h.synchronize() }; try h.close() })
    }

    func begin(_ def: TableDefinition) throws {
        self.def = def
        target = def.columns.map(\.name)
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

    func write(columns: [String], _ lines: UnsafeRawBufferPointer) throws {
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

/// Loads rows into a database: the table is created without its indexes, filled with COPY in
/// the same transaction (so COPY can skip WAL-heavy work), then given its key and indexes, as
/// pg_restore does. With `replace`, it is built under a temporary name and swapped in at commit.
/// `inPlace` (the live, archived table in its own source database): built the same way, then its
/// rows replace the live table's with TRUNCATE + INSERT in the same transaction, so the table keeps
/// its identity (publication, grants, foreign keys, triggers) and the archiver records the restore.
final class DatabaseSink: RowSink {
    let conn: PostgresConnection
    let target: (schema: String, name: String)
    let replace: Bool
    let inPlace: Bool
    var buildName: String
    var def: TableDefinition?
    var copyColumns: [String]?

    init(conn: PostgresConnection, target: (schema: String, name: String), replace: Bool, inPlace: Bool = false) {
        self.conn = conn
        self.target = target
        self.replace = replace
        self.inPlace = inPlace
        buildName = replace ? String("\(target.name)_logbook_new".prefix(63)) : target.name
    }

    var qualifiedBuild: String { "\(SchemaSQL.q(target.schema)).\(SchemaSQL.q(buildName))" }
    var qualifiedTarget: String { "\(SchemaSQL.q(target.schema)).\(SchemaSQL.q(target.name))" }

    func begin(_ def: TableDefinition) throws {
        self.def = def
        let exists = try conn.query("SELECT to_regclass($1) IS NOT NULL", [qualifiedTarget]).scalar == "t"
        if exists && !replace {
            throw ReplayError(.targetExists, "table \(target.schema).\(target.name) already exists in the target database",
                              fix: "pass --replace to swap it for the rebuilt one in one transaction, or --into another name")
        }
        try conn.query("SET synchronous_commit = off")
        // Room for building the key and indexes in one pass over the loaded rows.
        try conn.query("SET maintenance_work_mem = '256MB'")
        try conn.query("BEGIN")
        let stmts = SchemaSQL.createStatements(def, as: target)
        if !inPlace { for s in stmts where !s.hasPrefix("CREATE TABLE") && !s.contains(" INDEX ") { try conn.query(s) } }
        if replace { try conn.query("DROP TABLE IF EXISTS \(qualifiedBuild)") }
        try conn.query(SchemaSQL.createTable(def, as: (target.schema, buildName), withConstraints: false))
    }

    func write(columns: [String], _ lines: UnsafeRawBufferPointer) throws {
        if copyColumns != columns {
            if copyColumns != nil { try conn.endCopy() }
            let known = Set(def?.columns.map(\.name) ?? [])
            guard columns.allSatisfy(known.contains) else {
                throw ReplayError(.target, "rows name columns \(columns.filter { !known.contains($0) }) the table does not have")
            }
            // The table was created in this transaction: FREEZE writes the rows already frozen.
            try conn.beginCopyIn("COPY \(qualifiedBuild) (\(columns.map(SchemaSQL.q).joined(separator: ", "))) FROM STDIN WITH (FREEZE)")
            copyColumns = columns
        }
        try conn.putCopyData(lines)
    }

    func finish(rows: Int) throws -> String {
        if copyColumns != nil { try conn.endCopy(); copyColumns = nil }
        guard let def else { return "" }
        if !def.primaryKey.isEmpty {
            try conn.query("ALTER TABLE \(qualifiedBuild) ADD PRIMARY KEY (\(def.primaryKey.map(SchemaSQL.q).joined(separator: ", ")))")
        }
        for (name, check) in def.checks.sorted(by: { $0.key < $1.key }) {
            try conn.query("ALTER TABLE \(qualifiedBuild) ADD CONSTRAINT \(SchemaSQL.q(replace ? name + "_lbnew" : name)) \(check)")
        }
        if inPlace { return try finishInPlace(def, rows: rows) }
        let suffix = replace ? "_lbnew" : ""
        for s in SchemaSQL.indexStatements(def, as: (target.schema, buildName), nameSuffix: suffix) { try conn.query(s) }
        if replace {
            try conn.query("DROP TABLE IF EXISTS \(qualifiedTarget)")
            try conn.query("ALTER TABLE \(qualifiedBuild) RENAME TO \(SchemaSQL.q(target.name))")
            // Give the swapped-in key, indexes and checks their usual names.
            let idx = try conn.query("""
                SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1)
                """, [qualifiedTarget])
            for row in idx.rows {
                guard let n = row[0] else { continue }
                let final: String
                if n.hasSuffix("_lbnew") { final = String(n.dropLast(6)) } else if n == "\(buildName)_pkey" { final = "\(target.name)_pkey" } else { continue }
                try conn.query("ALTER INDEX \(SchemaSQL.q(target.schema)).\(SchemaSQL.q(n)) RENAME TO \(SchemaSQL.q(final))")
            }
            for name in def.checks.keys {
                try conn.query("ALTER TABLE \(qualifiedTarget) RENAME CONSTRAINT \(SchemaSQL.q(name + "_lbnew")) TO \(SchemaSQL.q(name))")
            }
        }
        for c in def.columns {
            if let s = SchemaSQL.sequence(in: c.defaultExpression) {
                try conn.query("SELECT setval('\(s)', GREATEST((SELECT max(\(SchemaSQL.q(c.name))) FROM \(qualifiedTarget)), 1))")
            }
        }
        try conn.query("COMMIT")
        return "loaded \(rows) rows into \(target.schema).\(target.name)"
    }

    /// The live table keeps its identity: its rows are replaced by the rebuilt ones in one transaction.
    func finishInPlace(_ def: TableDefinition, rows: Int) throws -> String {
        let liveColumns = Set(try conn.query("""
            SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped
            """, [qualifiedTarget]).rows.compactMap { $0[0] })
        let missing = def.columns.map(\.name).filter { !liveColumns.contains($0) }
        guard missing.isEmpty else {
            try? conn.query("ROLLBACK")
            throw ReplayError(.target, "the live table \(target.schema).\(target.name) no longer has the columns \(missing) it had at that point",
                              fix: "replay --into a new table and move the rows over by hand")
        }
        let cols = def.columns.map { SchemaSQL.q($0.name) }.joined(separator: ", ")
        do {
            try conn.query("TRUNCATE \(qualifiedTarget)")
            try conn.query("INSERT INTO \(qualifiedTarget) (\(cols)) SELECT \(cols) FROM \(qualifiedBuild)")
            try conn.query("DROP TABLE \(qualifiedBuild)")
        } catch let e as PostgresError {
            try? conn.query("ROLLBACK")
            throw ReplayError(.target, "could not replace the rows of \(target.schema).\(target.name): \(e.message)",
                              fix: e.sqlState == "0A000" ? "other tables' foreign keys reference it: replay --into a new table and reconcile by hand" : "nothing was changed; fix the cause and run again")
        }
        // Never move a live sequence backwards: numbers already handed out stay used.
        for c in def.columns {
            if let s = SchemaSQL.sequence(in: c.defaultExpression) {
                try conn.query("SELECT setval('\(s)', GREATEST((SELECT max(\(SchemaSQL.q(c.name))) FROM \(qualifiedTarget)), (SELECT last_value FROM \(s))))")
            }
        }
        try conn.query("COMMIT")
        return "replaced the rows of \(target.schema).\(target.name) in place (\(rows) rows, one transaction)"
    }
}
