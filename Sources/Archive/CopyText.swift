/// The text format of `COPY … TO STDOUT`, which base copies store: fields separated by TAB, rows by LF, NULL as `\N`,
/// and backslash escapes for backslash, TAB, LF and CR inside values.
public enum CopyText {
    public static let tab: UInt8 = 0x09, newline: UInt8 = 0x0A, backslash: UInt8 = 0x5C
    public static let nullMarker: [UInt8] = [0x5C, 0x4E] // \N

    /// Escapes a value as pgoutput sends it (the type's text output) for a COPY text field.
    public static func escape(_ v: [UInt8]) -> [UInt8] {
        var needs = false
        for b in v where b == backslash || b == tab || b == newline || b == 0x0D { needs = true; break }
        if !needs { return v }
        var out: [UInt8] = []
        out.reserveCapacity(v.count + 8)
        for b in v {
            switch b {
            case backslash: out += [backslash, backslash]
            case tab: out += [backslash, UInt8(ascii: "t")]
            case newline: out += [backslash, UInt8(ascii: "n")]
            case 0x0D: out += [backslash, UInt8(ascii: "r")]
            default: out.append(b)
            }
        }
        return out
    }

    /// Appends a value, escaped for a COPY text field, to `out`.
    @inline(__always)
    public static func appendEscaped(_ v: ArraySlice<UInt8>, to out: inout [UInt8]) {
        v.withUnsafeBufferPointer { appendEscaped($0, to: &out) }
    }

    /// Appends a value, escaped for a COPY text field, to `out` (bytes read in place).
    @inline(__always)
    public static func appendEscaped(_ v: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var needs = false
        for b in v where b == backslash || b == tab || b == newline || b == 0x0D { needs = true; break }
        if !needs { out.append(contentsOf: v); return }
        for b in v {
            switch b {
            case backslash: out.append(backslash); out.append(backslash)
            case tab: out.append(backslash); out.append(UInt8(ascii: "t"))
            case newline: out.append(backslash); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(backslash); out.append(UInt8(ascii: "r"))
            default: out.append(b)
            }
        }
    }

    /// Undoes COPY text escaping (for CSV and SQL output).
    public static func unescape(_ v: ArraySlice<UInt8>) -> [UInt8] {
        guard v.contains(backslash) else { return Array(v) }
        var out: [UInt8] = []
        out.reserveCapacity(v.count)
        var i = v.startIndex
        while i < v.endIndex {
            let b = v[i]
            if b == backslash, i + 1 < v.endIndex {
                let n = v[i + 1]
                switch n {
                case UInt8(ascii: "t"): out.append(tab)
                case UInt8(ascii: "n"): out.append(newline)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "v"): out.append(0x0B)
                default: out.append(n)
                }
                i += 2
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    /// Ranges of the fields of one row (without its LF).
    public static func fieldRanges(_ line: ArraySlice<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = line.startIndex
        var i = line.startIndex
        while i < line.endIndex {
            if line[i] == tab { ranges.append(start..<i); start = i + 1 }
            i += 1
        }
        ranges.append(start..<line.endIndex)
        return ranges
    }
}
