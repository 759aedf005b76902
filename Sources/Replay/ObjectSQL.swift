import Archive
import LibPQ
import PGWire

/// SQL for what a table carries beyond its columns (`TableObjects`), in the order `pg_restore`
/// applies it: owner, privileges, row-level security and policies, then foreign keys and
/// triggers once every table of the set holds its rows.
public enum ObjectSQL {
    static func q(_ s: String) -> String { PostgresConnection.quoteIdent(s) }

    /// What a restore leaves out knowingly (`pg_restore`'s `--no-owner`, `--no-privileges`; and the policies and triggers).
    public struct Omit: Sendable, Hashable {
        public var owner = false
        public var privileges = false
        public var policies = false
        public var triggers = false
        public init(owner: Bool = false, privileges: Bool = false, policies: Bool = false, triggers: Bool = false) {
            self.owner = owner; self.privileges = privileges; self.policies = policies; self.triggers = triggers
        }
    }

    /// `schema.table` as `ruleutils` prints a relation with only `pg_catalog` on the search path.
    static func ruleName(_ schema: String, _ name: String) -> String { "\(quoteRule(schema)).\(quoteRule(name))" }

    /// PostgreSQL's `quote_identifier` for plain names: lower-case letters, digits and `_`, not starting with a digit.
    static func quoteRule(_ s: String) -> String {
        let plain = !s.isEmpty && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
            && !("0"..."9").contains(s.unicodeScalars.first!) && !Keywords.reserved.contains(s)
        return plain ? s : PostgresConnection.quoteIdent(s)
    }

    /// A constraint's or trigger's name for `table`: its own when the table keeps its name, else prefixed with the new name.
    static func objectName(_ name: String, of def: TableDefinition, as table: (schema: String, name: String), suffix: String = "") -> String {
        let base = (table.schema == def.schema && table.name == def.name) ? name : "\(table.name)_\(name)"
        return String((base + suffix).prefix(63))
    }

    /// The primary key, unless it is a plain `PRIMARY KEY (columns)` (built from its index separately).
    public static func primaryKeyClause(_ def: TableDefinition) -> String {
        def.primaryKeyDefinition ?? "PRIMARY KEY (\(def.primaryKey.map(q).joined(separator: ", ")))"
    }
    public static func isPlainPrimaryKey(_ def: TableDefinition) -> Bool {
        def.primaryKeyDefinition.map { $0 == "PRIMARY KEY (\(def.primaryKey.map(quoteRule).joined(separator: ", ")))" } ?? true
    }
    /// The name the primary key takes on `table`.
    static func primaryKeyName(_ def: TableDefinition, as table: (schema: String, name: String)) -> String {
        if table.schema == def.schema && table.name == def.name, let n = def.primaryKeyName { return n }
        return String("\(table.name)_pkey".prefix(63))
    }

    /// Unique and exclusion constraints, added to `build` (named for `table`, with `suffix` while the replaced table keeps the names).
    static func keyConstraints(_ def: TableDefinition, as table: (schema: String, name: String), build: String, suffix: String) -> [String] {
        (def.objects?.keyConstraints ?? []).map {
            "ALTER TABLE \(q(table.schema)).\(q(build)) ADD CONSTRAINT \(q(objectName($0.name, of: def, as: table, suffix: suffix))) \($0.definition)"
        }
    }

    /// `CHECK … NOT VALID`: added after the load, so the rows that violate it (as the source's may) still load.
    static func notValidChecks(_ def: TableDefinition, on table: String) -> [String] {
        def.checks.sorted { $0.key < $1.key }.filter { $0.value.hasSuffix(" NOT VALID") }.map {
            "ALTER TABLE \(table) ADD CONSTRAINT \(q($0.key)) \($0.value)"
        }
    }

    /// A check whose expression names a relation (`tableoid = 'so'::regclass`): true only under the table's own name.
    static func namesARelation(_ check: String) -> Bool { check.contains("::regclass") }

    /// Valid checks that name a relation, added in the swap once the table has its final name.
    static func renamedChecks(_ def: TableDefinition, on table: String) -> [String] {
        def.checks.sorted { $0.key < $1.key }.filter { !$0.value.hasSuffix(" NOT VALID") && namesARelation($0.value) }.map {
            "ALTER TABLE \(table) ADD CONSTRAINT \(q($0.key)) \($0.value)"
        }
    }

    /// A foreign key's definition pointed at `references` (the referenced table's name in the target).
    static func foreignKey(_ c: TableObjects.Constraint, references: (schema: String, name: String)?) -> String {
        guard let references, let old = c.references, let oldName = try? QualifiedName(parsing: old) else { return c.definition }
        let from = " REFERENCES \(ruleName(oldName.schema, oldName.name))("
        let to = " REFERENCES \(q(references.schema)).\(q(references.name))("
        guard let r = c.definition.range(of: from) else { return c.definition }
        return c.definition.replacingCharacters(in: r, with: to)
    }

    /// Owner, privileges, row-level security and policies of `table` as the source had them.
    /// Without its policies a table whose source had row-level security keeps it enabled and
    /// forced: it denies rather than shows.
    public static func security(_ def: TableDefinition, as table: (schema: String, name: String), omit: Omit, currentUser: String) -> [String] {
        guard let o = def.objects else { return [] }
        let t = "\(q(table.schema)).\(q(table.name))"
        var out: [String] = []
        if !omit.owner && !o.owner.isEmpty { out.append("ALTER TABLE \(t) OWNER TO \(q(o.owner))") }
        let owner = omit.owner ? currentUser : o.owner
        if !omit.privileges && o.privilegesSet {
            // From no privileges at all to exactly the recorded ones (the owner's own included).
            out.append("REVOKE ALL ON TABLE \(t) FROM \(q(owner))")
            for g in o.grants {
                let grantee = g.grantee == "PUBLIC" ? "PUBLIC" : q(g.grantee == o.owner ? owner : g.grantee)
                let what = g.column.map { "\(g.privilege) (\(q($0)))" } ?? g.privilege
                out.append("GRANT \(what) ON TABLE \(t) TO \(grantee)\(g.grantable ? " WITH GRANT OPTION" : "")")
            }
        } else if !omit.privileges {
            for g in o.grants where g.column != nil {
                let grantee = g.grantee == "PUBLIC" ? "PUBLIC" : q(g.grantee)
                out.append("GRANT \(g.privilege) (\(q(g.column ?? ""))) ON TABLE \(t) TO \(grantee)\(g.grantable ? " WITH GRANT OPTION" : "")")
            }
        }
        if o.rowSecurity { out.append("ALTER TABLE \(t) ENABLE ROW LEVEL SECURITY") }
        if o.forceRowSecurity || (omit.policies && o.rowSecurity) { out.append("ALTER TABLE \(t) FORCE ROW LEVEL SECURITY") }
        if !omit.policies {
            for p in o.policies {
                var s = "CREATE POLICY \(q(p.name)) ON \(t) AS \(p.permissive ? "PERMISSIVE" : "RESTRICTIVE") FOR \(p.command)"
                s += " TO " + p.roles.map { $0 == "PUBLIC" ? "PUBLIC" : q($0) }.joined(separator: ", ")
                if let u = p.using { s += " USING (\(u))" }
                if let w = p.withCheck { s += " WITH CHECK (\(w))" }
                out.append(s)
            }
        }
        return out
    }

    /// The user triggers, created once the rows are in (so the load fired none), with their enabled state.
    public static func triggers(_ def: TableDefinition, as table: (schema: String, name: String)) -> [String] {
        guard let o = def.objects else { return [] }
        let t = "\(q(table.schema)).\(q(table.name))"
        var out: [String] = []
        for tr in o.triggers {
            var sql = tr.definition
            if let r = sql.range(of: " ON \(ruleName(def.schema, def.name)) ") { sql.replaceSubrange(r, with: " ON \(t) ") }
            out.append(sql)
            switch tr.enabled {
            case "D": out.append("ALTER TABLE \(t) DISABLE TRIGGER \(q(tr.name))")
            case "R": out.append("ALTER TABLE \(t) ENABLE REPLICA TRIGGER \(q(tr.name))")
            case "A": out.append("ALTER TABLE \(t) ENABLE ALWAYS TRIGGER \(q(tr.name))")
            default: break
            }
        }
        return out
    }

    /// Foreign keys of `def` whose referenced table `resolve` places in the target (nil: left out).
    /// `onTable`: the table to add them to now (a build table), named for `table`.
    public static func foreignKeys(_ def: TableDefinition, as table: (schema: String, name: String), onTable: (schema: String, name: String)? = nil,
                                   skipping: Set<String> = [],
                                   resolve: (String) -> (schema: String, name: String)?) -> (add: [String], leftOut: [TableObjects.Constraint], made: [String]) {
        guard let o = def.objects else { return ([], [], []) }
        let on = onTable ?? table
        let t = "\(q(on.schema)).\(q(on.name))"
        var add: [String] = [], left: [TableObjects.Constraint] = [], made: [String] = []
        for c in o.foreignKeys where !skipping.contains(c.name) {
            guard let ref = c.references, let target = resolve(ref) else { left.append(c); continue }
            add.append("ALTER TABLE \(t) ADD CONSTRAINT \(q(objectName(c.name, of: def, as: table))) \(foreignKey(c, references: target))")
            made.append(c.name)
        }
        return (add, left, made)
    }
}

/// Words `quote_identifier` always quotes (PostgreSQL's reserved key words, and the type/function-name ones).
enum Keywords {
    static let reserved: Set<String> = [
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary", "both", "case", "cast",
        "check", "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog", "current_date",
        "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc",
        "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group",
        "having", "ilike", "in", "initially", "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left",
        "like", "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order",
        "outer", "overlaps", "placing", "primary", "references", "returning", "right", "select", "session_user", "similar", "some",
        "symmetric", "system_user", "table", "tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using",
        "variadic", "verbose", "when", "where", "window", "with",
        "between", "bigint", "bit", "boolean", "char", "character", "coalesce", "dec", "decimal", "exists", "extract", "float",
        "greatest", "grouping", "inout", "int", "integer", "interval", "json", "json_array", "json_arrayagg", "json_exists",
        "json_object", "json_objectagg", "json_query", "json_scalar", "json_serialize", "json_table", "json_value", "least",
        "merge_action", "national", "nchar", "none", "normalize", "nullif", "numeric", "out", "overlay", "position", "precision",
        "real", "row", "setof", "smallint", "substring", "time", "timestamp", "treat", "trim", "values", "varchar", "xmlattributes",
        "xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
    ]
}
