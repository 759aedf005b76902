import PGWire

/// One frame of a segment or base-copy file. On disk (all integers big-endian):
///
/// ```
/// 0   u32  magic "LBFR" (0x4C424652)
/// 4   u8   kind (FrameKind)
/// 5   u8   flags (bit 0: payload encrypted with AES-256-GCM, see Encryption.swift; bit 1: payload in
///          the clear followed by a 32-byte HMAC-SHA256 tag, for the footers of an encrypted archive)
/// 6   u16  reserved (0)
/// 8   u32  stored payload length (zstd-compressed)
/// 12  u32  raw payload length
/// 16  u64  first LSN: commit LSN of the first transaction that has a record in the frame (0: none)
/// 24  u64  last LSN: end LSN of the last Commit record in the frame (0: none)
/// 32  i64  commit time of that last Commit (µs since 2000-01-01; 0: none)
/// 40  u32  CRC-32C of bytes 0..<40 and of the stored payload
/// 44  payload
/// ```
public struct FrameHeader: Sendable, Equatable {
    public static let magic: UInt32 = 0x4C42_4652
    public static let size = 44

    public var kind: FrameKind
    public var storedLength: Int
    public var rawLength: Int
    public var firstLSN: LSN
    public var lastEndLSN: LSN
    public var lastCommitTime: PGTimestamp
    public var crc: UInt32
    public var flags: UInt8 = 0
    public static let encryptedFlag: UInt8 = 1
    public var isEncrypted: Bool { flags & Self.encryptedFlag != 0 }
    public static let authenticatedFlag: UInt8 = 2
    /// In the clear, with an HMAC tag (the footers of an encrypted archive: checkable without the key, forgeable only with it).
    public var isAuthenticated: Bool { flags & Self.authenticatedFlag != 0 }

    public init(kind: FrameKind, storedLength: Int, rawLength: Int, firstLSN: LSN, lastEndLSN: LSN, lastCommitTime: PGTimestamp, crc: UInt32 = 0) {
        self.kind = kind
        self.storedLength = storedLength
        self.rawLength = rawLength
        self.firstLSN = firstLSN
        self.lastEndLSN = lastEndLSN
        self.lastCommitTime = lastCommitTime
        self.crc = crc
    }

    /// The first 40 bytes (everything but the CRC).
    func encodeWithoutCRC() -> [UInt8] {
        var w = WireWriter(capacity: FrameHeader.size)
        w.write(FrameHeader.magic)
        w.write(kind.rawValue)
        w.write(flags)
        w.write(UInt16(0))
        w.write(UInt32(storedLength))
        w.write(UInt32(rawLength))
        w.write(firstLSN)
        w.write(lastEndLSN)
        w.write(lastCommitTime)
        return w.bytes
    }

    /// Encodes the header and computes the CRC over it and the payload.
    public static func encode(kind: FrameKind, payload: [UInt8], rawLength: Int, firstLSN: LSN, lastEndLSN: LSN, lastCommitTime: PGTimestamp,
                              flags: UInt8 = 0) -> [UInt8] {
        var h = FrameHeader(kind: kind, storedLength: payload.count, rawLength: rawLength, firstLSN: firstLSN, lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime)
        h.flags = flags
        var bytes = h.encodeWithoutCRC()
        var crc = bytes.withUnsafeBytes { CRC32C.update(0, $0) }
        crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        var w = WireWriter(capacity: 4)
        w.write(crc)
        bytes.append(contentsOf: w.bytes)
        return bytes
    }

    /// Decodes a header (without checking the CRC, which needs the payload).
    public static func decode(_ bytes: [UInt8], at offset: Int) throws -> FrameHeader {
        var r = WireReader(bytes, offset: offset)
        let magic = try r.readUInt32("frame magic")
        guard magic == FrameHeader.magic else {
            throw WireDecodeError("not a frame (bad magic 0x\(String(magic, radix: 16)))", offset: offset, byte: bytes[offset])
        }
        let kindByte = try r.readUInt8("frame kind")
        guard let kind = FrameKind(rawValue: kindByte) else { throw WireDecodeError("unknown frame kind", offset: offset + 4, byte: kindByte) }
        let flags = try r.readUInt8("frame flags")
        guard flags & ~(FrameHeader.encryptedFlag | FrameHeader.authenticatedFlag) == 0, flags != 3 else { throw WireDecodeError("unknown frame flags", offset: offset + 5, byte: flags) }
        _ = try r.readUInt16("frame reserved")
        var h = FrameHeader(kind: kind, storedLength: Int(try r.readUInt32("stored length")), rawLength: Int(try r.readUInt32("raw length")),
                            firstLSN: try r.readLSN("first LSN"), lastEndLSN: try r.readLSN("last LSN"),
                            lastCommitTime: try r.readTimestamp("commit time"), crc: try r.readUInt32("frame CRC"))
        h.flags = flags
        return h
    }
}

public enum FrameKind: UInt8, Sendable {
    /// JSON: what the file is (segment or base copy), the archive identity, the format version.
    case fileHeader = 1
    /// Records: a sequence of u32 length + one pgoutput message in its non-streamed form.
    case records = 2
    /// Raw `COPY … TO STDOUT` text rows of a base copy.
    case copyData = 3
    /// JSON: the summary written when a file is sealed.
    case footer = 4
    /// JSON: a watermark (`Watermark`), in a frame of its own between transactions; the header's
    /// last LSN and commit time carry its position and server time, so it is found without reading
    /// the payload.
    case watermark = 5
    /// Binary: the keys the segment's changes touch, per table (`KeyIndex`), just before the footer.
    case keyIndex = 6

    /// In an encrypted archive, rows and changes (records, COPY data, headers naming definitions and
    /// snapshots) are sealed; a footer is not: it holds only positions, times, counts, hashes and
    /// names, so that `verify` checks checksums, content hashes and the hash chain without the key.
    public var isSealedWhenEncrypted: Bool { self != .footer }
}

/// File names and magic of archive files.
public enum ArchiveFiles {
    /// The 8 bytes every segment and base-copy file starts with.
    public static let fileMagic: [UInt8] = Array("LOGBOOK\u{1}".utf8)
    public static let sealedSegmentExtension = "seg"
    public static let openSegmentExtension = "partial"
    public static let baseExtension = "base"
}
