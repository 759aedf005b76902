import Archive
import Foundation

/// COPY text lines turned into `COPY … (FORMAT binary)` tuples, so that the destination server
/// does not parse each value's text again (`timestamptz_in`, `numeric_in` and `int4in` were a
/// fifth of its time loading a base copy).
///
/// Only for the types whose text form, as the server's output functions write it, is read here
/// exactly as the type's input function would read it: integers, `boolean`, `uuid`, `date`,
/// `timestamp`, `timestamptz` (ISO, with its offset), `numeric`, and the types whose binary form
/// is their text (`text`, `varchar`, `char`, enums, `json`, `jsonb`). The receive functions apply
/// the same checks as the input functions (the column's length limit, `numeric`'s scale, an
/// enum's labels, the text's encoding). Anything else — a NaN, an infinity, a year BC, another
/// `DateStyle`, an escape the server's COPY TO does not write — is not guessed at: `encode`
/// returns false and those rows go as text.
struct BinaryCopyEncoder {
    enum Kind: Equatable {
        case int2, int4, int8, bool, uuid, date, timestamp, timestamptz, numeric
        /// The value's bytes as they are (text, varchar, char, enums, json).
        case bytes
        /// Version 1 and the text.
        case jsonb
    }
    let kinds: [Kind]

    /// The signature, flags and header extension a binary COPY starts with.
    static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    /// The field count -1 that ends a binary COPY.
    static let trailer: [UInt8] = [0xFF, 0xFF]

    /// An encoder for rows of `columns` (names of `def`'s columns), or nil when one of their types is not read here.
    init?(columns: [String], of def: TableDefinition) {
        var kinds: [Kind] = []
        for name in columns {
            guard let c = def.columns.first(where: { $0.name == name }), let k = Self.kind(of: c, in: def) else { return nil }
            kinds.append(k)
        }
        guard !kinds.isEmpty else { return nil }
        self.kinds = kinds
    }

    /// Built-in types by their fixed OIDs; an enum of the table's by its OID on the source (recorded
    /// with the enum; a name could also be a domain's or another type's visible under it).
    static func kind(of c: TableDefinition.Column, in def: TableDefinition) -> Kind? {
        switch c.typeOID {
        case 21: return .int2
        case 23: return .int4
        case 20: return .int8
        case 16: return .bool
        case 2950: return .uuid
        case 1082: return .date
        case 1114: return .timestamp
        case 1184: return .timestamptz
        case 1700: return .numeric
        case 25, 1043, 1042, 114: return .bytes
        case 3802: return .jsonb
        case 0..<16384: return nil // other built-in types
        default:
            return def.enums.contains { $0.typeOID == c.typeOID } ? .bytes : nil
        }
    }

    /// Appends one binary tuple per line of `lines` (complete COPY text lines) to `out`. False,
    /// with `out` as it was, when a value is not one read here exactly.
    func encode(_ lines: UnsafeRawBufferPointer, into out: BinaryCopyBuffer) -> Bool {
        let start = out.count
        let n = lines.count
        guard n > 0, let p = lines.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        var i = 0
        while i < n {
            guard let hit = memchr(p + i, Int32(CopyText.newline), n - i) else { out.count = start; return false }
            let end = p.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            // At most 24 bytes a field besides twice its text (a number's base-10000 digits).
            out.reserve(2 + 24 * kinds.count + 2 * (end - i))
            guard encodeLine(UnsafeBufferPointer(start: p + i, count: end - i), into: out) else { out.count = start; return false }
            i = end + 1
        }
        return true
    }

    /// One line (without its LF).
    @inline(__always)
    private func encodeLine(_ p: UnsafeBufferPointer<UInt8>, into out: BinaryCopyBuffer) -> Bool {
        let n = p.count
        let o = out.base
        var k = out.count
        Self.put16(Int16(kinds.count), o, &k)
        var i = 0, f = 0
        while true {
            var e = i
            while e < n, p[e] != CopyText.tab { e += 1 }
            guard f < kinds.count, encodeField(UnsafeBufferPointer(rebasing: p[i..<e]), kinds[f], o, &k) else { return false }
            f += 1
            if e == n { break }
            i = e + 1
        }
        guard f == kinds.count else { return false }
        out.count = k
        return true
    }

    @inline(__always)
    private func encodeField(_ v: UnsafeBufferPointer<UInt8>, _ kind: Kind, _ o: UnsafeMutablePointer<UInt8>, _ k: inout Int) -> Bool {
        if v.count == 2, v[0] == CopyText.backslash, v[1] == UInt8(ascii: "N") {
            Self.put32(-1, o, &k)
            return true
        }
        switch kind {
        case .bytes, .jsonb:
            let at = k
            k += 4
            if kind == .jsonb { o[k] = 1; k += 1 }
            guard Self.unescape(v, o, &k) else { return false }
            var l = at
            Self.put32(Int32(k - at - 4), o, &l)
        case .int2:
            guard let x = Self.integer(v), x >= Int64(Int16.min), x <= Int64(Int16.max) else { return false }
            Self.put32(2, o, &k); Self.put16(Int16(x), o, &k)
        case .int4:
            guard let x = Self.integer(v), x >= Int64(Int32.min), x <= Int64(Int32.max) else { return false }
            Self.put32(4, o, &k); Self.put32(Int32(x), o, &k)
        case .int8:
            guard let x = Self.integer(v) else { return false }
            Self.put32(8, o, &k); Self.put64(x, o, &k)
        case .bool:
            guard v.count == 1, v[0] == UInt8(ascii: "t") || v[0] == UInt8(ascii: "f") else { return false }
            Self.put32(1, o, &k); o[k] = v[0] == UInt8(ascii: "t") ? 1 : 0; k += 1
        case .uuid:
            guard v.count == 36 else { return false }
            Self.put32(16, o, &k)
            var i = 0
            while i < 36 {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    guard v[i] == UInt8(ascii: "-") else { return false }
                    i += 1
                    continue
                }
                guard let hi = Self.hex(v[i]), let lo = Self.hex(v[i + 1]) else { return false }
                o[k] = hi << 4 | lo; k += 1
                i += 2
            }
        case .date:
            guard v.count == 10, let d = Self.days(v, 0) else { return false }
            Self.put32(4, o, &k); Self.put32(Int32(d), o, &k)
        case .timestamp, .timestamptz:
            guard let t = Self.timestamp(v, zoned: kind == .timestamptz) else { return false }
            Self.put32(8, o, &k); Self.put64(t, o, &k)
        case .numeric:
            return Self.numeric(v, o, &k)
        }
        return true
    }

    // MARK: Values

    /// `-?[0-9]+` within Int64.
    static func integer(_ v: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        let negative = v.count > 0 && v[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        guard i < v.count, v.count - i <= 19 else { return nil }
        // Accumulated below zero, so that Int64.min is reachable.
        var x: Int64 = 0
        while i < v.count {
            let d = v[i] &- 0x30
            guard d < 10 else { return nil }
            let (m, o1) = x.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            x = s
            i += 1
        }
        if negative { return x }
        return x == Int64.min ? nil : -x
    }

    /// `n` digits at `at`.
    @inline(__always)
    static func digits(_ v: UnsafeBufferPointer<UInt8>, _ at: Int, _ n: Int) -> Int? {
        guard at + n <= v.count else { return nil }
        var x = 0
        for k in at..<(at + n) {
            let d = v[k] &- 0x30
            guard d < 10 else { return nil }
            x = x * 10 + Int(d)
        }
        return x
    }

    /// `YYYY-MM-DD` at `at` (a year of four digits, from 1): days since 2000-01-01.
    static func days(_ v: UnsafeBufferPointer<UInt8>, _ at: Int) -> Int? {
        guard at + 10 <= v.count, v[at + 4] == UInt8(ascii: "-"), v[at + 7] == UInt8(ascii: "-"),
              let y = digits(v, at, 4), let m = digits(v, at + 5, 2), let d = digits(v, at + 8, 2),
              y >= 1, m >= 1, m <= 12, d >= 1 else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        // (No array of month lengths: this runs for every date and timestamp a replay loads.)
        let length = m == 2 ? (leap ? 29 : 28) : (m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31)
        guard d <= length else { return nil }
        return julianDay(y, m, d) - 2_451_545
    }

    /// PostgreSQL's `date2j`.
    static func julianDay(_ year: Int, _ month: Int, _ day: Int) -> Int {
        var y = year, m = month
        if m > 2 { m += 1; y += 4800 } else { m += 13; y += 4799 }
        let century = y / 100
        var julian = y * 365 - 32167
        julian += y / 4 - century + century / 4
        julian += 7834 * m / 256 + day
        return julian
    }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff]`, and for `timestamptz` its offset `±HH[:MM[:SS]]`:
    /// microseconds since 2000-01-01 00:00 (UTC for `timestamptz`).
    static func timestamp(_ v: UnsafeBufferPointer<UInt8>, zoned: Bool) -> Int64? {
        guard v.count >= 19, let day = days(v, 0), v[10] == UInt8(ascii: " "), v[13] == UInt8(ascii: ":"), v[16] == UInt8(ascii: ":"),
              let h = digits(v, 11, 2), let mi = digits(v, 14, 2), let s = digits(v, 17, 2), h < 24, mi < 60, s < 60 else { return nil }
        var i = 19
        var micros = 0
        if i < v.count, v[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 100_000, count = 0
            while i < v.count, v[i] &- 0x30 < 10 {
                count += 1
                guard count <= 6 else { return nil }
                micros += Int(v[i] &- 0x30) * scale
                scale /= 10
                i += 1
            }
            guard count > 0 else { return nil }
        }
        var seconds = ((day * 24 + h) * 60 + mi) * 60 + s
        if zoned {
            guard i < v.count, v[i] == UInt8(ascii: "+") || v[i] == UInt8(ascii: "-") else { return nil }
            let sign = v[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = digits(v, i + 1, 2), oh <= 15 else { return nil }
            i += 3
            var offset = oh * 3600
            if i < v.count {
                guard v[i] == UInt8(ascii: ":"), let om = digits(v, i + 1, 2), om < 60 else { return nil }
                offset += om * 60
                i += 3
                if i < v.count {
                    guard v[i] == UInt8(ascii: ":"), let os = digits(v, i + 1, 2), os < 60 else { return nil }
                    offset += os
                    i += 3
                }
            }
            seconds -= sign * offset
        }
        guard i == v.count else { return nil }
        return Int64(seconds) * 1_000_000 + Int64(micros)
    }

    @inline(__always)
    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x61...0x66: return b - 0x61 + 10
        case 0x41...0x46: return b - 0x41 + 10
        default: return nil
        }
    }

    /// `-?[0-9]+(\.[0-9]+)?` as `numeric_send` writes it: digits of base 10000 around the point,
    /// the weight of the first, the sign and the display scale (the digits after the point).
    static func numeric(_ v: UnsafeBufferPointer<UInt8>, _ o: UnsafeMutablePointer<UInt8>, _ k: inout Int) -> Bool {
        var i = 0
        let negative = v.count > 0 && v[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let intStart = i
        while i < v.count, v[i] &- 0x30 < 10 { i += 1 }
        let intEnd = i
        guard intEnd > intStart else { return false }
        var fracStart = i, fracEnd = i
        if i < v.count {
            guard v[i] == UInt8(ascii: ".") else { return false }
            i += 1
            fracStart = i
            while i < v.count, v[i] &- 0x30 < 10 { i += 1 }
            fracEnd = i
            guard fracEnd > fracStart, i == v.count else { return false }
        }
        let dscale = fracEnd - fracStart
        var firstSignificant = intStart
        while firstSignificant < intEnd, v[firstSignificant] == UInt8(ascii: "0") { firstSignificant += 1 }
        let intDigits = intEnd - firstSignificant
        guard intDigits <= 4000, dscale <= 4000 else { return false }
        // Base-10000 digits: the integer part left-padded, the fraction right-padded, to groups of
        // four; leading zero groups (a value below one) lower the weight, trailing ones are dropped.
        let header = k
        k += 12
        var weight = (intDigits + 3) / 4 - 1
        var ndigits = 0, kept = 0
        var acc = 0, count = (4 - intDigits % 4) % 4
        @inline(__always) func group() {
            if ndigits == 0 && acc == 0 { weight -= 1 } else {
                put16(Int16(acc), o, &k)
                ndigits += 1
                if acc != 0 { kept = ndigits }
            }
            acc = 0; count = 0
        }
        for j in firstSignificant..<intEnd {
            acc = acc * 10 + Int(v[j] &- 0x30); count += 1
            if count == 4 { group() }
        }
        for j in fracStart..<fracEnd {
            acc = acc * 10 + Int(v[j] &- 0x30); count += 1
            if count == 4 { group() }
        }
        if count > 0 {
            while count < 4 { acc *= 10; count += 1 }
            group()
        }
        k = header + 12 + 2 * kept
        var h = header
        put32(Int32(8 + 2 * kept), o, &h)
        put16(Int16(kept), o, &h)
        put16(kept == 0 ? 0 : Int16(weight), o, &h)
        put16(Int16(bitPattern: negative && kept > 0 ? 0x4000 : 0), o, &h)
        put16(Int16(dscale), o, &h)
        return true
    }

    /// The bytes of a COPY text field: the escapes the server's COPY TO writes (`\b \f \n \r \t \v \\`)
    /// undone; any other backslash, or a bare CR, is left to the server's own reading.
    @inline(__always)
    static func unescape(_ v: UnsafeBufferPointer<UInt8>, _ o: UnsafeMutablePointer<UInt8>, _ k: inout Int) -> Bool {
        var i = 0
        while i < v.count {
            let b = v[i]
            if b == 0x0D { return false }
            guard b == CopyText.backslash else { o[k] = b; k += 1; i += 1; continue }
            guard i + 1 < v.count else { return false }
            switch v[i + 1] {
            case UInt8(ascii: "b"): o[k] = 0x08
            case UInt8(ascii: "f"): o[k] = 0x0C
            case UInt8(ascii: "n"): o[k] = 0x0A
            case UInt8(ascii: "r"): o[k] = 0x0D
            case UInt8(ascii: "t"): o[k] = 0x09
            case UInt8(ascii: "v"): o[k] = 0x0B
            case CopyText.backslash: o[k] = CopyText.backslash
            default: return false
            }
            k += 1
            i += 2
        }
        return true
    }

    // MARK: Network byte order

    @inline(__always) static func put16(_ x: Int16, _ o: UnsafeMutablePointer<UInt8>, _ k: inout Int) {
        UnsafeMutableRawPointer(o + k).storeBytes(of: UInt16(bitPattern: x).bigEndian, as: UInt16.self); k += 2
    }
    @inline(__always) static func put32(_ x: Int32, _ o: UnsafeMutablePointer<UInt8>, _ k: inout Int) {
        UnsafeMutableRawPointer(o + k).storeBytes(of: UInt32(bitPattern: x).bigEndian, as: UInt32.self); k += 4
    }
    @inline(__always) static func put64(_ x: Int64, _ o: UnsafeMutablePointer<UInt8>, _ k: inout Int) {
        UnsafeMutableRawPointer(o + k).storeBytes(of: UInt64(bitPattern: x).bigEndian, as: UInt64.self); k += 8
    }
}

/// A growing buffer of binary COPY bytes, written in place by `BinaryCopyEncoder`; one per load lane.
final class BinaryCopyBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int = 1 << 21) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }
    deinit { base.deallocate() }

    /// Room for `extra` more bytes.
    func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        let grown = max(capacity * 2, count + extra)
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        b.update(from: base, count: count)
        base.deallocate()
        base = b
        capacity = grown
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
