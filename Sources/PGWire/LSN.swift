/// A WAL position, printed and parsed the way PostgreSQL does (`16/B374D848`).
public struct LSN: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }

    public static let zero = LSN(0)

    /// Parses `X/Y` (both hexadecimal, as `pg_lsn` prints them). Returns nil for anything else.
    public init?(string: String) {
        let parts = string.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              parts[0].count <= 8, parts[1].count <= 8,
              let hi = UInt64(parts[0], radix: 16), let lo = UInt64(parts[1], radix: 16) else { return nil }
        self.rawValue = hi << 32 | lo
    }

    public var description: String {
        String(rawValue >> 32, radix: 16, uppercase: true) + "/" + String(rawValue & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    /// Sixteen hexadecimal digits: sorts as text in WAL order (used in file names).
    public var fileName: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public init?(fileName: some StringProtocol) {
        guard fileName.count == 16, let v = UInt64(fileName, radix: 16) else { return nil }
        self.rawValue = v
    }

    public static func < (a: LSN, b: LSN) -> Bool { a.rawValue < b.rawValue }
}
