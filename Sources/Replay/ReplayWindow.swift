import Archive
import Foundation
import Logging
import PGWire

/// A point of the archive resolved for the readers built on replay (history, diff): the base copy
/// that serves it, the view every pass reads, and which transactions the state at the point holds.
public struct ReplayWindow {
    public let basePath: String
    public let base: BaseHeader
    public let view: ArchiveView
    /// Where the restorable window ended when the point was resolved.
    public let endLSN: LSN
    public let endTime: PGTimestamp
    let rule: ReplayPlan.Rule

    /// Resolves `point` for `table` (`.latest` for everything archived), served by the newest base
    /// copy at or before it.
    public static func resolve(archive path: String, key: ArchiveKey? = nil, table: String, point: ReplayPoint, view: ArchiveView? = nil) throws -> ReplayWindow {
        let archive = ArchiveDirectory(path, key: key)
        _ = try archive.requireIdentity()
        let n = try Replayer.parseName(table)
        let qualified = QualifiedName(schema: n.schema, name: n.name).description
        let plan = try ReplayPlanner(archive: archive, table: qualified, view: view).plan(point)
        return ReplayWindow(basePath: plan.base.path, base: plan.base.header, view: plan.view, endLSN: plan.endLSN, endTime: plan.endTime, rule: plan.rule)
    }

    /// The base copies of `table`, oldest first.
    public static func baseCopies(archive path: String, key: ArchiveKey? = nil, table: String) throws -> [(path: String, header: BaseHeader)] {
        let n = try Replayer.parseName(table)
        let qualified = QualifiedName(schema: n.schema, name: n.name).description
        return try BaseCopyReader.headers(in: ArchiveDirectory(path, key: key)).filter { $0.header.table == qualified }.sorted { $0.header.lsn < $1.header.lsn }
    }

    /// Whether the state at this point holds the transaction (whole, in commit order): on or after
    /// the base copy, inside the view, and at or before the point.
    public func includes(finalLSN: LSN, commitTime: PGTimestamp, endLSN: LSN) -> Bool {
        guard let end = view.end.lsn, finalLSN < end else { return false }
        switch rule {
        case .all: return true
        case .committedAtOrBefore(let t): return commitTime <= t
        case .committedBefore(let l): return finalLSN < l
        case .endsAtOrBefore(let l): return endLSN <= l
        }
    }

    /// Whether no transaction committing at `finalLSN` or later can be in the state at this point.
    public func isPast(finalLSN: LSN, commitTime: PGTimestamp) -> Bool {
        if let end = view.end.lsn, finalLSN >= end { return true }
        switch rule {
        case .all: return false
        case .committedAtOrBefore: return false // commit times are not strictly in commit order
        case .committedBefore(let l), .endsAtOrBefore(let l): return finalLSN >= l
        }
    }
}

extension Replayer {
    /// The table's definition as of the point (its shape followed through the archive).
    public static func definition(archive path: String, key: ArchiveKey? = nil, table name: String, point: ReplayPoint, logger: Logger) throws -> TableDefinition {
        let archive = ArchiveDirectory(path, key: key)
        let n = try parseName(name)
        let table = QualifiedName(schema: n.schema, name: n.name).description
        let plan = try ReplayPlanner(archive: archive, table: table).plan(point)
        let scan = try ChangeScan(archive: archive, table: table, plan: plan, logger: logger, showProgress: false)
        try scan.run(.shape)
        return scan.definition
    }
}
