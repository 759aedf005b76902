import Foundation
import PGWire

/// Brings an open segment left by a crash into a sealed, consistent state: a torn tail frame is
/// cut, records after the last complete transaction are dropped (the server re-sends that
/// transaction, since its end LSN was never confirmed), a footer is written and the file sealed.
enum SegmentRecovery {
    struct Tally {
        var transactions = 0, changes = 0
        var tables = Set<String>()
        var last: CommitPosition?
        var firstCommitTime: PGTimestamp?
        var watermark: Watermark?
    }

    static func recover(_ path: String, archive: ArchiveDirectory, zstd: Zstd) throws {
        let reader: FrameFileReader
        do { reader = try FrameFileReader(path: path, key: archive.key, zstd: zstd) } catch let e as ArchiveError where e.code == .corrupt {
            // Crashed before the file magic was complete: nothing in it.
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        var header: SegmentHeader?
        // Where the last complete unit ends: (frame, index of its last record, records in that frame).
        var cut: (frame: Frame, lastRecord: Int, recordCount: Int)?
        var running = Tally(), atCut = Tally()
        var inTxn = false
        // The content hash of the frames before the one read now, and before the cut frame.
        var digest = ContentDigest(), beforeCut = ContentDigest()
        while true {
            let frame: Frame
            do {
                guard let f = try reader.next() else { break }
                frame = f
            } catch let p as FrameFileReader.Problem {
                if p.isTornTail { break }
                throw ArchiveError(.corrupt, "open segment is damaged before its end (\(p.error.message))", path: path, offset: p.error.offset,
                                   fix: "move this file out of the archive folder and restart; the transactions after its last sealed neighbour are re-read only if the slot still has them")
            }
            let beforeFrame = digest
            digest.add(frame)
            defer { if cut?.frame.offset == frame.offset { beforeCut = beforeFrame } }
            switch frame.header.kind {
            case .fileHeader: header = try frame.decodeJSON(SegmentHeader.self, path: path)
            case .records:
                let records = try splitRecords(frame.raw)
                for (i, rec) in records.enumerated() {
                    guard let tag = rec.first else { continue }
                    switch tag {
                    case PgOutputMessage.Tag.begin.rawValue: inTxn = true
                    case PgOutputMessage.Tag.commit.rawValue:
                        var r = WireReader(rec, offset: 1)
                        let c = try CommitMessage.decode(&r)
                        inTxn = false
                        running.transactions += 1
                        running.last = CommitPosition(commitLSN: c.commitLSN, endLSN: c.endLSN, commitTime: c.commitTime)
                        if running.firstCommitTime == nil { running.firstCommitTime = c.commitTime }
                        atCut = running
                        cut = (frame, i, records.count)
                    case LogbookRecordTag.tableDefinition:
                        if let def = try? JSONDecoder().decode(TableDefinition.self, from: Data(rec.dropFirst())) { running.tables.insert(def.qualifiedName) }
                    case PgOutputMessage.Tag.insert.rawValue, PgOutputMessage.Tag.update.rawValue, PgOutputMessage.Tag.delete.rawValue,
                         PgOutputMessage.Tag.truncate.rawValue, PgOutputMessage.Tag.message.rawValue:
                        running.changes += 1
                        if !inTxn && tag == PgOutputMessage.Tag.message.rawValue { atCut = running; cut = (frame, i, records.count) }
                    default: break
                    }
                }
            case .watermark:
                // Written only between transactions, after everything before it: a clean cut.
                guard !inTxn else { break }
                running.watermark = Watermark(lsn: frame.header.lastEndLSN, time: frame.header.lastCommitTime)
                atCut = running
                cut = (frame, 0, 1)
            case .footer, .copyData, .keyIndex: break
            }
        }
        guard let header, let cut else {
            try FileManager.default.removeItem(atPath: path)
            return
        }
        // Truncate after the cut frame, or rewrite it without the records that follow the cut.
        let fd = try FileIO.open(path, O_WRONLY)
        defer { close(fd) }
        let frameEnd = cut.frame.offset + FrameHeader.size + cut.frame.header.storedLength
        var content = beforeCut
        if cut.lastRecord == cut.recordCount - 1 {
            try FileIO.truncate(fd, frameEnd, path: path)
            content.add(cut.frame)
        } else {
            try FileIO.truncate(fd, cut.frame.offset, path: path)
            var buf = RecordBuffer()
            for rec in try splitRecords(cut.frame.raw).prefix(cut.lastRecord + 1) { buf.append(rec) }
            let bytes = try FrameFileWriter.encodeFrame(.records, raw: buf.bytes, key: archive.key, zstd: zstd, firstLSN: cut.frame.header.firstLSN,
                                                        lastEndLSN: atCut.last?.endLSN ?? .zero,
                                                        lastCommitTime: atCut.last?.commitTime ?? PGTimestamp(rawValue: 0))
            try FileIO.seek(fd, cut.frame.offset, path: path)
            try FileIO.writeAll(fd, bytes, path: path)
            content.add(.records, rawLength: buf.bytes.count, firstLSN: cut.frame.header.firstLSN, lastEndLSN: atCut.last?.endLSN ?? .zero,
                        lastCommitTime: atCut.last?.commitTime ?? PGTimestamp(rawValue: 0), rawDigest: ContentDigest.rawDigest(buf.bytes))
        }
        let contentLength = try FileIO.seekToEnd(fd, path: path)
        let before = try archive.sealedSegments().last.map { try SegmentScanner.footer(of: $0, key: archive.key, zstd: zstd) }
        var footer = SegmentFooter(firstLSN: header.firstLSN, last: atCut.last, firstCommitTime: atCut.firstCommitTime,
                                   transactions: atCut.transactions, changes: atCut.changes, frames: 0, tables: atCut.tables.sorted(),
                                   sha256: try fileSHA256(path, length: contentLength),
                                   previousSHA256: before?.chainSHA256, watermark: atCut.watermark)
        footer.contentSHA256 = content.hex
        footer.previousContentSHA256 = before?.contentSHA256
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let fbytes = try FrameFileWriter.encodeFrame(.footer, raw: [UInt8](try enc.encode(footer)), key: archive.key, zstd: zstd)
        try FileIO.writeAll(fd, fbytes, path: path)
        try FileIO.fsync(fd, path: path)
        let sealed = archive.segmentsPath + "/" + header.firstLSN.fileName + "." + ArchiveFiles.sealedSegmentExtension
        try FileIO.rename(path, sealed)
        try FileIO.fsyncDirectory(archive.segmentsPath)
    }
}

/// Reads what sealed segments say about themselves.
public enum SegmentScanner {
    /// The footer of a sealed segment (its last frame), found from the end of the file: the last
    /// frame header that ends exactly at the end of the file and holds a footer.
    public static func footer(of path: String, key: ArchiveKey?, zstd: Zstd = Zstd()) throws -> SegmentFooter {
        let reader = try FrameFileReader(path: path, key: key, zstd: zstd)
        if let f = try tailFooter(reader) { return f }
        return try footerByWalking(reader)
    }

    /// The header (first frame) of a segment, sealed or still open.
    public static func openHeader(of path: String, key: ArchiveKey?, zstd: Zstd = Zstd()) throws -> SegmentHeader {
        let reader = try FrameFileReader(path: path, key: key, zstd: zstd)
        guard let first = try? reader.next(), first.header.kind == .fileHeader else {
            throw ArchiveError(.corrupt, "segment has no header frame", path: path, offset: 0)
        }
        return try first.decodeJSON(SegmentHeader.self, path: path)
    }

    /// The segment's header (its first frame) and footer (its last), without reading what is between.
    public static func headerAndFooter(of path: String, key: ArchiveKey?, zstd: Zstd = Zstd()) throws -> (SegmentHeader, SegmentFooter) {
        let reader = try FrameFileReader(path: path, key: key, zstd: zstd)
        let first: Frame?
        do { first = try reader.next() } catch let p as FrameFileReader.Problem { throw p.error }
        guard let first, first.header.kind == .fileHeader else {
            throw ArchiveError(.corrupt, "segment has no header frame", path: path, offset: 8)
        }
        let header = try first.decodeJSON(SegmentHeader.self, path: path)
        if let f = try tailFooter(reader) { return (header, f) }
        reader.seek(to: ArchiveFiles.fileMagic.count)
        return (header, try footerByWalking(reader))
    }

    static func tailFooter(_ reader: FrameFileReader) throws -> SegmentFooter? {
        let size = reader.fileSize
        let span = min(size - ArchiveFiles.fileMagic.count, 1 << 20)
        guard span > FrameHeader.size, let tail = try reader.readExactly(span, at: size - span) else { return nil }
        var i = tail.count - FrameHeader.size
        while i >= 0 {
            if tail[i] == 0x4C, tail[i + 1] == 0x42, tail[i + 2] == 0x46, tail[i + 3] == 0x52,
               let h = try? FrameHeader.decode(tail, at: i), h.kind == .footer, size - span + i + FrameHeader.size + h.storedLength == size {
                reader.seek(to: size - span + i)
                do {
                    if let f = try reader.next() { return try f.decodeJSON(SegmentFooter.self, path: reader.path) }
                } catch is FrameFileReader.Problem {
                    return nil
                }
            }
            i -= 1
        }
        return nil
    }

    static func footerByWalking(_ reader: FrameFileReader) throws -> SegmentFooter {
        let path = reader.path
        var footer: SegmentFooter?
        while true {
            do {
                guard let f = try reader.next() else { break }
                if f.header.kind == .footer { footer = try f.decodeJSON(SegmentFooter.self, path: path) }
            } catch let p as FrameFileReader.Problem {
                throw p.error
            }
        }
        guard let footer else {
            throw ArchiveError(.corrupt, "sealed segment has no footer", path: path, fix: "run `logbook verify --archive` to see which segments are damaged")
        }
        return footer
    }

    /// The newest watermark the sealed segments record.
    public static func lastWatermark(in archive: ArchiveDirectory) throws -> Watermark? {
        let zstd = Zstd()
        for path in try archive.sealedSegments().reversed() {
            if let w = try footer(of: path, key: archive.key, zstd: zstd).watermark { return w }
        }
        return nil
    }

    /// The content hash of the newest sealed segment: what the next one chains to.
    public static func lastSealedSHA256(in archive: ArchiveDirectory) throws -> String? {
        guard let last = try archive.sealedSegments().last else { return nil }
        return try footer(of: last, key: archive.key).chainSHA256
    }

    /// The last commit in the archive, from the newest sealed segment that has one.
    public static func lastCommit(in archive: ArchiveDirectory) throws -> CommitPosition? {
        let zstd = Zstd()
        for path in try archive.sealedSegments().reversed() {
            if let last = try footer(of: path, key: archive.key, zstd: zstd).last { return last }
        }
        return nil
    }
}

extension SegmentScanner {
    /// The last commit in the archive, counting the open segment being written.
    public static func lastCommitIncludingOpen(in archive: ArchiveDirectory) throws -> CommitPosition? {
        var last = try lastCommit(in: archive)
        let cursor = ArchiveCursor(paths: try archive.openSegments(), key: archive.key)
        while let ev = try cursor.next() {
            if case .commit(let c) = ev { last = CommitPosition(commitLSN: c.commitLSN, endLSN: c.endLSN, commitTime: c.commitTime) }
        }
        return last
    }

    /// The first commit in the archive.
    public static func firstCommit(in archive: ArchiveDirectory) throws -> CommitPosition? {
        let cursor = try ArchiveCursor(archive: archive)
        while let ev = try cursor.next() {
            if case .commit(let c) = ev { return CommitPosition(commitLSN: c.commitLSN, endLSN: c.endLSN, commitTime: c.commitTime) }
        }
        return nil
    }
}
