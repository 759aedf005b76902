import Archive
import Foundation
import PGWire

/// The last known value of every large column per row, so that an update that leaves a TOASTed
/// value unchanged (`u`) is published with the value, never as NULL. PostgreSQL sends `u` only for
/// values stored out of line, which are at least ~2 kB, so only values over `threshold` are kept:
/// memory is bounded by the large values, not the table. Seeded from the base copy the first time a
/// table needs it, then kept current from the stream.
final class ToastCache {
    static let threshold = 1000
    /// table → key → column → value
    var values: [String: [[UInt8]: [String: [UInt8]]]] = [:]
    var seeded = Set<String>()
    let archive: ArchiveDirectory

    init(archive: ArchiveDirectory) { self.archive = archive }

    func remember(_ table: String, key: [UInt8], columns: [String], values row: [TupleValue]) {
        remember(table, key: { key }, columns: columns, values: row)
    }

    /// As above, the key made only when needed (the common case needs none).
    func remember(_ table: String, key makeKey: () -> [UInt8], columns: [String], values row: [TupleValue]) {
        let hasLarge = row.contains { if case .text(let v) = $0 { return v.count >= Self.threshold }; return false }
        if !hasLarge {
            // The common case: nothing large to keep; drop what an earlier version of the row had.
            if let known = values[table], !known.isEmpty {
                let key = makeKey()
                if known[key] != nil { values[table]![key] = nil }
            }
            return
        }
        let key = makeKey()
        for (i, c) in columns.enumerated() where i < row.count {
            switch row[i] {
            case .text(let v) where v.count >= Self.threshold: values[table, default: [:]][key, default: [:]][c] = v
            case .unchanged: break
            default: values[table]?[key]?[c] = nil
            }
        }
    }

    func forget(_ table: String, key: [UInt8]) { if values[table]?[key] != nil { values[table]![key] = nil } }

    /// Fills `u` values; returns the names of columns it could not fill.
    func fill(_ table: String, key: [UInt8], columns: [String], row: inout [TupleValue], keyColumns: [String]) throws -> [String] {
        guard row.contains(.unchanged) else { return [] }
        if !seeded.contains(table) { try seed(table, keyColumns: keyColumns) }
        var missing: [String] = []
        for (i, c) in columns.enumerated() where i < row.count && row[i] == .unchanged {
            if let v = values[table]?[key]?[c] { row[i] = .text(v) } else { missing.append(c) }
        }
        return missing
    }

    /// Loads the large values of the newest base copy of `table`.
    func seed(_ table: String, keyColumns: [String]) throws {
        seeded.insert(table)
        guard let base = try BaseCopyReader.headers(in: archive).filter({ $0.header.table == table }).max(by: { $0.header.lsn < $1.header.lsn }) else { return }
        let reader = try BaseCopyReader(path: base.path, key: archive.key)
        let cols = base.header.definition.columns.map(\.name)
        let keyIdx = keyColumns.compactMap { cols.firstIndex(of: $0) }
        while let chunk = try reader.nextChunk() {
            var start = 0
            for i in chunk.indices where chunk[i] == 0x0A {
                let line = chunk[start..<i]
                start = i + 1
                guard line.count >= Self.threshold else { continue }
                let fields = line.split(separator: 0x09, omittingEmptySubsequences: false)
                let key = PublisherKey.of(keyIdx.map { fields[$0].elementsEqual([0x5C, 0x4E]) ? TupleValue.null : .text(CopyText.unescape(fields[$0])) })
                for (n, f) in fields.enumerated() where f.count >= Self.threshold && values[table]?[key]?[cols[n]] == nil {
                    values[table, default: [:]][key, default: [:]][cols[n]] = CopyText.unescape(f)
                }
            }
        }
    }
}

/// The identity of a row for the publisher's caches: its key values.
enum PublisherKey {
    static func of(_ values: [TupleValue]) -> [UInt8] {
        var k: [UInt8] = []
        for v in values {
            switch v {
            case .text(let b), .binary(let b): k += b
            default: k += [0x5C, 0x4E]
            }
            k.append(0x09)
        }
        return k
    }
}

