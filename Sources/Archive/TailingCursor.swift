import Foundation
import PGWire

/// Follows the archive while it is being written: reads segments in order from the one that holds
/// `lsn`, follows the open segment as it grows and when it is sealed (renamed), then moves on to the
/// next. `next()` returns nil when there is nothing more for now; call again later.
public final class TailingCursor {
    let archive: ArchiveDirectory
    let zstd = Zstd()
    var stem: String?
    var reader: SegmentReader?
    var readingOpen = false
    var decoder = PgOutputDecoder(protocolVersion: 1)
    /// The WAL position of the change just returned (its `@` record), nil when the archive has none for it.
    public private(set) var changeLSN: LSN?
    var pendingLSN: LSN?
    var positions = ChangePositionReader()
    var inTransaction = false
    public private(set) var currentPath: String?

    public init(archive: ArchiveDirectory, from lsn: LSN) throws {
        self.archive = archive
        let stems = try Self.stems(archive)
        stem = stems.last { $0 <= lsn.fileName } ?? stems.first
    }

    static func stems(_ archive: ArchiveDirectory) throws -> [String] {
        let all = try archive.sealedSegments() + archive.openSegments()
        return Set(all.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }).sorted()
    }

    func path(_ stem: String, open: Bool) -> String {
        archive.segmentsPath + "/" + stem + "." + (open ? ArchiveFiles.openSegmentExtension : ArchiveFiles.sealedSegmentExtension)
    }

    func openReader() throws -> Bool {
        if stem == nil { stem = try Self.stems(archive).first }
        guard let stem else { return false }
        let sealed = path(stem, open: false), partial = path(stem, open: true)
        if FileManager.default.fileExists(atPath: sealed) {
            reader = try SegmentReader(path: sealed, key: archive.key, zstd: zstd); readingOpen = false; currentPath = sealed
        } else if FileManager.default.fileExists(atPath: partial) {
            reader = try SegmentReader(path: partial, key: archive.key, zstd: zstd); readingOpen = true; currentPath = partial
        } else {
            return false
        }
        inTransaction = false
        return true
    }

    public func next() throws -> ArchiveEvent? {
        while true {
            if reader == nil { guard try openReader() else { return nil } }
            if let rec = try reader!.nextRecord() {
                if LogbookRecordTag.isChangePosition(rec) {
                    do { pendingLSN = try positions.read(rec, frameOffset: reader!.currentFrameOffset) } catch let e as WireDecodeError {
                        throw ArchiveError(.corrupt, "undecodable record: \(e)", path: currentPath, offset: reader!.currentFrameOffset)
                    }
                    continue
                }
                changeLSN = pendingLSN
                pendingLSN = nil
                if let ev = try decodeRecord(rec, decoder: &decoder, inTransaction: &inTransaction, path: currentPath,
                                             offset: reader!.currentFrameOffset) { return ev }
                continue
            }
            if readingOpen {
                let at = reader!.nextFrameOffset
                let sealed = path(stem!, open: false)
                if FileManager.default.fileExists(atPath: sealed) {
                    // Sealed meanwhile: same bytes plus a footer; continue after the frames already read.
                    let r = try SegmentReader(path: sealed, key: archive.key, zstd: zstd)
                    r.seek(to: at)
                    reader = r; readingOpen = false; currentPath = sealed
                    continue
                }
                if reader!.refreshSize() { continue }
                return nil
            }
            // A sealed segment is done: the next one, if there is one yet.
            guard let next = try Self.stems(archive).first(where: { $0 > stem! }) else { return nil }
            stem = next
            reader = nil
        }
    }
}
