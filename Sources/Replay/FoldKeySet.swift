/// A set of fold keys made for the replay's hot loop: every base row is looked up once. Dense
/// non-negative integer keys (ids from a sequence, the usual key) are bits of a bitmap, which stays
/// in the CPU's cache where a hash table of a million keys does not; other integer keys live in an
/// open-addressing table hashed by one multiplication (no per-lookup hasher); other keys in a
/// standard set.
struct FoldKeySet {
    /// Never a key: `FoldKey.canonicalInt` reads at most 18 digits.
    private static let empty = Int64.min
    private var slots: [Int64]
    private var shift: UInt64
    private var hashed = 0
    /// The integers 0 ..< bits.count × 64 that are in the set; no such integer is in `slots`.
    private var bits: [UInt64] = []
    private var bitted = 0
    private var others: Set<[UInt8]> = []

    init() {
        slots = [Int64](repeating: Self.empty, count: 1024)
        shift = 64 - 10
    }

    var count: Int { hashed + bitted + others.count }
    /// Bytes the set takes, about.
    var estimatedBytes: Int { slots.count * 8 + bits.count * 8 + others.count * 80 }
    var isEmpty: Bool { count == 0 }

    private var bitLimit: Int64 { Int64(bits.count) << 6 }

    @inline(__always)
    private func slot(_ v: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: v) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    func contains(_ k: FoldKey) -> Bool {
        switch k {
        case .bytes(let b): return others.contains(b)
        case .int(let v):
            if v >= 0 && v < bitLimit {
                return bits.withUnsafeBufferPointer { $0[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0 }
            }
            return slots.withUnsafeBufferPointer { s in
                let mask = s.count - 1
                var i = slot(v)
                while true {
                    let x = s[i]
                    if x == v { return true }
                    if x == Self.empty { return false }
                    i = (i + 1) & mask
                }
            }
        }
    }

    mutating func insert(_ k: FoldKey) { _ = insertNew(k) }

    /// Inserts `k`; false when it was there already.
    mutating func insertNew(_ k: FoldKey) -> Bool {
        switch k {
        case .bytes(let b): return others.insert(b).inserted
        case .int(let v):
            if v >= 0 && v >= bitLimit { coverWithBits(v) }
            if v >= 0 && v < bitLimit {
                let word = Int(v >> 6), bit: UInt64 = 1 << UInt64(v & 63)
                let was = bits.withUnsafeMutableBufferPointer { b -> Bool in
                    let w = b[word]
                    b[word] = w | bit
                    return w & bit != 0
                }
                if was { return false }
                bitted += 1
                return true
            }
            if (hashed + 1) * 2 > slots.count { grow() }
            guard place(v) else { return false }
            hashed += 1
            return true
        }
    }

    /// Widens the bitmap to hold `v` when it stays within 16 bytes per integer key held (at least
    /// 1 MiB): dense keys go to bits, sparse ones (a snowflake id) stay hashed. Integers the hash
    /// table held that the bitmap now covers move into it.
    private mutating func coverWithBits(_ v: Int64) {
        let needed = Int(v >> 6) + 1
        let words = max(needed, bits.count * 2, 1024)
        guard words * 8 <= max(1 << 20, 16 * (count + 1)) else { return }
        bits.append(contentsOf: repeatElement(0, count: words - bits.count))
        guard hashed > 0 else { return }
        let limit = bitLimit
        let old = slots
        slots = [Int64](repeating: Self.empty, count: old.count)
        hashed = 0
        for x in old where x != Self.empty {
            if x >= 0 && x < limit {
                bits[Int(x >> 6)] |= 1 << UInt64(x & 63)
                bitted += 1
            } else {
                _ = place(x)
                hashed += 1
            }
        }
    }

    /// Puts `v` in its slot; false when it was there already.
    private mutating func place(_ v: Int64) -> Bool {
        let start = slot(v)
        return slots.withUnsafeMutableBufferPointer { s in
            let mask = s.count - 1
            var i = start
            while true {
                let x = s[i]
                if x == v { return false }
                if x == Self.empty { s[i] = v; return true }
                i = (i + 1) & mask
            }
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [Int64](repeating: Self.empty, count: old.count * 2)
        shift -= 1
        for v in old where v != Self.empty { _ = place(v) }
    }

    mutating func removeAll() { self = FoldKeySet() }
}
