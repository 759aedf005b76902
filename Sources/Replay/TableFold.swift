import Archive
import PGWire

/// A row's identity while folding. Integer keys (the common `bigint` primary key) are kept as
/// numbers, so that looking up a million base rows hashes no byte arrays; anything else is its
/// COPY-text bytes. Only the canonical text of an integer is turned into a number, so two
/// different texts never share a key.
enum FoldKey: Hashable {
    case int(Int64)
    case bytes([UInt8])

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

/// A row image: one COPY text line (fields in the column order of its relation version, `\N` for
/// NULL, no trailing newline), and the columns whose value is an unchanged TOASTed one still to
/// be filled from the row's previous state. One allocation per row instead of one per value.
struct RowImage {
    var version: Int
    var line: [UInt8]
    var unchanged: [Int] = []
    /// Key of the untouched base row that still has to supply the unchanged values.
    var fillFromBase: FoldKey?

    init(version: Int, tuple: TupleData) {
        self.version = version
        var line: [UInt8] = []
        line.reserveCapacity(tuple.values.count * 8)
        for (i, v) in tuple.values.enumerated() {
            if i > 0 { line.append(CopyText.tab) }
            switch v {
            case .null: line += CopyText.nullMarker
            case .unchanged: line += CopyText.nullMarker; unchanged.append(i)
            case .text(let b), .binary(let b): line += CopyText.escape(b)
            }
        }
        self.line = line
    }

    init(version: Int, line: [UInt8]) { self.version = version; self.line = line }

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
final class TableFold {
    private(set) var versions: [[String]] = []
    private var versionIndex: [[String]: Int] = [:]
    private(set) var current = -1
    /// Names of the key columns; empty for a table matched by whole-row value.
    let keyColumns: [String]
    var keyed: Bool { !keyColumns.isEmpty }
    private var keyIndexes: [Int] = []

    /// Keyed: nil value means deleted.
    private(set) var state: [FoldKey: RowImage?] = [:]
    /// Keyless: row bytes → (net count, image).
    private(set) var multiset: [[UInt8]: (count: Int, image: RowImage)] = [:]
    private(set) var truncated = false
    private(set) var changes = 0

    init(keyColumns: [String]) { self.keyColumns = keyColumns }

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

    /// The key of a tuple as sent by pgoutput.
    func key(of t: TupleData) -> FoldKey {
        if keyIndexes.count == 1 {
            let i = keyIndexes[0]
            if i < t.values.count, case .text(let b) = t.values[i] { return FoldKey.of(CopyText.escape(b)[...]) }
            return .bytes(CopyText.nullMarker)
        }
        var k: [UInt8] = []
        for (n, i) in keyIndexes.enumerated() {
            if n > 0 { k.append(CopyText.tab) }
            if i < t.values.count, case .text(let b) = t.values[i] { k += CopyText.escape(b) } else { k += CopyText.nullMarker }
        }
        return .bytes(k)
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

    func insert(_ m: InsertMessage) {
        changes += 1
        let image = RowImage(version: current, tuple: m.new)
        if keyed {
            state[key(of: m.new)] = .some(image)
        } else {
            multiset[image.line, default: (0, image)].count += 1
        }
    }

    func update(_ m: UpdateMessage) {
        changes += 1
        var image = RowImage(version: current, tuple: m.new)
        let oldImage = m.old.map { RowImage(version: current, tuple: $0) }
        // With REPLICA IDENTITY FULL the old row carries the values of unchanged TOAST columns.
        if let oldImage, m.oldKind == .row { fill(&image, from: oldImage) }
        if keyed {
            let newKey = key(of: m.new)
            let oldKey = m.old.map { key(of: $0) } ?? newKey
            switch state[oldKey] {
            case .some(.some(let prior)): fill(&image, from: prior)
            case .some(.none): break
            case .none: if !image.unchanged.isEmpty { image.fillFromBase = oldKey }
            }
            if oldKey != newKey { state[oldKey] = .some(nil) }
            state[newKey] = .some(image)
        } else {
            if let oldImage { multiset[oldImage.line, default: (0, oldImage)].count -= 1 }
            multiset[image.line, default: (0, image)].count += 1
        }
    }

    func delete(_ m: DeleteMessage) {
        changes += 1
        if keyed {
            state[key(of: m.old)] = .some(nil)
        } else {
            let old = RowImage(version: current, tuple: m.old)
            multiset[old.line, default: (0, old)].count -= 1
        }
    }

    func truncate() {
        changes += 1
        truncated = true
        state.removeAll()
        multiset.removeAll()
    }

    /// Whether the base row with this key is replaced (changed, deleted or moved).
    func touches(baseKey k: FoldKey) -> Bool { state[k] != nil }

    /// Base rows that supply unchanged values: base key → keys of the rows waiting for them.
    func pendingFills() -> [FoldKey: [FoldKey]] {
        var out: [FoldKey: [FoldKey]] = [:]
        for (k, v) in state { if let img = v, let b = img.fillFromBase { out[b, default: []].append(k) } }
        return out
    }

    /// Fills the waiting rows from a base row (`columns` in base order).
    func fillFromBaseRow(waiting: [FoldKey], baseColumns: [String], baseLine: ArraySlice<UInt8>) {
        let baseFields = baseLine.split(separator: CopyText.tab, omittingEmptySubsequences: false)
        for k in waiting {
            guard case .some(.some(var img)) = state[k] else { continue }
            let cols = versions[img.version]
            var values: [Int: ArraySlice<UInt8>] = [:]
            for i in img.unchanged {
                if let j = baseColumns.firstIndex(of: cols[i]), j < baseFields.count { values[i] = baseFields[j] }
            }
            img.set(values)
            img.unchanged = []
            img.fillFromBase = nil
            state[k] = .some(img)
        }
    }

    /// Keyless tables: consumes one "delete" of this base row if the fold has one.
    func consumeBaseRow(_ line: ArraySlice<UInt8>) -> Bool {
        let k = Array(line)
        if let e = multiset[k], e.count < 0 {
            multiset[k]!.count += 1
            return true
        }
        return false
    }

    /// The rows to add after the base, grouped by relation version, as COPY lines.
    func finalRows() -> [Int: [[UInt8]]] {
        var out: [Int: [[UInt8]]] = [:]
        if keyed {
            for (_, v) in state { if let img = v { out[img.version, default: []].append(img.line) } }
        } else {
            for (_, e) in multiset where e.count > 0 {
                for _ in 0..<e.count { out[e.image.version, default: []].append(e.image.line) }
            }
        }
        return out
    }
}
