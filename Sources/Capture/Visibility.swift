import Archive
import LibPQ

/// Whether the archiver sees a table whole: every row and every column. A base copy reads the
/// table through an ordinary session, so row-level security that applies to the role, a column
/// it may not select, or a publication that filters rows or columns would leave rows out of the
/// archive without an error. Each is refused in one line naming the table, the reason and the fix.
enum Visibility {
    static func check(_ table: TableName, oid: UInt32, on conn: PostgresConnection) throws {
        let o = String(oid)
        let role = PostgresConnection.quoteIdent(conn.userName)
        if try conn.query("SELECT row_security_active($1::oid)", [o]).scalar == "t" {
            throw CaptureError(.incompleteView, "table \(table) has row-level security that applies to role \(conn.userName): a base copy would hold only the rows its policies show",
                               fix: "run ALTER ROLE \(role) BYPASSRLS; (as a superuser), or archive as the table's owner")
        }
        let hidden = try conn.query("""
            SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped
              AND NOT has_column_privilege($1::oid, attnum, 'SELECT') ORDER BY attnum
            """, [o]).rows.compactMap { $0[0] }
        if !hidden.isEmpty {
            throw CaptureError(.incompleteView, "role \(conn.userName) may not read column\(hidden.count == 1 ? "" : "s") \(hidden.joined(separator: ", ")) of table \(table)",
                               fix: "run GRANT SELECT ON \(table.quoted) TO \(role);")
        }
    }

    /// A publication that filters the table's rows or columns (PostgreSQL 15+) publishes less than the table.
    static func checkPublication(_ name: String, table: TableName, oid: UInt32, on conn: PostgresConnection) throws {
        guard conn.serverVersionNum >= 150000 else { return }
        let rows = try conn.query("""
            SELECT pr.prqual IS NOT NULL, pr.prattrs IS NOT NULL FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
            WHERE p.pubname = $1 AND (pr.prrelid = $2 OR pr.prrelid IN (SELECT relid FROM pg_partition_tree($2::oid::regclass)))
            """, [name, String(oid)]).rows
        let pub = PostgresConnection.quoteIdent(name)
        if rows.contains(where: { $0[0] == "t" }) {
            throw CaptureError(.incompleteView, "publication \(name) publishes \(table) with a row filter (WHERE): rows outside it would never reach the archive",
                               fix: "run ALTER PUBLICATION \(pub) SET TABLE … with \(table.quoted) listed without WHERE, or give logbook a publication of its own (--publication)")
        }
        if rows.contains(where: { $0[1] == "t" }) {
            throw CaptureError(.incompleteView, "publication \(name) publishes \(table) with a column list: the other columns would never reach the archive",
                               fix: "run ALTER PUBLICATION \(pub) SET TABLE … with \(table.quoted) listed without columns, or give logbook a publication of its own (--publication)")
        }
    }

    /// Every leaf partition the publication will cover needs a replica identity, or the
    /// application's UPDATE and DELETE on it fail once the publication exists.
    static func checkPartitionIdentity(_ table: TableName, oid: UInt32, on conn: PostgresConnection) throws {
        let bare = try conn.query("""
            SELECT n.nspname, c.relname FROM pg_partition_tree($1::oid::regclass) pt
            JOIN pg_class c ON c.oid = pt.relid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE pt.relid <> $1::oid AND c.relkind = 'r' AND NOT (c.relreplident = 'f'
               OR (c.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident))
               OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
            ORDER BY 1, 2
            """, [String(oid)]).rows.map { TableName(schema: $0[0] ?? "", name: $0[1] ?? "") }
        guard !bare.isEmpty else { return }
        throw CaptureError(.noReplicaIdentity,
                           "table \(table) has partitions without a replica identity (\(bare.map(\.description).joined(separator: ", "))): once they are published the application's UPDATE and DELETE on them would fail",
                           fix: bare.map { "ALTER TABLE \($0.quoted) REPLICA IDENTITY FULL;" }.joined(separator: " ") + " (or give each a primary key)")
    }

    /// Unlogged and temporary tables are not in the WAL: logical replication publishes nothing of them.
    static func checkPersistence(_ table: TableName, oid: UInt32, on conn: PostgresConnection) throws {
        let p = try conn.query("SELECT relpersistence FROM pg_class WHERE oid = $1", [String(oid)]).scalar
        if p == "u" {
            throw CaptureError(.unsupportedShape, "table \(table) is unlogged: its changes are not in the WAL, so logical replication cannot carry them",
                               fix: "run ALTER TABLE \(table.quoted) SET LOGGED; or remove it from --tables")
        }
        if p == "t" {
            throw CaptureError(.unsupportedShape, "table \(table) is a temporary table: no other session sees it", fix: "remove it from --tables")
        }
    }
}
