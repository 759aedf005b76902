import Foundation
import LibPQ
import Logging
import PGWire

/// Logical decoding on a hot standby (PostgreSQL 16+): the archiver reads the standby's WAL and takes
/// its base copies there, taking that load off the primary. What cannot be done on a standby (create
/// or alter the publication, read the primary's WAL position for watermarks) is done on the primary
/// given with `--primary`.
enum Standby {
    static let minimumVersion = 160000

    static func isStandby(_ conn: PostgresConnection) throws -> Bool {
        try conn.query("SELECT pg_is_in_recovery()").scalar == "t"
    }

    /// What decoding on this standby needs, one line each.
    static func preflight(_ standby: PostgresConnection, primary: PostgresConnection?, failoverSlot: Bool) throws {
        let version = standby.serverVersionNum
        guard version >= minimumVersion else {
            throw CaptureError(.walLevel, "--source is a standby of PostgreSQL \(version / 10000), and logical decoding on a standby needs PostgreSQL 16 or later",
                               fix: "point --source at the primary, or upgrade to 16+")
        }
        if failoverSlot {
            throw CaptureError(.failoverSetup, "--failover-slot is for a slot on the primary; --source is a standby",
                               fix: "leave out --failover-slot when decoding on a standby, or point --source at the primary")
        }
        var missing: [(String, String)] = []
        if try standby.query("SHOW hot_standby_feedback").scalar != "on" {
            missing.append(("hot_standby_feedback is off on the standby: the primary may remove catalog rows the slot still needs, and the slot is invalidated",
                            "on the standby: ALTER SYSTEM SET hot_standby_feedback = on; SELECT pg_reload_conf();"))
        }
        if try standby.query("SHOW wal_level").scalar != "logical" {
            missing.append(("wal_level is not logical on the standby", "on the standby: ALTER SYSTEM SET wal_level = logical; then restart it"))
        }
        if let primary, try primary.query("SHOW wal_level").scalar != "logical" {
            missing.append(("wal_level is not logical on the primary: its WAL lacks what logical decoding needs",
                            "on the primary: ALTER SYSTEM SET wal_level = logical; then restart it"))
        }
        guard missing.isEmpty else {
            throw CaptureError(.walLevel, "decoding on a standby: " + missing.map(\.0).joined(separator: "; "), fix: missing.map(\.1).joined(separator: " "))
        }
    }

    /// The publication seen from the standby: complete, or created on the primary and awaited here.
    static func ensurePublication(standby: PostgresConnection, primary: PostgresConnection?, name: String, tables: [TableName],
                                  logger: Logger, timeout: Double = 60) throws {
        func complete() throws -> Bool {
            guard try standby.query("SELECT pubviaroot FROM pg_publication WHERE pubname = $1", [name]).scalar == "t" else { return false }
            let have = Set(try standby.query("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1", [name]).rows.map {
                TableName(schema: $0[0] ?? "", name: $0[1] ?? "").description
            })
            return tables.allSatisfy { have.contains($0.description) }
        }
        if try complete() { return }
        guard let primary else {
            throw CaptureError(.invalidOption, "publication \(name) is missing or lacks some of --tables, and a standby cannot create it",
                               fix: "pass --primary CONNINFO (logbook creates it there), or on the primary: CREATE PUBLICATION \(PostgresConnection.quoteIdent(name)) FOR TABLE \(tables.map(\.quoted).joined(separator: ", ")) WITH (publish_via_partition_root = true);")
        }
        try Setup.ensurePublication(primary, name: name, tables: tables, logger: logger)
        let deadline = Date().addingTimeInterval(timeout)
        while try !complete() {
            guard Date() < deadline else {
                throw CaptureError(.serverError, "the publication made on the primary has not reached the standby after \(Int(timeout)) s",
                                   fix: "check that the standby replays (pg_stat_wal_receiver on the standby), then restart")
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// A slot made on a standby waits for the primary's next running-transactions record (up to
    /// 15 s on an idle primary); with the primary at hand, ask it for one every second until `body` ends.
    static func whileCreatingSlot<T>(onStandby: Bool, primary: String?, logger: Logger, _ body: () throws -> T) throws -> T {
        guard onStandby else { return try body() }
        guard let primary else {
            logger.info("creating the slot on the standby: it waits for the primary's next running-transactions record (up to 15 s when idle; --primary makes it immediate)")
            return try body()
        }
        let done = StopSignal()
        let poker = Thread {
            guard let c = try? PostgresConnection(conninfo: primary, applicationName: "logbook-standby-snapshot") else { return }
            while !done.isRequested {
                _ = try? c.query("SELECT pg_log_standby_snapshot()")
                _ = done.sleep(1)
            }
        }
        poker.start()
        defer { done.request() }
        return try body()
    }
}

