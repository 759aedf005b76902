import Archive
import Foundation
import Logging
import PGWire
import Synchronization

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

    /// Whether the scan shows its progress on a terminal.
    let showProgress: Bool

    /// What a scan keeps: only the table's shape; which keys change; or the folded rows.
    enum Mode { case shape, keys, fold }
    /// A fold of one share of the keys, and its memory budget (`FoldOverBudget` beyond it).
    var share: TableFold.Share?
    var budget: Int?
    /// Checked at each commit: when it says stop, the scan throws `ScanStopped`.
    var stop: StopFlag?
    /// After a shape scan: whether the table kept the base copy's relation and columns all along
    /// (every Relation message and definition of it in the view has the base's OID, name and
    /// column identities, and none of its changes comes before the first of them), so that every
    /// change is read with the base's columns. A newest-first fold relies on it.
    private(set) var shapeIsConstant = true

    init(archive: ArchiveDirectory, table: String, plan: ReplayPlan, logger: Logger, showProgress: Bool = true) throws {
        self.showProgress = showProgress
        self.archive = archive
        self.table = table
        self.plan = plan
        self.logger = logger
        definition = plan.base.header.definition
    }

    enum Decision { case include, exclude, stop, undecided }

    func decide(_ b: BeginMessage) -> Decision {
        if b.finalLSN < plan.base.header.lsn { return .exclude }
        // The view's end: a transaction committing at or after it was not whole when the view was taken.
        guard let end = plan.view.end.lsn, b.finalLSN < end else { return .stop }
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

    func run(_ mode: Mode) throws {
        let base = plan.base.header.definition
        let baseNames = base.storedColumns.map(\.name)
        let baseIdentities = base.identities(of: baseNames)
        let baseOID = base.relationOID
        if baseOID == 0 { shapeIsConstant = false }
        // Columns are known by their identity (attnum), so that a rename keeps every value.
        let fold = TableFold(keyColumns: base.identities(of: base.foldKey), keysOnly: mode == .keys)
        fold.share = share
        fold.budget = budget
        let doFold = mode != .shape
        try fold.setColumns(base.identities(of: base.storedColumns.map(\.name)))
        self.fold = fold
        // The definition that names the columns of the next Relation message: a table-definition
        // record follows each Relation message of the table, so the shape is adopted with it.
        // Name → identity as of the latest definition seen; a definition that lacks attnums (written
        // without the catalog) keeps the identities known before.
        var identityOf: [String: String] = [:]
        func learn(_ d: TableDefinition) {
            for c in d.columns where c.attnum != nil {
                let id = c.identityKey
                for (n, known) in identityOf where known == id && n != c.name { identityOf[n] = nil }
                identityOf[c.name] = id
            }
        }
        learn(base)
        var pendingShape: [String]?
        func adoptShape() throws {
            guard let names = pendingShape else { return }
            pendingShape = nil
            try fold.setColumns(names.map { identityOf[$0] ?? "=\($0)" })
        }
        var ourOIDs = Set<UInt32>()
        var oidTable: [UInt32: String] = [:]
        let cursor = ArchiveCursor(view: plan.view)
        cursor.decodeRows = false
        var decision = Decision.exclude
        var held: [ArchiveEvent] = []
        let progress: TerminalProgress? = showProgress ? TerminalProgress(label: "replay \(table)") : nil

        func apply(_ ev: ArchiveEvent) throws {
            switch ev {
            case .tableDefinition(let d) where d.qualifiedName == table:
                definition = d
            case .relation(let r):
                oidTable[r.oid] = r.qualifiedName
                if r.qualifiedName == table {
                    ourOIDs.insert(r.oid)
                    pendingShape = r.columns.map(\.name)
                }
            case .rowChange(let v) where doFold && ourOIDs.contains(v.relation):
                try fold.apply(v)
            case .change(.truncate(let t), _) where doFold && t.relations.contains(where: { ourOIDs.contains($0) }):
                fold.truncate()
            default: break
            }
        }

        scan: while let ev = try cursor.next() {
            if mode == .shape && shapeIsConstant {
                switch ev {
                case .relation(let r) where r.qualifiedName == table || r.oid == baseOID:
                    if r.oid != baseOID || r.qualifiedName != table || r.columns.map(\.name) != baseNames { shapeIsConstant = false }
                case .tableDefinition(let d) where d.qualifiedName == table:
                    let names = d.storedColumns.map(\.name)
                    if names != baseNames || d.identities(of: names) != baseIdentities { shapeIsConstant = false }
                case .rowChange(let v) where v.relation == baseOID && ourOIDs.isEmpty && decision != .exclude:
                    shapeIsConstant = false
                case .change(.truncate(let t), _) where t.relations.contains(baseOID) && ourOIDs.isEmpty && decision != .exclude:
                    shapeIsConstant = false
                default: break
                }
            }
            if case .tableDefinition(let d) = ev, d.qualifiedName == table {
                learn(d)
                try adoptShape()
            } else if case .relation = ev {} else {
                try adoptShape()
            }
            switch ev {
            case .begin(let b):
                decision = decide(b)
                if decision == .stop { break scan }
                held.removeAll()
            case .commit(let c):
                if let stop, stop.isSet { throw ScanStopped() }
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
                progress?.update(rows: fold.changes, bytes: 0, prefix: "segment \(cursor.segmentsDone + 1)/\(cursor.segmentCount), ")
            case .relation(let r):
                // Shapes always apply: they describe the changes that follow.
                oidTable[r.oid] = r.qualifiedName
                if r.qualifiedName == table {
                    ourOIDs.insert(r.oid)
                    try adoptShape()
                    pendingShape = r.columns.map(\.name)
                    // A shape scan reads changes only until here: one of the base's relation before the table's
                    // first Relation message leaves its shape unknown; after it, shapes come with Relation messages.
                    if mode == .shape { cursor.skipRows = true }
                }
            case .tableDefinition:
                // Adopted only with the transaction it arrived in.
                if decision == .include { try apply(ev) } else if decision == .undecided { held.append(ev) }
            case .change, .rowChange:
                // A shape scan needs no changes (an undecided transaction's are not held for it).
                guard doFold else { break }
                switch decision {
                case .include: try apply(ev)
                case .undecided: held.append(ev)
                default: break
                }
            case .message: break
            }
        }
        progress?.finish(rows: fold.changes)
        // Columns of the point's definition without an attnum take the identity known for their name.
        for i in definition.columns.indices where definition.columns[i].attnum == nil {
            if let id = identityOf[definition.columns[i].name], id.hasPrefix("#") { definition.columns[i].attnum = Int(id.dropFirst()) }
        }
    }
}

/// A scan stopped on request (its result is not wanted any more).
struct ScanStopped: Error {}

/// A flag one thread sets and another reads.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
