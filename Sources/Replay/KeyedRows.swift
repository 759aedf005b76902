import Archive
import PGWire

/// A keyed fold's state: key → the row's latest image, or deleted. Made for the fold's hot loop:
/// images are appended to one byte arena (no allocation, retain or release per row), integer keys
/// are found by one multiplication in an open-addressing table (no hasher), and only the rare image
/// that still waits for unchanged TOAST values is kept as a `RowImage` of its own.
struct KeyedRows {
    /// Where a slot's image is: `length >= 0` bytes at `start` of the arena; `deleted`; or `special`.
    struct Span {
        var start: Int
        var length: Int32
        var version: Int32
        static let deleted: Int32 = -1
        static let special: Int32 = -2
    }

    enum Entry {
        case absent
        case deleted
        case image(RowImage)
    }

    private(set) var arena: [UInt8] = []
    private(set) var spans: [Span] = []
    private(set) var keys: [FoldKey] = []
    private var special: [Int32: RowImage] = [:]
    /// Bytes of the arena no slot points to any more (replaced images).
    private(set) var garbage = 0

    private static let empty = Int64.min
    private var intKeys: [Int64]
    private var intSlots: [Int32]
    private var shift: UInt64
    private var ints = 0
    private var others: [[UInt8]: Int32] = [:]

    init() {
        intKeys = [Int64](repeating: Self.empty, count: 1024)
        intSlots = [Int32](repeating: -1, count: 1024)
        shift = 64 - 10
    }

    var count: Int { spans.count }
    var liveBytes: Int { arena.count - garbage }

    @inline(__always)
    private func bucket(_ v: Int64) -> Int { Int(truncatingIfNeeded: (UInt64(bitPattern: v) &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// The slot of `k`, if it has one.
    func slot(of k: FoldKey) -> Int32? {
        switch k {
        case .bytes(let b): return others[b]
        case .int(let v):
            let mask = intKeys.count - 1
            var i = bucket(v)
            while true {
                let x = intKeys[i]
                if x == v { return intSlots[i] }
                if x == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }

    /// The slot of `k`, made (as deleted) if it had none.
    private mutating func makeSlot(_ k: FoldKey) -> Int32 {
        switch k {
        case .bytes(let b):
            if let s = others[b] { return s }
            let s = newSlot(k)
            others[b] = s
            return s
        case .int(let v):
            if (ints + 1) * 2 > intKeys.count { grow() }
            let mask = intKeys.count - 1
            var i = bucket(v)
            while true {
                let x = intKeys[i]
                if x == v { return intSlots[i] }
                if x == Self.empty {
                    let s = newSlot(k)
                    intKeys[i] = v
                    intSlots[i] = s
                    ints += 1
                    return s
                }
                i = (i + 1) & mask
            }
        }
    }

    private mutating func newSlot(_ k: FoldKey) -> Int32 {
        spans.append(Span(start: 0, length: Span.deleted, version: 0))
        keys.append(k)
        return Int32(spans.count - 1)
    }

    private mutating func grow() {
        let oldKeys = intKeys, oldSlots = intSlots
        intKeys = [Int64](repeating: Self.empty, count: oldKeys.count * 2)
        intSlots = [Int32](repeating: -1, count: oldKeys.count * 2)
        shift -= 1
        let mask = intKeys.count - 1
        for (j, v) in oldKeys.enumerated() where v != Self.empty {
            var i = bucket(v)
            while intKeys[i] != Self.empty { i = (i + 1) & mask }
            intKeys[i] = v
            intSlots[i] = oldSlots[j]
        }
    }

    private mutating func release(_ s: Int32) {
        let span = spans[Int(s)]
        if span.length >= 0 { garbage += Int(span.length) } else if span.length == Span.special { special[s] = nil }
    }

    /// Bytes of replaced images beyond which the arena is compacted (when they are most of it).
    var compactAfter = 1 << 24

    /// Mostly replaced images: copied down to the live ones, so memory follows the keys, not the
    /// changes. Called before an image is written, never while one is half-written.
    private mutating func compactIfNeeded() {
        if garbage > compactAfter && garbage * 2 > arena.count { compact() }
    }

    private mutating func compact() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(arena.count - garbage + (1 << 20))
        for i in spans.indices where spans[i].length >= 0 {
            let start = fresh.count
            fresh += arena[spans[i].start..<(spans[i].start + Int(spans[i].length))]
            spans[i].start = start
        }
        arena = fresh
        garbage = 0
    }

    func entry(_ k: FoldKey) -> Entry {
        guard let s = slot(of: k) else { return .absent }
        return entry(slot: s)
    }

    func entry(slot s: Int32) -> Entry {
        let span = spans[Int(s)]
        switch span.length {
        case Span.deleted: return .deleted
        case Span.special: return special[s].map { .image($0) } ?? .deleted
        default: return .image(RowImage(version: Int(span.version), line: Array(arena[span.start..<(span.start + Int(span.length))])))
        }
    }

    mutating func setDeleted(_ k: FoldKey) {
        compactIfNeeded()
        let s = makeSlot(k)
        release(s)
        spans[Int(s)].length = Span.deleted
    }

    /// Stores a whole image (one that waits for nothing) in the arena.
    mutating func set(_ k: FoldKey, _ image: RowImage) {
        compactIfNeeded()
        let s = makeSlot(k)
        release(s)
        if image.unchanged.isEmpty && image.fillFromBase == nil {
            spans[Int(s)] = Span(start: arena.count, length: Int32(image.line.count), version: Int32(image.version))
            arena += image.line
        } else {
            spans[Int(s)] = Span(start: 0, length: Span.special, version: Int32(image.version))
            special[s] = image
        }
    }

    /// Writes the image of a tuple straight into the arena; returns false (storing nothing) when
    /// the tuple has unchanged TOAST values, which need the slow path (`set`).
    mutating func setImage(_ k: FoldKey, version: Int, view: RowChangeView, tuple: Int) -> Bool {
        compactIfNeeded()
        let start = arena.count
        var whole = true
        view.forEachColumn(of: tuple) { i, kind, value in
            guard whole else { return }
            if i > 0 { arena.append(CopyText.tab) }
            switch kind {
            case UInt8(ascii: "n"): arena += CopyText.nullMarker
            case UInt8(ascii: "u"): whole = false
            default: CopyText.appendEscaped(view.bytes[value], to: &arena)
            }
        }
        guard whole else {
            arena.removeSubrange(start...)
            return false
        }
        let s = makeSlot(k)
        release(s)
        spans[Int(s)] = Span(start: start, length: Int32(arena.count - start), version: Int32(version))
        return true
    }

    /// Slots holding an image, ordered by relation version, then key.
    func liveSlots(_ include: (Int32) -> Bool = { _ in true }) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(spans.count)
        for s in 0..<Int32(spans.count) where spans[Int(s)].length != Span.deleted && include(s) { out.append(s) }
        out.sort { a, b in
            let va = spans[Int(a)].version, vb = spans[Int(b)].version
            return va != vb ? va < vb : keys[Int(a)] < keys[Int(b)]
        }
        return out
    }

    func isWaitingForBase(_ s: Int32) -> Bool { spans[Int(s)].length == Span.special && special[s]?.fillFromBase != nil }

    /// The slot's image bytes and version (an image, not a deleted row).
    func withLine<T>(slot s: Int32, _ body: (Int, ArraySlice<UInt8>) -> T) -> T? {
        let span = spans[Int(s)]
        switch span.length {
        case Span.deleted: return nil
        case Span.special:
            guard let img = special[s] else { return nil }
            return body(img.version, img.line[...])
        default: return body(Int(span.version), arena[span.start..<(span.start + Int(span.length))])
        }
    }

    /// Images waiting for a base row: base key → keys waiting for it.
    func waitingForBase() -> [FoldKey: [FoldKey]] {
        var out: [FoldKey: [FoldKey]] = [:]
        for (s, img) in special { if let b = img.fillFromBase { out[b, default: []].append(keys[Int(s)]) } }
        return out
    }
}
