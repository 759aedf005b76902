import Foundation
import LibPQ
import Logging
import PGWire

/// Failover slots (PostgreSQL 17+): what the primary and its standby need so that the slot is
/// synchronized to the standby and survives a promotion, checked before the slot is trusted to it.
enum Failover {
    static let minimumVersion = 170000

    /// One missing setting: what it is and how to set it.
    struct Missing: Sendable { var what: String; var fix: String }

    /// Refuses `--failover-slot` on a server that cannot have one, or on a standby.
    static func checkPrimary(_ conn: PostgresConnection) throws -> [Missing] {
        let version = conn.serverVersionNum
        guard version >= minimumVersion else {
            throw CaptureError(.failoverSetup, "--failover-slot needs PostgreSQL 17 or later; this server is \(version / 10000).\(version % 100)",
                               fix: "upgrade the source, or run without --failover-slot (a failover then loses the slot, and logbook records the gap)")
        }
        if try conn.query("SELECT pg_is_in_recovery()").scalar == "t" {
            throw CaptureError(.failoverSetup, "--failover-slot: --source reached a standby, and a failover slot is made on the primary",
                               fix: "list the primary in --source (several hosts with target_session_attrs=read-write land on it)")
        }
        var missing: [Missing] = []
        let slots = (try conn.query("SHOW synchronized_standby_slots").scalar ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if slots.isEmpty {
            missing.append(Missing(what: "synchronized_standby_slots is empty on the primary: a standby promoted after a failover could lack changes the archive already holds",
                                   fix: "ALTER SYSTEM SET synchronized_standby_slots = '<the standby's physical slot>'; SELECT pg_reload_conf();"))
        }
        for s in slots {
            let r = try conn.query("SELECT slot_type FROM pg_replication_slots WHERE slot_name = $1", [s])
            if r.scalar != "physical" {
                missing.append(Missing(what: "synchronized_standby_slots names \(s), which is not a physical slot on the primary",
                                       fix: "SELECT pg_create_physical_replication_slot('\(s)'); and set primary_slot_name = '\(s)' on the standby"))
            }
        }
        return missing
    }

    /// The standby's settings (PostgreSQL 17+): `sync_replication_slots`, `hot_standby_feedback`,
    /// `primary_slot_name` (one of `synchronized_standby_slots`), a `dbname` in `primary_conninfo`.
    static func checkStandby(_ standby: PostgresConnection, primarySlots: [String]) throws -> [Missing] {
        func setting(_ name: String) throws -> String { try standby.query("SELECT current_setting($1)", [name]).scalar ?? "" }
        var missing: [Missing] = []
        if try setting("sync_replication_slots") != "on" {
            missing.append(Missing(what: "sync_replication_slots is off on the standby: the slot is not synchronized to it",
                                   fix: "on the standby: ALTER SYSTEM SET sync_replication_slots = on; SELECT pg_reload_conf();"))
        }
        if try setting("hot_standby_feedback") != "on" {
            missing.append(Missing(what: "hot_standby_feedback is off on the standby: the synchronized slot cannot be kept valid",
                                   fix: "on the standby: ALTER SYSTEM SET hot_standby_feedback = on; SELECT pg_reload_conf();"))
        }
        let slot = try setting("primary_slot_name")
        if slot.isEmpty {
            missing.append(Missing(what: "primary_slot_name is not set on the standby: it does not stream through a physical slot",
                                   fix: "on the standby: ALTER SYSTEM SET primary_slot_name = '<physical slot on the primary>'; SELECT pg_reload_conf();"))
        } else if !primarySlots.isEmpty, !primarySlots.contains(slot) {
            missing.append(Missing(what: "the standby streams through slot \(slot), which synchronized_standby_slots on the primary does not name",
                                   fix: "on the primary: ALTER SYSTEM SET synchronized_standby_slots = '\(slot)'; SELECT pg_reload_conf();"))
        }
        let conninfo = try setting("primary_conninfo")
        if !conninfo.contains("dbname=") {
            missing.append(Missing(what: "primary_conninfo on the standby has no dbname: the slot synchronization worker cannot connect",
                                   fix: "on the standby: add dbname=<database> to primary_conninfo (pg_basebackup -R -d 'dbname=…' writes it) and reload"))
        }
        return missing
    }

    /// Checks the primary `conn` and, when `source` lists a standby, the standby; throws one error
    /// naming every missing setting, one line each.
    static func preflight(_ conn: PostgresConnection, source: String, logger: Logger) throws {
        var missing = try checkPrimary(conn)
        let primarySlots = (try conn.query("SHOW synchronized_standby_slots").scalar ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let standby = try? PostgresConnection(conninfo: ConnectionString.targeting(source, "standby"), applicationName: "logbook-preflight") {
            missing += try checkStandby(standby, primarySlots: primarySlots)
        } else {
            logger.warning("--failover-slot: no standby in --source to check; make sure it has sync_replication_slots, hot_standby_feedback, primary_slot_name and a dbname in primary_conninfo (docs/operations.md)")
        }
        guard missing.isEmpty else {
            throw CaptureError(.failoverSetup, "--failover-slot: " + missing.map(\.what).joined(separator: "; "),
                               fix: missing.map(\.fix).joined(separator: " "))
        }
    }
}
