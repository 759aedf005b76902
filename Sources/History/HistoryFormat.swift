import Foundation
import PGWire

/// How `history` and `diff` print: JSON Lines (one object per entry, columns in the table's order),
/// CSV with a header, SQL (diff), or a table for a terminal with changed values marked.
public enum HistoryFormat: String, Sendable, CaseIterable {
    case text, json, csv, sql

    static func json(_ s: String?) -> String {
        guard let s else { return "null" }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func jsonObject(_ cols: [HistoryEntry.Column]?) -> String {
        guard let cols else { return "null" }
        return "{" + cols.map { json($0.name) + ":" + json($0.value) }.joined(separator: ",") + "}"
    }

    static func jsonArray(_ names: [String]) -> String { "[" + names.map { json($0) }.joined(separator: ",") + "]" }

    static func csv(_ s: String?) -> String {
        guard let s else { return "" }
        if s.isEmpty { return "\"\"" }
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The history's entries in this format (one line each, text with a line of values under each).
    public func render(_ entries: [HistoryEntry]) -> String {
        var out = ""
        switch self {
        case .json, .sql:
            for e in entries {
                out += "{\"lsn\":\"\(e.lsn)\",\"commit_time\":\"\(e.commitTime)\",\"xid\":\(e.xid.map(String.init) ?? "null"),\"op\":\"\(e.op.rawValue)\","
                    + "\"row\":\(Self.jsonObject(e.row)),\"changed\":\(Self.jsonArray(e.changed))}\n"
            }
        case .csv:
            var columns: [String] = []
            for e in entries { for c in e.row ?? [] where !columns.contains(c.name) { columns.append(c.name) } }
            out += (["lsn", "commit_time", "xid", "op", "changed"] + columns).map(Self.csv).joined(separator: ",") + "\n"
            for e in entries {
                let values = columns.map { n in e.row?.first { $0.name == n }?.value }
                out += ([e.lsn.description, e.commitTime.description, e.xid.map(String.init), e.op.rawValue, e.changed.isEmpty ? nil : e.changed.joined(separator: " ")].map(Self.csv)
                        + values.map(Self.csv)).joined(separator: ",") + "\n"
            }
        case .text:
            for e in entries {
                out += "\(e.lsn)  \(e.commitTime)  \(e.xid.map { "xid \($0)" } ?? "base copy")  \(e.op.rawValue.uppercased())"
                    + (e.changed.isEmpty || e.op == .snapshot ? "" : "  changed: \(e.changed.joined(separator: ", "))") + "\n"
                if let row = e.row {
                    out += "    " + row.map { c in (e.changed.contains(c.name) && e.op == .update ? "*" : "") + "\(c.name)=\(c.value ?? "NULL")" }
                        .joined(separator: "  ") + "\n"
                }
            }
        }
        return out
    }

    /// The diff's entries in this format; `sql` turns the table at `--from` into the table at `--to`.
    public func render(_ diff: DiffResult, qualifiedTable: String) -> String {
        var out = ""
        switch self {
        case .json:
            for e in diff.entries {
                out += "{\"op\":\"\(e.op.rawValue)\",\"key\":\(Self.jsonObject(e.key)),\"before\":\(Self.jsonObject(e.before)),"
                    + "\"after\":\(Self.jsonObject(e.after)),\"changed\":\(Self.jsonArray(e.changed))}\n"
            }
        case .csv:
            var columns: [String] = []
            for e in diff.entries { for c in (e.before ?? []) + (e.after ?? []) where !columns.contains(c.name) { columns.append(c.name) } }
            out += (["op", "changed"] + diff.key.map { "key." + $0 } + columns.flatMap { ["before." + $0, "after." + $0] }).map(Self.csv).joined(separator: ",") + "\n"
            for e in diff.entries {
                var fields = [e.op.rawValue, e.changed.joined(separator: " ")].map(Self.csv) + e.key.map { Self.csv($0.value) }
                for n in columns { fields += [Self.csv(e.before?.first { $0.name == n }?.value), Self.csv(e.after?.first { $0.name == n }?.value)] }
                out += fields.joined(separator: ",") + "\n"
            }
        case .text:
            for e in diff.entries {
                let key = e.key.isEmpty ? "" : " " + e.key.map { "\($0.name)=\($0.value ?? "NULL")" }.joined(separator: ",")
                out += "\(e.op.rawValue.uppercased())\(key)" + (e.op == .update ? "  changed: \(e.changed.joined(separator: ", "))" : "") + "\n"
                if let b = e.before, e.op != .insert {
                    out += "  - " + b.filter { e.op != .update || e.changed.contains($0.name) }.map { "\($0.name)=\($0.value ?? "NULL")" }.joined(separator: "  ") + "\n"
                }
                if let a = e.after, e.op != .delete {
                    out += "  + " + a.filter { e.op != .update || e.changed.contains($0.name) }.map { "\($0.name)=\($0.value ?? "NULL")" }.joined(separator: "  ") + "\n"
                }
            }
        case .sql:
            func lit(_ v: String?) -> String { v.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL" }
            func ident(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
            func match(_ cols: [HistoryEntry.Column]) -> String {
                cols.map { c in c.value == nil ? "\(ident(c.name)) IS NULL" : "\(ident(c.name)) = \(lit(c.value))" }.joined(separator: " AND ")
            }
            out += "BEGIN;\n"
            // Deletes first, then updates, then inserts: a key or unique value freed is taken after.
            func rank(_ op: DiffEntry.Op) -> Int { op == .delete ? 0 : op == .update ? 1 : 2 }
            for e in diff.entries.sorted(by: { rank($0.op) < rank($1.op) }) {
                switch e.op {
                case .delete:
                    // Without a key, one row of those equal to it (ctid picks one).
                    let cond = match(e.key.isEmpty ? (e.before ?? []) : e.key)
                    out += e.key.isEmpty
                        ? "DELETE FROM \(qualifiedTable) WHERE ctid = (SELECT ctid FROM \(qualifiedTable) WHERE \(cond) LIMIT 1);\n"
                        : "DELETE FROM \(qualifiedTable) WHERE \(cond);\n"
                case .insert:
                    let a = e.after ?? []
                    out += "INSERT INTO \(qualifiedTable) (\(a.map { ident($0.name) }.joined(separator: ", "))) VALUES (\(a.map { lit($0.value) }.joined(separator: ", ")));\n"
                case .update:
                    let set = (e.after ?? []).filter { e.changed.contains($0.name) }
                    guard !set.isEmpty else { continue }
                    out += "UPDATE \(qualifiedTable) SET \(set.map { "\(ident($0.name)) = \(lit($0.value))" }.joined(separator: ", ")) WHERE \(match(e.key));\n"
                }
            }
            out += "COMMIT;\n"
        }
        return out
    }
}
