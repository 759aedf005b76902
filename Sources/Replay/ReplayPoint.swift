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
        if let zoned = try parseZoneName(s) { return zoned }
        let t = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "T")
        let hasZone = t.hasSuffix("Z") || t.hasSuffix("z") || t.range(of: #"[+-]\d{2}(:?\d{2})?$"#, options: .regularExpression) != nil
        guard t.contains("T") else {
            throw ReplayError(.badPoint, "'\(s)' is not a date-time", fix: "write e.g. 2026-11-25T14:00:00Z or 2026-11-25T09:00:00-05:00")
        }
        guard hasZone else {
            let bare = s.trimmingCharacters(in: .whitespaces)
            throw ReplayError(.badPoint, "'\(s)' has no time zone", fix: "add a zone, e.g. \(bare)Z for UTC, \(bare)-05:00, or '\(bare) America/Chicago'")
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

    /// `2026-12-07T18:36:00 America/Chicago` (or `… UTC`): a local date-time and an IANA zone name, as
    /// PostgreSQL's `timestamptz` input takes them. Nil when the text ends in no zone name.
    static func parseZoneName(_ s: String) throws -> PGTimestamp? {
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.lastIndex(of: " ") else { return nil }
        let name = String(trimmed[trimmed.index(after: space)...])
        let local = String(trimmed[..<space]).trimmingCharacters(in: .whitespaces)
        guard name.first?.isLetter == true, name.contains("/") || name == "UTC" || name == "GMT",
              local.range(of: #"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"#, options: .regularExpression) != nil else { return nil }
        guard let zone = TimeZone(identifier: name) else {
            throw ReplayError(.badPoint, "'\(name)' is not a time zone this machine knows",
                              fix: "use an IANA zone name such as America/Chicago (the tz database is in /usr/share/zoneinfo), or an offset such as \(local)-06:00")
        }
        let digits = local.split(whereSeparator: { !$0.isNumber && $0 != "." }).map(String.init)
        guard digits.count >= 5, let y = Int(digits[0]), let mo = Int(digits[1]), let d = Int(digits[2]), let h = Int(digits[3]), let mi = Int(digits[4]) else {
            throw ReplayError(.badPoint, "'\(s)' is not a date-time", fix: "write e.g. 2026-12-07T18:36:00 America/Chicago")
        }
        var sec = 0, micros: Int64 = 0
        if digits.count > 5 {
            let parts = digits[5].split(separator: ".", omittingEmptySubsequences: false)
            sec = Int(parts[0]) ?? 0
            if parts.count > 1 { micros = Int64((String(parts[1]) + "000000").prefix(6)) ?? 0 }
        }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        let comps = DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: sec)
        // A day that does not exist (February 30) would roll over: refused. A wall-clock time a
        // daylight-saving change skips is taken as the calendar takes it, as PostgreSQL does.
        guard (1...12).contains(mo), h < 24, mi < 60, sec < 60, let date = cal.date(from: comps),
              cal.dateComponents([.year, .month, .day], from: date) == DateComponents(year: y, month: mo, day: d) else {
            throw ReplayError(.badPoint, "'\(s)' is not a valid date-time in \(name)", fix: "check the date (e.g. 2026-12-07T18:36:00 \(name))")
        }
        let secs = Int64(date.timeIntervalSince1970.rounded())
        return PGTimestamp(rawValue: (secs - PGTimestamp.epochOffsetSeconds) * 1_000_000 + micros)
    }
}
