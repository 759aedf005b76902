import Crypto
import Foundation
import PGWire

/// Writes frames to a file: the 8-byte file magic, then frames. Compression happens here.
public final class FrameFileWriter {
    public let path: String
    /// SHA-256 of every byte written so far (for the footer and the hash chain).
    var hasher = SHA256()
    /// The content hash of the frames written so far (what they hold, not how they are stored).
    public private(set) var content = ContentDigest()
    let fd: Int32
    let zstd: Zstd
    /// The archive's key: frames are sealed (footers tagged) with it; nil for a clear archive.
    let key: ArchiveKey?
    public private(set) var bytesWritten: Int
    public private(set) var frameCount = 0

    /// Creates (or truncates) `path` and writes the file magic.
    public init(creating path: String, key: ArchiveKey?, zstd: Zstd) throws {
        self.path = path
        self.key = key
        self.zstd = zstd
        fd = try FileIO.open(path, O_WRONLY | O_CREAT | O_TRUNC)
        do { try FileIO.writeAll(fd, ArchiveFiles.fileMagic, path: path) } catch {
            // Not even the magic (a full disk): no file is left for a reader to trip on.
            close(fd)
            try? FileIO.unlink(path)
            throw error
        }
        hasher.update(data: ArchiveFiles.fileMagic)
        bytesWritten = ArchiveFiles.fileMagic.count
    }

    deinit { close(fd) }

    /// Compresses `raw` and appends it as one frame. Not durable until `sync()`.
    public func writeFrame(_ kind: FrameKind, raw: UnsafeRawBufferPointer, firstLSN: LSN = .zero, lastEndLSN: LSN = .zero,
                           lastCommitTime: PGTimestamp = PGTimestamp(rawValue: 0)) throws {
        let frame = try Self.encodeFrameParts(kind, raw: raw, key: key, zstd: zstd, firstLSN: firstLSN, lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime)
        try append(frame.header, frame.payload)
        content.add(kind, rawLength: raw.count, firstLSN: firstLSN, lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime,
                    rawDigest: ContentDigest.rawDigest(raw))
    }

    /// One whole frame (header and payload) as it is stored: compressed, then sealed with the
    /// archive's key (or, for a footer, tagged with it) when the archive is encrypted. Recovery
    /// rewrites frames through this too, so a recovered segment reads like any other.
    static func encodeFrame(_ kind: FrameKind, raw: UnsafeRawBufferPointer, key: ArchiveKey?, zstd: Zstd, firstLSN: LSN, lastEndLSN: LSN,
                            lastCommitTime: PGTimestamp) throws -> [UInt8] {
        let parts = try encodeFrameParts(kind, raw: raw, key: key, zstd: zstd, firstLSN: firstLSN, lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime)
        var frame = parts.header
        frame.reserveCapacity(frame.count + parts.payload.count)
        frame.append(contentsOf: parts.payload)
        return frame
    }

    /// A frame as its header and its stored payload, so that a writer can write the two without
    /// copying the payload behind the header (a large frame, a key index, is then in memory once).
    static func encodeFrameParts(_ kind: FrameKind, raw: UnsafeRawBufferPointer, key: ArchiveKey?, zstd: Zstd, firstLSN: LSN, lastEndLSN: LSN,
                                 lastCommitTime: PGTimestamp) throws -> (header: [UInt8], payload: [UInt8]) {
        try frameParts(kind, compressed: try zstd.compress(raw), rawLength: raw.count, key: key, firstLSN: firstLSN, lastEndLSN: lastEndLSN,
                       lastCommitTime: lastCommitTime)
    }

    /// A frame around a payload compressed earlier: sealed or tagged with the key, then its header.
    static func frameParts(_ kind: FrameKind, compressed: [UInt8], rawLength: Int, key: ArchiveKey?, firstLSN: LSN, lastEndLSN: LSN,
                           lastCommitTime: PGTimestamp) throws -> (header: [UInt8], payload: [UInt8]) {
        var payload = compressed
        var flags: UInt8 = 0
        if let key, kind.isSealedWhenEncrypted {
            // The header (with the sealed length) is the additional data: no field of it can be altered.
            var h = FrameHeader(kind: kind, storedLength: payload.count + ArchiveKey.overhead, rawLength: rawLength, firstLSN: firstLSN,
                                lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime)
            h.flags = FrameHeader.encryptedFlag
            payload = try key.seal(payload, aad: h.encodeWithoutCRC())
            flags = FrameHeader.encryptedFlag
        } else if let key {
            // A footer: in the clear, so integrity can be checked without the key, and tagged with an
            // HMAC over its header and payload, so only the key's holder can write one.
            var h = FrameHeader(kind: kind, storedLength: payload.count + ArchiveKey.tagLength, rawLength: rawLength, firstLSN: firstLSN,
                                lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime)
            h.flags = FrameHeader.authenticatedFlag
            payload += key.tag(h.encodeWithoutCRC() + payload)
            flags = FrameHeader.authenticatedFlag
        }
        let header = FrameHeader.encode(kind: kind, payload: payload, rawLength: rawLength, firstLSN: firstLSN,
                                        lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime, flags: flags)
        return (header, payload)
    }

    static func encodeFrame(_ kind: FrameKind, raw: [UInt8], key: ArchiveKey?, zstd: Zstd, firstLSN: LSN = .zero, lastEndLSN: LSN = .zero,
                            lastCommitTime: PGTimestamp = PGTimestamp(rawValue: 0)) throws -> [UInt8] {
        try raw.withUnsafeBytes { try encodeFrame(kind, raw: $0, key: key, zstd: zstd, firstLSN: firstLSN, lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime) }
    }

    /// Appends a frame whose payload was compressed earlier (a streamed transaction's spool): it is
    /// sealed with the archive's key here, as every frame, and checksummed with its header.
    /// `rawDigest`: the SHA-256 of the raw payload, taken when it was compressed (the content hash).
    public func writeCompressedFrame(_ kind: FrameKind, compressed: [UInt8], rawLength: Int, rawDigest: [UInt8]?, firstLSN: LSN = .zero,
                                     lastEndLSN: LSN = .zero, lastCommitTime: PGTimestamp = PGTimestamp(rawValue: 0)) throws {
        let frame = try Self.frameParts(kind, compressed: compressed, rawLength: rawLength, key: key, firstLSN: firstLSN,
                                        lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime)
        try append(frame.header, frame.payload)
        if let rawDigest {
            content.add(kind, rawLength: rawLength, firstLSN: firstLSN, lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime, rawDigest: rawDigest)
        } else {
            content.markIncomplete()
        }
    }

    /// Appends a whole frame made by `encodeFrame` elsewhere (a base copy's lane compresses and
    /// seals its frames on its own thread). Not durable until `sync()`.
    public func appendEncoded(_ frame: [UInt8]) throws {
        try append(frame)
        content.markIncomplete()
    }

    /// Writes one frame given in consecutive parts. Not durable until `sync()`.
    func append(_ parts: [UInt8]...) throws {
        for part in parts { try FileIO.writeAll(fd, part, path: path) }
        for part in parts { hasher.update(data: part); bytesWritten += part.count }
        frameCount += 1
    }

    public func writeFrame(_ kind: FrameKind, raw: [UInt8], firstLSN: LSN = .zero, lastEndLSN: LSN = .zero,
                           lastCommitTime: PGTimestamp = PGTimestamp(rawValue: 0)) throws {
        try raw.withUnsafeBytes { try writeFrame(kind, raw: $0, firstLSN: firstLSN, lastEndLSN: lastEndLSN, lastCommitTime: lastCommitTime) }
    }

    public func writeJSONFrame<T: Encodable>(_ kind: FrameKind, _ value: T) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try writeFrame(kind, raw: [UInt8](try enc.encode(value)))
    }

    public func sync() throws { try FileIO.fsync(fd, path: path) }

    /// Hex SHA-256 of everything written so far.
    public var sha256: String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
}

/// One frame read back, checked against its CRC and decompressed.
public struct Frame: Sendable {
    public var header: FrameHeader
    /// Byte offset of the frame's header in the file.
    public var offset: Int
    public var raw: [UInt8]

    public func decodeJSON<T: Decodable>(_ type: T.Type, path: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(raw)) } catch {
            throw ArchiveError(.corrupt, "frame holds no \(String(describing: T.self)): \(describeDecoding(error))", path: path, offset: offset,
                               fix: "restore this file from an off-site copy, or remove it if it is not part of the archive")
        }
    }
}

/// Reads frames one at a time (flat memory). Every problem is an `ArchiveError` naming the file
/// and the byte offset; `isTornTail` tells a frame cut short by the end of the file (a crash while
/// writing) from damage in the middle.
public final class FrameFileReader {
    public let path: String
    let fd: Int32
    let zstd: Zstd
    /// The archive's key (nil: a clear archive, or a reader that checks only what is in the clear).
    let key: ArchiveKey?
    public private(set) var fileSize: Int
    public private(set) var offset: Int
    /// Bytes of the file this reader may read (nil: all of it, as it grows).
    let limit: Int?
    /// When set, the content hash of the frames `next()` has read, the footer excepted (a verifier's).
    public var content: ContentDigest?

    /// Re-reads the file's size (a file being appended to); returns whether it grew.
    @discardableResult
    public func refreshSize() -> Bool {
        var st = stat()
        fstat(fd, &st)
        let size = min(Int(st.st_size), limit ?? Int.max)
        let grew = size > fileSize
        fileSize = size
        return grew
    }

    /// The offset of the last whole frame, found by walking frame headers only (no payload is read).
    public func lastFrameOffset() throws -> Int? {
        var last: Int?
        try walkHeaders { offset, _ in last = offset }
        return last
    }

    /// Calls `body` with the offset and header of every whole frame, reading headers only (no
    /// payload is read or checked). Returns where the last whole frame ends.
    @discardableResult
    public func walkHeaders(_ body: (Int, FrameHeader) throws -> Void) throws -> Int {
        var at = ArchiveFiles.fileMagic.count
        while at + FrameHeader.size <= fileSize {
            guard let h = try readExactly(FrameHeader.size, at: at) else { break }
            let header: FrameHeader
            do { header = try FrameHeader.decode(h, at: 0) } catch { throw ArchiveError(.corrupt, "bad frame header", path: path, offset: at) }
            guard at + FrameHeader.size + header.storedLength <= fileSize else { break }
            try body(at, header)
            at += FrameHeader.size + header.storedLength
        }
        return at
    }

    /// Continues reading at a frame boundary found earlier (e.g. in the same file before a rename).
    public func seek(to frameOffset: Int) { offset = frameOffset }

    public struct Problem: Error, Sendable {
        public var error: ArchiveError
        public var isTornTail: Bool
    }

    public init(path: String, key: ArchiveKey?, zstd: Zstd = Zstd(), limit: Int? = nil) throws {
        self.path = path
        self.key = key
        self.zstd = zstd
        self.limit = limit
        fd = try FileIO.open(path, O_RDONLY)
        var st = stat()
        fstat(fd, &st)
        fileSize = min(Int(st.st_size), limit ?? Int.max)
        offset = 0
        // A file cut short while its magic was written (a crash right after it was created) holds
        // nothing: it reads as empty.
        if fileSize < ArchiveFiles.fileMagic.count, let head = try readExactly(fileSize, at: 0),
           head.elementsEqual(ArchiveFiles.fileMagic.prefix(fileSize)) {
            offset = fileSize
            return
        }
        let magic = try readExactly(ArchiveFiles.fileMagic.count, at: 0)
        guard let magic, magic == ArchiveFiles.fileMagic else {
            close(fd)
            throw ArchiveError(.corrupt, "not a Logbook archive file (bad magic)", path: path, offset: 0,
                               fix: "restore this file from an off-site copy, or remove it if it is not part of the archive")
        }
        offset = magic.count
    }

    deinit { close(fd) }

    func readExactly(_ n: Int, at off: Int) throws -> [UInt8]? {
        guard off + n <= fileSize else { return nil }
        return try FileIO.preadExactly(fd, count: n, at: off, path: path)
    }

    /// The kind of the next frame, read from its header alone; nil at the end of the file (a
    /// damaged header is left for `next()` to report).
    public func peekKind() throws -> FrameKind? {
        guard let h = try readExactly(FrameHeader.size, at: offset), let header = try? FrameHeader.decode(h, at: 0) else { return nil }
        return header.kind
    }

    /// Moves past the next frame without reading its payload (another reader of the same file
    /// reads and checks it). False when no whole frame follows.
    public func skipFrame() throws -> Bool {
        guard let h = try readExactly(FrameHeader.size, at: offset), let header = try? FrameHeader.decode(h, at: 0),
              offset + FrameHeader.size + header.storedLength <= fileSize else { return false }
        offset += FrameHeader.size + header.storedLength
        return true
    }

    /// The next frame's header and stored payload, its checksum checked but neither decrypted nor
    /// decompressed (what can be checked without the encryption key); nil at a clean end of file.
    public func nextStored() throws -> (header: FrameHeader, offset: Int, stored: [UInt8])? {
        if offset == fileSize { return nil }
        let start = offset
        let (header, _, payload) = try readChecked()
        offset = start + FrameHeader.size + header.storedLength
        return (header, start, payload)
    }

    /// The whole frame of `kind` that starts at `offset` (e.g. where a footer says), checked and opened.
    public func frame(at offset: Int, kind: FrameKind, what: String) throws -> Frame {
        seek(to: offset)
        let frame: Frame?
        do { frame = try next() } catch let p as Problem { throw p.error }
        guard let frame, frame.header.kind == kind else {
            throw ArchiveError(.corrupt, "no \(what) frame at byte \(offset)", path: path, offset: offset)
        }
        return frame
    }

    /// The frame of a stored payload that is not encrypted, decompressed (an authenticated one's
    /// tag is left unchecked: that needs the key).
    public func decompressPlain(_ header: FrameHeader, stored: [UInt8], at offset: Int) throws -> Frame {
        let payload = header.isAuthenticated ? Array(stored.dropLast(ArchiveKey.tagLength)) : stored
        do { return Frame(header: header, offset: offset, raw: try payload.withUnsafeBytes { try zstd.decompress($0, rawLength: header.rawLength) }) } catch let e as ArchiveError {
            throw ArchiveError(.corrupt, e.message, path: path, offset: offset)
        }
    }

    /// The next frame, nil at a clean end of file; throws `Problem` on damage.
    public func next() throws -> Frame? {
        if offset == fileSize { return nil }
        let start = offset
        let (header, hbytes, payload) = try readChecked()
        var compressed = payload
        if let key, !header.isEncrypted {
            // In an encrypted archive only footers are in the clear, and each carries the key's tag.
            guard header.isAuthenticated, payload.count >= ArchiveKey.tagLength,
                  key.tag(Array(hbytes[0..<40]) + payload.dropLast(ArchiveKey.tagLength)) == Array(payload.suffix(ArchiveKey.tagLength)) else {
                throw Problem(error: ArchiveError(.key, header.isAuthenticated ? "a footer's tag does not match: it was altered, or written without this archive's key"
                                                                                : "a frame in the clear in an encrypted archive: it was altered or copied in",
                                                  path: path, offset: start,
                                                  fix: "restore this file from an off-site copy and run `logbook verify --archive`"), isTornTail: false)
            }
            compressed = Array(payload.dropLast(ArchiveKey.tagLength))
        } else if header.isAuthenticated {
            compressed = Array(payload.dropLast(ArchiveKey.tagLength))
        }
        if header.isEncrypted {
            guard let key else {
                throw Problem(error: ArchiveError(.key, "this file is encrypted", path: path, offset: start,
                                                  fix: "pass --encryption-key-file FILE (or set LOGBOOK_ENCRYPTION_KEY_FILE)"), isTornTail: false)
            }
            do { compressed = try key.open(payload, aad: Array(hbytes[0..<40])) } catch {
                throw Problem(error: ArchiveError(.key, "cannot decrypt the frame: wrong key (id \(key.id)) or altered content", path: path, offset: start,
                                                  fix: "use the key file this archive was written with; if it is the right one, restore this file from an off-site copy"),
                              isTornTail: false)
            }
        }
        let raw: [UInt8]
        do { raw = try compressed.withUnsafeBytes { try zstd.decompress($0, rawLength: header.rawLength) } } catch let e as ArchiveError {
            throw Problem(error: ArchiveError(.corrupt, e.message, path: path, offset: start), isTornTail: false)
        }
        offset = start + FrameHeader.size + header.storedLength
        let frame = Frame(header: header, offset: start, raw: raw)
        if content != nil, header.kind != .footer { content!.add(frame) }
        return frame
    }

    /// Reads the frame at `offset`: its header and stored payload, whole and matching the CRC.
    private func readChecked() throws -> (FrameHeader, [UInt8], [UInt8]) {
        let start = offset
        guard let hbytes = try readExactly(FrameHeader.size, at: start) else {
            throw Problem(error: ArchiveError(.corrupt, "torn frame: the file ends inside a frame header", path: path, offset: start), isTornTail: true)
        }
        let header: FrameHeader
        do { header = try FrameHeader.decode(hbytes, at: 0) } catch let e as WireDecodeError {
            throw Problem(error: ArchiveError(.corrupt, "bad frame header: \(e.what)", path: path, offset: start), isTornTail: false)
        }
        guard let payload = try readExactly(header.storedLength, at: start + FrameHeader.size) else {
            throw Problem(error: ArchiveError(.corrupt, "torn frame: the file ends inside a frame of \(header.storedLength) bytes", path: path, offset: start), isTornTail: true)
        }
        var crc = hbytes.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<40])) }
        crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        guard crc == header.crc else {
            let atEnd = start + FrameHeader.size + header.storedLength == fileSize
            throw Problem(error: ArchiveError(.corrupt, "frame checksum mismatch (stored \(String(header.crc, radix: 16)), computed \(String(crc, radix: 16)))",
                                              path: path, offset: start), isTornTail: atEnd)
        }
        return (header, hbytes, payload)
    }
}
