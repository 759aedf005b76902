import PGWire

/// The position of the last transaction a file (or the archive) holds.
public struct CommitPosition: Codable, Sendable, Equatable {
    public var commitLSN: LSN
    public var endLSN: LSN
    public var commitTime: PGTimestamp
    public init(commitLSN: LSN, endLSN: LSN, commitTime: PGTimestamp) {
        self.commitLSN = commitLSN; self.endLSN = endLSN; self.commitTime = commitTime
    }
}

extension LSN: Codable {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let v = LSN(string: s) else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an LSN: \(s)")) }
        self = v
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension PGTimestamp: Codable {
    public init(from decoder: Decoder) throws { self.init(rawValue: try decoder.singleValueContainer().decode(Int64.self)) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The first frame of every segment (JSON).
public struct SegmentHeader: Codable, Sendable {
    public var format = "logbook-segment"
    public var version = 1
    public var systemIdentifier: String
    public var database: String
    public var slot: String
    /// Commit LSN of the first transaction (or LSN of the first non-transactional message).
    public var firstLSN: LSN
    public var createdAt: String
    /// `sha256` of the segment sealed before this one was opened (nil for the first, and in
    /// archives written before this field): an open segment chains to its predecessor too.
    public var previousSHA256: String?
    /// `contentSHA256` of that segment (nil when it has none): see `SegmentFooter.previousContentSHA256`.
    public var previousContentSHA256: String? = nil
    /// Every gap of the archive when the segment was opened (see `SegmentFooter.gaps`).
    public var gaps: [ArchiveGap]?
}

/// The last frame of a sealed segment (JSON).
public struct SegmentFooter: Codable, Sendable {
    public var firstLSN: LSN
    public var last: CommitPosition?
    public var firstCommitTime: PGTimestamp?
    public var transactions: Int
    public var changes: Int
    public var frames: Int
    public var tables: [String]
    /// The OID of every relation any record of the segment concerns (nil in segments written before
    /// it was recorded): with `tables`, what lets a reader of one table pass the segment by.
    public var relationOIDs: [UInt32]? = nil
    /// SHA-256 of the file's bytes before this footer frame.
    public var sha256: String?
    /// `sha256` of the segment sealed before this one, as it was sealed (`chainSHA256`): the hash
    /// chain. Nil for the first.
    public var previousSHA256: String?
    /// Named restore points (`logbook mark`) committed in this segment, for listings.
    public var marks: [ArchiveMark]?
    /// Every base copy in the archive when this segment was sealed: file name to the SHA-256 its
    /// footer records. Anchors base copies in the hash chain: one deleted or replaced afterwards is caught.
    public var baseCopies: [String: String]?
    /// The last watermark written in this segment (after its last commit, if any).
    public var watermark: Watermark?
    /// Every gap of the archive when the segment was sealed: in the hash chain, so that deleting or
    /// garbling `gaps.json` cannot forget one.
    public var gaps: [ArchiveGap]?
    /// Where the segment's key index frame (`KeyIndex`) starts, when it is one frame; nil when it has none.
    public var keyIndexOffset: Int?
    /// Where each part of a key index written in parts starts (then `keyIndexOffset` is nil, so that
    /// a reader that knows only one frame reads the segment in full).
    public var keyIndexOffsets: [Int]? = nil
    /// The content hash (`ContentDigest`) of every frame before the footer: what they hold,
    /// whatever their compression. Nil in segments written before it, and in recovered ones.
    public var contentSHA256: String? = nil
    /// `contentSHA256` of the segment sealed before this one: with `previousSHA256`, the link that
    /// lets that segment be recompressed and still be checked (see `isNamed(by:)`).
    public var previousContentSHA256: String? = nil
    /// Set when the segment was recompressed after it was sealed: `sha256` is then the hash of the
    /// new bytes, and this holds the hash its successors name.
    public var recompressed: Recompression? = nil

    public struct Recompression: Codable, Sendable, Equatable {
        /// The zstd level of its frames now.
        public var level: Int
        /// `sha256` as sealed: what the next segment's `previousSHA256` names.
        public var sealedSHA256: String
        /// The file's size as sealed.
        public var sealedBytes: Int
        public var at: String
        public init(level: Int, sealedSHA256: String, sealedBytes: Int, at: String) {
            self.level = level; self.sealedSHA256 = sealedSHA256; self.sealedBytes = sealedBytes; self.at = at
        }
    }

    /// The hash the segment is known by in the chain: that of its bytes as sealed.
    public var chainSHA256: String? { recompressed?.sealedSHA256 ?? sha256 }

    /// Whether a successor's link (its `previousSHA256` and `previousContentSHA256`) names this
    /// segment: its hash as sealed, and its content hash where both have one. A recompressed
    /// segment must be named by content too, since its own bytes no longer give the sealed hash.
    public func isNamed(previousSHA256: String?, previousContentSHA256: String?) -> Bool {
        guard previousSHA256 == chainSHA256 else { return false }
        if recompressed != nil { return contentSHA256 != nil && previousContentSHA256 == contentSHA256 }
        if let mine = contentSHA256, let named = previousContentSHA256 { return mine == named }
        return true
    }

    /// The frames of the segment's key index, whichever way it was written.
    public var keyIndexFrames: [Int]? { keyIndexOffsets ?? keyIndexOffset.map { [$0] } }
}

/// A named restore point: a `pg_logical_emit_message` with the prefix `logbook.mark`.
public struct ArchiveMark: Codable, Sendable, Equatable {
    public static let messagePrefix = "logbook.mark"
    public var name: String
    public var lsn: LSN
    /// Commit time of its transaction (nil for a non-transactional message).
    public var commitTime: PGTimestamp?
    public init(name: String, lsn: LSN, commitTime: PGTimestamp?) { self.name = name; self.lsn = lsn; self.commitTime = commitTime }

    /// The mark a raw `M` record carries, if it is one.
    public static func from(record raw: [UInt8]) -> ArchiveMark? {
        guard raw.first == UInt8(ascii: "M") else { return nil }
        var r = WireReader(raw, offset: 1)
        guard let m = try? LogicalMessage.decode(&r), m.prefix == messagePrefix else { return nil }
        return ArchiveMark(name: String(decoding: m.content, as: UTF8.self), lsn: m.lsn, commitTime: nil)
    }
}

import Crypto
import Foundation

/// SHA-256 of a file's first `length` bytes (read in 1 MiB pieces).
public func fileSHA256(_ path: String, length: Int) throws -> String {
    let fd = try FileIO.open(path, O_RDONLY)
    defer { close(fd) }
    var h = SHA256()
    var buf = [UInt8](repeating: 0, count: 1 << 20)
    var done = 0
    while done < length {
        let n = try FileIO.pread(fd, into: &buf, count: min(buf.count, length - done), at: done, path: path)
        if n == 0 { break }
        h.update(data: buf[0..<n])
        done += n
    }
    return h.finalize().map { String(format: "%02x", $0) }.joined()
}
