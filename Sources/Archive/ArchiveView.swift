import Foundation
import PGWire

/// The archive as it stood at one moment: the segment files present then, each open one read
/// only up to the whole frames it had, and how far that is complete (`end`). Every pass of one
/// command reads the same view, so whatever the archiver appends meanwhile, they agree; and the
/// result names `end`, so the same command can be repeated with `--at-lsn`.
public struct ArchiveView: Sendable {
    public struct File: Sendable {
        public var path: String
        /// For a segment that was open: bytes of it in the view (whole frames only).
        public var limit: Int?
    }
    public let archive: ArchiveDirectory
    public let files: [File]
    public let end: ArchiveEnd

    public init(archive: ArchiveDirectory, files: [File], end: ArchiveEnd) {
        self.archive = archive; self.files = files; self.end = end
    }

    /// Takes the view now. `includeOpen`: whether the segment being written is part of it.
    public static func take(_ archive: ArchiveDirectory, includeOpen: Bool = true) throws -> ArchiveView {
        // Open ones first: one sealed in between is then listed twice, never missed.
        let open = includeOpen ? try archive.openSegments() : []
        let sealed = try archive.sealedSegments()
        let zstd = Zstd()
        var end = ArchiveEnd()
        var files = sealed.map { File(path: $0, limit: nil) }
        // The end from the newest footers (the last commit and the last watermark).
        var haveCommit = false, haveWatermark = false
        for p in sealed.reversed() where !(haveCommit && haveWatermark) {
            let f = try SegmentScanner.footer(of: p, zstd: zstd)
            if !haveCommit, let l = f.last { end.merge(commitEnd: l.endLSN, time: l.commitTime); haveCommit = true }
            if !haveWatermark, let w = f.watermark { end.merge(w); haveWatermark = true }
        }
        let sealedNames = Set(sealed.map { ArchiveFiles.stem($0) })
        for p in open where !sealedNames.contains(ArchiveFiles.stem(p)) {
            let reader: FrameFileReader
            do { reader = try FrameFileReader(path: p, zstd: zstd) } catch let e as ArchiveError where e.code == .io || e.code == .corrupt {
                // Sealed (renamed) since it was listed, or created a moment ago with nothing in it yet.
                let sealedPath = ArchiveFiles.sealedPath(forOpen: p)
                if FileManager.default.fileExists(atPath: sealedPath) {
                    let f = try SegmentScanner.footer(of: sealedPath, zstd: zstd)
                    if let l = f.last { end.merge(commitEnd: l.endLSN, time: l.commitTime) }
                    if let w = f.watermark { end.merge(w) }
                    files.append(File(path: sealedPath, limit: nil))
                }
                continue
            }
            let limit = try reader.walkHeaders { _, h in
                switch h.kind {
                case .records where h.lastEndLSN != .zero: end.merge(commitEnd: h.lastEndLSN, time: h.lastCommitTime)
                case .watermark: end.merge(Watermark(lsn: h.lastEndLSN, time: h.lastCommitTime))
                default: break
                }
            }
            files.append(File(path: p, limit: limit))
        }
        files.sort { ArchiveFiles.stem($0.path) < ArchiveFiles.stem($1.path) }
        return ArchiveView(archive: archive, files: files, end: end)
    }
}

extension ArchiveFiles {
    /// A segment's name without folder and extension (its first LSN).
    static func stem(_ path: String) -> String {
        ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    }
    /// The name an open segment takes when it is sealed.
    static func sealedPath(forOpen path: String) -> String {
        String(path.dropLast(openSegmentExtension.count)) + sealedSegmentExtension
    }
}
