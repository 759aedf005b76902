import Archive
import Foundation
import Logging
import PGWire
import Replay

/// The walk behind `history`: the base copy, then the segments of the window that may hold the
/// rows asked for, following the table's shape (columns known by attnum, so renames keep values).
struct Scan {
    enum Mode {
        /// Rows by key (values in key order; nil is NULL).
        case keys([[String?]])
        /// A table without a key: every row version that matches the filter.
        case keyless
    }

    let table: String
    let start: (path: String, header: BaseHeader)
    let from: ReplayWindow?
    let to: ReplayWindow
    let filter: [(column: String, value: String)]
    let logger: Logger
    /// With `--where` on a keyed table: every tracked row is output (they all matched once).
    var outputAllTracked = false
    /// Whether key indexes may rule segments out (off: every segment of the window is read).
    var useIndex = true
    private(set) var inWindow = 0
    private(set) var read = 0
    private(set) var warnings: [String] = []

    init(table: String, start: (String, BaseHeader), from: ReplayWindow?, to: ReplayWindow, filter: [(column: String, value: String)], logger: Logger) {
        self.table = table; self.start = start; self.from = from; self.to = to; self.filter = filter; self.logger = logger
    }

    typealias Row = [String: String?] // column identity → value

    // MARK: choosing segments

    /// The view's files that may hold changes of the table between the base copy and the point;
    /// with `hashes`, only those whose key index may hold one of them.
    mutating func segments(hashes: [UInt64]?) -> [ArchiveView.File] {
        let hashes = useIndex ? hashes : nil
        var out: [ArchiveView.File] = []
        inWindow = 0
        for f in to.view.files {
            guard f.limit == nil, f.path.hasSuffix("." + ArchiveFiles.sealedSegmentExtension),
                  let footer = try? SegmentScanner.footer(of: f.path, key: to.view.archive.key) else { inWindow += 1; out.append(f); continue }
            if let last = footer.last?.endLSN, last <= start.header.lsn, footer.watermark.map({ $0.lsn <= start.header.lsn }) ?? true { continue }
            if to.isPast(finalLSN: footer.firstLSN, commitTime: footer.firstCommitTime ?? PGTimestamp(rawValue: .max)) { continue }
            inWindow += 1
            guard footer.tables.contains(table) else { continue }
            guard let hashes else { out.append(f); continue }
            guard let at = footer.keyIndexFrames else { out.append(f); continue }
            do {
                let index = try KeyIndex.read(segment: f.path, at: at, key: to.view.archive.key)
                if hashes.contains(where: { index.mayTouch(table: table, hash: $0) }) { out.append(f) }
            } catch {
                warnings.append("\((f.path as NSString).lastPathComponent): its key index cannot be read (\(error)); the segment was read in full")
                out.append(f)
            }
        }
        read = out.count
        return out
    }

    // MARK: the shape of the table

    /// Column names and identities as the archive describes them, followed through the segments.
    struct Shape {
        var identityOf: [String: String] = [:]
        var nameOf: [String: String] = [:]
        /// Identities of the columns of the current Relation, in tuple order.
        var tuple: [String] = []
        var pending: [String]?
        /// Display order: identities of the latest definition's columns.
        var order: [String] = []

        mutating func learn(_ d: TableDefinition) {
            for c in d.columns where c.attnum != nil {
                let id = c.identityKey
                for (n, known) in identityOf where known == id && n != c.name { identityOf[n] = nil }
                identityOf[c.name] = id
            }
            order = d.storedColumns.map { identityOf[$0.name] ?? "=\($0.name)" }
            for c in d.columns { nameOf[identityOf[c.name] ?? "=\(c.name)"] = c.name }
        }
        mutating func adopt() {
            guard let names = pending else { return }
            pending = nil
            tuple = names.map { identityOf[$0] ?? "=\($0)" }
            for (i, n) in names.enumerated() { nameOf[tuple[i]] = n }
        }
        func identity(_ name: String) -> String { identityOf[name] ?? "=\(name)" }
    }

    // MARK: the base copy

    /// Rows of the base copy for which `keep` says yes (fields in the base definition's column order).
    func baseRows(_ keep: ([String?]) -> Bool) throws -> [[String?]] {
        let reader = try BaseCopyReader(path: start.path, key: to.view.archive.key)
        var out: [[String?]] = []
        var carry: [UInt8] = []
        while let chunk = try reader.nextChunk() {
            var data = carry
            data += chunk
            var lineStart = 0
            while let nl = data[lineStart...].firstIndex(of: CopyText.newline) {
                let fields = data[lineStart..<nl].split(separator: CopyText.tab, omittingEmptySubsequences: false).map { f -> String? in
                    f.elementsEqual(CopyText.nullMarker) ? nil : String(decoding: CopyText.unescape(f), as: UTF8.self)
                }
                if keep(fields) { out.append(fields) }
                lineStart = nl + 1
            }
            carry = Array(data[lineStart...])
        }
        return out
    }

    // MARK: walking the changes

    enum Change {
        case row(kind: HistoryEntry.Op, old: [String?]?, oldFull: Bool, new: [TupleValue]?)
        case truncate
    }

    /// Calls `body` for each transaction of the window that touches the table, in commit order, with
    /// the shape its changes were written in; `afterFrom` tells whether it is past `--from`.
    mutating func walk(hashes: [UInt64]?, _ body: (BeginMessage, CommitMessage, Bool, [(Change, Shape)]) throws -> Void) throws {
        let files = segments(hashes: hashes)
        var shape = Shape()
        shape.learn(start.header.definition)
        var ours = Set<UInt32>()
        let cursor = ArchiveCursor(view: ArchiveView(archive: to.view.archive, files: files, end: to.view.end))
        var begin: BeginMessage?
        var changes: [(Change, Shape)] = []
        func tupleValues(_ t: TupleData) -> [String?] {
            t.values.map { v in
                switch v {
                case .text(let b), .binary(let b): return String(decoding: b, as: UTF8.self)
                default: return nil
                }
            }
        }
        while let ev = try cursor.next() {
            switch ev {
            case .tableDefinition(let d) where d.qualifiedName == table:
                shape.learn(d); shape.adopt()
            case .relation(let r):
                shape.adopt()
                if r.qualifiedName == table { ours.insert(r.oid); shape.pending = r.columns.map(\.name) }
            case .begin(let b):
                shape.adopt()
                begin = b; changes.removeAll(keepingCapacity: true)
            case .change(let m, _):
                shape.adopt()
                switch m {
                case .insert(let i) where ours.contains(i.relation):
                    changes.append((.row(kind: .insert, old: nil, oldFull: false, new: i.new.values), shape))
                case .update(let u) where ours.contains(u.relation):
                    changes.append((.row(kind: .update, old: u.old.map(tupleValues), oldFull: u.oldKind == .row, new: u.new.values), shape))
                case .delete(let d) where ours.contains(d.relation):
                    changes.append((.row(kind: .delete, old: tupleValues(d.old), oldFull: d.oldKind == .row, new: nil), shape))
                case .truncate(let t) where t.relations.contains(where: ours.contains):
                    changes.append((.truncate, shape))
                default: break
                }
            case .commit(let c):
                shape.adopt()
                guard let b = begin else { continue }
                begin = nil
                if b.finalLSN < start.header.lsn { continue }
                if to.isPast(finalLSN: b.finalLSN, commitTime: b.commitTime) { return }
                guard to.includes(finalLSN: b.finalLSN, commitTime: b.commitTime, endLSN: c.endLSN) else { continue }
                let afterFrom = !(from?.includes(finalLSN: b.finalLSN, commitTime: b.commitTime, endLSN: c.endLSN) ?? false)
                if !changes.isEmpty { try body(b, c, afterFrom, changes) }
            default: shape.adopt()
            }
        }
    }

    // MARK: keyed tables

    /// Keys of the rows that match the filter in the base copy or in any change of the window.
    mutating func keysMatchingFilter() throws -> [[String?]] {
        let def = start.header.definition
        let columns = def.storedColumns.map(\.name)
        let keyAt = def.foldKey.compactMap { k in columns.firstIndex(of: k) }
        let wantAt = try filterPositions(columns)
        var found = Set<[String?]>()
        for row in try baseRows({ r in wantAt.allSatisfy { r.indices.contains($0.0) && r[$0.0] == $0.1 } }) {
            found.insert(keyAt.map { row[$0] })
        }
        let keyNames = def.foldKey
        let filter = self.filter
        try walk(hashes: nil) { _, _, _, changes in
            for (change, shape) in changes {
                guard case .row(_, let old, let oldFull, let new) = change else { continue }
                for (values, full) in [(new.map { $0.map(\.text) }, true), (old, oldFull)] {
                    guard let values, full else { continue }
                    func value(_ name: String) -> String?? {
                        let id = shape.identity(name)
                        guard let i = shape.tuple.firstIndex(of: id), i < values.count else { return .none }
                        return .some(values[i])
                    }
                    guard filter.allSatisfy({ value($0.column) == .some($0.value) }) else { continue }
                    found.insert(keyNames.map { value($0) ?? nil })
                }
            }
        }
        return found.sorted { $0.map { $0 ?? "" }.lexicographicallyPrecedes($1.map { $0 ?? "" }) }
    }

    func filterPositions(_ columns: [String]) throws -> [(Int, String)] {
        try filter.map { f in
            guard let i = columns.firstIndex(of: f.column) else {
                throw HistoryError("\(table) has no column \(f.column) (in its base copy)", fix: "columns: \(columns.joined(separator: ", "))")
            }
            return (i, f.value)
        }
    }

    /// Every version of the rows with these keys: snapshot, then the changes in commit order.
    mutating func history(_ mode: Mode) throws -> [HistoryEntry] {
        if case .keyless = mode { return try keylessHistory() }
        guard case .keys(let requested) = mode else { return [] }
        let def = start.header.definition
        let keyNames = def.foldKey
        var tracked = Set(requested)
        // A row moved into a tracked key by a key update may carry unchanged TOAST values from its
        // old key: that key is then followed too, and the walk repeated.
        for _ in 0..<8 {
            var moved: Set<[String?]> = []
            let entries = try followKeys(tracked, output: outputAllTracked ? tracked : Set(requested), keyNames: keyNames, needs: &moved)
            if moved.isSubset(of: tracked) { return entries }
            tracked.formUnion(moved)
        }
        throw HistoryError("the row moved through too many keys to follow", fix: "ask for the history of its earlier key")
    }

    private mutating func followKeys(_ tracked: Set<[String?]>, output: Set<[String?]>, keyNames: [String], needs moved: inout Set<[String?]>) throws -> [HistoryEntry] {
        let def = start.header.definition
        let baseColumns = def.storedColumns.map(\.name)
        let keyAt = keyNames.compactMap { baseColumns.firstIndex(of: $0) }
        var shape0 = Shape()
        shape0.learn(def)
        var rows: [[String?]: Row] = [:]
        for r in try baseRows({ r in tracked.contains(keyAt.map { r.indices.contains($0) ? r[$0] : nil }) }) {
            var row: Row = [:]
            for (i, n) in baseColumns.enumerated() where i < r.count { row[shape0.identity(n)] = r[i] }
            rows[keyAt.map { r[$0] }] = row
        }
        var entries: [HistoryEntry] = []
        var order = shape0.order
        var names = shape0.nameOf
        var snapshotDone = from == nil
        var lastLSN = start.header.lsn, lastTime = start.header.snapshotTime
        func snapshot() {
            for k in output.sorted(by: { $0.map { $0 ?? "" }.lexicographicallyPrecedes($1.map { $0 ?? "" }) }) {
                guard let row = rows[k] else { continue }
                entries.append(HistoryEntry(lsn: lastLSN, commitTime: lastTime, xid: nil, op: .snapshot, row: Self.columns(row, order, names), changed: []))
            }
            snapshotDone = true
        }
        if from == nil { snapshot() }
        let hashes = tracked.map { k in KeyIndex.hash(k.map { $0.map { Array($0.utf8)[...] } }) }
        try walk(hashes: hashes) { b, _, afterFrom, changes in
            if afterFrom && !snapshotDone { snapshot() }
            for (change, shape) in changes {
                order = shape.order.isEmpty ? order : shape.order
                names.merge(shape.nameOf) { $1 }
                func key(_ values: [String?]) -> [String?] {
                    keyNames.map { n in shape.tuple.firstIndex(of: shape.identity(n)).flatMap { $0 < values.count ? values[$0] : nil } }
                }
                switch change {
                case .truncate:
                    for k in rows.keys.sorted(by: { $0.map { $0 ?? "" }.lexicographicallyPrecedes($1.map { $0 ?? "" }) }) where output.contains(k) && afterFrom {
                        entries.append(HistoryEntry(lsn: b.finalLSN, commitTime: b.commitTime, xid: b.xid, op: .truncate, row: nil,
                                                    changed: Self.columns(rows[k] ?? [:], order, names).map(\.name)))
                    }
                    rows.removeAll()
                case .row(let kind, let old, _, let new):
                    let newText: [String?]? = new.map { $0.map(\.text) }
                    let oldKey = old.map(key) ?? newText.map(key)
                    let newKey = newText.map(key)
                    guard let k = oldKey ?? newKey, tracked.contains(k) || newKey.map(tracked.contains) == true else { continue }
                    let before = rows[k]
                    var after: Row?
                    if let new {
                        var r: Row = [:]
                        for (i, v) in new.enumerated() where i < shape.tuple.count {
                            let id = shape.tuple[i]
                            if case .unchanged = v {
                                if let b = before, let known = b[id] { r[id] = known } else if !tracked.contains(k) { moved.insert(k); r[id] = nil } else { r[id] = nil }
                            } else {
                                r[id] = v.text
                            }
                        }
                        after = r
                    }
                    rows[k] = nil
                    if let nk = newKey, let after { rows[nk] = after }
                    let shown = output.contains(k) || newKey.map(output.contains) == true
                    guard afterFrom, shown else { continue }
                    let changed: [String]
                    switch (before, after) {
                    case (let b?, let a?): changed = order.filter { (b[$0] ?? nil) != (a[$0] ?? nil) }.compactMap { names[$0] }
                    case (let b?, nil): changed = Self.columns(b, order, names).map(\.name)
                    case (nil, let a?): changed = Self.columns(a, order, names).map(\.name)
                    default: changed = []
                    }
                    entries.append(HistoryEntry(lsn: b.finalLSN, commitTime: b.commitTime, xid: b.xid, op: kind,
                                                row: after.map { Self.columns($0, order, names) }, changed: changed))
                }
            }
            lastLSN = b.finalLSN; lastTime = b.commitTime
        }
        if !snapshotDone { snapshot() }
        return entries
    }

    // MARK: tables without a key

    private mutating func keylessHistory() throws -> [HistoryEntry] {
        let def = start.header.definition
        let baseColumns = def.storedColumns.map(\.name)
        let wantAt = try filterPositions(baseColumns)
        var shape0 = Shape()
        shape0.learn(def)
        var entries: [HistoryEntry] = []
        var snapshotRows: [[String?]] = try baseRows({ r in wantAt.allSatisfy { r.indices.contains($0.0) && r[$0.0] == $0.1 } })
        var snapshotDone = false
        var order = shape0.order, names = shape0.nameOf
        func emitSnapshot(_ lsn: LSN, _ time: PGTimestamp) {
            for r in snapshotRows {
                var row: Row = [:]
                for (i, n) in baseColumns.enumerated() where i < r.count { row[shape0.identity(n)] = r[i] }
                entries.append(HistoryEntry(lsn: lsn, commitTime: time, xid: nil, op: .snapshot, row: Self.columns(row, order, names), changed: []))
            }
            snapshotDone = true
        }
        let filter = self.filter
        var lastLSN = start.header.lsn, lastTime = start.header.snapshotTime
        if from == nil { emitSnapshot(lastLSN, lastTime) }
        try walk(hashes: nil) { b, _, afterFrom, changes in
            if afterFrom && !snapshotDone { emitSnapshot(lastLSN, lastTime) }
            for (change, shape) in changes {
                order = shape.order.isEmpty ? order : shape.order
                names.merge(shape.nameOf) { $1 }
                func row(_ values: [String?], fill: [String?]?) -> Row {
                    var r: Row = [:]
                    for (i, id) in shape.tuple.enumerated() where i < values.count { r[id] = values[i] ?? fill.flatMap { i < $0.count ? $0[i] : nil } }
                    return r
                }
                func matches(_ r: Row) -> Bool { filter.allSatisfy { (r[shape.identity($0.column)] ?? nil) == $0.value } }
                switch change {
                case .truncate:
                    if !afterFrom { snapshotRows.removeAll() }
                    else { entries.append(HistoryEntry(lsn: b.finalLSN, commitTime: b.commitTime, xid: b.xid, op: .truncate, row: nil, changed: [])) }
                case .row(let kind, let old, _, let new):
                    let oldRow = old.map { row($0, fill: nil) }
                    let newRow = new.map { n in row(n.map(\.text), fill: old) }
                    guard matches(newRow ?? [:]) || oldRow.map(matches) == true else { continue }
                    if !afterFrom {
                        // Before --from: the snapshot at --from is the base's matching rows, as changed since.
                        if let o = old, let i = snapshotRows.firstIndex(where: { $0 == o }) { snapshotRows.remove(at: i) }
                        if let n = newRow, matches(n) { snapshotRows.append(order.map { n[$0] ?? nil }) }
                        continue
                    }
                    let changed: [String]
                    if let o = oldRow, let n = newRow { changed = order.filter { (o[$0] ?? nil) != (n[$0] ?? nil) }.compactMap { names[$0] } }
                    else { changed = Self.columns(newRow ?? oldRow ?? [:], order, names).map(\.name) }
                    entries.append(HistoryEntry(lsn: b.finalLSN, commitTime: b.commitTime, xid: b.xid, op: kind,
                                                row: newRow.map { Self.columns($0, order, names) }, changed: changed))
                }
            }
            lastLSN = b.finalLSN; lastTime = b.commitTime
        }
        if !snapshotDone { emitSnapshot(lastLSN, lastTime) }
        return entries
    }

    static func columns(_ row: Row, _ order: [String], _ names: [String: String]) -> [HistoryEntry.Column] {
        order.map { HistoryEntry.Column(name: names[$0] ?? String($0.dropFirst()), value: row[$0] ?? nil) }
    }
}

extension TupleValue {
    /// The value in PostgreSQL's text form (nil for NULL and an unchanged TOAST value).
    var text: String? {
        switch self {
        case .text(let b), .binary(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
}
