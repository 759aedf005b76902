import PGWire

/// One column value while folding: NULL, a COPY-text-escaped value, or "unchanged TOASTed
/// value, take it from the row's previous state".
enum Field: Hashable {
    case null
    case unchanged
    case value([UInt8])
}

/// A row image in the column order of one relation version.
struct RowImage {
    var version: Int
    var fields: [Field]
    /// Key of the untouched base row that still has to supply the `unchanged` fields.
    var fillFromBase: [UInt8]?
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
    private(set) var state: [[UInt8]: RowImage?] = [:]
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

    static func fields(_ t: TupleData) -> [Field] {
        t.values.map {
            switch $0 {
            case .null: return .null
            case .unchanged: return .unchanged
            case .text(let b), .binary(let b): return .value(CopyText.escape(b))
            }
        }
    }

    func key(of fields: [Field]) -> [UInt8] {
        var k: [UInt8] = []
        for (n, i) in keyIndexes.enumerated() {
            if n > 0 { k.append(CopyText.tab) }
            switch i < fields.count ? fields[i] : .null {
            case .value(let v): k += v
            default: k += CopyText.nullMarker
            }
        }
        return k
    }

    static func rowKey(_ fields: [Field]) -> [UInt8] {
        var k: [UInt8] = []
        for (n, f) in fields.enumerated() {
            if n > 0 { k.append(CopyText.tab) }
            if case .value(let v) = f { k += v } else { k += CopyText.nullMarker }
        }
        return k
    }

    /// Fills `unchanged` fields of `new` from `prior` (matching columns by name across versions).
    func fill(_ new: inout RowImage, from prior: RowImage) {
        let newCols = versions[new.version], priorCols = versions[prior.version]
        for i in new.fields.indices where new.fields[i] == .unchanged {
            if let j = priorCols.firstIndex(of: newCols[i]), j < prior.fields.count { new.fields[i] = prior.fields[j] }
        }
        if new.fields.contains(.unchanged) { new.fillFromBase = prior.fillFromBase }
    }

    func insert(_ m: InsertMessage) {
        changes += 1
        let image = RowImage(version: current, fields: Self.fields(m.new), fillFromBase: nil)
        if keyed {
            state[key(of: image.fields)] = .some(image)
        } else {
            let k = Self.rowKey(image.fields)
            multiset[k, default: (0, image)].count += 1
        }
    }

    func update(_ m: UpdateMessage) {
        changes += 1
        var image = RowImage(version: current, fields: Self.fields(m.new), fillFromBase: nil)
        let oldImage = m.old.map { RowImage(version: current, fields: Self.fields($0), fillFromBase: nil) }
        // With REPLICA IDENTITY FULL the old row carries the values of unchanged TOAST columns.
        if let oldImage, m.oldKind == .row { fill(&image, from: oldImage) }
        if keyed {
            let newKey = key(of: image.fields)
            let oldKey = oldImage.map { key(of: $0.fields) } ?? newKey
            switch state[oldKey] {
            case .some(.some(let prior)): fill(&image, from: prior)
            case .some(.none): break
            case .none: if image.fields.contains(.unchanged) { image.fillFromBase = oldKey }
            }
            if oldKey != newKey { state[oldKey] = .some(nil) }
            state[newKey] = .some(image)
        } else {
            if let oldImage { remove(Self.rowKey(oldImage.fields), image: oldImage) }
            let k = Self.rowKey(image.fields)
            multiset[k, default: (0, image)].count += 1
        }
    }

    func delete(_ m: DeleteMessage) {
        changes += 1
        let old = RowImage(version: current, fields: Self.fields(m.old), fillFromBase: nil)
        if keyed {
            state[key(of: old.fields)] = .some(nil)
        } else {
            remove(Self.rowKey(old.fields), image: old)
        }
    }

    private func remove(_ k: [UInt8], image: RowImage) {
        multiset[k, default: (0, image)].count -= 1
    }

    func truncate() {
        changes += 1
        truncated = true
        state.removeAll()
        multiset.removeAll()
    }

    /// Keys whose base row must not be copied as is (changed, deleted or moved).
    func touches(baseKey k: [UInt8]) -> Bool { state[k] != nil }

    /// Base rows that supply unchanged values: base key → keys of the rows waiting for them.
    func pendingFills() -> [[UInt8]: [[UInt8]]] {
        var out: [[UInt8]: [[UInt8]]] = [:]
        for (k, v) in state { if let img = v, let b = img.fillFromBase { out[b, default: []].append(k) } }
        return out
    }

    /// Fills the waiting rows from a base row (`columns` in base order).
    func fillFromBaseRow(waiting: [[UInt8]], baseColumns: [String], baseFields: [Field]) {
        for k in waiting {
            guard case .some(.some(var img)) = state[k] else { continue }
            let cols = versions[img.version]
            for i in img.fields.indices where img.fields[i] == .unchanged {
                if let j = baseColumns.firstIndex(of: cols[i]), j < baseFields.count { img.fields[i] = baseFields[j] }
            }
            img.fillFromBase = nil
            state[k] = .some(img)
        }
    }

    /// Keyless tables: consumes one "delete" of this base row if the fold has one.
    func consumeBaseRow(_ k: [UInt8]) -> Bool {
        if let e = multiset[k], e.count < 0 {
            multiset[k]!.count += 1
            return true
        }
        return false
    }

    /// The rows to add after the base, grouped by relation version.
    func finalRows() -> [Int: [[Field]]] {
        var out: [Int: [[Field]]] = [:]
        if keyed {
            for (_, v) in state { if let img = v { out[img.version, default: []].append(img.fields.map { $0 == .unchanged ? .null : $0 }) } }
        } else {
            for (_, e) in multiset where e.count > 0 {
                for _ in 0..<e.count { out[e.image.version, default: []].append(e.image.fields) }
            }
        }
        return out
    }
}
