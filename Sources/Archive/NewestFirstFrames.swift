import Foundation

/// The records frames of an archive view, newest first: files from the last to the first, and in
/// each file its frames from the last whole one back to the first. A frame's records are given in
/// their own order (a reader walks them backwards). Only frame headers are read to find the
/// frames; each frame is checked (CRC, key) and decompressed when it is reached, so memory is one
/// frame whatever the archive's size.
public final class NewestFirstFrames {
    let files: [ArchiveView.File]
    let key: ArchiveKey?
    let zstd = Zstd()
    var fileIndex: Int
    var reader: FrameFileReader?
    var offsets: [Int] = []
    public private(set) var currentPath: String?

    public init(view: ArchiveView) {
        files = view.files
        key = view.archive.key
        fileIndex = view.files.count
    }

    /// The next frame back: its payload and the ranges of its records, nil before the first.
    public func next() throws -> (raw: [UInt8], records: [Range<Int>], offset: Int)? {
        while offsets.isEmpty {
            reader = nil
            guard fileIndex > 0 else { return nil }
            fileIndex -= 1
            var path = files[fileIndex].path
            // A segment being written may be sealed (renamed) between listing and opening.
            if path.hasSuffix("." + ArchiveFiles.openSegmentExtension), !FileManager.default.fileExists(atPath: path) {
                path = String(path.dropLast(ArchiveFiles.openSegmentExtension.count)) + ArchiveFiles.sealedSegmentExtension
            }
            let r = try FrameFileReader(path: path, key: key, zstd: zstd, limit: files[fileIndex].limit)
            // Headers only; a torn tail (a segment being written) ends the walk there.
            try r.walkHeaders { at, header in if header.kind == .records { offsets.append(at) } }
            reader = r
            currentPath = path
        }
        let at = offsets.removeLast()
        let frame = try reader!.frame(at: at, kind: .records, what: "records")
        do {
            return (frame.raw, try recordRanges(frame.raw), at)
        } catch {
            throw ArchiveError(.corrupt, "frame records are malformed: \(error)", path: currentPath, offset: at)
        }
    }
}
