import Archive
import Foundation
import Logging
import PGWire
import Replay

/// `logbook history`: every version of a row (or of the rows matching a filter) from the archive
/// alone: its state in the base copy the window starts from, then one entry per change in commit
/// order. With `--key`, only the segments whose key index may hold the key are read.
public struct HistoryQuery: Sendable {
    public var archive: String
    public var table: String
    /// `--key`: every column of the table's key, with its value in PostgreSQL's text form.
    public var key: [(column: String, value: String)]?
    /// `--where`: columns that must hold these values (text form) in some version of the row.
    public var filter: [(column: String, value: String)]
    public var from: ReplayPoint?
    public var to: ReplayPoint?
    /// Whether segments' key indexes may rule segments out (off: a full scan of the window, for checks).
    public var useIndex = true
    /// The archive's encryption key (nil for a clear archive).
    public var encryptionKey: ArchiveKey?
    public init(archive: String, table: String, key: [(column: String, value: String)]?, filter: [(column: String, value: String)] = [],
                from: ReplayPoint? = nil, to: ReplayPoint? = nil) {
        self.archive = archive; self.table = table; self.key = key; self.filter = filter; self.from = from; self.to = to
    }
}

/// One version of a row.
public struct HistoryEntry: Sendable, Equatable {
    public enum Op: String, Sendable { case snapshot, insert, update, delete, truncate }
    /// The commit LSN of the change (the base copy's LSN for a snapshot).
    public var lsn: LSN
    public var commitTime: PGTimestamp
    public var xid: UInt32?
    public var op: Op
    /// The columns after the change, in the table's order (nil after a delete or truncate).
    public var row: [Column]?
    /// The columns whose value changed (all of them for an insert, delete or truncate; none for a snapshot).
    public var changed: [String]
    public struct Column: Sendable, Equatable { public var name: String; public var value: String? }
}

public struct HistoryResult: Sendable {
    public var entries: [HistoryEntry]
    /// Segments in the window, and those read (the rest were ruled out by their key index).
    public var segmentsInWindow: Int
    public var segmentsRead: Int
    public var warnings: [String]
}

public enum RowHistory {
    public static func run(_ q: HistoryQuery, logger: Logger) throws -> HistoryResult {
        let to = try ReplayWindow.resolve(archive: q.archive, key: q.encryptionKey, table: q.table, point: q.to ?? .latest)
        let from = try q.from.map { try ReplayWindow.resolve(archive: q.archive, key: q.encryptionKey, table: q.table, point: $0, view: to.view) }
        let bases = try ReplayWindow.baseCopies(archive: q.archive, key: q.encryptionKey, table: q.table)
        guard let start = from.map({ ($0.basePath, $0.base) }) ?? bases.first.map({ ($0.path, $0.header) }) else {
            throw HistoryError("the archive has no base copy of \(q.table)", fix: "check the table's name (logbook status lists the archived tables)")
        }
        let table = start.1.table
        let def = start.1.definition
        var mode: Scan.Mode
        if let key = q.key {
            let keyColumns = def.foldKey
            guard !keyColumns.isEmpty else {
                throw HistoryError("\(table) has no key (no primary key or replica-identity index)", fix: "use --where COL=VALUE to list every row version that matches")
            }
            let given = Dictionary(key.map { ($0.column, $0.value) }, uniquingKeysWith: { $1 })
            guard Set(given.keys) == Set(keyColumns) else {
                throw HistoryError("--key names \(key.map(\.column).joined(separator: ",")); the key of \(table) is \(keyColumns.joined(separator: ","))",
                                   fix: "give every column of the key: --key \(keyColumns.map { "\($0)=…" }.joined(separator: ","))")
            }
            mode = .keys([keyColumns.map { given[$0] }])
        } else {
            guard !q.filter.isEmpty else { throw HistoryError("history needs --key or --where", fix: "e.g. --key id=42, or --where driver_id=7") }
            mode = def.foldKey.isEmpty ? .keyless : .keys([])
        }
        var scan = Scan(table: table, start: start, from: from, to: to, filter: q.filter, logger: logger)
        scan.useIndex = q.useIndex
        if case .keys(let k) = mode, k.isEmpty {
            // Keyed rows that match the filter in some version: found first, then followed whole.
            let found = try scan.keysMatchingFilter()
            if found.isEmpty { return HistoryResult(entries: [], segmentsInWindow: scan.inWindow, segmentsRead: scan.read, warnings: scan.warnings) }
            mode = .keys(found)
            scan.outputAllTracked = true
        }
        let entries = try scan.history(mode)
        return HistoryResult(entries: entries, segmentsInWindow: scan.inWindow, segmentsRead: scan.read, warnings: scan.warnings)
    }
}

/// A history problem: one line, and what to do about it.
public struct HistoryError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let fix: String
    public init(_ message: String, fix: String) { self.message = message; self.fix = fix }
    public var description: String { "\(message) — \(fix)" }
}

extension HistoryError: LogbookError {
    public var errorCode: String { "history" }
    public var errorFix: String? { fix }
}
