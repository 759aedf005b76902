import Archive
import Foundation
import Logging
import PGWire

/// Walks the archive from the plan's base copy to its point, following the table's shape
/// (Relation messages and table-definition records) and folding its changes.
final class ChangeScan {
    let archive: ArchiveDirectory
    let table: String
    let plan: ReplayPlan
    let logger: Logger
    /// The table's definition as of the point.
    private(set) var definition: TableDefinition
    private(set) var fold: TableFold?
    private(set) var transactionsApplied = 0

    let includeOpen: Bool

    init(archive: ArchiveDirectory, table: String, plan: ReplayPlan, logger: Logger, includeOpen: Bool = true) throws {
        self.includeOpen = includeOpen
        self.archive = archive
        self.table = table
        self.plan = plan
        self.logger = logger
        definition = plan.base.header.definition
    }

    enum Decision { case include, exclude, stop, undecided }

    func decide(_ b: BeginMessage) -> Decision {
        if b.finalLSN < plan.base.header.lsn { return .exclude }
        switch plan.rule {
        case .all: return .include
        case .committedAtOrBefore(let t): return b.commitTime <= t ? .include : .exclude
        case .committedBefore(let l): return b.finalLSN < l ? .include : .stop
        case .endsAtOrBefore(let l):
            if b.finalLSN >= l { return .stop }
            // The commit record starts before l; whether it ends after l is known at Commit.
            return l.rawValue - b.finalLSN.rawValue > 1 << 20 ? .include : .undecided
        }
    }

    func run(fold doFold: Bool) throws {
        let base = plan.base.header.definition
        let fold = TableFold(keyColumns: base.primaryKey)
        try fold.setColumns(base.columns.map(\.name))
        self.fold = fold
        let ourOIDs = NSMutableSet()
        var oidTable: [UInt32: String] = [:]
        let cursor = try ArchiveCursor(archive: archive, includeOpen: includeOpen)
        var decision = Decision.exclude
        var held: [ArchiveEvent] = []
        let progress = TerminalProgress(label: "replay \(table)")

        func apply(_ ev: ArchiveEvent) throws {
            switch ev {
            case .tableDefinition(let d) where d.qualifiedName == table:
                definition = d
            case .relation(let r):
                oidTable[r.oid] = r.qualifiedName
                if r.qualifiedName == table {
                    ourOIDs.add(r.oid)
                    try fold.setColumns(r.columns.map(\.name))
                }
            case .change(let m, _) where doFold:
                switch m {
                case .insert(let i) where ourOIDs.contains(i.relation): fold.insert(i)
                case .update(let u) where ourOIDs.contains(u.relation): fold.update(u)
                case .delete(let d) where ourOIDs.contains(d.relation): fold.delete(d)
                case .truncate(let t) where t.relations.contains(where: { ourOIDs.contains($0) }): fold.truncate()
                default: break
                }
            default: break
            }
        }

        scan: while let ev = try cursor.next() {
            switch ev {
            case .begin(let b):
                decision = decide(b)
                if decision == .stop { break scan }
                held.removeAll()
            case .commit(let c):
                if decision == .undecided, case .endsAtOrBefore(let l) = plan.rule {
                    // A commit record that ends after the point: this and every later one is out.
                    guard c.endLSN <= l else { break scan }
                    for e in held { try apply(e) }
                    held.removeAll(keepingCapacity: true)
                    transactionsApplied += 1
                    decision = .exclude
                    continue
                }
                if decision == .include { transactionsApplied += 1 }
                decision = .exclude
                progress.update(rows: fold.changes, bytes: 0, prefix: "segment \(cursor.segmentsDone + 1)/\(cursor.segmentCount), ")
            case .relation(let r):
                // Shapes always apply: they describe the changes that follow.
                oidTable[r.oid] = r.qualifiedName
                if r.qualifiedName == table {
                    ourOIDs.add(r.oid)
                    try fold.setColumns(r.columns.map(\.name))
                }
            case .tableDefinition:
                // Adopted only with the transaction it arrived in.
                if decision == .include { try apply(ev) } else if decision == .undecided { held.append(ev) }
            case .change:
                switch decision {
                case .include: try apply(ev)
                case .undecided: held.append(ev)
                default: break
                }
            case .message: break
            }
        }
        progress.finish(rows: fold.changes)
    }
}
