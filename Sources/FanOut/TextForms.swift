import Foundation

/// Conversions of PostgreSQL's text output (ISO DateStyle, `postgres` IntervalStyle, as the walsender
/// writes them) to the numbers and strings Debezium's PostgreSQL mapping puts in events. Each returns
/// nil for a form it does not know; the caller then writes the text as it is and says so.
enum TextForms {
    static func digits(_ t: [UInt8], _ from: Int, _ n: Int) -> Int? {
        guard from >= 0, from + n <= t.count else { return nil }
        var v = 0
        for i in from..<from + n {
            let c = t[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// Days from 1970-01-01 (proleptic Gregorian) for `y-m-d`.
    static func days(year y: Int, month m: Int, day d: Int) -> Int {
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// `y-m-d` for days from 1970-01-01.
    static func civil(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// `Y…-MM-DD` at the start (four or more year digits): days from 1970-01-01 and where it ends;
    /// `bc` for a date PostgreSQL wrote with ` BC` (year y BC is year 1 - y, proleptic Gregorian).
    static func datePart(_ t: [UInt8], bc: Bool) -> (days: Int, end: Int)? {
        var i = 0, y = 0
        while i < t.count, t[i] >= 0x30, t[i] <= 0x39 { y = y * 10 + Int(t[i] - 0x30); i += 1; if i > 7 { return nil } }
        guard i >= 4, i + 6 <= t.count, t[i] == 0x2D, let m = digits(t, i + 1, 2), t[i + 3] == 0x2D, let d = digits(t, i + 4, 2) else { return nil }
        return (days(year: bc ? 1 - y : y, month: m, day: d), i + 6)
    }

    /// The text without a trailing ` BC`, and whether it had one.
    static func era(_ t: [UInt8]) -> ([UInt8], Bool) {
        t.count > 3 && t.suffix(3).elementsEqual(" BC".utf8) ? (Array(t.dropLast(3)), true) : (t, false)
    }

    /// Days from 1970-01-01 for `YYYY-MM-DD` (`21016-11-04`, `4713-12-31 BC` too).
    static func days(_ t: [UInt8]) -> Int? {
        let (body, bc) = era(t)
        guard let d = datePart(body, bc: bc), d.end == body.count else { return nil }
        return d.days
    }

    /// µs since midnight for `HH:MM:SS[.ffffff]` at `from`, and where it ends.
    static func timeOfDay(_ t: [UInt8], at from: Int) -> (micros: Int64, end: Int)? {
        guard let h = digits(t, from, 2), from + 2 < t.count, t[from + 2] == 0x3A, let mi = digits(t, from + 3, 2),
              from + 5 < t.count, t[from + 5] == 0x3A, let s = digits(t, from + 6, 2) else { return nil }
        var i = from + 8
        var frac: Int64 = 0
        if i < t.count, t[i] == 0x2E {
            i += 1
            var n = 0
            while i < t.count, let dgt = digits(t, i, 1) {
                if n < 6 { frac = frac * 10 + Int64(dgt); n += 1 }
                i += 1
            }
            while n < 6 { frac *= 10; n += 1 }
        }
        return ((Int64(h) * 3600 + Int64(mi) * 60 + Int64(s)) * 1_000_000 + frac, i)
    }

    /// µs since 1970 for `YYYY-MM-DD HH:MM:SS[.ffffff][ BC]` (no zone); `±infinity` as the largest / smallest value.
    static func micros(_ t: [UInt8]) -> Int64? {
        if t.elementsEqual("infinity".utf8) { return Int64.max }
        if t.elementsEqual("-infinity".utf8) { return Int64.min }
        let (body, bc) = era(t)
        guard let d = datePart(body, bc: bc), d.end < body.count, body[d.end] == 0x20, let tod = timeOfDay(body, at: d.end + 1), tod.end == body.count else { return nil }
        return Int64(d.days) * 86_400_000_000 + tod.micros
    }

    /// A zone offset `+HH[:MM[:SS]]` at `from` (to the end) in seconds.
    static func offset(_ t: [UInt8], at from: Int) -> Int? {
        guard from < t.count, t[from] == 0x2B || t[from] == 0x2D, let h = digits(t, from + 1, 2) else { return nil }
        var secs = h * 3600
        var i = from + 3
        if i < t.count { guard t[i] == 0x3A, let m = digits(t, i + 1, 2) else { return nil }; secs += m * 60; i += 3 }
        if i < t.count { guard t[i] == 0x3A, let s = digits(t, i + 1, 2) else { return nil }; secs += s; i += 3 }
        guard i == t.count else { return nil }
        return t[from] == 0x2D ? -secs : secs
    }

    /// Writes µs of a day as `HH:MM:SS[.f…]`: `fraction` digits exactly (1…9), or with 0 as Java's ISO
    /// formatter does (the fraction without trailing zeros, none when zero).
    static func clock(_ micros: Int64, fraction: Int = 0, into out: inout [UInt8]) {
        let secs = micros / 1_000_000, frac = micros % 1_000_000
        func two(_ v: Int64) { out.append(UInt8(0x30 + v / 10)); out.append(UInt8(0x30 + v % 10)) }
        two(secs / 3600); out.append(0x3A); two(secs / 60 % 60); out.append(0x3A); two(secs % 60)
        if frac > 0 || fraction > 0 {
            var f = [UInt8](repeating: 0x30, count: 6)
            var x = frac, i = 5
            while x > 0 { f[i] = UInt8(0x30 + x % 10); x /= 10; i -= 1 }
            if fraction > 0 {
                f += [UInt8](repeating: 0x30, count: max(0, fraction - 6))
                f = Array(f.prefix(fraction))
            } else {
                while f.last == 0x30 { f.removeLast() }
            }
            out.append(0x2E); out += f
        }
    }

    /// `2026-11-25 13:31:05.979+05:30` → `2026-11-25T08:01:05.979000Z` (io.debezium.time.ZonedTimestamp: ISO 8601
    /// in UTC, the fraction padded to `fraction` digits); years after 9999 with `+`, before year 1 negative,
    /// as Java's ISO formatter writes them.
    static func zonedTimestamp(_ t: [UInt8], fraction: Int = 0) -> [UInt8]? {
        if t.elementsEqual("infinity".utf8) || t.elementsEqual("-infinity".utf8) { return t }
        let (body, bc) = era(t)
        guard let d = datePart(body, bc: bc), d.end < body.count, body[d.end] == 0x20, let tod = timeOfDay(body, at: d.end + 1),
              let off = offset(body, at: tod.end) else { return nil }
        var us = Int64(d.days) * 86_400_000_000 + tod.micros - Int64(off) * 1_000_000
        var day = us / 86_400_000_000
        us -= day * 86_400_000_000
        if us < 0 { us += 86_400_000_000; day -= 1 }
        let (y, m, dd) = civil(Int(day))
        var out: [UInt8] = []
        out.reserveCapacity(32)
        func digits(_ v: Int, _ w: Int) {
            var d = [UInt8](repeating: 0x30, count: w)
            var x = v, i = w - 1
            while x > 0 && i >= 0 { d[i] = UInt8(0x30 + x % 10); x /= 10; i -= 1 }
            out += d
        }
        if y > 9999 { out.append(0x2B); out += Array(String(y).utf8) } else if y < 0 {
            out.append(0x2D); digits(-y, max(4, String(-y).count))
        } else { digits(y, 4) }
        out.append(0x2D); digits(m, 2); out.append(0x2D); digits(dd, 2); out.append(0x54)
        clock(us, fraction: fraction, into: &out)
        out.append(0x5A)
        return out
    }

    /// `13:31:05.5+05:30` → `08:01:05.5Z` (io.debezium.time.ZonedTime).
    static func zonedTime(_ t: [UInt8]) -> [UInt8]? {
        guard let tod = timeOfDay(t, at: 0), let off = offset(t, at: tod.end) else { return nil }
        let day: Int64 = 86_400_000_000
        let us = ((tod.micros - Int64(off) * 1_000_000) % day + day) % day
        var out: [UInt8] = []
        clock(us, into: &out)
        out.append(0x5A)
        return out
    }

    /// µs for a `postgres`-style interval (`1 year 2 mons -3 days 04:05:06.5`, `-00:00:01`), months as
    /// 365.25 / 12 days, as io.debezium.time.MicroDuration.
    static func intervalMicros(_ t: [UInt8]) -> Int64? {
        let words = t.split(separator: 0x20).map(Array.init)
        var months = 0.0, days = 0.0, micros = 0.0
        var i = 0
        while i < words.count {
            let w = words[i]
            if w.contains(0x3A) {
                var body = w
                var sign = 1.0
                if body.first == 0x2D { sign = -1; body.removeFirst() } else if body.first == 0x2B { body.removeFirst() }
                let parts = body.split(separator: 0x3A, omittingEmptySubsequences: false)
                guard parts.count == 3, let h = Double(String(decoding: parts[0], as: UTF8.self)), let m = Double(String(decoding: parts[1], as: UTF8.self)),
                      let s = Double(String(decoding: parts[2], as: UTF8.self)) else { return nil }
                micros += sign * ((h * 3600 + m * 60) * 1e6 + (s * 1e6).rounded())
                i += 1
                continue
            }
            guard i + 1 < words.count, let n = Double(String(decoding: w, as: UTF8.self)) else { return nil }
            switch String(decoding: words[i + 1], as: UTF8.self) {
            case "year", "years": months += n * 12
            case "mon", "mons": months += n
            case "day", "days": days += n
            default: return nil
            }
            i += 2
        }
        let total = (months * 365.25 / 12 + days) * 86_400_000_000 + micros
        guard total.isFinite, abs(total) < 9.2e18 else { return nil }
        return Int64(total.rounded())
    }

    /// A `postgres`-style interval as Debezium's `io.debezium.time.Interval` writes it from the JDBC
    /// driver's PGInterval: `P<years>Y<months>M<days>DT<hours>H<minutes>M<seconds>S`, seconds without
    /// trailing zeros (`1 year 2 mons 3 days 04:05:06.78` → `P1Y2M3DT4H5M6.78S`).
    static func intervalISO(_ t: [UInt8]) -> [UInt8]? {
        let words = t.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
        var years = 0, months = 0, days = 0, hours = 0, minutes = 0
        var seconds = "0"
        var i = 0
        while i < words.count {
            let w = words[i]
            if w.contains(":") {
                var body = Substring(w)
                var sign = ""
                if body.hasPrefix("-") { sign = "-"; body = body.dropFirst() } else if body.hasPrefix("+") { body = body.dropFirst() }
                let parts = body.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 3, let h = Int(parts[0]), let m = Int(parts[1]) else { return nil }
                let sparts = parts[2].split(separator: ".", omittingEmptySubsequences: false)
                guard let whole = Int(sparts[0]), sparts.count <= 2 else { return nil }
                var frac = sparts.count == 2 ? String(sparts[1]) : ""
                while frac.hasSuffix("0") { frac.removeLast() }
                hours = sign == "-" ? -h : h
                minutes = sign == "-" ? -m : m
                let s = frac.isEmpty ? "\(whole)" : "\(whole).\(frac)"
                seconds = sign == "-" && s != "0" ? "-" + s : s
                i += 1
                continue
            }
            guard i + 1 < words.count, let n = Int(w) else { return nil }
            switch words[i + 1] {
            case "year", "years": years = n
            case "mon", "mons": months = n
            case "day", "days": days = n
            default: return nil
            }
            i += 2
        }
        return Array("P\(years)Y\(months)M\(days)DT\(hours)H\(minutes)M\(seconds)S".utf8)
    }

    /// `\x0a0b` → bytes.
    static func hexBytes(_ t: [UInt8]) -> [UInt8]? {
        guard t.count >= 2, t.count % 2 == 0, t[0] == 0x5C, t[1] == 0x78 else { return nil }
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(t.count / 2)
        var i = 2
        while i + 1 < t.count {
            guard let hi = nib(t[i]), let lo = nib(t[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// `0101…` → bytes, bit k of the value (counted from the right) at bit k % 8 of byte k / 8, as
    /// Java's `BitSet.toByteArray` (io.debezium.data.Bits): up to the highest set bit, so all zeros are no bytes.
    static func bits(_ t: [UInt8]) -> [UInt8]? {
        guard t.allSatisfy({ $0 == 0x30 || $0 == 0x31 }) else { return nil }
        var out = [UInt8](repeating: 0, count: (t.count + 7) / 8)
        for (k, c) in t.reversed().enumerated() where c == 0x31 { out[k / 8] |= 1 << (k % 8) }
        while out.last == 0 { out.removeLast() }
        return out
    }

    /// A numeric's text (`-12.50`) as (unscaled two's-complement big-endian bytes, scale), as Kafka
    /// Connect's Decimal; `scale` forces that many decimals (a `numeric(p,s)` column), rounding half up.
    static func decimal(_ t: [UInt8], scale wanted: Int?) -> (bytes: [UInt8], scale: Int)? {
        var s = t[...]
        var negative = false
        if s.first == 0x2D { negative = true; s = s.dropFirst() } else if s.first == 0x2B { s = s.dropFirst() }
        guard !s.isEmpty, s.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }) else { return nil } // NaN, Infinity, exponents
        let parts = s.split(separator: 0x2E, omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        var digitsOut = Array(parts[0])
        var frac = parts.count == 2 ? Array(parts[1]) : []
        let scale = wanted ?? frac.count
        var roundUp = false
        if frac.count > scale { roundUp = frac[scale] >= 0x35; frac = Array(frac[0..<scale]) }
        frac += [UInt8](repeating: 0x30, count: scale - frac.count)
        digitsOut += frac
        // Decimal digits → magnitude in base 256 (big-endian).
        var mag: [UInt8] = [0]
        func mulAdd(_ m: Int, _ a: Int) {
            var carry = a
            for i in stride(from: mag.count - 1, through: 0, by: -1) {
                let v = Int(mag[i]) * m + carry
                mag[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
            while carry > 0 { mag.insert(UInt8(carry & 0xFF), at: 0); carry >>= 8 }
        }
        for c in digitsOut { mulAdd(10, Int(c - 0x30)) }
        if roundUp { mulAdd(1, 1) }
        while mag.count > 1, mag[0] == 0 { mag.removeFirst() }
        if mag[0] & 0x80 != 0 { mag.insert(0, at: 0) }
        if negative, mag.contains(where: { $0 != 0 }) {
            // Two's complement: invert and add one.
            for i in mag.indices { mag[i] = ~mag[i] }
            var i = mag.count - 1
            while i >= 0 { mag[i] &+= 1; if mag[i] != 0 { break }; i -= 1 }
            if mag[0] & 0x80 == 0 { mag.insert(0xFF, at: 0) }
            while mag.count > 1, mag[0] == 0xFF, mag[1] & 0x80 != 0 { mag.removeFirst() }
        }
        return (mag, scale)
    }

    /// The elements of a one-dimensional array literal (`{a,"b c",NULL}`): nil elements are NULL.
    /// Nested (multi-dimensional) arrays and arrays with bounds (`[0:1]={…}`) are not read.
    static func arrayElements(_ t: [UInt8]) -> [[UInt8]?]? {
        guard t.count >= 2, t.first == 0x7B, t.last == 0x7D else { return nil }
        var out: [[UInt8]?] = []
        var i = 1
        let end = t.count - 1
        if i == end { return [] }
        while i <= end {
            var element: [UInt8] = []
            var quoted = false
            if t[i] == 0x22 {
                quoted = true
                i += 1
                while i < end, t[i] != 0x22 {
                    if t[i] == 0x5C { i += 1; guard i < end else { return nil } }
                    element.append(t[i])
                    i += 1
                }
                guard i < end else { return nil }
                i += 1
            } else {
                guard t[i] != 0x7B else { return nil }
                while i < end, t[i] != 0x2C { element.append(t[i]); i += 1 }
            }
            out.append(!quoted && element.elementsEqual("NULL".utf8) ? nil : element)
            guard i == end || t[i] == 0x2C else { return nil }
            i += 1
        }
        return out
    }
}
