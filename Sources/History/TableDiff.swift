import Archive
import Foundation
import Logging
import PGWire
import Replay

/// `logbook diff`: the rows inserted, deleted and changed between two points, net and per key —
/// two replays to files in key order, merged. A row equal at both points is not listed, even if it
/// changed in between.
public struct DiffEntry: Sendable, Equatable {
    public enum Op: String, Sendable { case insert, delete, update }
    public var op: Op
    public var key: [HistoryEntry.Column]
    public var before: [HistoryEntry.Column]?
    public var after: [HistoryEntry.Column]?
    public var changed: [String]
}

public struct DiffResult: Sendable {
    public var table: String
    public var entries: [DiffEntry]
    /// The definitions' key (empty: a table without a key, compared as a multiset of rows).
    public var key: [String]
    public var fromSummary: String
    public var toSummary: String
}

public enum TableDiff {
    public static func run(archive: String, key: ArchiveKey? = nil, table: String, from: ReplayPoint, to: ReplayPoint, foldMemory: Int = 1 << 30,
                           logger: Logger) throws -> DiffResult {
        let work = NSTemporaryDirectory() + "logbook-diff-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: work) }
        func replay(_ point: ReplayPoint, _ name: String) throws -> (rows: [[String?]], def: TableDefinition, summary: String) {
            let path = work + "/" + name + ".copy"
            var request = ReplayRequest(archive: archive, table: table, point: point, destination: .file(path: path, format: "copy"), foldMemory: foldMemory)
            request.encryptionKey = key
            let r = try Replayer(request, logger: logger).run()
            guard let def = r.definition else { throw HistoryError("replay gave no definition of \(table)", fix: "run logbook verify --archive") }
            let data = try FileIO.readFile(path)
            var rows: [[String?]] = []
            var at = 0
            while at < data.count, let nl = data[at...].firstIndex(of: CopyText.newline) {
                rows.append(data[at..<nl].split(separator: CopyText.tab, omittingEmptySubsequences: false).map {
                    $0.elementsEqual(CopyText.nullMarker) ? nil : String(decoding: CopyText.unescape($0), as: UTF8.self)
                })
                at = nl + 1
            }
            return (rows, def, r.summary)
        }
        let a = try replay(from, "from"), b = try replay(to, "to")
        let aCols = a.def.storedColumns.map(\.name), bCols = b.def.storedColumns.map(\.name)
        let key = b.def.foldKey.filter(aCols.contains)
        func cols(_ row: [String?], _ names: [String]) -> [HistoryEntry.Column] {
            zip(names, row).map { HistoryEntry.Column(name: $0, value: $1) }
        }
        func value(_ row: [String?], _ names: [String], _ c: String) -> String?? {
            guard let i = names.firstIndex(of: c), i < row.count else { return .none }
            return .some(row[i])
        }
        var entries: [DiffEntry] = []
        if key.isEmpty {
            // Without a key: rows as a multiset, compared by their common columns.
            let common = bCols.filter(aCols.contains)
            func project(_ r: [String?], _ n: [String]) -> [String?] { common.map { value(r, n, $0) ?? nil } }
            var counts: [[String?]: Int] = [:]
            for r in a.rows { counts[project(r, aCols), default: 0] += 1 }
            for r in b.rows {
                let p = project(r, bCols)
                if let n = counts[p], n > 0 { counts[p] = n - 1 } else {
                    entries.append(DiffEntry(op: .insert, key: [], before: nil, after: cols(r, bCols), changed: bCols))
                }
            }
            for r in a.rows {
                let p = project(r, aCols)
                if let n = counts[p], n > 0 {
                    counts[p] = n - 1
                    entries.append(DiffEntry(op: .delete, key: [], before: cols(r, aCols), after: nil, changed: aCols))
                }
            }
            return DiffResult(table: table, entries: entries, key: [], fromSummary: a.summary, toSummary: b.summary)
        }
        func k(_ r: [String?], _ n: [String]) -> [String?] { key.map { value(r, n, $0) ?? nil } }
        var before: [[String?]: [String?]] = [:]
        for r in a.rows { before[k(r, aCols)] = r }
        var seen = Set<[String?]>()
        for r in b.rows {
            let id = k(r, bCols)
            seen.insert(id)
            let keyCols = zip(key, id).map { HistoryEntry.Column(name: $0, value: $1) }
            guard let old = before[id] else {
                entries.append(DiffEntry(op: .insert, key: keyCols, before: nil, after: cols(r, bCols), changed: bCols))
                continue
            }
            let all = bCols + aCols.filter { !bCols.contains($0) }
            let changed = all.filter { (value(old, aCols, $0) ?? nil) != (value(r, bCols, $0) ?? nil) || !aCols.contains($0) || !bCols.contains($0) }
            if !changed.isEmpty {
                entries.append(DiffEntry(op: .update, key: keyCols, before: cols(old, aCols), after: cols(r, bCols), changed: changed))
            }
        }
        for r in a.rows where !seen.contains(k(r, aCols)) {
            entries.append(DiffEntry(op: .delete, key: zip(key, k(r, aCols)).map { HistoryEntry.Column(name: $0, value: $1) },
                                     before: cols(r, aCols), after: nil, changed: aCols))
        }
        entries.sort { $0.key.map { $0.value ?? "" }.lexicographicallyPrecedes($1.key.map { $0.value ?? "" }) }
        return DiffResult(table: table, entries: entries, key: key, fromSummary: a.summary, toSummary: b.summary)
    }
}
