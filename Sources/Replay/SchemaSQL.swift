import Archive
import Foundation
import LibPQ
import PGWire

/// SQL that recreates a table as recorded in a `TableDefinition`.
public enum SchemaSQL {
    static func q(_ s: String) -> String { PostgresConnection.quoteIdent(s) }
    static func lit(_ s: String) -> String { PostgresConnection.quoteLiteral(s) }

    /// The sequence a `nextval('…'::regclass)` default uses, if any.
    static func sequence(in expr: String?) -> String? {
        guard let expr, let r = expr.range(of: "nextval('") else { return nil }
        let rest = expr[r.upperBound...]
        guard let end = rest.range(of: "'") else { return nil }
        return String(rest[..<end.lowerBound])
    }

    /// The value of a constant default (`'dflt'::text`, `0`, `true`), for rows written before
    /// the column was added; nil for anything computed (`now()`, `nextval(…)`).
    public static func constantDefault(_ expr: String?) -> String? {
        guard var e = expr?.trimmingCharacters(in: .whitespaces), !e.isEmpty else { return nil }
        if e.hasPrefix("'") {
            // 'text'::type — the quoted part, with '' unescaped; the cast must be the last thing.
            var out = ""
            var i = e.index(after: e.startIndex)
            while i < e.endIndex {
                if e[i] == "'" {
                    let n = e.index(after: i)
                    if n < e.endIndex, e[n] == "'" { out.append("'"); i = e.index(after: n); continue }
                    let rest = e[n...]
                    guard rest.isEmpty || (rest.hasPrefix("::") && !rest.contains("(") || rest.hasPrefix("::") && rest.hasSuffix(")") && !rest.contains("'")) else { return nil }
                    return out
                }
                out.append(e[i])
                i = e.index(after: i)
            }
            return nil
        }
        if let cast = e.range(of: "::") { e = String(e[..<cast.lowerBound]) }
        e = e.trimmingCharacters(in: CharacterSet(charactersIn: "()"))
        if e == "true" || e == "false" || Double(e) != nil { return e }
        return nil
    }

    /// `CREATE TYPE` for the enum types, `CREATE SEQUENCE` for serial defaults, `CREATE TABLE`
    /// with columns, NOT NULL and defaults, then the primary key, checks and indexes.
    /// `table` is the name to create (`schema.table`, maybe not the original one).
    public static func createStatements(_ def: TableDefinition, as table: (schema: String, name: String), ifNotExistsTypes: Bool = true) -> [String] {
        var out: [String] = []
        out.append("CREATE SCHEMA IF NOT EXISTS \(q(table.schema))")
        for e in def.enums {
            let create = "CREATE TYPE \(q(e.schema)).\(q(e.name)) AS ENUM (\(e.labels.map(lit).joined(separator: ", ")))"
            out.append(ifNotExistsTypes
                ? "DO $lb$ BEGIN IF to_regtype(\(lit(q(e.schema) + "." + q(e.name)))) IS NULL THEN CREATE SCHEMA IF NOT EXISTS \(q(e.schema)); \(create); END IF; END $lb$"
                : create)
        }
        func ifMissing(_ schema: String, _ name: String, _ create: String) -> String {
            ifNotExistsTypes
                ? "DO $lb$ BEGIN IF to_regtype(\(lit(q(schema) + "." + q(name)))) IS NULL THEN CREATE SCHEMA IF NOT EXISTS \(q(schema)); \(create); END IF; END $lb$"
                : create
        }
        for d in def.domains ?? [] {
            var create = "CREATE DOMAIN \(q(d.schema)).\(q(d.name)) AS \(d.baseType)"
            if let dflt = d.defaultExpression { create += " DEFAULT \(dflt)" }
            if d.notNull { create += " NOT NULL" }
            for c in d.checks { create += " \(c)" }
            out.append(ifMissing(d.schema, d.name, create))
        }
        for r in def.ranges ?? [] {
            out.append(ifMissing(r.schema, r.name, "CREATE TYPE \(q(r.schema)).\(q(r.name)) AS RANGE (\(r.options.joined(separator: ", ")))"))
        }
        for c in def.composites ?? [] {
            let attrs = c.order.map { "\($0) \(c.attributes[$0] ?? "text")" }.joined(separator: ", ")
            out.append(ifMissing(c.schema, c.name, "CREATE TYPE \(q(c.schema)).\(q(c.name)) AS (\(attrs))"))
        }
        for c in def.columns {
            guard let s = sequence(in: c.defaultExpression) else { continue }
            // A serial column's own sequence as the source had it (its type, bounds, cache); others by name alone.
            if let o = c.ownedSequenceOptions, o.name == c.ownedSequence {
                var opts = o.dataType.map { ["AS \($0)"] } ?? []
                opts += ["START WITH \(o.start)", "INCREMENT BY \(o.increment)", "MINVALUE \(o.min)", "MAXVALUE \(o.max)", "CACHE \(o.cache)", o.cycle ? "CYCLE" : "NO CYCLE"]
                out.append("CREATE SEQUENCE IF NOT EXISTS \(s) \(opts.joined(separator: " "))")
            } else {
                out.append("CREATE SEQUENCE IF NOT EXISTS \(s)")
            }
        }
        out.append(createTable(def, as: table, withConstraints: true))
        out.append(contentsOf: columnSettings(def, on: "\(q(table.schema)).\(q(table.name))"))
        out.append(contentsOf: partitionStatements(def, as: table))
        out.append(contentsOf: indexStatements(def, as: table))
        out.append(contentsOf: ObjectSQL.keyConstraints(def, as: table, build: table.name, suffix: ""))
        out.append(contentsOf: ObjectSQL.notValidChecks(def, on: "\(q(table.schema)).\(q(table.name))"))
        out.append(contentsOf: finishingStatements(def, as: table))
        if table.schema == def.schema && table.name == def.name {
            for c in def.columns { if let seq = c.ownedSequence { out.append("ALTER SEQUENCE \(seq) OWNED BY \(q(table.schema)).\(q(table.name)).\(q(c.name))") } }
        }
        return out
    }

    /// Everything `logbook schema` prints for a table: its `createStatements`, then its foreign
    /// keys, owner, privileges, row-level security, policies and triggers.
    public static func fullStatements(_ def: TableDefinition, as table: (schema: String, name: String)) -> [String] {
        var out = createStatements(def, as: table)
        out.append(contentsOf: ObjectSQL.foreignKeys(def, as: table) { ref in
            guard let n = try? QualifiedName(parsing: ref) else { return nil }
            return ref == def.qualifiedName ? table : (n.schema, n.name)
        }.add)
        out.append(contentsOf: ObjectSQL.security(def, as: table, omit: ObjectSQL.Omit(), currentUser: def.objects?.owner ?? ""))
        out.append(contentsOf: ObjectSQL.triggers(def, as: table))
        return out
    }

    /// The name an identity column's sequence takes for `table`: its own when the table keeps its
    /// name, else `<table>_<column>_seq` in the table's schema.
    static func identitySequenceName(_ c: TableDefinition.Column, of def: TableDefinition, as table: (schema: String, name: String)) -> (schema: String, name: String)? {
        guard let seq = c.identitySequence else { return nil }
        if table.schema == def.schema && table.name == def.name, let n = try? QualifiedName(parsing: seq.name) { return (n.schema, n.name) }
        return (table.schema, String("\(table.name)_\(c.name)_seq".prefix(63)))
    }

    /// `sequenceName`: the identity sequence to create for a column (nil: as `identitySequenceName`).
    static func columnList(_ def: TableDefinition, as table: (schema: String, name: String)? = nil,
                           sequenceName: ((TableDefinition.Column) -> (schema: String, name: String)?)? = nil) -> String {
        def.columns.map { c in
            var s = "\(q(c.name)) \(c.type)"
            if let coll = c.collation { s += " COLLATE \(coll)" }
            if c.isGenerated, let e = c.defaultExpression {
                s += " GENERATED ALWAYS AS (\(e)) STORED"
                if c.notNull { s += " NOT NULL" }
                return s
            }
            if let kind = c.identity {
                s += kind == "a" ? " GENERATED ALWAYS AS IDENTITY" : " GENERATED BY DEFAULT AS IDENTITY"
                if let o = c.identitySequence {
                    var opts: [String] = []
                    if let n = sequenceName?(c) ?? identitySequenceName(c, of: def, as: table ?? (def.schema, def.name)) {
                        opts.append("SEQUENCE NAME \(q(n.schema)).\(q(n.name))")
                    }
                    opts += ["START WITH \(o.start)", "INCREMENT BY \(o.increment)", "MINVALUE \(o.min)", "MAXVALUE \(o.max)",
                             "CACHE \(o.cache)", o.cycle ? "CYCLE" : "NO CYCLE"]
                    s += " (\(opts.joined(separator: " ")))"
                }
                return s + " NOT NULL"
            }
            if c.notNull { s += " NOT NULL" }
            if let d = c.defaultExpression { s += " DEFAULT \(d)" }
            return s
        }.joined(separator: ",\n    ")
    }

    /// What a partition of `def` is called under `table`: its own name when the table keeps its
    /// name; else the new root's name in place of the old one (`eld_events_2026_11` →
    /// `restored_2026_11`), or the new root's name before it.
    static func partitionName(_ p: TableDefinition.Partition, of def: TableDefinition, as table: (schema: String, name: String)) -> (schema: String, name: String) {
        if table.schema == def.schema && table.name == def.name { return (p.schema, p.name) }
        let name = p.name.hasPrefix(def.name) ? table.name + p.name.dropFirst(def.name.count) : "\(table.name)_\(p.name)"
        return (table.schema, String(name.prefix(63)))
    }

    /// `CREATE TABLE … PARTITION OF …` for each partition (`nameSuffix` while building), attached to `root`.
    static func partitionStatements(_ def: TableDefinition, as table: (schema: String, name: String), nameSuffix: String = "",
                                    root: String? = nil) -> [String] {
        (def.partitions ?? []).map { p in
            let n = partitionName(p, of: def, as: table)
            return "CREATE TABLE \(q(n.schema)).\(q(String((n.name + nameSuffix).prefix(63)))) PARTITION OF \(q(table.schema)).\(q(root ?? table.name)) \(p.bound)"
        }
    }

    /// Comments and the replica identity, once the table has its final name and indexes.
    static func finishingStatements(_ def: TableDefinition, as table: (schema: String, name: String)) -> [String] {
        let t = "\(q(table.schema)).\(q(table.name))"
        var out: [String] = []
        if let c = def.comment { out.append("COMMENT ON TABLE \(t) IS \(lit(c))") }
        for c in def.columns { if let m = c.comment { out.append("COMMENT ON COLUMN \(t).\(q(c.name)) IS \(lit(m))") } }
        switch def.replicaIdentity {
        case "f": out.append("ALTER TABLE \(t) REPLICA IDENTITY FULL")
        case "n": out.append("ALTER TABLE \(t) REPLICA IDENTITY NOTHING")
        case "i":
            if let idx = def.replicaIdentityIndex {
                let name = (table.name == def.name && table.schema == def.schema) ? idx : String("\(table.name)_\(idx)".prefix(63))
                out.append("ALTER TABLE \(t) REPLICA IDENTITY USING INDEX \(q(name))")
            }
        default: break
        }
        return out
    }

    /// `withConstraints`: the primary key and checks; `withChecks` alone: the checks (a check is
    /// tested row by row during a load, where adding it afterwards would scan the table again).
    /// `identityAs`: the table name identity sequences are named for (the final one, while building under another).
    static func createTable(_ def: TableDefinition, as table: (schema: String, name: String), withConstraints: Bool,
                            withChecks: Bool = false, identityAs: (schema: String, name: String)? = nil,
                            sequenceName: ((TableDefinition.Column) -> (schema: String, name: String)?)? = nil,
                            partitioned: Bool = true) -> String {
        var s = "CREATE TABLE \(q(table.schema)).\(q(table.name)) (\n    \(columnList(def, as: identityAs ?? table, sequenceName: sequenceName))"
        if withConstraints && !def.primaryKey.isEmpty {
            s += ",\n    CONSTRAINT \(q(ObjectSQL.primaryKeyName(def, as: table))) \(ObjectSQL.primaryKeyClause(def))"
        }
        if withConstraints || withChecks {
            // A NOT VALID check is added after the rows (ObjectSQL.notValidChecks): they need not meet it.
            // One that names a relation (`tableoid = 'so'::regclass`) waits for the table's final name.
            for (name, check) in def.checks.sorted(by: { $0.key < $1.key })
            where !check.hasSuffix(" NOT VALID") && (withConstraints || !ObjectSQL.namesARelation(check)) {
                s += ",\n    CONSTRAINT \(q(name)) \(check)"
            }
        }
        s += "\n)"
        if partitioned, let key = def.partitionKey { s += " PARTITION BY \(key)" }
        if let opts = def.storageParameters, !opts.isEmpty {
            s += " WITH (" + opts.map { o -> String in
                guard let eq = o.firstIndex(of: "=") else { return o }
                return "\(o[..<eq])=\(lit(String(o[o.index(after: eq)...])))"
            }.joined(separator: ", ") + ")"
        }
        return s
    }

    /// `SET STORAGE` and `SET COMPRESSION` of the columns that had them, on `table` (before its rows are loaded).
    static func columnSettings(_ def: TableDefinition, on table: String) -> [String] {
        def.columns.flatMap { c -> [String] in
            var out: [String] = []
            if let st = c.storage { out.append("ALTER TABLE \(table) ALTER COLUMN \(q(c.name)) SET STORAGE \(st)") }
            if let comp = c.compression { out.append("ALTER TABLE \(table) ALTER COLUMN \(q(c.name)) SET COMPRESSION \(comp)") }
            return out
        }
    }

    /// The index name in `CREATE [UNIQUE] INDEX name` (unquoted: a quoted name keeps its spaces and quotes).
    static func indexName(_ head: Substring) -> String {
        guard let r = head.range(of: "INDEX ") else { return "idx" }
        let raw = head[r.upperBound...].trimmingCharacters(in: .whitespaces)
        guard raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2 else { return raw }
        return String(raw.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
    }

    /// The table's other indexes, pointed at `table`. Index names are kept when the table keeps
    /// its name, and prefixed with the new table's name otherwise.
    /// `on`: build them on that table of the same schema instead (named as for `table`).
    static func indexStatements(_ def: TableDefinition, as table: (schema: String, name: String), nameSuffix: String = "",
                                on build: String? = nil) -> [String] {
        def.indexes.compactMap { idx -> String? in
            // CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING method (...)
            guard let on = idx.range(of: " ON "), let using = idx.range(of: " USING ", range: on.upperBound..<idx.endIndex) else { return nil }
            let head = idx[..<on.lowerBound]
            let unique = head.hasPrefix("CREATE UNIQUE INDEX")
            let origName = indexName(head)
            var name = (table.name == def.name && table.schema == def.schema) ? origName : "\(table.name)_\(origName)"
            name = String((name + nameSuffix).prefix(63))
            return "CREATE \(unique ? "UNIQUE " : "")INDEX \(q(name)) ON \(q(table.schema)).\(q(build ?? table.name))\(idx[using.lowerBound...])"
        }
    }
}
