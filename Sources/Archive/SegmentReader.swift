import Foundation
import PGWire

/// Reads the records of one segment in order, frame by frame (flat memory).
public final class SegmentReader {
    public let path: String
    let frames: FrameFileReader
    public private(set) var header: SegmentHeader?
    public private(set) var footer: SegmentFooter?
    /// Where the footer frame starts: the segment's hashed content ends there.
    public private(set) var footerOffset: Int?
    /// The current frame's records: its payload and where each record lies in it (no copies).
    var frameRaw: [UInt8] = []
    var pending: [Range<Int>] = []
    var pendingIndex = 0
    /// The header of the frame the last record came from.
    public private(set) var currentFrame: FrameHeader?
    public private(set) var currentFrameOffset = 0
    /// The last watermark frame read so far.
    public private(set) var lastWatermark: Watermark?

    /// An open segment being written may end in a torn frame: stop there instead of failing.
    let tolerateTornTail: Bool

    /// `limit`: read only the frames that end within that many bytes (a view of a segment being
    /// written, taken at one moment).
    public init(path: String, key: ArchiveKey?, zstd: Zstd = Zstd(), limit: Int? = nil) throws {
        self.path = path
        tolerateTornTail = path.hasSuffix("." + ArchiveFiles.openSegmentExtension) || limit != nil
        frames = try FrameFileReader(path: path, key: key, zstd: zstd, limit: limit)
    }

    /// The offset of the next frame to read (every record of earlier frames has been returned
    /// once `hasPendingRecords` is false).
    public var nextFrameOffset: Int { frames.offset }
    public var hasPendingRecords: Bool { pendingIndex < pending.count }
    public func refreshSize() -> Bool { frames.refreshSize() }
    public func seek(to frameOffset: Int) { frames.seek(to: frameOffset) }
    /// Computes the content hash of what is read from here on (from the start: the whole segment's).
    public func digestContent() { frames.content = ContentDigest() }
    /// The content hash of the frames read so far (with `digestContent()`), the footer excepted.
    public var contentSHA256: String? { frames.content?.hex }

    /// The next record (a normalized pgoutput message or a `#` table definition), nil at the end.
    /// A damaged frame throws an `ArchiveError` naming the file and offset.
    public func nextRecord() throws -> [UInt8]? { try nextRecordSlice().map { Array($0) } }

    /// The next record as a view into its frame's payload (valid until the reader moves on, as the
    /// frame is kept alive by the slice).
    public func nextRecordSlice() throws -> ArraySlice<UInt8>? {
        while pendingIndex >= pending.count {
            let frame: Frame
            do {
                guard let f = try frames.next() else { return nil }
                frame = f
            } catch let p as FrameFileReader.Problem {
                if p.isTornTail && tolerateTornTail { return nil }
                throw p.error
            }
            switch frame.header.kind {
            case .fileHeader: header = try frame.decodeJSON(SegmentHeader.self, path: path)
            case .footer:
                footer = try frame.decodeJSON(SegmentFooter.self, path: path)
                footerOffset = frame.offset
            case .records:
                do { pending = try recordRanges(frame.raw) } catch {
                    throw ArchiveError(.corrupt, "frame records are malformed: \(error)", path: path, offset: frame.offset)
                }
                frameRaw = frame.raw
                pendingIndex = 0
                currentFrame = frame.header
                currentFrameOffset = frame.offset
            case .keyIndex: break
            case .watermark:
                lastWatermark = Watermark(lsn: frame.header.lastEndLSN, time: frame.header.lastCommitTime)
            case .copyData:
                throw ArchiveError(.corrupt, "segment holds a base-copy frame", path: path, offset: frame.offset)
            }
        }
        defer { pendingIndex += 1 }
        return frameRaw[pending[pendingIndex]]
    }
}
