/// A set of fold keys made for the replay's hot loop: every base row is looked up once. Integer
/// keys live in an open-addressing table hashed by one multiplication (no per-lookup hasher);
/// other keys in a standard set.
struct FoldKeySet {
    /// Never a key: `FoldKey.canonicalInt` reads at most 18 digits.
    private static let empty = Int64.min
    private var slots: [Int64]
    private var shift: UInt64
    private var ints = 0
    private var others: Set<[UInt8]> = []

    init() {
        slots = [Int64](repeating: Self.empty, count: 1024)
        shift = 64 - 10
    }

    var count: Int { ints + others.count }
    /// Bytes the set takes, about.
    var estimatedBytes: Int { slots.count * 8 + others.count * 80 }
    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func slot(_ v: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: v) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    func contains(_ k: FoldKey) -> Bool {
        switch k {
        case .bytes(let b): return others.contains(b)
        case .int(let v):
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

    mutating func insert(_ k: FoldKey) {
        switch k {
        case .bytes(let b): others.insert(b)
        case .int(let v):
            if (ints + 1) * 2 > slots.count { grow() }
            if place(v) { ints += 1 }
        }
    }

    /// Inserts `k`; false when it was there already.
    mutating func insertNew(_ k: FoldKey) -> Bool {
        switch k {
        case .bytes(let b): return others.insert(b).inserted
        case .int(let v):
            if (ints + 1) * 2 > slots.count { grow() }
            guard place(v) else { return false }
            ints += 1
            return true
        }
    }

    /// Puts `v` in its slot; false when it was there already.
    private mutating func place(_ v: Int64) -> Bool {
        let mask = slots.count - 1
        var i = slot(v)
        while true {
            let x = slots[i]
            if x == v { return false }
            if x == Self.empty { slots[i] = v; return true }
            i = (i + 1) & mask
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
