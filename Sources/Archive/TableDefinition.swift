import PGWire

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
        /// The default, or for a generated column its expression.
        public var defaultExpression: String?
        /// `pg_attribute.attnum`: the column's identity across renames (nil in archives written before it was recorded).
        public var attnum: Int?
        /// A stored generated column (`GENERATED ALWAYS AS (defaultExpression) STORED`): computed by the server, never loaded.
        public var generated: Bool?
        /// `a` (`GENERATED ALWAYS AS IDENTITY`) or `d` (`BY DEFAULT`), with its sequence.
        public var identity: String?
        public var identitySequence: SequenceOptions?
        /// `pg_attribute.attmissingval`: the value rows written before the column was added have.
        public var missingValue: String?
        public var comment: String?
        /// The sequence a `serial` column's default draws from and that the column owns (`OWNED BY`).
        public var ownedSequence: String?
        public var ownedSequenceOptions: SequenceOptions?
        /// A collation other than its type's (`"C"`, `pg_catalog."default"` never recorded).
        public var collation: String?
        /// `SET STORAGE` other than its type's (`PLAIN`, `EXTERNAL`, `MAIN`, `EXTENDED`), and `SET COMPRESSION` (`pglz`, `lz4`).
        public var storage: String?
        public var compression: String?
        public init(name: String, type: String, typeOID: UInt32, typmod: Int32, notNull: Bool, defaultExpression: String?,
                    attnum: Int? = nil) {
            self.name = name; self.type = type; self.typeOID = typeOID; self.typmod = typmod
            self.notNull = notNull; self.defaultExpression = defaultExpression; self.attnum = attnum
        }
        public var isGenerated: Bool { generated == true }
        /// How the fold knows the column whatever its name: its attnum, else its name.
        public var identityKey: String { attnum.map { "#\($0)" } ?? "=\(name)" }
    }

    /// An identity column's sequence, as `pg_sequence` has it.
    public struct SequenceOptions: Codable, Sendable, Hashable {
        public var name: String
        public var start: String
        public var increment: String
        public var min: String
        public var max: String
        public var cache: String
        public var cycle: Bool
        /// `AS smallint|integer|bigint` (recorded for a serial column's sequence).
        public var dataType: String?
        public init(name: String, start: String, increment: String, min: String, max: String, cache: String, cycle: Bool) {
            self.name = name; self.start = start; self.increment = increment; self.min = min; self.max = max; self.cache = cache; self.cycle = cycle
        }
    }

    /// A partition of a partitioned table: its name and bound (`FOR VALUES FROM (…) TO (…)`, `DEFAULT`).
    public struct Partition: Codable, Sendable, Hashable {
        public var schema: String
        public var name: String
        public var bound: String
        public init(schema: String, name: String, bound: String) { self.schema = schema; self.name = name; self.bound = bound }
    }
    /// An enum type a column uses, with its labels in order.
    public struct EnumType: Codable, Sendable, Hashable {
        public var schema: String
        public var name: String
        public var labels: [String]
        /// The type's OID on the source (nil in archives written before it was recorded): which columns are of this enum.
        public var typeOID: UInt32?
        public init(schema: String, name: String, labels: [String], typeOID: UInt32? = nil) {
            self.schema = schema; self.name = name; self.labels = labels; self.typeOID = typeOID
        }
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

    /// A range type a column uses (directly, as an array or through its multirange): `CREATE TYPE schema.name AS RANGE (…)`.
    public struct RangeType: Codable, Sendable, Hashable {
        public var schema: String
        public var name: String
        /// `SUBTYPE = float8, SUBTYPE_DIFF = float8mi, …`: the options as `CREATE TYPE` takes them.
        public var options: [String]
        public init(schema: String, name: String, options: [String]) { self.schema = schema; self.name = name; self.options = options }
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
    /// `REPLICA IDENTITY USING INDEX`: the index and its columns (the table's key when it has no primary key).
    public var replicaIdentityIndex: String?
    public var replicaIdentityColumns: [String]?
    /// A partitioned table: `pg_get_partkeydef` (`RANGE (recorded_at)`) and its partitions.
    public var partitionKey: String?
    public var partitions: [Partition]?
    public var comment: String?
    /// The primary key's constraint name and `pg_get_constraintdef` (`PRIMARY KEY (id) INCLUDE (note)`,
    /// `… DEFERRABLE`); nil in archives written before they were recorded (`PRIMARY KEY (primaryKey)`).
    /// Storage parameters (`fillfactor=70`, `autovacuum_enabled=false`), as `pg_class.reloptions` holds them.
    public var storageParameters: [String]?
    public var ranges: [RangeType]?
    public var primaryKeyName: String?
    public var primaryKeyDefinition: String?
    /// Foreign keys, unique and exclusion constraints, row-level security, policies, grants,
    /// triggers and owner (nil in archives written before they were recorded).
    public var objects: TableObjects?

    /// The columns rows are matched by: the primary key, else the replica identity index; empty
    /// for a table matched by whole-row value (REPLICA IDENTITY FULL).
    public var foldKey: [String] {
        if !primaryKey.isEmpty { return primaryKey }
        if replicaIdentity == "i", let cols = replicaIdentityColumns { return cols }
        return []
    }
    /// The columns rows carry (a generated column is computed by the server).
    public var storedColumns: [Column] { columns.filter { !$0.isGenerated } }
    /// The fold's identity for each of `names` (columns of this definition by name; others by name).
    public func identities(of names: [String]) -> [String] {
        names.map { n in columns.first { $0.name == n }?.identityKey ?? "=\(n)" }
    }

    public init(relationOID: UInt32, schema: String, name: String, columns: [Column], primaryKey: [String], replicaIdentity: String,
                enums: [EnumType] = [], indexes: [String] = [], checks: [String: String] = [:],
                domains: [DomainType] = [], composites: [CompositeType] = []) {
        self.relationOID = relationOID; self.schema = schema; self.name = name; self.columns = columns
        self.primaryKey = primaryKey; self.replicaIdentity = replicaIdentity; self.enums = enums
        self.indexes = indexes; self.checks = checks
        self.domains = domains.isEmpty ? nil : domains
        self.composites = composites.isEmpty ? nil : composites
    }

    /// `schema.table`, quoted where needed (`"Fleet Ops"."Driver Notes"`): the archive's key for the table.
    public var qualifiedName: String { QualifiedName(schema: schema, name: name).description }
}
