import Foundation
import PGWire

/// `logbook status` on a terminal: the restorable window drawn as one line of time, so that
/// "can we restore to last Tuesday 14:00?" is answered at a glance.
///
///     restorable 2026-05-28 14:00:03Z .. 2026-11-25 20:19:41Z (180.3 days)
///     |B=========M==========!!B====================#####=========M======-|
///     B base copy  # uploaded  = local sealed  - open  M mark  ! gap   one column = 2.5 days
public enum Timeline {
    public static func render(_ s: ArchiveStatus, width: Int = 64) -> String {
        let times = s.segments.flatMap { [$0.first, $0.last] } + s.baseCopies.compactMap(\.snapshotMicros) + [s.restorableUntilMicros].compactMap { $0 }
        guard let lo = times.min(), let hi = times.max() else { return "timeline: nothing archived yet\n" }
        let span = max(hi - lo, 1)
        func column(_ t: Int64) -> Int { min(width - 1, max(0, Int((Double(t - lo) / Double(span)) * Double(width - 1)))) }
        // Lowest priority first; later writes win a shared column.
        var cells = [Character](repeating: " ", count: width)
        for seg in s.segments.sorted(by: { $0.first < $1.first }) {
            let mark: Character = !seg.sealed ? "-" : seg.uploaded == true ? "#" : "="
            for c in column(seg.first)...column(seg.last) { cells[c] = mark }
        }
        for m in s.marks { if let t = m.micros { cells[column(t)] = "M" } }
        for b in s.baseCopies { if let t = b.snapshotMicros { cells[column(t)] = "B" } }
        for g in s.gaps { if let t = g.fromMicros { cells[column(t)] = "!" } }

        // Every table is restorable from its first base copy; all of them from the latest of those.
        var firstBase: [String: Int64] = [:]
        for b in s.baseCopies { if let t = b.snapshotMicros { firstBase[b.table] = min(firstBase[b.table] ?? t, t) } }
        let from = firstBase.values.max()
        // To the watermark: quiet stretches after the last commit are restorable too.
        let to = s.restorableUntilMicros ?? s.lastCommitMicros
        var out = ""
        if let from, let to, to >= from {
            out += "restorable \(show(from)) .. \(show(to)) (\(duration(Double(to - from) / 1e6)))"
            if !s.gaps.isEmpty { out += " except \(s.gaps.count) gap\(s.gaps.count == 1 ? "" : "s")" }
            out += "\n"
        } else {
            out += "restorable: not yet (no base copy, or nothing archived after it)\n"
        }
        out += "\(show(lo))\(String(repeating: " ", count: max(1, width + 2 - 2 * 20)))\(show(hi))\n"
        out += "|" + String(cells) + "|\n"
        out += "B base copy  # uploaded  = local sealed  - open  M mark  ! gap   one column = \(duration(Double(span) / 1e6 / Double(width)))\n"
        for m in s.marks { out += "mark \(m.name): \(m.micros.map(show) ?? "-") (\(m.lsn))\n" }
        for g in s.gaps { out += "gap: \(g.fromLSN) .. \(g.toLSN) from \(g.fromMicros.map(show) ?? "-"): \(g.reason)\n" }
        return out
    }

    static func show(_ micros: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss'Z'"
        return f.string(from: PGTimestamp(rawValue: micros).date)
    }

    static func duration(_ seconds: Double) -> String {
        if seconds >= 2 * 86400 { return String(format: "%.1f days", seconds / 86400) }
        if seconds >= 2 * 3600 { return String(format: "%.1f h", seconds / 3600) }
        if seconds >= 120 { return String(format: "%.1f min", seconds / 60) }
        return String(format: "%.1f s", seconds)
    }
}
