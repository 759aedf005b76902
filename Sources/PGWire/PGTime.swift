import Foundation

/// PostgreSQL's wire timestamps: microseconds since 2000-01-01 00:00:00 UTC.
public struct PGTimestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Seconds between 1970-01-01 and 2000-01-01.
    public static let epochOffsetSeconds: Int64 = 946_684_800

    /// Dates beyond what the type can hold are clamped (never a trap).
    public init(date: Date) {
        let micros = ((date.timeIntervalSince1970 - Double(Self.epochOffsetSeconds)) * 1_000_000).rounded()
        let limit = Double(Int64.max / 2)
        self.rawValue = micros.isFinite ? Int64(min(max(micros, -limit), limit)) : 0
    }

    public static func now() -> PGTimestamp { PGTimestamp(date: Date()) }

    public var unixMicroseconds: Int64 { rawValue + Self.epochOffsetSeconds * 1_000_000 }
    public var date: Date { Date(timeIntervalSince1970: Double(unixMicroseconds) / 1_000_000) }

    /// ISO 8601 in UTC with microseconds, e.g. `2026-11-25T18:06:08.123456Z`.
    public var description: String {
        let secs = unixMicroseconds >= 0 ? unixMicroseconds / 1_000_000 : (unixMicroseconds - 999_999) / 1_000_000
        let micros = unixMicroseconds - secs * 1_000_000
        var t = time_t(secs)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        let m = String(micros)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 6 - m.count) + m + "Z"
    }

    public static func < (a: PGTimestamp, b: PGTimestamp) -> Bool { a.rawValue < b.rawValue }
}
