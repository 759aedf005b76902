import Archive
import LibPQ

/// Checks made before anything is created, each failing with one line that names the fix.
enum Preflight {
    static func connect(_ conninfo: String, replication: Bool) throws -> PostgresConnection {
        do {
            return try PostgresConnection(conninfo: conninfo, replication: replication)
        } catch let e as PostgresError {
            let m = e.message
            if m.contains("must be superuser or replication role") || m.contains("permission denied to start WAL sender")
                || m.contains("no pg_hba.conf entry for replication") {
                if m.contains("pg_hba") {
                    throw CaptureError(.noReplicationPrivilege, "the source refuses replication connections from this host: \(m)",
                                       fix: "add a `host replication <user> <address> <method>` line to pg_hba.conf (hosted: allow replication for this role) and reload")
                }
                throw CaptureError(.noReplicationPrivilege, "the source user may not open a replication connection: \(m)",
                                   fix: "run ALTER ROLE <user> WITH REPLICATION; (hosted PostgreSQL: grant the provider's replication role)")
            }
            if m.contains("number of requested standby connections exceeds max_wal_senders") || m.contains("too many clients") {
                throw CaptureError(.noFreeWalSender, "the source has no free WAL sender: \(m)",
                                   fix: "raise max_wal_senders (needs a restart) or stop an unused replication client")
            }
            throw CaptureError(.connection, "cannot connect to the source: \(m)",
                               fix: "check --source (host, port, user, dbname; key=value or postgresql:// URI) and that the server is up")
        }
    }

    /// Checks the server settings, privileges and tables. Returns each table's definition.
    static func check(_ conn: PostgresConnection, tables: [TableName], slot: String) throws -> [TableName: TableDefinition] {
        let walLevel = try conn.query("SHOW wal_level").scalar ?? ""
        guard walLevel == "logical" else {
            throw CaptureError(.walLevel, "wal_level is '\(walLevel)' on the source; logical replication needs 'logical'",
                               fix: "run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL (hosted: enable logical replication in the provider's settings)")
        }
        let role = try conn.query("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user").scalar
        if role != "t" {
            throw CaptureError(.noReplicationPrivilege, "role \(conn.userName) has no REPLICATION privilege",
                               fix: "run ALTER ROLE \(PostgresConnection.quoteIdent(conn.userName)) WITH REPLICATION;")
        }
        let slotExists = try conn.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [slot]).rows.count == 1
        if !slotExists {
            let row = try conn.query("SELECT (SELECT count(*) FROM pg_replication_slots), current_setting('max_replication_slots')::int").rows[0]
            if let used = Int(row[0] ?? ""), let max = Int(row[1] ?? ""), used >= max {
                throw CaptureError(.noFreeSlot, "the source has no free replication slot (\(used) of max_replication_slots = \(max) in use)",
                                   fix: "raise max_replication_slots (needs a restart) or drop an unused slot with SELECT pg_drop_replication_slot('name');")
            }
        }
        let senders = try conn.query("SELECT (SELECT count(*) FROM pg_stat_replication), current_setting('max_wal_senders')::int").rows[0]
        if let used = Int(senders[0] ?? ""), let max = Int(senders[1] ?? ""), used >= max {
            throw CaptureError(.noFreeWalSender, "the source has no free WAL sender (\(used) of max_wal_senders = \(max) in use)",
                               fix: "raise max_wal_senders (needs a restart) or stop an unused replication client")
        }
        var defs: [TableName: TableDefinition] = [:]
        for t in tables {
            guard let def = try Catalog.definition(of: t, on: conn) else {
                throw CaptureError(.tableMissing, "table \(t) does not exist on the source",
                                   fix: "create it, or remove it from --tables (names are schema.table)")
            }
            let nested = try Catalog.subPartitioned(oid: def.relationOID, on: conn)
            guard nested.isEmpty else {
                throw CaptureError(.unsupportedShape, "table \(t) has partitions that are partitioned themselves (\(nested.joined(separator: ", "))), which this version cannot restore",
                                   fix: "archive the sub-partitioned partitions as tables of their own in --tables")
            }
            try Visibility.checkPersistence(t, oid: def.relationOID, on: conn)
            if def.columns.isEmpty {
                throw CaptureError(.unsupportedShape, "table \(t) has no columns (every column was dropped): there is nothing to archive",
                                   fix: "add a column, or remove it from --tables")
            }
            let generatedKey = def.foldKey.filter { k in def.columns.contains { $0.name == k && $0.isGenerated } }
            if !generatedKey.isEmpty {
                throw CaptureError(.unsupportedShape, "the key of table \(t) includes the stored generated column\(generatedKey.count == 1 ? "" : "s") \(generatedKey.joined(separator: ", ")), which logical replication does not send: its changes could not be matched to their rows",
                                   fix: "key the table by columns that are not generated, or remove it from --tables")
            }
            if def.primaryKey.isEmpty && def.replicaIdentity != "f" && def.replicaIdentity != "i" {
                throw CaptureError(.noReplicaIdentity, "table \(t) has neither a primary key nor REPLICA IDENTITY FULL, so its updates and deletes cannot be archived",
                                   fix: "run ALTER TABLE \(t.quoted) REPLICA IDENTITY FULL; (or add a primary key)")
            }
            if def.partitionKey != nil { try Visibility.checkPartitionIdentity(t, oid: def.relationOID, on: conn) }
            try Visibility.check(t, oid: def.relationOID, on: conn)
            defs[t] = def
        }
        return defs
    }
}
