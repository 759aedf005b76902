import Archive
import ArgumentParser
import Foundation
import History
import PGWire
import Replay

/// `--from` / `--to` / `--key` / `--where` values.
enum HistoryArguments {
    /// A time (ISO 8601 with a zone), an LSN, or `mark:NAME`.
    static func point(_ s: String, _ option: String) throws -> ReplayPoint {
        if s.hasPrefix("mark:") { return .mark(String(s.dropFirst(5))) }
        if let l = LSN(string: s) { return .lsn(l) }
        do { return .time(try ReplayPoint.parseTime(s)) } catch {
            throw ValidationError("--\(option) '\(s)': takes a time with a zone (2026-10-03T14:00:00Z), an LSN (0/16B3748) or mark:NAME")
        }
    }

    /// `COL=VALUE[,COL=VALUE…]` (a value may not hold a comma; give the option again for such a column).
    static func pairs(_ list: [String], _ option: String) throws -> [(column: String, value: String)] {
        try list.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { part in
            guard let eq = part.firstIndex(of: "="), eq != part.startIndex else {
                throw ValidationError("--\(option) '\(part)': takes COL=VALUE (the value in PostgreSQL's text form)")
            }
            return (String(part[..<eq]), String(part[part.index(after: eq)...]))
        }
    }

    static func format(_ s: String, allowed: [HistoryFormat]) throws -> HistoryFormat {
        guard let f = HistoryFormat(rawValue: s), allowed.contains(f) else {
            throw ValidationError("--format '\(s)': takes \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return f
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Every version of a row, from the archive: its base-copy state, then each change with its commit LSN, time and xid.",
        discussion: """
        --key names every column of the table's key (primary key, or the replica-identity index): \
        --key id=42, or --key driver_id=7,seq=3. A primary-key update shows in the history of both keys. \
        --where COL=VALUE[,…] lists every version of every row that matches in some version within the window \
        (on a table without a key, every row version that matches). --from/--to: a time with a zone, an LSN or \
        mark:NAME; the first entry is the row's state at --from (op snapshot). Values are PostgreSQL's text form. \
        With --key, only the segments whose key index may hold the key are read.
        """)
    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @Option(help: "schema.table") var table: String
    @Option(help: "COL=VALUE for every key column (repeatable or comma-separated).") var key: [String] = []
    @Option(name: .customLong("where"), help: "COL=VALUE the row holds in some version (repeatable or comma-separated).") var filter: [String] = []
    @Option(help: "Start of the window: time with a zone, LSN or mark:NAME (default: the first base copy).") var from: String?
    @Option(help: "End of the window: time with a zone, LSN or mark:NAME (default: the latest archived state).") var to: String?
    @Option(help: "text, json (JSON Lines) or csv.") var format = "text"
    @Flag(help: ArgumentHelp("Read every segment of the window instead of those the key indexes point to (a check of the indexes).", visibility: .hidden))
    var noIndex = false

    func validate() throws {
        _ = try HistoryArguments.format(format, allowed: [.text, .json, .csv])
        _ = try from.map { try HistoryArguments.point($0, "from") }
        _ = try to.map { try HistoryArguments.point($0, "to") }
        _ = try HistoryArguments.pairs(key, "key")
        _ = try HistoryArguments.pairs(filter, "where")
        if key.isEmpty && filter.isEmpty { throw ValidationError("give --key COL=VALUE (every key column) or --where COL=VALUE") }
    }

    func run() throws {
        let encryptionKey = try encryption.key(for: archive)
        let q = HistoryQuery(archive: archive, table: table, key: key.isEmpty ? nil : try HistoryArguments.pairs(key, "key"),
                             filter: try HistoryArguments.pairs(filter, "where"),
                             from: try from.map { try HistoryArguments.point($0, "from") }, to: try to.map { try HistoryArguments.point($0, "to") })
        var query = q
        query.useIndex = !noIndex
        query.encryptionKey = encryptionKey
        let result = try RowHistory.run(query, logger: LoggingSetup.logger(verbose: false))
        for w in result.warnings { FileIO.say("logbook: warning: \(w)\n") }
        let shown = q.key.map { $0.map { "\($0.column)=\($0.value)" }.joined(separator: ",") } ?? q.filter.map { "\($0.column)=\($0.value)" }.joined(separator: ",")
        guard !result.entries.isEmpty else {
            throw HistoryError("no version of \(table) with \(shown) in the window", fix: "check the value (PostgreSQL's text form) and the window (--from/--to); logbook status shows what the archive holds")
        }
        print(try HistoryArguments.format(format, allowed: [.text, .json, .csv]).render(result.entries), terminator: "")
        FileIO.say("\(result.entries.count) versions; \(result.segmentsRead) of \(result.segmentsInWindow) segments in the window read\n")
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "The rows inserted, deleted and changed between two points, net per key, with before and after values.",
        discussion: """
        Two replays (to temporary files) merged by key. A row equal at both points is not listed even if it \
        changed in between. --format sql prints the statements that turn the table at --from into the table \
        at --to (one transaction). A table without a key is compared as a multiset of rows.
        """)
    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @Option(help: "schema.table") var table: String
    @Option(help: "Time with a zone, LSN or mark:NAME.") var from: String
    @Option(help: "Time with a zone, LSN or mark:NAME (default: the latest archived state).") var to: String?
    @Option(help: "text, json (JSON Lines), csv or sql.") var format = "text"

    func validate() throws {
        _ = try HistoryArguments.format(format, allowed: HistoryFormat.allCases)
        _ = try HistoryArguments.point(from, "from")
        _ = try to.map { try HistoryArguments.point($0, "to") }
    }

    func run() throws {
        let diff = try TableDiff.run(archive: archive, key: try encryption.key(for: archive), table: table, from: try HistoryArguments.point(from, "from"),
                                     to: try to.map { try HistoryArguments.point($0, "to") } ?? .latest, logger: LoggingSetup.logger(verbose: false))
        let name = try QualifiedName(parsing: table)
        print(try HistoryArguments.format(format, allowed: HistoryFormat.allCases).render(diff, qualifiedTable: name.quoted), terminator: "")
        let n = Dictionary(grouping: diff.entries, by: \.op).mapValues(\.count)
        FileIO.say("\(n[.insert] ?? 0) inserted, \(n[.update] ?? 0) changed, \(n[.delete] ?? 0) deleted\n")
    }
}
