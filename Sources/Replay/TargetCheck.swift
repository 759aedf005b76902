import Archive
import LibPQ

/// Never more open than the source: before anything is made in the target, every role, function
/// and type that the restored tables' owner, grants, policies, triggers, defaults and checks name
/// must be there (less what the restore leaves out knowingly), or the replay refuses, naming each.
enum TargetCheck {
    static func missing(_ defs: [TableDefinition], omit: ObjectSQL.Omit, on conn: PostgresConnection) throws -> [String] {
        var roles = Set<String>(), functions = Set<String>(), types = Set<String>()
        for d in defs {
            guard let o = d.objects else { continue }
            roles.formUnion(o.roles(owner: !omit.owner, privileges: !omit.privileges, policies: !omit.policies))
            functions.formUnion(o.functions(policies: !omit.policies, triggers: !omit.triggers))
            types.formUnion(o.externalTypes)
        }
        var out: [String] = []
        for r in roles.sorted() where try conn.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [r]).rows.isEmpty {
            out.append("role \(r)")
        }
        for f in functions.sorted() where try conn.query("SELECT to_regprocedure($1) IS NULL", [f]).scalar == "t" {
            out.append("function \(f)")
        }
        for t in types.sorted() where try conn.query("SELECT to_regtype($1) IS NULL", [t]).scalar == "t" {
            out.append("type \(t)")
        }
        return out
    }

    static func require(_ defs: [TableDefinition], omit: ObjectSQL.Omit, on conn: PostgresConnection) throws {
        let gone = try missing(defs, omit: omit, on: conn)
        guard !gone.isEmpty else { return }
        let leave = [gone.contains { $0.hasPrefix("role ") } ? "--no-owner --no-privileges --no-policies" : nil,
                     gone.contains { $0.hasPrefix("function ") } ? "--no-triggers --no-policies" : nil].compactMap { $0 }
        throw ReplayError(.missingObjects, "the target lacks what the restored tables name: \(gone.joined(separator: ", ")); nothing was changed",
                          fix: "create them first (roles: pg_dumpall --roles-only; functions and types: pg_dump --schema-only of the source)"
                            + (leave.isEmpty ? "" : ", or leave those objects out knowingly with \(leave.joined(separator: " / "))"))
    }
}
