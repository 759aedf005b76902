import Archive

/// What a restore at a point would rebuild differently from the live table: each difference of
/// the archived definition from the catalog's, named (columns, key, checks, indexes, constraints,
/// foreign keys, row-level security, policies, grants, triggers, owner).
public enum DefinitionDiff {
    public static func differences(archived a: TableDefinition, live l: TableDefinition) -> [String] {
        var out: [String] = []
        func sets<T: Hashable>(_ what: String, _ x: [T], _ y: [T], _ name: (T) -> String) {
            let xs = Set(x), ys = Set(y)
            for v in ys.subtracting(xs).map(name).sorted() { out.append("\(what) \(v) is live but not in the archive's definition") }
            for v in xs.subtracting(ys).map(name).sorted() { out.append("\(what) \(v) is in the archive's definition but not live") }
        }
        sets("column", a.columns.map { "\($0.name) \($0.type)\($0.notNull ? " NOT NULL" : "")" }, l.columns.map { "\($0.name) \($0.type)\($0.notNull ? " NOT NULL" : "")" }) { $0 }
        if a.primaryKey != l.primaryKey { out.append("primary key (\(l.primaryKey.joined(separator: ", "))) live, (\(a.primaryKey.joined(separator: ", "))) archived") }
        sets("check", a.checks.map { "\($0.key) \($0.value)" }, l.checks.map { "\($0.key) \($0.value)" }) { $0 }
        sets("index", a.indexes, l.indexes) { $0 }
        guard let ao = a.objects, let lo = l.objects else {
            if l.objects != nil { out.append("the archive's definition predates constraints, security and triggers: take a new base copy (logbook run --resnapshot) to carry them") }
            return out
        }
        sets("constraint", ao.constraints, lo.constraints) { "\($0.name) \($0.definition)" }
        if ao.rowSecurity != lo.rowSecurity { out.append("row-level security is \(lo.rowSecurity ? "enabled" : "disabled") live, \(ao.rowSecurity ? "enabled" : "disabled") archived") }
        if ao.forceRowSecurity != lo.forceRowSecurity { out.append("FORCE ROW LEVEL SECURITY is \(lo.forceRowSecurity ? "on" : "off") live, \(ao.forceRowSecurity ? "on" : "off") archived") }
        sets("policy", ao.policies, lo.policies) { $0.name }
        sets("grant", ao.grants, lo.grants) { "\($0.privilege)\($0.column.map { " (\($0))" } ?? "") to \($0.grantee)" }
        sets("trigger", ao.triggers, lo.triggers) { "\($0.name) (\($0.enabled))" }
        if ao.owner != lo.owner { out.append("owner \(lo.owner) live, \(ao.owner) archived") }
        return out
    }
}
