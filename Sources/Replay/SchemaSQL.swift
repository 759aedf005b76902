import Archive
import Foundation
import LibPQ

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
        for c in def.composites ?? [] {
            let attrs = c.order.map { "\($0) \(c.attributes[$0] ?? "text")" }.joined(separator: ", ")
            out.append(ifMissing(c.schema, c.name, "CREATE TYPE \(q(c.schema)).\(q(c.name)) AS (\(attrs))"))
        }
        for c in def.columns { if let s = sequence(in: c.defaultExpression) { out.append("CREATE SEQUENCE IF NOT EXISTS \(s)") } }
        out.append(createTable(def, as: table, withConstraints: true))
        out.append(contentsOf: indexStatements(def, as: table))
        return out
    }

    static func columnList(_ def: TableDefinition) -> String {
        def.columns.map { c in
            var s = "\(q(c.name)) \(c.type)"
            if c.notNull { s += " NOT NULL" }
            if let d = c.defaultExpression { s += " DEFAULT \(d)" }
            return s
        }.joined(separator: ",\n    ")
    }

    /// `withConstraints`: the primary key and checks; `withChecks` alone: the checks (a check is
    /// tested row by row during a load, where adding it afterwards would scan the table again).
    static func createTable(_ def: TableDefinition, as table: (schema: String, name: String), withConstraints: Bool,
                            withChecks: Bool = false) -> String {
        var s = "CREATE TABLE \(q(table.schema)).\(q(table.name)) (\n    \(columnList(def))"
        if withConstraints && !def.primaryKey.isEmpty { s += ",\n    PRIMARY KEY (\(def.primaryKey.map(q).joined(separator: ", ")))" }
        if withConstraints || withChecks {
            for (name, check) in def.checks.sorted(by: { $0.key < $1.key }) { s += ",\n    CONSTRAINT \(q(name)) \(check)" }
        }
        return s + "\n)"
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
            let origName = String(head.split(separator: " ").last ?? "idx")
            var name = (table.name == def.name && table.schema == def.schema) ? origName : "\(table.name)_\(origName)"
            name = String((name + nameSuffix).prefix(63))
            return "CREATE \(unique ? "UNIQUE " : "")INDEX \(q(name)) ON \(q(table.schema)).\(q(build ?? table.name))\(idx[using.lowerBound...])"
        }
    }
}
