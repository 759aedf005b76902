import Foundation
import PGWire

/// The moment to rebuild a table at.
public enum ReplayPoint: Sendable, CustomStringConvertible {
    /// Everything archived.
    case latest
    /// Transactions whose commit time is at or before this time.
    case time(PGTimestamp)
    /// Transactions whose commit record ends at or before this LSN.
    case lsn(LSN)
    /// Transactions that committed before the named mark (`logbook mark`).
    case mark(String)
    /// Transactions whose commit LSN is before this LSN: exactly what a snapshot exported at a
    /// slot's consistent point sees (used by the restore test).
    case committedBefore(LSN)

    public var description: String {
        switch self {
        case .latest: return "the latest archived state"
        case .time(let t): return t.description
        case .lsn(let l): return "LSN \(l)"
        case .mark(let m): return "mark '\(m)'"
        case .committedBefore(let l): return "the snapshot at \(l)"
        }
    }

    /// Parses an ISO 8601 date-time that names its zone (`Z`, `+02:00`, `-0500`). A bare
    /// date-time is refused: a restore point must not depend on the machine's time zone.
    public static func parseTime(_ s: String) throws -> PGTimestamp {
        let t = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "T")
        let hasZone = t.hasSuffix("Z") || t.hasSuffix("z") || t.range(of: #"[+-]\d{2}(:?\d{2})?$"#, options: .regularExpression) != nil
        guard t.contains("T") else {
            throw ReplayError(.badPoint, "'\(s)' is not a date-time", fix: "write e.g. 2026-11-25T14:00:00Z or 2026-11-25T09:00:00-05:00")
        }
        guard hasZone else {
            throw ReplayError(.badPoint, "'\(s)' has no time zone", fix: "add a zone, e.g. \(s)Z for UTC or \(s)-05:00")
        }
        // Split fractional seconds, which ISO8601DateFormatter handles only in one option set.
        var normalized = t.uppercased()
        if normalized.range(of: #"[+-]\d{4}$"#, options: .regularExpression) != nil {
            normalized.insert(":", at: normalized.index(normalized.endIndex, offsetBy: -2))
        } else if normalized.range(of: #"[+-]\d{2}$"#, options: .regularExpression) != nil {
            normalized += ":00"
        }
        var micros: Int64 = 0
        if let dot = normalized.firstIndex(of: ".") {
            var end = normalized.index(after: dot)
            while end < normalized.endIndex, normalized[end].isNumber { end = normalized.index(after: end) }
            let digits = String(normalized[normalized.index(after: dot)..<end])
            let padded = (digits + "000000").prefix(6)
            micros = Int64(padded) ?? 0
            normalized.removeSubrange(dot..<end)
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        guard let date = f.date(from: normalized) else {
            throw ReplayError(.badPoint, "'\(s)' is not an ISO 8601 date-time", fix: "write e.g. 2026-11-25T14:00:00Z")
        }
        let secs = Int64(date.timeIntervalSince1970.rounded())
        return PGTimestamp(rawValue: (secs - PGTimestamp.epochOffsetSeconds) * 1_000_000 + micros)
    }
}
