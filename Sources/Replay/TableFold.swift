import Archive
import PGWire

/// A row's identity while folding. Integer keys (the common `bigint` primary key) are kept as
/// numbers, so that looking up a million base rows hashes no byte arrays; anything else is its
/// COPY-text bytes. Only the canonical text of an integer is turned into a number, so two
/// different texts never share a key.
enum FoldKey: Hashable, Comparable {
    case int(Int64)
    case bytes([UInt8])

    /// A well-mixed non-negative number from the key, the same in every process (for shares).
    var spread: Int {
        switch self {
        case .int(let v): return Int(truncatingIfNeeded: (UInt64(bitPattern: v) &* 0x9E37_79B9_7F4A_7C15) >> 1)
        case .bytes(let b):
            var h: UInt64 = 0xCBF2_9CE4_8422_2325 // FNV-1a
            for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01B3 }
            return Int(truncatingIfNeeded: h >> 1)
        }
    }

    /// Integers in numeric order, before any other key; other keys by their bytes.
    static func < (a: FoldKey, b: FoldKey) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.int, .bytes): return true
        case (.bytes, .int): return false
        case (.bytes(let x), .bytes(let y)): return x.lexicographicallyPrecedes(y)
        }
    }

    /// The key of one column value, given as COPY-escaped text.
    static func of(_ text: ArraySlice<UInt8>) -> FoldKey {
        if let v = canonicalInt(text) { return .int(v) }
        return .bytes(Array(text))
    }

    static func canonicalInt(_ t: ArraySlice<UInt8>) -> Int64? {
        guard !t.isEmpty, t.count <= 18 else { return nil }
        var i = t.startIndex
        var negative = false
        if t[i] == 0x2D { negative = true; i += 1; guard i < t.endIndex else { return nil } }
        if t[i] == 0x30 && t.endIndex - i > 1 { return nil }   // leading zero: not canonical
        if negative && t[i] == 0x30 { return nil }              // "-0"
        var v: Int64 = 0
        while i < t.endIndex {
            let c = t[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int64(c - 0x30)
            i += 1
        }
        return negative ? -v : v
    }
}

/// Thrown by a fold that outgrows its memory budget: it is run again in smaller shares.
struct FoldOverBudget: Error {}

/// A row image: one COPY text line (fields in the column order of its relation version, `\N` for
/// NULL, no trailing newline), and the columns whose value is an unchanged TOASTed one still to
/// be filled from the row's previous state. One allocation per row instead of one per value.
struct RowImage {
    var version: Int
    var line: [UInt8]
    var unchanged: [Int] = []
    /// Key of the untouched base row that still has to supply the unchanged values.
    var fillFromBase: FoldKey?

    init(version: Int, line: [UInt8]) { self.version = version; self.line = line }

    /// The image of a tuple read in place: values go straight from the record into the line.
    init(version: Int, view: RowChangeView, tuple: Int) {
        self.version = version
        var line: [UInt8] = []
        line.reserveCapacity(view.bytes.count)
        var unchanged: [Int] = []
        view.forEachColumn(of: tuple) { i, kind, value in
            if i > 0 { line.append(CopyText.tab) }
            switch kind {
            case UInt8(ascii: "n"): line += CopyText.nullMarker
            case UInt8(ascii: "u"): line += CopyText.nullMarker; unchanged.append(i)
            default: CopyText.appendEscaped(view.bytes[value], to: &line)
            }
        }
        self.line = line
        self.unchanged = unchanged
    }

    func fields() -> [ArraySlice<UInt8>] { line.split(separator: CopyText.tab, omittingEmptySubsequences: false) }

    /// Replaces field `i` (used to fill unchanged values).
    mutating func set(_ values: [Int: ArraySlice<UInt8>]) {
        var f = fields()
        for (i, v) in values where i < f.count { f[i] = v }
        line = Array(f.joined(separator: [CopyText.tab]))
    }
}

/// Folds a table's changes, up to the replay point, into their net effect per key: memory is
/// bounded by the number of keys changed, not by the number of changes.
///
/// Keyed tables: key → final row, or deleted. Tables without a key (REPLICA IDENTITY FULL):
/// whole-row value → net count, so that a delete removes one row among identical ones.
///
/// `keysOnly` (keyed tables): records only which keys change and which base rows must supply
/// unchanged values, so that the base copy can start streaming while the full fold runs.
final class TableFold {
    private(set) var versions: [[String]] = []
    private var versionIndex: [[String]: Int] = [:]
    private(set) var current = -1
    /// Names of the key columns; empty for a table matched by whole-row value.
    let keyColumns: [String]
    var keyed: Bool { !keyColumns.isEmpty }
    private var keyIndexes: [Int] = []

    /// Keyed: key → latest image, or deleted.
    private(set) var rows = KeyedRows()
    /// Keyless: row bytes → (net count, image).
    private(set) var multiset: [[UInt8]: (count: Int, image: RowImage)] = [:]
    private(set) var truncated = false
    /// Row changes folded (in this fold's share of the keys) and TRUNCATEs seen.
    private(set) var rowChanges = 0
    private(set) var truncates = 0
    var changes: Int { rowChanges + truncates }
    let keysOnly: Bool
    /// keysOnly: bytes of the row images the changes carry (to size the full fold before it runs).
    private(set) var rowBytes = 0
    /// keysOnly: keys that an update moved (old and new primary key); a partitioned fold keeps them together.
    private(set) var moved = FoldKeySet()

    /// A fold of one share of the keys (several passes bound its memory): the share, and the keys
    /// that must stay in share 0 because an update moved a row between them.
    struct Share {
        var index: Int
        var of: Int
        var moved: FoldKeySet
        func holds(_ k: FoldKey) -> Bool { (moved.contains(k) ? 0 : k.spread % of) == index }
    }
    var share: Share?
    /// Bytes the folded rows may take (estimated); beyond it `apply` throws `FoldOverBudget`.
    var budget: Int?
    /// keysOnly: every key the fold replaces (the keys of `state` in a full fold).
    private(set) var touched = FoldKeySet()
    /// keysOnly: keys of base rows that may have to supply unchanged-TOAST values (a superset).
    private(set) var baseFills = FoldKeySet()

    init(keyColumns: [String], keysOnly: Bool = false, compactAfter: Int = 1 << 24) {
        rows.compactAfter = compactAfter
        self.keyColumns = keyColumns
        self.keysOnly = keysOnly && !keyColumns.isEmpty
    }

    /// Number of keys the fold replaces.
    var touchedCount: Int { keysOnly ? touched.count : rows.count }

    /// Makes `columns` the current shape (from a Relation message), registering a new version if needed.
    func setColumns(_ columns: [String]) throws {
        if let v = versionIndex[columns] { current = v } else {
            versions.append(columns)
            current = versions.count - 1
            versionIndex[columns] = current
        }
        if keyed {
            keyIndexes = try keyColumns.map { k in
                guard let i = columns.firstIndex(of: k) else {
                    throw ReplayError(.unknownTable, "key column \(k) is missing from the table's columns \(columns)")
                }
                return i
            }
        }
    }

    /// The key of a tuple read in place: an integer for one canonical integer column, else the
    /// COPY text of the key columns (tab-joined), so it matches `key(ofLine:)` of the same row.
    func key(of v: RowChangeView, tuple: Int) -> FoldKey {
        if keyIndexes.count == 1 {
            if let c = v.column(keyIndexes[0], of: tuple), c.kind == UInt8(ascii: "t") {
                let text = v.bytes[c.value]
                // Digits need no escaping.
                if let n = FoldKey.canonicalInt(text) { return .int(n) }
                var b: [UInt8] = []
                CopyText.appendEscaped(text, to: &b)
                return .bytes(b)
            }
            return .bytes(CopyText.nullMarker)
        }
        var k: [UInt8] = []
        for (n, i) in keyIndexes.enumerated() {
            if n > 0 { k.append(CopyText.tab) }
            if let c = v.column(i, of: tuple), c.kind == UInt8(ascii: "t") {
                CopyText.appendEscaped(v.bytes[c.value], to: &k)
            } else {
                k += CopyText.nullMarker
            }
        }
        return .bytes(k)
    }

    /// Estimated memory of the folded rows: the arena of images (it is compacted once it is mostly
    /// replaced images), the per-key tables, and the COPY batches made from them at the end.
    var estimatedBytes: Int { rows.arena.count + rows.liveBytes + rows.count * 64 }

    /// Folds one Insert, Update or Delete read in place (only those of its share of the keys).
    func apply(_ v: RowChangeView) throws {
        if keysOnly {
            rowChanges += 1
            if let t = v.newTuple { rowBytes += v.bytes.endIndex - t }
        } else if let share, keyed {
            // Every key of the change is in the same share (moved keys are all in share 0).
            guard let t = v.newTuple ?? v.oldTuple, share.holds(key(of: v, tuple: t)) else { return }
            rowChanges += 1
        } else {
            rowChanges += 1
        }
        // The estimate is checked every 4096 changes (every change under a small budget).
        if let budget, rowChanges & (budget < 1 << 24 ? 0 : 4095) == 0, estimatedBytes > budget { throw FoldOverBudget() }
        switch v.kind {
        case .insert:
            guard let t = v.newTuple else { return }
            if keysOnly { touched.insert(key(of: v, tuple: t)); return }
            if keyed {
                let k = key(of: v, tuple: t)
                if !rows.setImage(k, version: current, view: v, tuple: t) { rows.set(k, RowImage(version: current, view: v, tuple: t)) }
            } else {
                let image = RowImage(version: current, view: v, tuple: t)
                multiset[image.line, default: (0, image)].count += 1
            }
        case .update:
            guard let t = v.newTuple else { return }
            if keysOnly {
                let newKey = key(of: v, tuple: t)
                let oldKey = v.oldTuple.map { key(of: v, tuple: $0) } ?? newKey
                if v.hasUnchanged(t) && !touched.contains(oldKey) { baseFills.insert(oldKey) }
                touched.insert(oldKey)
                if newKey != oldKey { touched.insert(newKey); moved.insert(newKey); moved.insert(oldKey) }
                return
            }
            if keyed {
                let newKey = key(of: v, tuple: t)
                let oldKey = v.oldTuple.map { key(of: v, tuple: $0) } ?? newKey
                // The common case: every value is in the change, written straight into the arena.
                if !v.hasUnchanged(t) {
                    if oldKey != newKey { rows.setDeleted(oldKey) }
                    if rows.setImage(newKey, version: current, view: v, tuple: t) { return }
                }
                // Unchanged TOAST values: from the old tuple, the row's prior image, or the base row.
                var image = RowImage(version: current, view: v, tuple: t)
                if let old = v.oldTuple, v.oldKind == .row { fill(&image, from: RowImage(version: current, view: v, tuple: old)) }
                switch rows.entry(oldKey) {
                case .image(let prior): fill(&image, from: prior)
                case .deleted: break
                case .absent: if !image.unchanged.isEmpty { image.fillFromBase = oldKey }
                }
                if oldKey != newKey { rows.setDeleted(oldKey) }
                rows.set(newKey, image)
            } else {
                let image = RowImage(version: current, view: v, tuple: t)
                let oldImage = v.oldTuple.map { RowImage(version: current, view: v, tuple: $0) }
                if let oldImage { multiset[oldImage.line, default: (0, oldImage)].count -= 1 }
                multiset[image.line, default: (0, image)].count += 1
            }
        case .delete:
            guard let t = v.oldTuple else { return }
            if keysOnly { touched.insert(key(of: v, tuple: t)); return }
            if keyed {
                rows.setDeleted(key(of: v, tuple: t))
            } else {
                let old = RowImage(version: current, view: v, tuple: t)
                multiset[old.line, default: (0, old)].count -= 1
            }
        }
    }

    /// The key of a base-copy line, given the key columns' positions in the base's column order.
    static func key(ofLine line: ArraySlice<UInt8>, keyPositions: [Int]) -> FoldKey {
        if keyPositions.count == 1 { return FoldKey.of(field(line, keyPositions[0])) }
        var k: [UInt8] = []
        for (n, p) in keyPositions.enumerated() {
            if n > 0 { k.append(CopyText.tab) }
            k += field(line, p)
        }
        return .bytes(k)
    }

    /// Field `n` of a COPY line, found without allocating.
    static func field(_ line: ArraySlice<UInt8>, _ n: Int) -> ArraySlice<UInt8> {
        var start = line.startIndex
        var seen = 0
        var i = line.startIndex
        while i < line.endIndex {
            if line[i] == CopyText.tab {
                if seen == n { return line[start..<i] }
                seen += 1
                start = i + 1
            }
            i += 1
        }
        return seen == n ? line[start..<line.endIndex] : line[line.endIndex..<line.endIndex]
    }

    /// Fills `unchanged` fields of `new` from `prior` (matching columns by name across versions).
    func fill(_ new: inout RowImage, from prior: RowImage) {
        guard !new.unchanged.isEmpty else { return }
        let newCols = versions[new.version], priorCols = versions[prior.version]
        let priorFields = prior.fields()
        var values: [Int: ArraySlice<UInt8>] = [:]
        var still: [Int] = []
        for i in new.unchanged {
            if let j = priorCols.firstIndex(of: newCols[i]), j < priorFields.count, !prior.unchanged.contains(j) {
                values[i] = priorFields[j]
            } else {
                still.append(i)
            }
        }
        new.set(values)
        new.unchanged = still
        if !still.isEmpty { new.fillFromBase = prior.fillFromBase }
    }

    func truncate() {
        truncates += 1
        truncated = true
        let compactAfter = rows.compactAfter
        rows = KeyedRows()
        rows.compactAfter = compactAfter
        multiset.removeAll()
        touched.removeAll()
        baseFills.removeAll()
    }


    /// Base rows that supply unchanged values: base key → keys of the rows waiting for them.
    func pendingFills() -> [FoldKey: [FoldKey]] { rows.waitingForBase() }

    /// Fills the waiting rows from a base row (`columns` in base order).
    func fillFromBaseRow(waiting: [FoldKey], baseColumns: [String], baseLine: ArraySlice<UInt8>) {
        let baseFields = baseLine.split(separator: CopyText.tab, omittingEmptySubsequences: false)
        for k in waiting {
            guard case .image(var img) = rows.entry(k) else { continue }
            let cols = versions[img.version]
            var values: [Int: ArraySlice<UInt8>] = [:]
            for i in img.unchanged {
                if let j = baseColumns.firstIndex(of: cols[i]), j < baseFields.count { values[i] = baseFields[j] }
            }
            img.set(values)
            img.unchanged = []
            img.fillFromBase = nil
            rows.set(k, img)
        }
    }

    /// Keyless tables: consumes one "delete" of this base row if the fold has one.
    func consumeBaseRow(_ line: ArraySlice<UInt8>) -> Bool {
        let k = Array(line)
        if var e = multiset[k], e.count < 0 {
            e.count += 1
            multiset[k] = e
            return true
        }
        return false
    }

    /// The rows to add after the base (all, or without those still waiting for a base row), in
    /// order of relation version, then key (by value for a table without a key), so that a
    /// replay's output is the same every time: `body` gets each row's version and COPY line.
    func forEachFinalRow(excludingWaiting: Bool = false, _ body: (Int, ArraySlice<UInt8>) -> Void) {
        if keyed {
            for s in rows.liveSlots({ !excludingWaiting || !rows.isWaitingForBase($0) }) { rows.withLine(slot: s, body) }
        } else {
            let kept = multiset.filter { $0.value.count > 0 }.sorted { a, b in
                a.value.image.version != b.value.image.version ? a.value.image.version < b.value.image.version : a.key.lexicographicallyPrecedes(b.key)
            }
            for (_, e) in kept { for _ in 0..<e.count { body(e.image.version, e.image.line[...]) } }
        }
    }

    /// The rows of these keys (keyed tables), in order of version, then key.
    func forEachRow(ofKeys keys: [FoldKey], _ body: (Int, ArraySlice<UInt8>) -> Void) {
        var found: [(version: Int, key: FoldKey, slot: Int32)] = []
        for k in keys {
            if let s = rows.slot(of: k), let v = rows.withLine(slot: s, { v, _ in v }) { found.append((v, k, s)) }
        }
        found.sort { $0.version != $1.version ? $0.version < $1.version : $0.key < $1.key }
        for f in found { rows.withLine(slot: f.slot, body) }
    }
}
