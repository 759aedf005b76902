/// A table's shape at one moment, read from the source's catalogs: enough to recreate it in an
/// empty database. Stored in base copies and, whenever the shape changes, as a `#` record.
public struct TableDefinition: Codable, Sendable, Hashable {
    public struct Column: Codable, Sendable, Hashable {
        public var name: String
        /// `format_type(atttypid, atttypmod)`, e.g. `character varying(20)`, `public.duty_status`.
        public var type: String
        public var typeOID: UInt32
        public var typmod: Int32
        public var notNull: Bool
        public var defaultExpression: String?
        public init(name: String, type: String, typeOID: UInt32, typmod: Int32, notNull: Bool, defaultExpression: String?) {
            self.name = name; self.type = type; self.typeOID = typeOID; self.typmod = typmod
            self.notNull = notNull; self.defaultExpression = defaultExpression
        }
    }
    /// An enum type a column uses, with its labels in order.
    public struct EnumType: Codable, Sendable, Hashable {
        public var schema: String
        public var name: String
        public var labels: [String]
        public init(schema: String, name: String, labels: [String]) { self.schema = schema; self.name = name; self.labels = labels }
    }

    /// A domain a column uses: `CREATE DOMAIN schema.name AS baseType [NOT NULL] [DEFAULT …] [CHECK …]`.
    public struct DomainType: Codable, Sendable, Hashable {
        public var schema: String
        public var name: String
        public var baseType: String
        public var notNull: Bool
        public var defaultExpression: String?
        public var checks: [String]
        public init(schema: String, name: String, baseType: String, notNull: Bool, defaultExpression: String?, checks: [String]) {
            self.schema = schema; self.name = name; self.baseType = baseType; self.notNull = notNull
            self.defaultExpression = defaultExpression; self.checks = checks
        }
    }
    /// A composite type a column uses: `CREATE TYPE schema.name AS (attribute type, …)`.
    public struct CompositeType: Codable, Sendable, Hashable {
        public var schema: String
        public var name: String
        public var attributes: [String: String]
        public var order: [String]
        public init(schema: String, name: String, attributes: [String: String], order: [String]) {
            self.schema = schema; self.name = name; self.attributes = attributes; self.order = order
        }
    }

    public var relationOID: UInt32
    public var schema: String
    public var name: String
    public var columns: [Column]
    /// Primary key columns, in key order; empty when the table has none.
    public var primaryKey: [String]
    /// `d` default, `f` full, `i` index, `n` nothing.
    public var replicaIdentity: String
    public var enums: [EnumType]
    public var domains: [DomainType]?
    public var composites: [CompositeType]?
    /// `CREATE INDEX` statements of the table's other indexes, as `pg_get_indexdef` gives them.
    public var indexes: [String]
    /// `CHECK (…)` constraint definitions, as `pg_get_constraintdef` gives them, with their names.
    public var checks: [String: String]

    public init(relationOID: UInt32, schema: String, name: String, columns: [Column], primaryKey: [String], replicaIdentity: String,
                enums: [EnumType] = [], indexes: [String] = [], checks: [String: String] = [:],
                domains: [DomainType] = [], composites: [CompositeType] = []) {
        self.relationOID = relationOID; self.schema = schema; self.name = name; self.columns = columns
        self.primaryKey = primaryKey; self.replicaIdentity = replicaIdentity; self.enums = enums
        self.indexes = indexes; self.checks = checks
        self.domains = domains.isEmpty ? nil : domains
        self.composites = composites.isEmpty ? nil : composites
    }

    public var qualifiedName: String { "\(schema).\(name)" }
}
