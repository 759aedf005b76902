import Foundation

/// The keys a sealed segment's changes touch, per table: blocked Bloom filters (one 512-bit block
/// per key, six bits in it, about ten bits per key: under 2 % false positives per filter), so that
/// `history` reads only the segments that may hold a key. Each filter holds a run of up to
/// `keysPerFilter` keys, so that a segment's index is built as its changes arrive and costs about
/// ten bits per key in memory whatever the size of a transaction. Written as a frame of its own
/// (kind 6) before the footer, which records where it starts; or in parts, each filter as a frame as
/// soon as its run is full (a segment of more than `keysPerFilter` keys), the footer listing every
/// part; sealed with the rows in an encrypted archive. A segment without one (sealed by recovery after a crash, or by an older logbook) is read
/// in full.
public struct KeyIndex: Sendable, Equatable {
    /// Keys folded into one filter: a run's hashes wait in memory (8 bytes each) until it is full.
    public static let keysPerFilter = 1 << 20

    public struct Table: Sendable, Equatable {
        /// Every key may be touched: a TRUNCATE of the table is in the segment, or a change whose key
        /// could not be read (a table without a key): every key's history passes through it.
        public var everyKey: Bool
        public var keys: Int
        /// One Bloom filter per run of keys, 8 words (512 bits) per block.
        public var filters: [[UInt64]]

        public func mayContain(_ hash: UInt64) -> Bool {
            filters.contains { Self.filter($0, contains: hash) }
        }

        static func filter(_ words: [UInt64], contains hash: UInt64) -> Bool {
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

        static func filter(of hashes: [UInt64]) -> [UInt64] {
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
            return words
        }
    }

    /// A segment's key index while the segment fills: each table's keys wait until a run of
    /// `keysPerFilter` is full, which then becomes a filter of its own.
    public struct Builder: Sendable {
        struct Run: Sendable {
            var pending: [UInt64] = []
            var filters: [[UInt64]] = []
            var keys = 0

            /// Returns whether the run became a filter.
            mutating func add(_ hash: UInt64, limit: Int) -> Bool {
                keys += 1
                pending.append(hash)
                guard pending.count >= limit else { return false }
                filters.append(Table.filter(of: pending))
                pending.removeAll(keepingCapacity: true)
                return true
            }
        }

        var runs: [String: Run] = [:]
        var everyKey = Set<String>()
        let keysPerFilter: Int

        public init(keysPerFilter: Int = KeyIndex.keysPerFilter) { self.keysPerFilter = max(1, keysPerFilter) }

        public var isEmpty: Bool { runs.isEmpty && everyKey.isEmpty }

        public mutating func add(table: String, hash: UInt64) {
            if runs[table, default: Run()].add(hash, limit: keysPerFilter) { hasFullFilters = true }
        }

        /// Some run became a filter since the last `takeFullFilters()`.
        public private(set) var hasFullFilters = false

        /// The filters completed so far, as an index of their own to be written now (so that they
        /// are not kept until the segment is sealed); each run keeps the keys still waiting.
        public mutating func takeFullFilters() -> KeyIndex {
            var t: [String: Table] = [:]
            for name in runs.keys {
                guard var run = runs[name], !run.filters.isEmpty else { continue }
                let keys = run.filters.count * keysPerFilter
                t[name] = Table(everyKey: false, keys: keys, filters: run.filters)
                run.filters = []
                run.keys -= keys
                runs[name] = run
            }
            hasFullFilters = false
            return KeyIndex(tables: t)
        }

        public mutating func addEveryKey(table: String) { everyKey.insert(table) }

        public func build() -> KeyIndex {
            var t: [String: Table] = [:]
            for name in Set(runs.keys).union(everyKey) {
                let run = runs[name] ?? Run()
                // A table whose keys all went out with `takeFullFilters()` needs nothing more.
                if run.keys == 0, run.filters.isEmpty, runs[name] != nil, !everyKey.contains(name) { continue }
                var f = run.filters
                if !run.pending.isEmpty || f.isEmpty { f.append(Table.filter(of: run.pending)) }
                t[name] = Table(everyKey: everyKey.contains(name), keys: run.keys, filters: f)
            }
            return KeyIndex(tables: t)
        }
    }

    public var tables: [String: Table]

    public init(tables: [String: Table] = [:]) { self.tables = tables }

    /// Builds the index of a segment from the key hashes of its changes, and the tables any key of
    /// which it may touch.
    public init(keys: [String: [UInt64]], everyKey: Set<String>, keysPerFilter: Int = KeyIndex.keysPerFilter) {
        var b = Builder(keysPerFilter: keysPerFilter)
        for (name, hashes) in keys { for h in hashes { b.add(table: name, hash: h) } }
        for name in everyKey { b.addEveryKey(table: name) }
        self = b.build()
    }

    /// Adds the tables and filters of another part of the same segment's index.
    public mutating func merge(_ other: KeyIndex) {
        for (name, o) in other.tables {
            if var t = tables[name] {
                t.everyKey = t.everyKey || o.everyKey
                t.keys += o.keys
                t.filters += o.filters
                tables[name] = t
            } else {
                tables[name] = o
            }
        }
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
        try read(segment: path, at: [offset], key: key)
    }

    /// The key index of a sealed segment written in parts: the frames at `offsets` (its footer's
    /// `keyIndexOffsets`), merged.
    public static func read(segment path: String, at offsets: [Int], key: ArchiveKey?) throws -> KeyIndex {
        let reader = try FrameFileReader(path: path, key: key)
        var index = KeyIndex()
        for offset in offsets { index.merge(try decode(reader.frame(at: offset, kind: .keyIndex, what: "key index").raw, path: path)) }
        return index
    }

    static let magic: [UInt8] = Array("LBKI".utf8)

    /// `LBKI`, u16 version 2, u32 tables; per table (by name): u16 name length, name, u8 flags
    /// (bit 0: every key), u32 keys, u32 filters, per filter u32 words and the words (u64,
    /// little-endian). Version 1 (one filter, no filter count) is still read.
    public func encode() -> [UInt8] {
        var out = Self.magic
        func u16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int) { for i in 0..<4 { out.append(UInt8(v >> (8 * i) & 0xFF)) } }
        u16(2)
        u32(tables.count)
        for name in tables.keys.sorted() {
            let t = tables[name]!
            let n = Array(name.utf8)
            u16(n.count); out += n
            out.append(t.everyKey ? 1 : 0)
            u32(t.keys); u32(t.filters.count)
            for words in t.filters {
                u32(words.count)
                out.reserveCapacity(out.count + words.count * 8)
                for w in words { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(i)))) } }
            }
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
        let version = try u(2)
        guard version == 1 || version == 2 else { throw bad("unknown version \(version)") }
        let count = try u(4)
        var tables: [String: Table] = [:]
        for _ in 0..<count {
            let name = String(decoding: try take(try u(2)), as: UTF8.self)
            guard let flags = try take(1).first else { throw bad("ends early") }
            let keys = try u(4)
            let filterCount = version == 1 ? 1 : try u(4)
            guard filterCount >= 1, filterCount <= (bytes.count - at) / 4 else { throw bad("bad filter count \(filterCount)") }
            var filters: [[UInt64]] = []
            for _ in 0..<filterCount {
                let n = try u(4)
                guard n > 0, n % 8 == 0, n <= (bytes.count - at) / 8 else { throw bad("bad filter size \(n)") }
                let raw = try take(n * 8)
                var words = [UInt64](repeating: 0, count: n)
                raw.withUnsafeBytes { p in for i in 0..<n { words[i] = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) } }
                filters.append(words)
            }
            tables[name] = Table(everyKey: flags & 1 != 0, keys: keys, filters: filters)
        }
        return KeyIndex(tables: tables)
    }
}
