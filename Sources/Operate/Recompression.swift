import Archive
import Foundation
import Logging
import Synchronization

/// `logbook recompress` and `logbook run --recompress-level N`: rewrites sealed segments with a
/// higher zstd level, frame for frame (the same frames, the same raw payloads, sealed anew in an
/// encrypted archive). Capture writes at a level fast enough to keep up with the server; a sealed
/// segment has all the time it needs.
///
/// The chain stays whole: the rewritten segment keeps its content hash (checked on both sides of
/// the rewrite), records the hash of its bytes as sealed (`SegmentFooter.recompressed`), which its
/// successor names, and is named by content by that successor too (`SegmentFooter.isNamed`). The new
/// file is written beside the old one, fsynced and renamed over it: a crash leaves one or the other.
public enum Recompression {
    /// The level `run --recompress-level` and `logbook recompress` use unless told.
    public static let defaultLevel = 19

    public struct Outcome: Sendable {
        public var path: String
        public var bytesBefore: Int
        public var bytesAfter: Int
        public var seconds: Double
    }

    /// Sealed segments that can be recompressed to `level`, oldest first: they have a content hash,
    /// are not yet at that level, and the segment after them (sealed or open), if any, names them by
    /// content (a successor written before content hashes would no longer find a rewritten one).
    public static func candidates(_ archive: ArchiveDirectory, level: Int) throws -> [String] {
        let zstd = Zstd()
        let sealed = try archive.sealedSegments()
        var footers: [SegmentFooter] = []
        for p in sealed { footers.append(try SegmentScanner.footer(of: p, key: archive.key, zstd: zstd)) }
        let openHeader = try archive.openSegments().last.flatMap { try? SegmentScanner.openHeader(of: $0, key: archive.key, zstd: zstd) }
        var out: [String] = []
        for (i, f) in footers.enumerated() {
            guard f.contentSHA256 != nil, (f.recompressed?.level ?? 0) < level else { continue }
            let named: Bool
            if i + 1 < footers.count {
                named = footers[i + 1].previousContentSHA256 == f.contentSHA256 && footers[i + 1].previousSHA256 == f.chainSHA256
            } else if let h = openHeader, h.previousSHA256 != nil {
                named = h.previousContentSHA256 == f.contentSHA256 && h.previousSHA256 == f.chainSHA256
            } else {
                named = true
            }
            if named { out.append(sealed[i]) }
        }
        return out
    }

    /// Rewrites one sealed segment at `level`. `shouldStop` is asked between frames: when it says
    /// yes, the new file is removed and the segment left as it was (nil is returned).
    @discardableResult
    public static func recompress(_ path: String, archive: ArchiveDirectory, level: Int, shouldStop: () -> Bool = { false }) throws -> Outcome? {
        let started = Date()
        let zstd = Zstd()
        let reader = try FrameFileReader(path: path, key: archive.key, zstd: zstd)
        reader.content = ContentDigest()
        let bytesBefore = reader.fileSize
        let tmp = path + ".recompressing"
        try? FileIO.unlink(tmp)
        let writer = try FrameFileWriter(creating: tmp, key: archive.key, zstd: Zstd(level: Int32(level)))
        var done = false
        defer { if !done { try? FileIO.unlink(tmp) } }
        var footer: SegmentFooter?
        var footerOffset = 0
        var moved: [Int: Int] = [:]
        while true {
            if shouldStop() { return nil }
            let frame: Frame
            do {
                guard let f = try reader.next() else { break }
                frame = f
            } catch let p as FrameFileReader.Problem {
                if p.error.code == .key { throw p.error }
                throw ArchiveError(.corrupt, "cannot recompress: \(p.error.message)", path: path, offset: p.error.offset,
                                   fix: "run `logbook verify --archive` and restore this segment from an off-site copy")
            }
            if frame.header.kind == .footer {
                footer = try frame.decodeJSON(SegmentFooter.self, path: path)
                footerOffset = frame.offset
                break
            }
            if frame.header.kind == .keyIndex { moved[frame.offset] = writer.bytesWritten }
            try writer.writeFrame(frame.header.kind, raw: frame.raw, firstLSN: frame.header.firstLSN, lastEndLSN: frame.header.lastEndLSN,
                                  lastCommitTime: frame.header.lastCommitTime)
        }
        guard var footer, let content = footer.contentSHA256, let sealedSHA = footer.chainSHA256 else {
            throw ArchiveError(.invalidState, "cannot recompress: the segment has no content hash (written before content hashes, or recovered after a crash)", path: path)
        }
        // The segment is what its footer says, by bytes and by content, and so is the new file.
        guard try fileSHA256(path, length: footerOffset) == footer.sha256, reader.content?.hex == content else {
            throw ArchiveError(.corrupt, "cannot recompress: the segment does not match its recorded hashes (changed after it was sealed)", path: path,
                               fix: "run `logbook verify --archive` and restore this segment from an off-site copy")
        }
        guard writer.content.hex == content else {
            throw ArchiveError(.invalidState, "recompression changed the segment's content hash", path: path)
        }
        footer.sha256 = writer.sha256
        footer.recompressed = SegmentFooter.Recompression(level: level, sealedSHA256: sealedSHA,
                                                          sealedBytes: footer.recompressed?.sealedBytes ?? bytesBefore,
                                                          at: ISO8601DateFormatter().string(from: Date()))
        if let at = footer.keyIndexOffset { footer.keyIndexOffset = moved[at] }
        if let parts = footer.keyIndexOffsets { footer.keyIndexOffsets = parts.compactMap { moved[$0] } }
        try writer.writeJSONFrame(.footer, footer)
        try writer.sync()
        let bytesAfter = writer.bytesWritten
        try FileIO.rename(tmp, path)
        done = true
        try FileIO.fsyncDirectory(archive.segmentsPath)
        return Outcome(path: path, bytesBefore: bytesBefore, bytesAfter: bytesAfter, seconds: Date().timeIntervalSince(started))
    }
}

/// `logbook run --recompress-level N`: recompresses sealed segments in the background, checked when
/// a segment is sealed, one segment at a time; `stop()` ends the one in progress between frames
/// (it is left as it was). A failure is logged and the segment retried at the next check.
public final class RecompressionScheduler: Sendable {
    let archive: ArchiveDirectory
    let level: Int
    let logger: Logger
    private let stopping = Atomic<Bool>(false)

    public init(archive: String, key: ArchiveKey? = nil, level: Int, logger: Logger) {
        self.archive = ArchiveDirectory(archive, key: key)
        self.level = level
        self.logger = logger
    }

    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// Recompresses every candidate (blocking). Returns how many were rewritten.
    @discardableResult
    public func runIfDue() -> Int {
        var count = 0
        do {
            for path in try Recompression.candidates(archive, level: level) {
                if stopping.load(ordering: .relaxed) { break }
                guard let o = try Recompression.recompress(path, archive: archive, level: level,
                                                           shouldStop: { stopping.load(ordering: .relaxed) }) else { break }
                count += 1
                logger.info("segment recompressed", metadata: ["segment": "\((path as NSString).lastPathComponent)", "level": "\(level)",
                                                               "bytes_before": "\(o.bytesBefore)", "bytes_after": "\(o.bytesAfter)",
                                                               "seconds": "\(String(format: "%.1f", o.seconds))"])
            }
        } catch {
            logger.error("background recompression failed", metadata: ["error": "\(error)"])
        }
        return count
    }
}
