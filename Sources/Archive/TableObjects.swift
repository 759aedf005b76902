/// What makes a table the one the application uses, beyond its columns: constraints that name
/// other tables, row-level security and its policies, privileges, triggers and the owner. Read from
/// the source's catalogs with every definition (deparsed with only `pg_catalog` on the search path,
/// so every name is schema-qualified), and restored by replay as `pg_restore` restores them.
/// Archives written before these were recorded decode them as nil: such a replay restores the
/// columns, key, checks and indexes only, as it did.
public struct TableObjects: Codable, Sendable, Hashable {
    /// A constraint kept as a constraint: `u` unique, `x` exclusion, `f` foreign key.
    public struct Constraint: Codable, Sendable, Hashable {
        public var name: String
        public var kind: String
        /// `pg_get_constraintdef`: `UNIQUE (a, b) DEFERRABLE`, `FOREIGN KEY (a) REFERENCES s.t(id) ON DELETE CASCADE NOT VALID`, …
        public var definition: String
        /// The referenced table of a foreign key (`schema.table` as the archive names tables).
        public var references: String?
        public init(name: String, kind: String, definition: String, references: String? = nil) {
            self.name = name; self.kind = kind; self.definition = definition; self.references = references
        }
        public var isForeignKey: Bool { kind == "f" }
    }

    /// `CREATE POLICY name ON t AS PERMISSIVE|RESTRICTIVE FOR cmd TO roles USING (…) WITH CHECK (…)`.
    public struct Policy: Codable, Sendable, Hashable {
        public var name: String
        public var permissive: Bool
        /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
        public var command: String
        /// Role names; `PUBLIC` for everyone.
        public var roles: [String]
        public var using: String?
        public var withCheck: String?
        /// Functions outside `pg_catalog` its expressions call (`regprocedure`).
        public var functions: [String]?
        public init(name: String, permissive: Bool, command: String, roles: [String], using: String?, withCheck: String?) {
            self.name = name; self.permissive = permissive; self.command = command; self.roles = roles
            self.using = using; self.withCheck = withCheck
        }
    }

    /// One privilege of one grantee (`PUBLIC` for everyone), on the table or on one column.
    public struct Grant: Codable, Sendable, Hashable, Comparable {
        public var grantee: String
        /// `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `REFERENCES`, `TRIGGER`, `MAINTAIN`.
        public var privilege: String
        public var grantable: Bool
        public var column: String?
        public init(grantee: String, privilege: String, grantable: Bool, column: String? = nil) {
            self.grantee = grantee; self.privilege = privilege; self.grantable = grantable; self.column = column
        }
        public static func < (a: Grant, b: Grant) -> Bool {
            (a.column ?? "", a.grantee, a.privilege, a.grantable ? 1 : 0) < (b.column ?? "", b.grantee, b.privilege, b.grantable ? 1 : 0)
        }
    }

    /// A user trigger (`pg_get_triggerdef`), and whether it fires: `O` origin, `D` disabled, `R` replica, `A` always.
    public struct Trigger: Codable, Sendable, Hashable {
        public var name: String
        public var definition: String
        public var enabled: String
        /// The function it executes, as `regprocedure` (`public.set_updated_at()`).
        public var function: String
        public init(name: String, definition: String, enabled: String, function: String) {
            self.name = name; self.definition = definition; self.enabled = enabled; self.function = function
        }
    }

    public var owner: String
    public var rowSecurity: Bool
    public var forceRowSecurity: Bool
    public var constraints: [Constraint]
    public var policies: [Policy]
    /// False while the table has its default privileges (`relacl` is null): no grant to restore.
    public var privilegesSet: Bool
    public var grants: [Grant]
    public var triggers: [Trigger]
    /// Functions outside `pg_catalog` that the table's defaults, generated columns, checks or indexes call (`regprocedure`).
    public var functions: [String]
    /// Types of its columns that replay does not recreate (base types written in C, ranges): `format_type` names.
    public var externalTypes: [String]

    public init(owner: String, rowSecurity: Bool = false, forceRowSecurity: Bool = false, constraints: [Constraint] = [],
                policies: [Policy] = [], privilegesSet: Bool = false, grants: [Grant] = [], triggers: [Trigger] = [],
                functions: [String] = [], externalTypes: [String] = []) {
        self.owner = owner; self.rowSecurity = rowSecurity; self.forceRowSecurity = forceRowSecurity
        self.constraints = constraints; self.policies = policies; self.privilegesSet = privilegesSet; self.grants = grants
        self.triggers = triggers; self.functions = functions; self.externalTypes = externalTypes
    }

    public var foreignKeys: [Constraint] { constraints.filter(\.isForeignKey) }
    public var keyConstraints: [Constraint] { constraints.filter { !$0.isForeignKey } }

    /// Every function the restored table would call, less what is left out.
    public func functions(policies includePolicies: Bool, triggers includeTriggers: Bool) -> [String] {
        var out = Set(functions)
        if includePolicies { for p in policies { out.formUnion(p.functions ?? []) } }
        if includeTriggers { for t in triggers { out.insert(t.function) } }
        return out.sorted()
    }

    /// Every role the table's owner, grants and policies name (not `PUBLIC`).
    public func roles(owner includeOwner: Bool, privileges: Bool, policies includePolicies: Bool) -> [String] {
        var out = Set<String>()
        if includeOwner { out.insert(owner) }
        if privileges { for g in grants where g.grantee != "PUBLIC" { out.insert(g.grantee) } }
        if includePolicies { for p in policies { for r in p.roles where r != "PUBLIC" { out.insert(r) } } }
        return out.sorted()
    }
}
