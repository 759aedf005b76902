/// A small, fast JSON writer for envelopes (one per change: no Foundation encoder in the hot path).
struct JSONText {
    var bytes: [UInt8] = []

    init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func string(_ s: [UInt8]) {
        bytes.append(0x22)
        // Most values need no escaping: copy them in one piece.
        if !s.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            bytes.append(contentsOf: s)
            bytes.append(0x22)
            return
        }
        for b in s {
            switch b {
            case 0x22: bytes += [0x5C, 0x22]
            case 0x5C: bytes += [0x5C, 0x5C]
            case 0x0A: bytes += [0x5C, 0x6E]
            case 0x0D: bytes += [0x5C, 0x72]
            case 0x09: bytes += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }

    /// A decimal integer, without a String in between.
    mutating func int<T: BinaryInteger>(_ v: T) {
        if v == 0 { bytes.append(0x30); return }
        var m = v.magnitude
        if v < 0 { bytes.append(0x2D) }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 digits
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            while m > 0 {
                buf[23 - n] = UInt8(0x30 + Int(m % 10))
                m /= 10
                n += 1
            }
            bytes.append(contentsOf: buf[(24 - n)...])
        }
    }

    /// Digits of `v`, zero-padded to `width`.
    mutating func padded(_ v: Int, _ width: Int) {
        var d = [UInt8](repeating: 0x30, count: width)
        var m = v
        var i = width - 1
        while m > 0 && i >= 0 { d[i] = UInt8(0x30 + m % 10); m /= 10; i -= 1 }
        bytes += d
    }

    /// An LSN as PostgreSQL prints it (`16/B374D848`), in quotes.
    mutating func lsn(_ v: UInt64) {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        func part(_ x: UInt64) {
            if x == 0 { bytes.append(0x30); return }
            var shift = 28
            while (x >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
            while shift >= 0 { bytes.append(hex[Int((x >> UInt64(shift)) & 0xF)]); shift -= 4 }
        }
        bytes.append(0x22)
        part(v >> 32)
        bytes.append(0x2F)
        part(v & 0xFFFF_FFFF)
        bytes.append(0x22)
    }

    mutating func string(_ s: String) { string(Array(s.utf8)) }
    mutating func string(_ s: ArraySlice<UInt8>) { string(Array(s)) }
    mutating func key(_ k: String) { string(k); bytes.append(0x3A) }
}
