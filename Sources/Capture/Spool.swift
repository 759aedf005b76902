import Archive
import Foundation
import PGWire

/// The changes of one streamed, still uncommitted transaction, on disk until its Stream Commit.
///
/// Entries are `u8 kind + u32 subxid + u32 length + payload`: a record (`R`, a normalized pgoutput
/// message or a change position) that the commit routes as any message, or a prepared frame (`F`,
/// `PreparedFrame`): changes of one subtransaction already compressed as a segment stores them,
/// which the commit writes into the segment as they are if the definitions they were prepared
/// under still hold. An aborted subtransaction's entries are skipped at commit; an aborted
/// transaction's file is deleted. In an encrypted archive, each buffer is written sealed (`u32
/// length + AES-256-GCM box`) with a key that lives only in memory: a spool is never needed after
/// the process ends.
final class Spool {
    /// What a relation's changes were prepared under: the Relation message of this stream, the
    /// definition made of it, and where its key is in a tuple.
    struct Definition: Equatable {
        let shape: RelationMessage
        let definition: TableDefinition
        /// Where the table's key is in the shape's tuples (made from the two).
        let key: (table: String, positions: [Int]?)

        init(shape: RelationMessage, definition: TableDefinition) {
            self.shape = shape
            self.definition = definition
            key = ChangeRouter.indexKey(definition, shape)
        }

        static func == (a: Definition, b: Definition) -> Bool { a.shape == b.shape && a.definition == b.definition }
    }

    enum Entry {
        case record([UInt8])
        /// Changes prepared under `definitions` (by relation OID).
        case frame(PreparedFrame, definitions: [UInt32: Definition])
    }

    static let recordKind = UInt8(ascii: "R")
    static let frameKind = UInt8(ascii: "F")
    /// A frame smaller than this (a subtransaction of a few rows) is spooled as records instead.
    static let smallestFrame = 64 << 10

    let sealer: ArchiveKey?
    let path: String
    let xid: UInt32
    let fd: Int32
    let zstd: Zstd
    let frameBytes: Int
    var abortedSubxids = Set<UInt32>()
    var buffer: [UInt8] = []
    private(set) var records = 0
    /// Per relation, the definition this stream's changes of it are prepared under (set by `define`).
    private(set) var definitions: [UInt32: Definition] = [:]
    /// The number of each relation's definition: a frame is cut where a relation's changes move
    /// on to a new one (a number compared per change, not the definitions).
    private var generation: [UInt32: Int] = [:]
    private var generations = 0

    // The frame being prepared: its subtransaction and the definitions of its relations.
    var frame = PreparedFrameBuilder()
    var frameSubxid: UInt32 = 0
    var frameDefinitions: [UInt32: Definition] = [:]
    var frameGenerations: [UInt32: Int] = [:]
    /// The definitions of each frame entry written, in order (they stay in memory: a spool never outlives the process).
    var frameEntryDefinitions: [[UInt32: Definition]] = []

    /// `encrypted`: the archive is, so the spool is sealed too. Frames are compressed with `zstd`
    /// (the segment writer's level) and cut at `frameBytes`.
    init(directory: String, xid: UInt32, encrypted: Bool, zstd: Zstd, frameBytes: Int) throws {
        sealer = encrypted ? ArchiveKey.ephemeral() : nil
        self.xid = xid
        self.zstd = zstd
        self.frameBytes = frameBytes
        path = directory + "/\(xid).spool"
        fd = try FileIO.open(path, O_RDWR | O_CREAT | O_TRUNC)
    }

    deinit { close(fd) }

    /// A record, routed as a message at the commit.
    func append(subxid: UInt32, _ message: [UInt8]) throws {
        try finishFrame()
        writeEntry(Self.recordKind, subxid: subxid, message)
        records += 1
        if buffer.count >= 1 << 20 { try writeBuffer() }
    }

    /// The definition the relation's next changes are prepared under (nil: they are spooled as records).
    func define(_ d: Definition?, for relation: UInt32) {
        definitions[relation] = d
        generations += 1
        generation[relation] = generations
    }

    /// A change of a relation with a definition in `definitions`, into the frame being prepared.
    func appendChange(subxid: UInt32, _ raw: [UInt8], relation: UInt32, lsn: LSN?, keys: KeyNote) throws {
        guard let definition = definitions[relation], let g = generation[relation] else {
            throw CaptureError(.protocolError, "a change prepared for relation \(relation) without its definition")
        }
        if !frame.isEmpty, frameSubxid != subxid || frameGenerations[relation].map({ $0 != g }) == true { try finishFrame() }
        frameSubxid = subxid
        if frameGenerations[relation] != g {
            frameGenerations[relation] = g
            frameDefinitions[relation] = definition
        }
        frame.append(change: raw, relation: relation, lsn: lsn)
        switch keys {
        case .none: break
        case .everyKey(let t): frame.indexEveryKey(table: t)
        case .hashes(let t, let hs): for h in hs { frame.indexKey(table: t, hash: h) }
        }
        records += 1
        if frame.rawBytes >= frameBytes { try finishFrame() }
    }

    /// Spools the frame being prepared: as a frame, or as records if it is too small to be worth one.
    func finishFrame() throws {
        guard !frame.isEmpty else { return }
        if frame.rawBytes >= Self.smallestFrame {
            let prepared = try frame.finish(zstd: zstd)
            writeEntry(Self.frameKind, subxid: frameSubxid, prepared.encode())
            frameEntryDefinitions.append(frameDefinitions)
        } else {
            for rec in try frame.takeRecords() { writeEntry(Self.recordKind, subxid: frameSubxid, rec) }
        }
        frameDefinitions.removeAll(keepingCapacity: true)
        frameGenerations.removeAll(keepingCapacity: true)
        if buffer.count >= 1 << 20 { try writeBuffer() }
    }

    func writeEntry(_ kind: UInt8, subxid: UInt32, _ payload: [UInt8]) {
        buffer.append(kind)
        for v in [subxid, UInt32(payload.count)] {
            buffer.append(UInt8(v >> 24)); buffer.append(UInt8((v >> 16) & 0xFF)); buffer.append(UInt8((v >> 8) & 0xFF)); buffer.append(UInt8(v & 0xFF))
        }
        buffer.append(contentsOf: payload)
    }

    func writeBuffer() throws {
        guard !buffer.isEmpty else { return }
        if let sealer {
            let box = try sealer.seal(buffer, aad: [])
            let n = UInt32(box.count)
            try FileIO.writeAll(fd, [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + box, path: path)
        } else {
            try FileIO.writeAll(fd, buffer, path: path)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Reads the entries back in order, skipping aborted subtransactions. Memory stays at one
    /// read chunk plus one entry.
    func replay(_ body: (Entry) throws -> Void) throws {
        try finishFrame()
        try writeBuffer()
        var frames = 0
        var parser = EntryParser(path: path)
        let emit: (UInt8, UInt32, [UInt8]) throws -> Void = { kind, sub, payload in
            if kind == Self.frameKind {
                let definitions = frames < self.frameEntryDefinitions.count ? self.frameEntryDefinitions[frames] : [:]
                frames += 1
                if self.abortedSubxids.contains(sub) { return }
                let prepared: PreparedFrame
                do { prepared = try PreparedFrame.decode(payload) } catch {
                    throw ArchiveError(.corrupt, "spool holds a damaged prepared frame: \(error)", path: self.path)
                }
                try body(.frame(prepared, definitions: definitions))
            } else if !self.abortedSubxids.contains(sub) {
                try body(.record(payload))
            }
        }
        var pos = 0
        if let sealer {
            func read(_ n: Int) throws -> [UInt8]? {
                guard let b = try FileIO.preadExactly(fd, count: n, at: pos, path: path) else {
                    if try FileIO.preadExactly(fd, count: 1, at: pos, path: path) == nil { return nil }
                    throw ArchiveError(.corrupt, "spool ends inside a block", path: path)
                }
                pos += n
                return b
            }
            while let len = try read(4) {
                let n = Int(UInt32(len[0]) << 24 | UInt32(len[1]) << 16 | UInt32(len[2]) << 8 | UInt32(len[3]))
                guard let box = try read(n) else { throw ArchiveError(.corrupt, "spool ends inside a block", path: path) }
                try parser.feed(try sealer.open(box, aad: []), emit)
                // A block holds whole entries.
                try parser.finish()
            }
        } else {
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = try FileIO.pread(fd, into: &chunk, count: chunk.count, at: pos, path: path)
                if n == 0 { break }
                pos += n
                try parser.feed(chunk[0..<n], emit)
            }
        }
        try parser.finish()
    }

    func remove() { unlink(path) }
}

/// Splits the spool's bytes into entries as they are read, whatever the read sizes.
struct EntryParser {
    let path: String
    var pending: [UInt8] = []
    var consumed = 0

    init(path: String) { self.path = path }

    mutating func feed<C: Collection>(_ bytes: C, _ emit: (UInt8, UInt32, [UInt8]) throws -> Void) throws where C.Element == UInt8 {
        if consumed > 0 { pending.removeFirst(consumed); consumed = 0 }
        pending.append(contentsOf: bytes)
        while pending.count - consumed >= 9 {
            let b = consumed
            let kind = pending[b]
            guard kind == Spool.recordKind || kind == Spool.frameKind else {
                throw ArchiveError(.corrupt, "spool holds an entry of unknown kind 0x\(String(kind, radix: 16))", path: path)
            }
            let sub = UInt32(pending[b + 1]) << 24 | UInt32(pending[b + 2]) << 16 | UInt32(pending[b + 3]) << 8 | UInt32(pending[b + 4])
            let len = Int(UInt32(pending[b + 5]) << 24 | UInt32(pending[b + 6]) << 16 | UInt32(pending[b + 7]) << 8 | UInt32(pending[b + 8]))
            guard pending.count - consumed - 9 >= len else { break }
            try emit(kind, sub, Array(pending[(b + 9)..<(b + 9 + len)]))
            consumed += 9 + len
        }
    }

    mutating func finish() throws {
        if pending.count - consumed != 0 { throw ArchiveError(.corrupt, "spool ends inside an entry", path: path) }
        pending.removeAll(keepingCapacity: true)
        consumed = 0
    }
}

/// The keys of one change, for the segment's key index.
enum KeyNote {
    /// The table has no key index (no table recorded for the relation).
    case none
    /// The change may touch any key of the table (a keyless table).
    case everyKey(String)
    /// The hashes of the keys it touches (the old and the new key of an update that moves a row).
    case hashes(String, [UInt64])
}
