import Foundation

/// The keys a sealed segment's changes touch, per table: a blocked Bloom filter (one 512-bit block
/// per key, six bits in it, about ten bits per key: under 2 % false positives), so that `history`
/// reads only the segments that may hold a key. Written as a frame of its own (kind 6) before the
/// footer, which records where it starts; sealed with the rows in an encrypted archive. A segment
/// without one (sealed by recovery after a crash, or by an older logbook) is read in full.
public struct KeyIndex: Sendable, Equatable {
    public struct Table: Sendable, Equatable {
        /// Every key may be touched: a TRUNCATE of the table is in the segment, or a change whose key
        /// could not be read (a table without a key): every key's history passes through it.
        public var everyKey: Bool
        public var keys: Int
        /// 8 words (512 bits) per block.
        public var words: [UInt64]

        public func mayContain(_ hash: UInt64) -> Bool {
            let blocks = words.count / 8
            guard blocks > 0 else { return false }
            let block = Int((hash >> 32) % UInt64(blocks)) * 8
            var h = UInt32(truncatingIfNeeded: hash)
            let step = UInt32(truncatingIfNeeded: hash >> 48) | 1
            for _ in 0..<6 {
                let bit = Int(h & 511)
                if words[block + bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
                h = h &+ step
            }
            return true
        }

        static func build(_ hashes: [UInt64], everyKey: Bool) -> Table {
            let blocks = max(1, (hashes.count * 10 + 511) / 512)
            var words = [UInt64](repeating: 0, count: blocks * 8)
            for hash in hashes {
                let block = Int((hash >> 32) % UInt64(blocks)) * 8
                var h = UInt32(truncatingIfNeeded: hash)
                let step = UInt32(truncatingIfNeeded: hash >> 48) | 1
                for _ in 0..<6 {
                    let bit = Int(h & 511)
                    words[block + bit >> 6] |= 1 << UInt64(bit & 63)
                    h = h &+ step
                }
            }
            return Table(everyKey: everyKey, keys: hashes.count, words: words)
        }
    }

    public var tables: [String: Table]

    public init(tables: [String: Table] = [:]) { self.tables = tables }

    /// Builds the index of a segment from the key hashes of its changes, and the tables any key of
    /// which it may touch.
    public init(keys: [String: [UInt64]], everyKey: Set<String>) {
        var t: [String: Table] = [:]
        for name in Set(keys.keys).union(everyKey) {
            t[name] = Table.build(keys[name] ?? [], everyKey: everyKey.contains(name))
        }
        tables = t
    }

    /// Whether the segment may hold a change of `table` with this key (or a TRUNCATE of it).
    /// A table the index does not name has no change in the segment.
    public func mayTouch(table: String, hash: UInt64) -> Bool {
        guard let t = tables[table] else { return false }
        return t.everyKey || t.mayContain(hash)
    }

    /// The hash of a key: its columns' values in PostgreSQL's text form, in key order (nil: NULL).
    public static func hash(_ values: [ArraySlice<UInt8>?]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        for v in values {
            if let v { mix(1); for b in v { mix(b) } } else { mix(0) }
            mix(0xFF)
        }
        // A final avalanche (SplitMix64's), so that every bit of the result depends on every byte.
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }

    /// The key index of a sealed segment, from the frame at `offset` (its footer's `keyIndexOffset`).
    public static func read(segment path: String, at offset: Int, key: ArchiveKey?) throws -> KeyIndex {
        try decode(FrameFileReader(path: path, key: key).frame(at: offset, kind: .keyIndex, what: "key index").raw, path: path)
    }

    static let magic: [UInt8] = Array("LBKI".utf8)

    /// `LBKI`, u16 version 1, u32 tables; per table (by name): u16 name length, name, u8 flags
    /// (bit 0: every key), u32 keys, u32 words, the words (u64, little-endian).
    public func encode() -> [UInt8] {
        var out = Self.magic
        func u16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int) { for i in 0..<4 { out.append(UInt8(v >> (8 * i) & 0xFF)) } }
        u16(1)
        u32(tables.count)
        for name in tables.keys.sorted() {
            let t = tables[name]!
            let n = Array(name.utf8)
            u16(n.count); out += n
            out.append(t.everyKey ? 1 : 0)
            u32(t.keys); u32(t.words.count)
            out.reserveCapacity(out.count + t.words.count * 8)
            for w in t.words { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(i)))) } }
        }
        return out
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> KeyIndex {
        var at = 0
        func bad(_ what: String) -> ArchiveError {
            ArchiveError(.corrupt, "key index: \(what) at byte \(at)", path: path,
                         fix: "history reads the segment in full instead; `logbook verify --archive` checks the file")
        }
        func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, at + n <= bytes.count else { throw bad("ends early") }
            defer { at += n }
            return bytes[at..<(at + n)]
        }
        func u(_ n: Int) throws -> Int { try take(n).reversed().reduce(0) { $0 << 8 | Int($1) } }
        guard Array(try take(4)) == magic else { throw bad("bad magic") }
        guard try u(2) == 1 else { throw bad("unknown version") }
        let count = try u(4)
        var tables: [String: Table] = [:]
        for _ in 0..<count {
            let name = String(decoding: try take(try u(2)), as: UTF8.self)
            guard let flags = try take(1).first else { throw bad("ends early") }
            let keys = try u(4), n = try u(4)
            guard n % 8 == 0, n <= (bytes.count - at) / 8 else { throw bad("bad filter size \(n)") }
            let raw = try take(n * 8)
            var words = [UInt64](repeating: 0, count: n)
            raw.withUnsafeBytes { p in for i in 0..<n { words[i] = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) } }
            tables[name] = Table(everyKey: flags & 1 != 0, keys: keys, words: words)
        }
        return KeyIndex(tables: tables)
    }
}
