import Archive
import Foundation

/// The changes of one streamed, still uncommitted transaction, on disk until its Stream Commit.
/// Records are `u32 subxid + u32 length + normalized pgoutput message`. An aborted
/// subtransaction's records are skipped at commit; an aborted transaction's file is deleted.
/// In an encrypted archive, each buffer is written sealed (`u32 length + AES-256-GCM box`) with a key
/// that lives only in memory: a spool is never needed after the process ends.
final class Spool {
    let sealer: ArchiveKey?
    let path: String
    let xid: UInt32
    let fd: Int32
    var abortedSubxids = Set<UInt32>()
    var buffer: [UInt8] = []
    private(set) var records = 0

    /// `encrypted`: the archive is, so the spool is sealed too.
    init(directory: String, xid: UInt32, encrypted: Bool) throws {
        sealer = encrypted ? ArchiveKey.ephemeral() : nil
        self.xid = xid
        path = directory + "/\(xid).spool"
        fd = try FileIO.open(path, O_RDWR | O_CREAT | O_TRUNC)
    }

    deinit { close(fd) }

    func append(subxid: UInt32, _ message: [UInt8]) throws {
        for v in [subxid, UInt32(message.count)] {
            buffer.append(UInt8(v >> 24)); buffer.append(UInt8((v >> 16) & 0xFF)); buffer.append(UInt8((v >> 8) & 0xFF)); buffer.append(UInt8(v & 0xFF))
        }
        buffer.append(contentsOf: message)
        records += 1
        if buffer.count >= 1 << 20 { try writeBuffer() }
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

    /// Reads the records back in order, skipping aborted subtransactions. Memory stays at one
    /// read chunk plus one record.
    func replay(_ body: ([UInt8]) throws -> Void) throws {
        try writeBuffer()
        if let sealer { return try replaySealed(sealer, body) }
        var pos: off_t = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var pending: [UInt8] = []
        var consumed = 0
        while true {
            let n = try FileIO.pread(fd, into: &chunk, count: chunk.count, at: Int(pos), path: path)
            if n == 0 { break }
            pos += off_t(n)
            if consumed > 0 { pending.removeFirst(consumed); consumed = 0 }
            pending.append(contentsOf: chunk[0..<n])
            while pending.count - consumed >= 8 {
                let b = consumed
                let sub = UInt32(pending[b]) << 24 | UInt32(pending[b + 1]) << 16 | UInt32(pending[b + 2]) << 8 | UInt32(pending[b + 3])
                let len = Int(UInt32(pending[b + 4]) << 24 | UInt32(pending[b + 5]) << 16 | UInt32(pending[b + 6]) << 8 | UInt32(pending[b + 7]))
                guard pending.count - consumed - 8 >= len else { break }
                if !abortedSubxids.contains(sub) { try body(Array(pending[(b + 8)..<(b + 8 + len)])) }
                consumed += 8 + len
            }
        }
        if pending.count - consumed != 0 { throw ArchiveError(.corrupt, "spool ends inside a record", path: path) }
    }

    func replaySealed(_ sealer: ArchiveKey, _ body: ([UInt8]) throws -> Void) throws {
        var pos: off_t = 0
        func read(_ n: Int) throws -> [UInt8]? {
            guard let b = try FileIO.preadExactly(fd, count: n, at: Int(pos), path: path) else {
                if try FileIO.preadExactly(fd, count: 1, at: Int(pos), path: path) == nil { return nil }
                throw ArchiveError(.corrupt, "spool ends inside a block", path: path)
            }
            pos += off_t(n)
            return b
        }
        while let len = try read(4) {
            let n = Int(UInt32(len[0]) << 24 | UInt32(len[1]) << 16 | UInt32(len[2]) << 8 | UInt32(len[3]))
            guard let box = try read(n) else { throw ArchiveError(.corrupt, "spool ends inside a block", path: path) }
            let plain = try sealer.open(box, aad: [])
            var b = 0
            while b + 8 <= plain.count {
                let sub = UInt32(plain[b]) << 24 | UInt32(plain[b + 1]) << 16 | UInt32(plain[b + 2]) << 8 | UInt32(plain[b + 3])
                let rlen = Int(UInt32(plain[b + 4]) << 24 | UInt32(plain[b + 5]) << 16 | UInt32(plain[b + 6]) << 8 | UInt32(plain[b + 7]))
                guard b + 8 + rlen <= plain.count else { throw ArchiveError(.corrupt, "spool block ends inside a record", path: path) }
                if !abortedSubxids.contains(sub) { try body(Array(plain[(b + 8)..<(b + 8 + rlen)])) }
                b += 8 + rlen
            }
        }
    }

    func remove() { unlink(path) }
}
