import Archive
import Foundation
import PGWire

/// Folds a keyed table's changes newest first: the archive is read backwards (frames from the
/// last, records from a frame's end), each transaction is judged at its Commit, and the first
/// change met of a key is its final state, so an insert or update becomes a COPY line at once and
/// every older change of that key is passed over without building a row. Memory is the set of
/// keys met (and the rare rows waiting for an older version's unchanged TOAST values), whatever
/// the number of changes.
///
/// Valid only while the table kept the base copy's relation, columns and definition across the
/// view, as the walk checks (`shape`): every change is then read with the base's columns.
final class NewestFirstFold {
    let plan: ReplayPlan
    let baseOID: UInt32
    /// Gives keys of tuples read in place, with the base's columns.
    let keys: TableFold
    /// Keys met so far: their state as of the point is decided.
    private(set) var seen = FoldKeySet()
    /// Rows whose newest change left TOAST values unchanged, waiting for an older version of the
    /// key they are filed under (at the end: the base row of that key).
    private(set) var waiting: [FoldKey: [RowImage]] = [:]
    private(set) var truncated = false
    private(set) var rowChanges = 0
    private(set) var truncates = 0
    private(set) var transactions = 0
    var changes: Int { rowChanges + truncates }
    let lines: LineBatcher
    /// Rows waiting for older values, and bytes of them.
    private var waitingBytes = 0

    /// Memory the fold holds, about: the keys met, the waiting rows, the batches in flight (the
    /// current one counted whole).
    var estimatedBytes: Int { seen.estimatedBytes + waitingBytes + (lines.pipe.capacity + 1) * (1 << 20 + 4096) }

    /// What the walk learnt of the table's shape from the Relation messages and table-definition
    /// records it read (all of those after the base copy's position up to the point). `.moved`:
    /// one of them moved the columns away from the base copy's (the forward fold must follow it).
    /// `.redefined(d)`: the columns held, but the point's definition (the newest one adopted) is
    /// `d`, not the destination's. `.held`: neither, and each change read comes after a Relation
    /// message of the table. `.unproven`: neither, but the oldest changes come before any Relation
    /// message of the table after the base copy (their shape was announced before it): a forward
    /// shape scan must tell.
    enum Shape { case held, moved, redefined(TableDefinition), unproven }
    private(set) var shapeMoved = false
    private(set) var redefinedAs: TableDefinition?
    /// Whether a definition adopted by a transaction of the point has been met (the first met is the point's).
    private var metDefinition = false
    /// Walking backwards: a change of the table has been read with no Relation message of it met since.
    private var changeBeforeRelation = false
    var shape: Shape {
        if shapeMoved { return .moved }
        if let redefinedAs { return .redefined(redefinedAs) }
        return changeBeforeRelation ? .unproven : .held
    }
    let table: String
    /// The definition the destination was started with.
    let expected: TableDefinition
    let baseColumnNames: [String]
    let baseIdentities: [String]

    init(plan: ReplayPlan, table: String, expected: TableDefinition, lines: LineBatcher) throws {
        self.plan = plan
        self.table = table
        self.expected = expected
        let base = plan.base.header.definition
        baseColumnNames = base.storedColumns.map(\.name)
        baseIdentities = base.identities(of: baseColumnNames)
        baseOID = base.relationOID
        keys = TableFold(keyColumns: base.identities(of: base.foldKey))
        try keys.setColumns(base.identities(of: base.storedColumns.map(\.name)))
        self.lines = lines
    }

    /// Whether a transaction is part of the replay, told by its Commit (the same rule a forward
    /// scan applies at Begin, with the commit record's end known at once).
    func includes(_ c: CommitMessage) -> Bool {
        guard let end = plan.view.end.lsn, c.commitLSN < end else { return false }
        switch plan.rule {
        case .all: return true
        case .committedAtOrBefore(let t): return c.commitTime <= t
        case .committedBefore(let l): return c.commitLSN < l
        case .endsAtOrBefore(let l): return c.commitLSN < l && c.endLSN <= l
        }
    }

    /// Walks the view from its end back to the base copy's position. `tick` is called after each
    /// frame (the caller starts the destination when it can).
    func run(_ frames: NewestFirstFrames, tick: () throws -> Void) throws {
        var decoder = PgOutputDecoder(protocolVersion: 1)
        var include = false
        let baseLSN = plan.base.header.lsn
        let timeRule: Bool
        if case .committedAtOrBefore = plan.rule { timeRule = true } else { timeRule = false }
        walk: while let f = try frames.next() {
            var i = f.records.count
            do {
                while i > 0 {
                    i -= 1
                    let r = f.records[i]
                    guard let tag = r.isEmpty ? nil : f.raw[r.lowerBound] else { continue }
                    switch tag {
                    case 0x43: // Commit
                        guard case .commit(let c) = try decoder.decode(Array(f.raw[r])).message else { continue }
                        // Every older transaction is in the base copy.
                        if c.commitLSN < baseLSN { break walk }
                        include = includes(c)
                        if include { transactions += 1 }
                    case 0x42: // Begin
                        include = false
                    case 0x52: // Relation
                        // By a position, the transactions left out are those after the point (a forward scan
                        // stops at the first): their shapes do not matter. By a time, every one counts.
                        guard include || timeRule else { continue }
                        guard case .relation(let rel) = try decoder.decode(Array(f.raw[r])).message,
                              rel.oid == baseOID || rel.qualifiedName == table else { continue }
                        if rel.oid != baseOID || rel.qualifiedName != table || rel.columns.map(\.name) != baseColumnNames { shapeMoved = true }
                        changeBeforeRelation = false
                    case LogbookRecordTag.tableDefinition:
                        // Adopted with the transaction it arrived in: the point's definition must be the base's.
                        guard include else { continue }
                        let d: TableDefinition
                        do { d = try JSONDecoder().decode(TableDefinition.self, from: Data(f.raw[r].dropFirst())) } catch {
                            throw ArchiveError(.corrupt, "unreadable table definition record: \(error)", path: f.path, offset: f.offset)
                        }
                        guard d.qualifiedName == table else { continue }
                        let names = d.storedColumns.map(\.name)
                        if names != baseColumnNames || d.identities(of: names) != baseIdentities { shapeMoved = true }
                        if !metDefinition {
                            metDefinition = true
                            if d != expected { redefinedAs = d }
                        }
                    case 0x49, 0x55, 0x44: // Insert, Update, Delete
                        guard include else { continue }
                        let v = try RowChangeView(f.raw[r])
                        guard v.relation == baseOID else { continue }
                        changeBeforeRelation = true
                        try apply(v)
                    case 0x54: // Truncate
                        guard include, case .truncate(let t) = try decoder.decode(Array(f.raw[r])).message, t.relations.contains(baseOID) else { continue }
                        truncates += 1
                        changeBeforeRelation = true
                        if !truncated {
                            // Older rows are gone: so are the values the waiting rows hoped for.
                            truncated = true
                            try emitWaiting { _ in nil }
                        }
                    default: continue
                    }
                }
            } catch let e as WireDecodeError {
                throw ArchiveError(.corrupt, "undecodable record: \(e)", path: f.path, offset: f.offset)
            }
            try tick()
        }
    }

    /// One change, newer ones of the same keys already met.
    func apply(_ v: RowChangeView) throws {
        rowChanges += 1
        if truncated { return }
        switch v.kind {
        case .insert:
            guard let t = v.newTuple else { return }
            let k = keys.key(of: v, tuple: t)
            if seen.insertNew(k) {
                try lines.add(v, tuple: t)
            } else if !waiting.isEmpty, let w = waiting.removeValue(forKey: k) {
                try resolve(w, from: v, tuple: t, old: nil, next: nil)
            }
        case .update:
            guard let t = v.newTuple else { return }
            let newKey = keys.key(of: v, tuple: t)
            let oldKey = v.oldTuple.map { keys.key(of: v, tuple: $0) } ?? newKey
            let fullOld = v.oldKind == .row ? v.oldTuple : nil
            if oldKey != newKey {
                // The old key's row is gone from here on: rows that wanted its values get NULL.
                if !seen.insertNew(oldKey), !waiting.isEmpty, let w = waiting.removeValue(forKey: oldKey) { try emitNulls(w) }
            }
            if seen.insertNew(newKey) {
                if !v.hasUnchanged(t) { try lines.add(v, tuple: t); return }
                var image = RowImage(version: 0, view: v, tuple: t)
                if let fullOld { Self.fill(&image, from: v, tuple: fullOld) }
                if image.unchanged.isEmpty { try lines.add(image.line[...]) } else {
                    waitingBytes += image.line.count + 96
                    waiting[oldKey, default: []].append(image)
                }
            } else if !waiting.isEmpty, let w = waiting.removeValue(forKey: newKey) {
                try resolve(w, from: v, tuple: t, old: fullOld, next: oldKey)
            }
        case .delete:
            guard let t = v.oldTuple else { return }
            let k = keys.key(of: v, tuple: t)
            if !seen.insertNew(k), !waiting.isEmpty, let w = waiting.removeValue(forKey: k) { try emitNulls(w) }
        }
    }

    /// Fills waiting rows from an older version of their key; what it leaves unchanged waits on
    /// under `next` (the key before this change), or is NULL when there is none.
    func resolve(_ w: [RowImage], from v: RowChangeView, tuple: Int, old: Int?, next: FoldKey?) throws {
        var still: [RowImage] = []
        for var image in w {
            Self.fill(&image, from: v, tuple: tuple)
            if let old { Self.fill(&image, from: v, tuple: old) }
            if image.unchanged.isEmpty { try lines.add(image.line[...]) } else { still.append(image) }
        }
        guard !still.isEmpty else { return }
        if let next { waiting[next, default: []].append(contentsOf: still) } else { try emitNulls(still) }
    }

    /// Fills an image's unchanged fields from the same columns of a tuple that has their values.
    static func fill(_ image: inout RowImage, from v: RowChangeView, tuple: Int) {
        guard !image.unchanged.isEmpty else { return }
        var values: [Int: [UInt8]] = [:]
        var still: [Int] = []
        for i in image.unchanged {
            if let c = v.column(i, of: tuple), c.kind != UInt8(ascii: "u") {
                if c.kind == UInt8(ascii: "n") { values[i] = CopyText.nullMarker } else {
                    var b: [UInt8] = []
                    CopyText.appendEscaped(v.bytes[c.value], to: &b)
                    values[i] = b
                }
            } else {
                still.append(i)
            }
        }
        image.set(values.mapValues { $0[...] })
        image.unchanged = still
    }

    func emitNulls(_ w: [RowImage]) throws { for image in w { try lines.add(image.line[...]) } }

    /// Sends every waiting row, its unchanged fields taken from `baseLine(key)` (in the base's
    /// columns, as the rows are) or left NULL.
    func emitWaiting(_ baseLine: (FoldKey) -> ArraySlice<UInt8>?) throws {
        let all = waiting
        waiting = [:]
        for (k, images) in all {
            let fields = baseLine(k).map { $0.split(separator: CopyText.tab, omittingEmptySubsequences: false) }
            for var image in images {
                if let fields {
                    var values: [Int: ArraySlice<UInt8>] = [:]
                    for i in image.unchanged where i < fields.count { values[i] = fields[i] }
                    image.set(values)
                }
                try lines.add(image.line[...])
            }
        }
    }
}

/// Gathers COPY lines (in the base's columns, projected onto the destination's) into batches of
/// about 1 MiB for the pipe.
final class LineBatcher {
    private(set) var pipe: BatchPipe
    let projection: Projection
    private var out: [UInt8] = []
    private var scratch: [UInt8] = []
    private var n = 0
    private(set) var rows = 0

    init(sourceColumns: [String], target: TableDefinition, pipe: BatchPipe) {
        projection = Projection(source: sourceColumns, target: target)
        self.pipe = pipe
        out.reserveCapacity(1 << 20 + 4096)
    }

    /// Later batches go to another pipe (the one before is closed).
    func redirect(to p: BatchPipe) { pipe = p }

    /// A tuple read in place, written as one line.
    func add(_ v: RowChangeView, tuple: Int) throws {
        if !projection.isIdentity {
            scratch.removeAll(keepingCapacity: true)
            Self.write(v, tuple: tuple, to: &scratch)
            projection.append(scratch[...], to: &out)
        } else {
            Self.write(v, tuple: tuple, to: &out)
        }
        try endLine()
    }

    /// A line in the base's columns (no newline).
    func add(_ line: ArraySlice<UInt8>) throws {
        if !projection.isIdentity { projection.append(line, to: &out) } else { out += line }
        try endLine()
    }

    static func write(_ v: RowChangeView, tuple: Int, to out: inout [UInt8]) {
        v.withColumns(of: tuple) { i, kind, value in
            if i > 0 { out.append(CopyText.tab) }
            if kind == UInt8(ascii: "n") || kind == UInt8(ascii: "u") {
                out.append(CopyText.backslash); out.append(UInt8(ascii: "N"))
            } else {
                CopyText.appendEscaped(value, to: &out)
            }
        }
    }

    private func endLine() throws {
        out.append(CopyText.newline)
        n += 1
        rows += 1
        if out.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        guard n > 0 else { return }
        let b = Replayer.CopyBatch(columns: projection.columns, bytes: out, rows: n)
        out = []
        out.reserveCapacity(1 << 20 + 4096)
        n = 0
        try pipe.push(b)
    }
}
