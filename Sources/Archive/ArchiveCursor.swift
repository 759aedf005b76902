import PGWire

/// One complete transaction's worth of records is not held; instead the cursor yields records in
/// archive order and tells transaction boundaries, so a reader keeps flat memory.
public enum ArchiveEvent {
    case tableDefinition(TableDefinition)
    case relation(RelationMessage)
    case begin(BeginMessage)
    case change(PgOutputMessage, raw: [UInt8])
    /// An Insert, Update or Delete read in place, from a cursor made with `decodeRows: false`.
    case rowChange(RowChangeView)
    case commit(CommitMessage)
    /// A non-transactional logical message.
    case message(LogicalMessage)
}

/// Walks every segment of an archive in LSN order (sealed ones, then the open one, whose
/// unfinished tail is ignored), decoding records into events.
public final class ArchiveCursor {
    let paths: [String]
    /// Bytes of each file to read (a view of segments being written); nil: all.
    let limits: [Int?]
    var index = 0
    var reader: SegmentReader?
    var decoder = PgOutputDecoder(protocolVersion: 1)
    let zstd = Zstd()
    let key: ArchiveKey?
    var inTransaction = false
    public private(set) var currentPath: String?
    /// The WAL position of the change just returned (its `@` record), nil when the archive has none for it.
    public private(set) var changeLSN: LSN?
    var pendingLSN: LSN?
    var positions = ChangePositionReader()
    /// When false, Insert/Update/Delete records come as `.rowChange` views instead of decoded messages.
    public var decodeRows = true
    /// When true, Insert/Update/Delete records and change positions are passed over unread (for a
    /// reader that wants shapes and transactions only; `changeLSN` is then nil).
    public var skipRows = false
    public var segmentCount: Int { paths.count }
    public var segmentsDone: Int { index }

    public init(archive: ArchiveDirectory, includeOpen: Bool = true) throws {
        var p = try archive.sealedSegments()
        if includeOpen { p += try archive.openSegments() }
        paths = p.sorted { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }
        limits = paths.map { _ in nil }
        key = archive.key
    }

    public init(paths: [String], key: ArchiveKey?) { self.paths = paths; limits = paths.map { _ in nil }; self.key = key }

    /// Reads exactly what `view` holds, whatever is appended meanwhile.
    public init(view: ArchiveView) {
        paths = view.files.map(\.path)
        limits = view.files.map(\.limit)
        key = view.archive.key
    }

    public func next() throws -> ArchiveEvent? {
        while true {
            if reader == nil {
                guard index < paths.count else { return nil }
                var path = paths[index]
                // A segment being written may be sealed (renamed) between listing and opening.
                if path.hasSuffix("." + ArchiveFiles.openSegmentExtension), !FileManager.default.fileExists(atPath: path) {
                    path = String(path.dropLast(ArchiveFiles.openSegmentExtension.count)) + ArchiveFiles.sealedSegmentExtension
                }
                reader = try SegmentReader(path: path, key: key, zstd: zstd, limit: limits[index])
                currentPath = path
                inTransaction = false
            }
            guard let rec = try reader!.nextRecordSlice() else {
                reader = nil
                index += 1
                continue
            }
            if skipRows, let tag = rec.first, tag == 0x49 || tag == 0x55 || tag == 0x44 || LogbookRecordTag.isChangePosition(rec) {
                pendingLSN = nil
                continue
            }
            if LogbookRecordTag.isChangePosition(rec) {
                do { pendingLSN = try positions.read(rec, frameOffset: reader?.currentFrameOffset ?? 0) } catch let e as WireDecodeError {
                    throw ArchiveError(.corrupt, "undecodable record: \(e)", path: currentPath, offset: reader?.currentFrameOffset ?? 0)
                }
                continue
            }
            changeLSN = pendingLSN
            pendingLSN = nil
            if !decodeRows, let tag = rec.first, tag == 0x49 || tag == 0x55 || tag == 0x44 {
                do { return .rowChange(try RowChangeView(rec)) } catch let e as WireDecodeError {
                    throw ArchiveError(.corrupt, "undecodable record: \(e)", path: currentPath, offset: reader?.currentFrameOffset)
                }
            }
            if let ev = try decodeRecord(Array(rec), decoder: &decoder, inTransaction: &inTransaction,
                                         path: currentPath, offset: reader?.currentFrameOffset) { return ev }
        }
    }
}

import Foundation

/// Turns one record into an event (nil for records readers do not need, such as Type).
func decodeRecord(_ rec: [UInt8], decoder: inout PgOutputDecoder, inTransaction: inout Bool, path: String?, offset: Int?) throws -> ArchiveEvent? {
    guard let tag = rec.first else { return nil }
    if tag == LogbookRecordTag.tableDefinition {
        do {
            return .tableDefinition(try JSONDecoder().decode(TableDefinition.self, from: Data(rec.dropFirst())))
        } catch {
            throw ArchiveError(.corrupt, "unreadable table definition record: \(error)", path: path, offset: offset)
        }
    }
    let msg: PgOutputMessage
    do { msg = try decoder.decode(rec).message } catch let e as WireDecodeError {
        throw ArchiveError(.corrupt, "undecodable record: \(e)", path: path, offset: offset)
    }
    switch msg {
    case .begin(let b): inTransaction = true; return .begin(b)
    case .commit(let c): inTransaction = false; return .commit(c)
    case .relation(let r): return .relation(r)
    case .type: return nil
    case .message(let m) where !inTransaction: return .message(m)
    default: return .change(msg, raw: rec)
    }
}
