import Archive
import LibPQ
import PGWire

/// `--data-only`: into a schema that already exists (staging after its migrations), the rows of
/// every table of the set are replaced in one transaction; the target's definitions, constraints,
/// policies, grants and triggers stay as they are. Columns are matched by name; the rows load first
/// into build tables of the target's own column types, so a missing column or a value the target's
/// type refuses stops the replay before the target changes.
extension DatabaseSink {
    func beginDataOnly(_ def: TableDefinition) throws {
        guard try conn.query("SELECT to_regclass($1) IS NOT NULL", [qualifiedTarget]).scalar == "t" else {
            throw ReplayError(.target, "--data-only restores rows into existing tables: \(target.schema).\(target.name) is not in the target",
                              fix: "create the schema first (the application's migrations), or restore without --data-only")
        }
        let cols = try conn.query("""
            SELECT attname, attgenerated <> '' FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped
            """, [qualifiedTarget]).rows
        let have = Set(cols.filter { $0[1] != "t" }.compactMap { $0[0] })
        let missing = def.storedColumns.map(\.name).filter { !have.contains($0) }
        guard missing.isEmpty else {
            throw ReplayError(.target, "\(target.schema).\(target.name) in the target has no column \(missing.joined(separator: ", ")) (or it is generated there), which the archived rows have; nothing was changed",
                              fix: "add the column to the target (or replay --output to a file and load by hand)")
        }
        if try conn.query("SELECT to_regclass($1) IS NOT NULL", [qualifiedBuild]).scalar == "t" {
            guard try conn.query("SELECT obj_description(to_regclass($1), 'pg_class')", [qualifiedBuild]).scalar == Self.buildNote else {
                throw ReplayError(.targetExists, "the target database has a table \(target.schema).\(buildName), the name replay builds under",
                                  fix: "rename or drop that table")
            }
            try conn.query("DROP TABLE \(qualifiedBuild)")
        }
        try Self.prepare(conn)
        let list = def.storedColumns.map { SchemaSQL.q($0.name) }.joined(separator: ", ")
        try interrupt?.building(qualifiedBuild)
        try conn.query("BEGIN")
        try conn.query("CREATE TABLE \(qualifiedBuild) AS SELECT \(list) FROM ONLY \(qualifiedTarget) WITH NO DATA")
        try conn.query("COMMENT ON TABLE \(qualifiedBuild) IS \(PostgresConnection.quoteLiteral(Self.buildNote))")
        try conn.query("COMMIT")
        createdBuild = true
        for _ in 1..<lanes {
            guard let c = try? connect() else { lanes = laneList.count; break }
            try interrupt?.opened(c)
            try Self.prepare(c)
            laneList.append(Lane(c))
        }
        for l in laneList { try l.conn.query("BEGIN") }
    }
}

enum DataOnly {
    /// In the set's transaction: the target's enabled user triggers switched off (so the load fires
    /// none; deferred constraints wait for the commit), every table truncated at once, the rows put
    /// in parents first, sequences set past the highest value, triggers back as they were.
    static func replaceRows(_ sinks: [DatabaseSink], on conn: PostgresConnection) throws {
        let ordered = parentsFirst(sinks)
        var triggers: [(table: String, name: String, mode: String)] = []
        for s in ordered {
            let rows = try conn.query("""
                SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal AND tgenabled IN ('O', 'A') ORDER BY 1
                """, [s.qualifiedTarget]).rows
            for r in rows { triggers.append((s.qualifiedTarget, r[0] ?? "", r[1] ?? "O")) }
        }
        for t in triggers { try conn.query("ALTER TABLE \(t.table) DISABLE TRIGGER \(SchemaSQL.q(t.name))") }
        try conn.query("SET CONSTRAINTS ALL DEFERRED")
        do {
            try conn.query("TRUNCATE \(ordered.map(\.qualifiedTarget).joined(separator: ", "))")
        } catch let e as PostgresError where e.sqlState == "0A000" {
            throw ReplayError(.target, "cannot empty the set's tables: \(e.message)",
                              fix: "add the tables whose foreign keys reference them to --tables; nothing was changed")
        }
        for s in ordered {
            guard let def = s.def else { continue }
            let cols = def.storedColumns.map { SchemaSQL.q($0.name) }.joined(separator: ", ")
            let always = try conn.query("""
                SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attidentity = 'a' AND NOT attisdropped
                """, [s.qualifiedTarget]).scalar != "0"
            try conn.query("INSERT INTO \(s.qualifiedTarget) (\(cols))\(always ? " OVERRIDING SYSTEM VALUE" : "") SELECT \(cols) FROM \(s.qualifiedBuild)")
            // The target's own sequences (serial or identity), past the highest value loaded.
            for c in def.storedColumns {
                guard let seq = try conn.query("SELECT pg_get_serial_sequence($1, $2)", [s.qualifiedTarget, c.name]).scalar else { continue }
                try conn.query("SELECT setval($1::regclass, GREATEST((SELECT max(\(SchemaSQL.q(c.name))) FROM \(s.qualifiedTarget)), 1))", [seq])
            }
            try conn.query("DROP TABLE \(s.qualifiedBuild)")
        }
        for t in triggers {
            try conn.query("ALTER TABLE \(t.table) ENABLE \(t.mode == "A" ? "ALWAYS " : "")TRIGGER \(SchemaSQL.q(t.name))")
        }
    }

    /// The set ordered so that a table comes after those its foreign keys reference (cycles keep their order).
    static func parentsFirst(_ sinks: [DatabaseSink]) -> [DatabaseSink] {
        let names = Set(sinks.compactMap { $0.def?.qualifiedName })
        var placed = Set<String>(), out: [DatabaseSink] = [], rest = sinks
        while !rest.isEmpty {
            let ready = rest.filter { s in
                (s.def?.objects?.foreignKeys ?? []).allSatisfy { fk in
                    guard let r = fk.references, r != s.def?.qualifiedName, names.contains(r) else { return true }
                    return placed.contains(r)
                }
            }
            let next = ready.isEmpty ? [rest[0]] : ready
            for s in next { out.append(s); if let n = s.def?.qualifiedName { placed.insert(n) } }
            rest.removeAll { s in next.contains { $0 === s } }
        }
        return out
    }
}
