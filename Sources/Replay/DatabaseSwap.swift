import Archive
import Dispatch
import LibPQ
import Logging
import PGWire

extension DatabaseSink {
    /// The primary key's name on the build table (renamed at the swap).
    var buildKeyName: String { String((buildName + "_pkey").prefix(63)) }

    /// Ends the load: each lane's rows committed, then the key, indexes, unique and exclusion
    /// constraints and `NOT VALID` checks built on the build table (committed too, so that the
    /// swap transaction of a whole set holds no more than renames and the objects).
    /// Each lane's rows committed, flushed: until its commit record is on disk no scan may set a
    /// row's hint bits, so each index build would ask the commit log again for every row.
    func commitLanes() throws {
        for l in laneList {
            try l.endCopy()
            try l.conn.query("SET LOCAL synchronous_commit = on")
            try l.conn.query("COMMIT")
        }
    }

    func buildKeys(_ def: TableDefinition) throws {
        try commitLanes()
        let began = DispatchTime.now().uptimeNanoseconds
        defer {
            logger.debug("replay phase", metadata: ["done": "key and indexes of \(target.schema).\(target.name)",
                                                    "seconds": "\(String(format: "%.3f", Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9))"])
        }
        let secondary = SchemaSQL.indexStatements(def, as: target, nameSuffix: buildSuffix, on: buildName)
        // With a second connection: the key's index and the other indexes are built at once (each
        // CREATE INDEX takes a SHARE lock, which does not block the other), then the key is made
        // from its index. (Not for a partitioned table: PostgreSQL cannot make a key from an index
        // there; nor for a key with INCLUDE columns or DEFERRABLE, made from its own definition.)
        let plain = ObjectSQL.isPlainPrimaryKey(def)
        let together = laneList.count >= 2 && !def.primaryKey.isEmpty && plain && !secondary.isEmpty
            && (buildName + "_pkey").utf8.count <= 63 && def.partitionKey == nil
        if together {
            let other = laneList[1].conn
            let indexes = WorkerThread(name: "logbook-index") { for s in secondary { try other.query(s) } }
            let key = Result { try conn.query("CREATE UNIQUE INDEX \(SchemaSQL.q(buildKeyName)) ON \(qualifiedBuild) (\(def.primaryKey.map(SchemaSQL.q).joined(separator: ", ")))") }
            let rest = Result { try indexes.join() }
            _ = try key.get()
            try rest.get()
        }
        laneList = [laneList[0]]
        try conn.query("BEGIN")
        if together {
            try conn.query("ALTER TABLE \(qualifiedBuild) ADD CONSTRAINT \(SchemaSQL.q(buildKeyName)) PRIMARY KEY USING INDEX \(SchemaSQL.q(buildKeyName))")
        } else {
            if !def.primaryKey.isEmpty {
                try conn.query("ALTER TABLE \(qualifiedBuild) ADD CONSTRAINT \(SchemaSQL.q(buildKeyName)) \(ObjectSQL.primaryKeyClause(def))")
            }
            for s in secondary { try conn.query(s) }
        }
        for s in ObjectSQL.keyConstraints(def, as: target, build: buildName, suffix: buildSuffix) { try conn.query(s) }
        for s in ObjectSQL.notValidChecks(def, on: qualifiedBuild) { try conn.query(s) }
        try conn.query("COMMIT")
    }

    /// A sequence a serial column of the table being replaced owns: freed before the old table is
    /// dropped (the rebuilt table's default draws from it), owned again by the rebuilt column after.
    func ownedSequences(_ def: TableDefinition, on c: PostgresConnection) throws -> [(sequence: String, column: String)] {
        guard target.schema == def.schema && target.name == def.name else { return [] }
        var out: [(String, String)] = []
        for col in def.columns {
            guard let seq = col.ownedSequence, try c.query("SELECT to_regclass($1) IS NOT NULL", [seq]).scalar == "t" else { continue }
            // Owned by another table: never taken from it.
            let owner = try c.query("""
                SELECT d.refobjid FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = $1::regclass
                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                """, [seq]).scalar
            let targetOID = try c.query("SELECT to_regclass($1)::oid", [qualifiedTarget]).scalar
            if owner == nil || owner == targetOID { out.append((seq, col.name)) }
        }
        return out
    }

    /// The swap, on the set's connection inside its transaction: the table being replaced is
    /// dropped, the build table takes its name, the key, indexes, partitions, sequences and
    /// constraints theirs; comments, replica identity and sequence positions as the source had them.
    func swap(on c: PostgresConnection) throws {
        guard let def else { return }
        let suffix = buildSuffix
        let owned = try ownedSequences(def, on: c)
        if replace, try c.query("SELECT to_regclass($1) IS NOT NULL", [qualifiedTarget]).scalar == "t" {
            for o in owned { try c.query("ALTER SEQUENCE \(o.sequence) OWNED BY NONE") }
            do {
                try c.query("DROP TABLE \(qualifiedTarget)")
            } catch let e as PostgresError where e.sqlState == "2BP01" {
                throw ReplayError(.target, "cannot replace \(target.schema).\(target.name): other objects depend on it (\(e.message))",
                                  fix: "drop or change the views or tables that depend on it first, or replay --into another name; nothing was changed")
            }
        }
        try c.query("COMMENT ON TABLE \(qualifiedBuild) IS NULL")
        try c.query("ALTER TABLE \(qualifiedBuild) RENAME TO \(SchemaSQL.q(target.name))")
        let idx = try c.query("""
            SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1)
            """, [qualifiedTarget])
        let keyName = ObjectSQL.primaryKeyName(def, as: target)
        for row in idx.rows {
            guard let n = row[0] else { continue }
            let final: String
            if n == buildKeyName { final = keyName } else if replace && n.hasSuffix(suffix) { final = String(n.dropLast(suffix.count)) } else { continue }
            try c.query("ALTER INDEX \(SchemaSQL.q(target.schema)).\(SchemaSQL.q(n)) RENAME TO \(SchemaSQL.q(final))")
        }
        if replace {
            for p in def.partitions ?? [] {
                let n = SchemaSQL.partitionName(p, of: def, as: target)
                try c.query("ALTER TABLE \(SchemaSQL.q(n.schema)).\(SchemaSQL.q(String((n.name + suffix).prefix(63)))) RENAME TO \(SchemaSQL.q(n.name))")
            }
            for col in def.columns {
                if let b = buildSequenceName(col), let n = SchemaSQL.identitySequenceName(col, of: def, as: target) {
                    try c.query("ALTER SEQUENCE \(SchemaSQL.q(b.schema)).\(SchemaSQL.q(b.name)) RENAME TO \(SchemaSQL.q(n.name))")
                }
            }
        }
        // Constraints named after the build table (NOT NULL ones, from PostgreSQL 18) take the table's name.
        let named = try c.query("""
            SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND starts_with(conname, $2)
            """, [qualifiedTarget, buildName + "_"])
        for row in named.rows {
            guard let n = row[0] else { continue }
            let final = String((target.name + n.dropFirst(buildName.count)).prefix(63))
            try c.query("ALTER TABLE \(qualifiedTarget) RENAME CONSTRAINT \(SchemaSQL.q(n)) TO \(SchemaSQL.q(final))")
        }
        for s in ObjectSQL.renamedChecks(def, on: qualifiedTarget) { try c.query(s) }
        for s in SchemaSQL.finishingStatements(def, as: target) { try c.query(s) }
        for o in owned { try c.query("ALTER SEQUENCE \(o.sequence) OWNED BY \(qualifiedTarget).\(SchemaSQL.q(o.column))") }
        try setSequences(def, keepAhead: false, on: c)
    }
}

/// The end of a restore of one table or a set: every table swapped into place, then foreign keys
/// (among the set, and to tables the target already has), owner, privileges, row-level security,
/// policies and triggers, in one transaction: the target changes completely or not at all.
struct TableSetSwap {
    let sinks: [DatabaseSink]
    let conn: PostgresConnection
    let omit: ObjectSQL.Omit
    let logger: Logger

    /// A foreign key from another table to one the set replaces: dropped before the old table is,
    /// and made again once the new one holds its rows when its table is not in the set (a table of
    /// the set gets its own foreign keys from the archive).
    struct Reference { var table: String; var name: String; var definition: String; var outside: Bool }

    /// Returns a line for each foreign key left out (its referenced table neither in the set nor in the target).
    @discardableResult
    func run() throws -> [String] {
        try conn.query("BEGIN")
        do {
            let notes = try swapAll()
            try conn.query("COMMIT")
            for s in sinks { s.createdBuild = false; s.interrupt?.built(s.qualifiedBuild) }
            return notes
        } catch {
            _ = try? conn.query("ROLLBACK")
            throw error
        }
    }

    func swapAll() throws -> [String] {
        if sinks.contains(where: \.dataOnly) { try DataOnly.replaceRows(sinks, on: conn); return [] }
        let inSet = Dictionary(sinks.compactMap { s in s.def.map { ($0.qualifiedName, s.target) } }, uniquingKeysWith: { a, _ in a })
        let targets = Set(sinks.map { QualifiedName(schema: $0.target.schema, name: $0.target.name).description })
        var refs: [Reference] = []
        for s in sinks where s.replace { refs += try references(to: s, set: targets) }
        for r in refs { try conn.query("ALTER TABLE \(r.table) DROP CONSTRAINT \(SchemaSQL.q(r.name))") }
        for s in sinks { try s.swap(on: conn) }
        var notes: [String] = []
        for s in sinks {
            guard let def = s.def else { continue }
            let fks = ObjectSQL.foreignKeys(def, as: s.target, skipping: s.foreignKeysMade) { ref in
                if let t = inSet[ref] { return t }
                guard let n = try? QualifiedName(parsing: ref),
                      (try? conn.query("SELECT to_regclass($1) IS NOT NULL", ["\(SchemaSQL.q(n.schema)).\(SchemaSQL.q(n.name))"]).scalar) == "t" else { return nil }
                return (n.schema, n.name)
            }
            for a in fks.add { try conn.query(a) }
            for c in fks.leftOut {
                let line = "foreign key \(c.name) of \(s.target.schema).\(s.target.name) left out: \(c.references ?? "its table") is neither restored nor in the target"
                logger.warning("\(line)")
                notes.append(line)
            }
        }
        for s in sinks {
            guard let def = s.def else { continue }
            for st in ObjectSQL.security(def, as: s.target, omit: omit, currentUser: conn.userName) { try conn.query(st) }
        }
        if !omit.triggers {
            for s in sinks { if let def = s.def { for st in ObjectSQL.triggers(def, as: s.target) { try conn.query(st) } } }
        }
        for r in refs where r.outside {
            do {
                try conn.query("ALTER TABLE \(r.table) ADD CONSTRAINT \(SchemaSQL.q(r.name)) \(r.definition)")
            } catch let e as PostgresError {
                throw ReplayError(.target, "foreign key \(r.name) of \(r.table) does not hold for the restored rows: \(e.message)",
                                  fix: "restore \(r.table) in the same set (--tables), or fix its rows first; nothing was changed")
            }
        }
        return notes
    }

    /// Foreign keys of other tables that reference the table `s` replaces, deparsed with every name qualified.
    func references(to s: DatabaseSink, set: Set<String>) throws -> [Reference] {
        let saved = try conn.query("SELECT current_setting('search_path')").scalar ?? "\"$user\", public"
        _ = try conn.query("SELECT set_config('search_path', 'pg_catalog', true)")
        defer { _ = try? conn.query("SELECT set_config('search_path', $1, true)", [saved]) }
        let rows = try conn.query("""
            SELECT n.nspname, r.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
            JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE c.contype = 'f' AND c.confrelid = to_regclass($1) AND c.conrelid <> c.confrelid AND c.conparentid = 0
            """, [s.qualifiedTarget]).rows
        return rows.map { row in
            let table = "\(SchemaSQL.q(row[0] ?? "")).\(SchemaSQL.q(row[1] ?? ""))"
            let name = QualifiedName(schema: row[0] ?? "", name: row[1] ?? "")
            return Reference(table: table, name: row[2] ?? "", definition: row[3] ?? "", outside: !set.contains(name.description))
        }
    }
}
