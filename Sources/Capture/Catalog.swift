import Archive
import LibPQ

/// Reads table definitions from the source's catalogs (not by running pg_dump).
public enum Catalog {
    /// The definition of `table` as the connection sees it (inside a snapshot, if one is set).
    public static func definition(of table: TableName, on conn: PostgresConnection) throws -> TableDefinition? {
        let rel = try conn.query("""
            SELECT c.oid, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
            """, [table.schema, table.name])
        guard let row = rel.rows.first, let oidText = row[0], let oid = UInt32(oidText) else { return nil }
        return try definition(oid: oid, on: conn)
    }

    static func definition(oid: UInt32, on conn: PostgresConnection) throws -> TableDefinition? {
        let rel = try conn.query("""
            SELECT n.nspname, c.relname, c.relreplident, c.relkind, obj_description(c.oid, 'pg_class'),
                   CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1
            """, [String(oid)])
        guard let r = rel.rows.first else { return nil }
        let cols = try conn.query("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, a.atttypmod, a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), a.attnum, a.attgenerated, a.attidentity,
                   CASE WHEN a.atthasmissing THEN (a.attmissingval::text::text[])[1] END,
                   col_description(a.attrelid, a.attnum),
                   CASE WHEN a.attidentity <> '' THEN pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) END
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """, [String(oid)])
        var columns: [TableDefinition.Column] = []
        for row in cols.rows {
            var c = TableDefinition.Column(name: row[0] ?? "", type: row[1] ?? "text", typeOID: UInt32(row[2] ?? "") ?? 0,
                                           typmod: Int32(row[3] ?? "") ?? -1, notNull: row[4] == "t", defaultExpression: row[5],
                                           attnum: Int(row[6] ?? ""))
            if row[7] == "s" { c.generated = true }
            if let ident = row[8], !ident.isEmpty { c.identity = ident }
            c.missingValue = row[9]
            c.comment = row[10]
            if let seq = row[11], let s = try conn.query("""
                SELECT seqstart, seqincrement, seqmin, seqmax, seqcache, seqcycle FROM pg_sequence WHERE seqrelid = $1::regclass
                """, [seq]).rows.first {
                c.identitySequence = TableDefinition.SequenceOptions(name: seq, start: s[0] ?? "1", increment: s[1] ?? "1", min: s[2] ?? "1",
                                                                     max: s[3] ?? "", cache: s[4] ?? "1", cycle: s[5] == "t")
            }
            columns.append(c)
        }
        let pk = try conn.query("""
            SELECT a.attname FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = $1 AND a.attnum = k.attnum
            WHERE i.indrelid = $1 AND i.indisprimary AND k.ord <= i.indnkeyatts ORDER BY k.ord
            """, [String(oid)])
        let enums = try conn.query("""
            SELECT n.nspname, t.typname, array_to_string(ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), E'\\x1f'), t.oid
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'e' AND t.oid IN (
                SELECT et.oid FROM pg_attribute a JOIN pg_type et ON et.oid = a.atttypid OR et.typarray = a.atttypid
                WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped)
            ORDER BY 1, 2
            """, [String(oid)])
        let domains = try conn.query("""
            SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
                   array_to_string(ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname), E'\\x1f')
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype = 'd'
            GROUP BY 1, 2, 3, 4, 5, t.oid ORDER BY 1, 2
            """, [String(oid)])
        let composites = try conn.query("""
            SELECT n.nspname, t.typname, string_agg(quote_ident(ca.attname) || E'\\x1e' || format_type(ca.atttypid, ca.atttypmod), E'\\x1f' ORDER BY ca.attnum)
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace n ON n.oid = t.typnamespace
            JOIN pg_class cr ON cr.oid = t.typrelid AND cr.relkind = 'c'
            JOIN pg_attribute ca ON ca.attrelid = t.typrelid AND ca.attnum > 0 AND NOT ca.attisdropped
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype = 'c'
            GROUP BY 1, 2 ORDER BY 1, 2
            """, [String(oid)])
        let indexes = try conn.query("""
            SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = $1 AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = $1 AND c.contype IN ('u', 'x'))
            ORDER BY i.indexrelid
            """, [String(oid)])
        let checks = try conn.query("""
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1 AND contype = 'c' ORDER BY conname
            """, [String(oid)])
        var checkMap: [String: String] = [:]
        for row in checks.rows { if let n = row[0], let d = row[1] { checkMap[n] = d } }
        let replIdent = try conn.query("""
            SELECT ic.relname, a.attname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid,
                   unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = $1 AND a.attnum = k.attnum
            WHERE i.indrelid = $1 AND i.indisreplident AND k.ord <= i.indnkeyatts ORDER BY k.ord
            """, [String(oid)])
        let partitions = r[3] == "p" ? try conn.query("""
            SELECT n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE i.inhparent = $1 ORDER BY n.nspname, c.relname
            """, [String(oid)]).rows.map { TableDefinition.Partition(schema: $0[0] ?? "", name: $0[1] ?? "", bound: $0[2] ?? "DEFAULT") } : nil
        var def = TableDefinition(
            relationOID: oid, schema: r[0] ?? "", name: r[1] ?? "", columns: columns,
            primaryKey: pk.rows.compactMap { $0[0] }, replicaIdentity: r[2] ?? "d",
            enums: enums.rows.map { TableDefinition.EnumType(schema: $0[0] ?? "", name: $0[1] ?? "", labels: ($0[2] ?? "").split(separator: "\u{1f}", omittingEmptySubsequences: false).map(String.init),
                                                           typeOID: UInt32($0[3] ?? "")) },
            indexes: indexes.rows.compactMap { $0[0] }, checks: checkMap,
            domains: domains.rows.map {
                TableDefinition.DomainType(schema: $0[0] ?? "", name: $0[1] ?? "", baseType: $0[2] ?? "text", notNull: $0[3] == "t",
                                           defaultExpression: $0[4], checks: ($0[5] ?? "").split(separator: "\u{1f}").map(String.init))
            },
            composites: composites.rows.map { row in
                let attrs = (row[2] ?? "").split(separator: "\u{1f}").map { $0.split(separator: "\u{1e}", maxSplits: 1).map(String.init) }
                return TableDefinition.CompositeType(schema: row[0] ?? "", name: row[1] ?? "",
                                                     attributes: Dictionary(attrs.map { ($0[0], $0.count > 1 ? $0[1] : "text") }, uniquingKeysWith: { a, _ in a }),
                                                     order: attrs.map { $0[0] })
            })
        if let first = replIdent.rows.first, let index = first[0] {
            def.replicaIdentityIndex = index
            def.replicaIdentityColumns = replIdent.rows.compactMap { $0[1] }
        }
        def.partitionKey = r[5]
        def.partitions = partitions
        def.comment = r[4]
        try readObjects(into: &def, on: conn)
        return def
    }

    /// Partitions of a partitioned table that are partitioned themselves (not supported).
    static func subPartitioned(oid: UInt32, on conn: PostgresConnection) throws -> [String] {
        try conn.query("""
            SELECT n.nspname || '.' || c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = $1 AND c.relkind = 'p'
            """, [String(oid)]).rows.compactMap { $0[0] }
    }
}
