import Archive
import LibPQ
import PGWire

extension Catalog {
    /// Reads what the application's use of the table rests on (`TableObjects`), the primary key's
    /// own definition and the sequences serial columns own. Deparsed with only `pg_catalog` on the
    /// search path, as `pg_dump` does, so that every name in the text is schema-qualified.
    static func readObjects(into def: inout TableDefinition, on conn: PostgresConnection) throws {
        let oid = String(def.relationOID)
        let saved = try conn.query("SELECT current_setting('search_path')").scalar ?? "\"$user\", public"
        _ = try conn.query("SELECT set_config('search_path', 'pg_catalog', false)")
        defer { _ = try? conn.query("SELECT set_config('search_path', $1, false)", [saved]) }

        let rel = try conn.query("""
            SELECT pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity, c.relacl IS NOT NULL
            FROM pg_class c WHERE c.oid = $1
            """, [oid])
        guard let r = rel.rows.first else { return }
        var objects = TableObjects(owner: r[0] ?? "", rowSecurity: r[1] == "t", forceRowSecurity: r[2] == "t", privilegesSet: r[3] == "t")

        if let pk = try conn.query("""
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1 AND contype = 'p'
            """, [oid]).rows.first {
            def.primaryKeyName = pk[0]
            def.primaryKeyDefinition = pk[1]
        }
        // Constraints of the table itself (not those a partition inherits from its root).
        objects.constraints = try conn.query("""
            SELECT c.conname, c.contype, pg_get_constraintdef(c.oid), rn.nspname, rc.relname
            FROM pg_constraint c LEFT JOIN pg_class rc ON rc.oid = c.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
            WHERE c.conrelid = $1 AND c.contype IN ('u', 'x', 'f') AND c.conparentid = 0
            ORDER BY c.contype, c.conname
            """, [oid]).rows.map { row in
                TableObjects.Constraint(name: row[0] ?? "", kind: row[1] ?? "", definition: row[2] ?? "",
                                        references: row[3].map { QualifiedName(schema: $0, name: row[4] ?? "").description })
            }
        objects.policies = try conn.query("""
            SELECT p.polname, p.polpermissive,
                   CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                   array_to_string(ARRAY(SELECT CASE WHEN ro = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(ro) END FROM unnest(p.polroles) ro ORDER BY 1), E'\\x1f'),
                   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
            FROM pg_policy p WHERE p.polrelid = $1 ORDER BY p.polname
            """, [oid]).rows.map { row in
                TableObjects.Policy(name: row[0] ?? "", permissive: row[1] == "t", command: row[2] ?? "ALL",
                                    roles: (row[3] ?? "").split(separator: "\u{1f}").map(String.init), using: row[4], withCheck: row[5])
            }
        let grants = try conn.query("""
            SELECT grantee, privilege_type, is_grantable, attname FROM (
                SELECT 0 AS attnum, a.ordinality, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
                       a.privilege_type, a.is_grantable, NULL::name AS attname
                FROM pg_class c, aclexplode(c.relacl) WITH ORDINALITY a WHERE c.oid = $1
                UNION ALL
                SELECT att.attnum, a.ordinality, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                       a.privilege_type, a.is_grantable, att.attname
                FROM pg_attribute att, aclexplode(att.attacl) WITH ORDINALITY a
                WHERE att.attrelid = $1 AND att.attnum > 0 AND NOT att.attisdropped) g
            ORDER BY attnum, ordinality
            """, [oid])
        // In the order of the ACL (pg_dump prints one GRANT per entry in that order).
        objects.grants = grants.rows.map {
            TableObjects.Grant(grantee: $0[0] ?? "PUBLIC", privilege: $0[1] ?? "", grantable: $0[2] == "t", column: $0[3])
        }
        objects.triggers = try conn.query("""
            SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled, t.tgfoid::regprocedure::text
            FROM pg_trigger t WHERE t.tgrelid = $1 AND NOT t.tgisinternal AND t.tgparentid = 0 ORDER BY t.tgname
            """, [oid]).rows.map {
                TableObjects.Trigger(name: $0[0] ?? "", definition: $0[1] ?? "", enabled: $0[2] ?? "O", function: $0[3] ?? "")
            }
        // Functions outside pg_catalog that the table's defaults, generated columns, checks and
        // index expressions call (those of policies and triggers are recorded with them).
        objects.functions = try conn.query("""
            SELECT DISTINCT d.refobjid::regprocedure::text FROM pg_depend d JOIN pg_proc p ON p.oid = d.refobjid
            WHERE d.refclassid = 'pg_proc'::regclass AND p.pronamespace <> 'pg_catalog'::regnamespace AND (
                (d.classid = 'pg_constraint'::regclass AND d.objid IN (SELECT oid FROM pg_constraint WHERE conrelid = $1))
             OR (d.classid = 'pg_attrdef'::regclass AND d.objid IN (SELECT oid FROM pg_attrdef WHERE adrelid = $1))
             OR (d.classid = 'pg_class'::regclass AND (d.objid = $1 OR d.objid IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1))))
            ORDER BY 1
            """, [oid]).rows.compactMap { $0[0] }
        let policyFunctions = try conn.query("""
            SELECT pol.polname, d.refobjid::regprocedure::text FROM pg_policy pol
            JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid AND d.refclassid = 'pg_proc'::regclass
            JOIN pg_proc p ON p.oid = d.refobjid AND p.pronamespace <> 'pg_catalog'::regnamespace
            WHERE pol.polrelid = $1 ORDER BY 1, 2
            """, [oid]).rows
        for i in objects.policies.indices {
            let used = policyFunctions.filter { $0[0] == objects.policies[i].name }.compactMap { $0[1] }
            if !used.isEmpty { objects.policies[i].functions = used }
        }
        // Column types replay does not recreate: base types outside pg_catalog (written in C), ranges, multiranges.
        objects.externalTypes = try conn.query("""
            SELECT DISTINCT format_type(t.oid, NULL) FROM pg_attribute a
            JOIN pg_type t0 ON t0.oid = a.atttypid
            JOIN pg_type t ON t.oid = CASE WHEN t0.typelem <> 0 AND t0.typlen = -1 AND t0.typcategory = 'A' THEN t0.typelem ELSE t0.oid END
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
              AND t.typnamespace <> 'pg_catalog'::regnamespace AND t.typtype = 'b'
            ORDER BY 1
            """, [oid]).rows.compactMap { $0[0] }
        // A serial column's sequence: the one its default draws from, owned by the column.
        let owned = try conn.query("""
            SELECT a.attname, s.oid::regclass::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND d.deptype = 'a'
            """, [oid])
        for row in owned.rows {
            guard let col = row[0], let seq = row[1], let i = def.columns.firstIndex(where: { $0.name == col }),
                  def.columns[i].identity == nil else { continue }
            def.columns[i].ownedSequence = seq
            if let o = try conn.query("""
                SELECT format_type(seqtypid, NULL), seqstart, seqincrement, seqmin, seqmax, seqcache, seqcycle FROM pg_sequence WHERE seqrelid = $1::regclass
                """, [seq]).rows.first {
                var opts = TableDefinition.SequenceOptions(name: seq, start: o[1] ?? "1", increment: o[2] ?? "1", min: o[3] ?? "1", max: o[4] ?? "",
                                                           cache: o[5] ?? "1", cycle: o[6] == "t")
                opts.dataType = o[0]
                def.columns[i].ownedSequenceOptions = opts
            }
        }
        try readRanges(into: &def, objects: &objects, on: conn)
        def.objects = objects
        try readStorage(into: &def, on: conn)
    }

    /// Range types the columns use (directly, as arrays, through a multirange), with every option
    /// `CREATE TYPE … AS RANGE` takes that is not the subtype's default; the functions they name are
    /// functions the target must hold.
    static func readRanges(into def: inout TableDefinition, objects: inout TableObjects, on conn: PostgresConnection) throws {
        let multirange = conn.serverVersionNum >= 140000
        let rows = try conn.query("""
            SELECT DISTINCT n.nspname, t.typname, format_type(r.rngsubtype, NULL),
                   CASE WHEN r.rngsubopc <> (SELECT o.oid FROM pg_opclass o WHERE o.opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree') AND o.opcintype = r.rngsubtype AND o.opcdefault LIMIT 1)
                        THEN (SELECT quote_ident(on2.nspname) || '.' || quote_ident(o.opcname) FROM pg_opclass o JOIN pg_namespace on2 ON on2.oid = o.opcnamespace WHERE o.oid = r.rngsubopc) END,
                   CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> (SELECT typcollation FROM pg_type WHERE oid = r.rngsubtype)
                        THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(c.collname) FROM pg_collation c JOIN pg_namespace cn ON cn.oid = c.collnamespace WHERE c.oid = r.rngcollation) END,
                   NULLIF(r.rngcanonical::regproc::text, '-'), NULLIF(r.rngsubdiff::regproc::text, '-'),
                   \(multirange ? """
                   (SELECT quote_ident(mn.nspname) || '.' || quote_ident(m.typname) FROM pg_type m JOIN pg_namespace mn ON mn.oid = m.typnamespace
                    WHERE m.oid = r.rngmultitypid AND (m.typnamespace <> t.typnamespace OR m.typname <> CASE WHEN position('range' in t.typname) > 0
                          THEN overlay(t.typname placing 'multirange' from position('range' in t.typname) for 5) ELSE t.typname || '_multirange' END))
                   """ : "NULL"),
                   (SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.oid = r.rngcanonical AND p.pronamespace <> 'pg_catalog'::regnamespace),
                   (SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.oid = r.rngsubdiff AND p.pronamespace <> 'pg_catalog'::regnamespace)
            FROM pg_attribute a JOIN pg_type t0 ON t0.oid = a.atttypid
            JOIN pg_range r ON r.rngtypid = t0.oid OR r.rngtypid = t0.typelem\(multirange ? " OR r.rngmultitypid = t0.oid OR r.rngmultitypid = t0.typelem" : "")
            JOIN pg_type t ON t.oid = r.rngtypid JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND n.nspname <> 'pg_catalog'
            ORDER BY 1, 2
            """, [String(def.relationOID)])
        var ranges: [TableDefinition.RangeType] = []
        for row in rows.rows {
            guard let schema = row[0], let name = row[1], let subtype = row[2] else { continue }
            var opts = ["SUBTYPE = \(subtype)"]
            if let o = row[3] { opts.append("SUBTYPE_OPCLASS = \(o)") }
            if let c = row[4] { opts.append("COLLATION = \(c)") }
            if let f = row[5] { opts.append("CANONICAL = \(f)") }
            if let f = row[6] { opts.append("SUBTYPE_DIFF = \(f)") }
            if let m = row[7] { opts.append("MULTIRANGE_TYPE_NAME = \(m)") }
            for f in [row[8], row[9]].compactMap({ $0 }) where !objects.functions.contains(f) { objects.functions.append(f) }
            ranges.append(TableDefinition.RangeType(schema: schema, name: name, options: opts))
        }
        def.ranges = ranges.isEmpty ? nil : ranges
    }

    /// Collation, storage and compression of each column where they differ from the type's, and the table's storage parameters.
    static func readStorage(into def: inout TableDefinition, on conn: PostgresConnection) throws {
        let oid = String(def.relationOID)
        let cols = try conn.query("""
            SELECT a.attname,
                   CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                       quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
                   CASE WHEN a.attstorage <> t.typstorage THEN
                       CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END END,
                   CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
            """, [oid])
        for row in cols.rows {
            guard let i = def.columns.firstIndex(where: { $0.name == row[0] }) else { continue }
            def.columns[i].collation = row[1]
            def.columns[i].storage = row[2]
            def.columns[i].compression = row[3]
        }
        if let opts = try conn.query("SELECT array_to_string(reloptions, E'\\x1f') FROM pg_class WHERE oid = $1", [oid]).scalar, !opts.isEmpty {
            def.storageParameters = opts.split(separator: "\u{1f}").map(String.init)
        }
    }
}
