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

    mutating func string(_ s: String) { string(Array(s.utf8)) }
    mutating func string(_ s: ArraySlice<UInt8>) { string(Array(s)) }
    mutating func key(_ k: String) { string(k); bytes.append(0x3A) }
}
