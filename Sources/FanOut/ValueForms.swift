import Foundation

/// Text forms of `money`, `hstore` and `point`, read as Debezium's PostgreSQL connector writes them.
/// Each returns nil for a form it does not know (the caller writes null and counts it).
enum ValueForms {
    /// `money`'s text in the server's `lc_monetary` (`$1,234.11`, `-$1,234.11`, `($1,234.11)`,
    /// `1.234,11 €`) as a plain number, `-1234.11`. The decimal separator is the last `.` or `,`
    /// followed by one to three digits and nothing but symbols; every other non-digit is a currency
    /// symbol, a thousands separator or a sign (`-` or parentheses: negative).
    static func money(_ t: [UInt8]) -> [UInt8]? {
        let isDigit = { (c: UInt8) in c >= 0x30 && c <= 0x39 }
        guard let lastDigit = t.lastIndex(where: isDigit) else { return nil }
        var decimalAt: Int?
        if let sep = t[..<lastDigit].lastIndex(where: { $0 == 0x2E || $0 == 0x2C }) {
            let fraction = t[(sep + 1)...lastDigit]
            // `1,234` (a thousands separator) is not a fraction; `1.234,11`, `1234.11` and `1,234.567` are.
            let otherBefore = t[..<sep].contains { ($0 == 0x2E || $0 == 0x2C) && $0 != t[sep] }
            if fraction.allSatisfy(isDigit), fraction.count <= 2 || (fraction.count == 3 && otherBefore) { decimalAt = sep }
        }
        let negative = t.contains(0x2D) || t.contains(0x28)
        var out: [UInt8] = negative ? [0x2D] : []
        for (i, c) in t.enumerated() {
            if isDigit(c) { out.append(c) } else if i == decimalAt { out.append(0x2E) }
        }
        return out.count > (negative ? 1 : 0) ? out : nil
    }

    /// `"a"=>"1", "b c"=>NULL` → [(key, value or nil)], in the order PostgreSQL prints them.
    static func hstore(_ t: [UInt8]) -> [([UInt8], [UInt8]?)]? {
        var out: [([UInt8], [UInt8]?)] = []
        var i = 0
        func skipSpaces() { while i < t.count, t[i] == 0x20 { i += 1 } }
        func quoted() -> [UInt8]? {
            guard i < t.count, t[i] == 0x22 else { return nil }
            i += 1
            var s: [UInt8] = []
            while i < t.count, t[i] != 0x22 {
                if t[i] == 0x5C { i += 1; guard i < t.count else { return nil } }
                s.append(t[i]); i += 1
            }
            guard i < t.count else { return nil }
            i += 1
            return s
        }
        skipSpaces()
        while i < t.count {
            guard let key = quoted() else { return nil }
            skipSpaces()
            guard i + 1 < t.count, t[i] == 0x3D, t[i + 1] == 0x3E else { return nil }
            i += 2
            skipSpaces()
            if t[i...].starts(with: "NULL".utf8) { out.append((key, nil)); i += 4 } else {
                guard let v = quoted() else { return nil }
                out.append((key, v))
            }
            skipSpaces()
            if i < t.count { guard t[i] == 0x2C else { return nil }; i += 1; skipSpaces() }
        }
        return out
    }

    /// A JSON object of string keys and optional string values.
    static func writeObject(_ pairs: [([UInt8], [UInt8]?)], into j: inout JSONText) {
        j.raw("{")
        for (n, p) in pairs.enumerated() {
            if n > 0 { j.raw(",") }
            j.string(p.0); j.raw(":")
            if let v = p.1 { j.string(v) } else { j.raw("null") }
        }
        j.raw("}")
    }

    /// `(1.5,-2)` → the coordinates, and their text (PostgreSQL's float8 digits: JSON numbers once finite).
    static func point(_ t: [UInt8]) -> (x: Double, y: Double, xText: [UInt8], yText: [UInt8])? {
        guard t.count >= 5, t.first == 0x28, t.last == 0x29 else { return nil }
        let parts = t.dropFirst().dropLast().split(separator: 0x2C, omittingEmptySubsequences: false)
        guard parts.count == 2, let x = Double(String(decoding: parts[0], as: UTF8.self)), let y = Double(String(decoding: parts[1], as: UTF8.self)),
              x.isFinite, y.isFinite else { return nil }
        return (x, y, Array(parts[0]), Array(parts[1]))
    }

    /// OGC WKB of a 2D point as Debezium's `Point.createValue` builds it: byte order 1 (little-endian),
    /// type 1, x, y.
    static func wkbPoint(x: Double, y: Double) -> [UInt8] {
        var out: [UInt8] = [1]
        withUnsafeBytes(of: UInt32(1).littleEndian) { out += $0 }
        withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 }
        withUnsafeBytes(of: y.bitPattern.littleEndian) { out += $0 }
        return out
    }
}
