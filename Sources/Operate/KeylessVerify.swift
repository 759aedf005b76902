import Archive
import Foundation
import PGWire

/// `logbook verify` on an encrypted archive without its key: everything that can be checked from
/// what is stored in the clear. Every frame's header and CRC-32C (which covers the sealed payload),
/// whole files, each sealed file's content SHA-256 against its footer (footers are never encrypted),
/// the hash chain from segment to segment and the base copies it anchors, and commit order from the
/// frame headers' LSNs. Decrypting, decompressing and decoding the records needs the key.
public enum KeylessVerifier {
    public static func verify(archive path: String) throws -> IntegrityReport {
        let archive = ArchiveDirectory(path)
        _ = try archive.requireIdentity()
        var report = IntegrityReport()
        let zstd = Zstd()
        var chain = HashChainFollower(prunedHead: Retention.prunedRecord(archive)?.headSHA256)
        var previousEnd: (lsn: LSN, name: String)?
        var anchors: (segment: String, baseCopies: [String: String])?
        for seg in try archive.sealedSegments() + archive.openSegments() {
            report.segments += 1
            let name = (seg as NSString).lastPathComponent
            let isOpen = seg.hasSuffix("." + ArchiveFiles.openSegmentExtension)
            do {
                let reader = try FrameFileReader(path: seg, key: nil, zstd: zstd)
                var footer: SegmentFooter?
                var footerOffset: Int?
                var lastEnd: LSN?
                var firstCommit: LSN?
                walk: while true {
                    let frame: (header: FrameHeader, offset: Int, stored: [UInt8])
                    do {
                        guard let f = try reader.nextStored() else { break walk }
                        frame = f
                    } catch let p as FrameFileReader.Problem {
                        if isOpen && p.isTornTail { break walk }
                        throw p.error
                    }
                    report.frames += 1
                    let h = frame.header
                    switch h.kind {
                    case .records:
                        if h.firstLSN != .zero, firstCommit == nil { firstCommit = h.firstLSN }
                        if h.lastEndLSN != .zero {
                            if let l = lastEnd, h.lastEndLSN < l {
                                report.problems.append("\(name) at byte \(frame.offset): commit end \(h.lastEndLSN) is before \(l), earlier in the file")
                            }
                            lastEnd = h.lastEndLSN
                        }
                    case .footer:
                        footerOffset = frame.offset
                        if h.isEncrypted {
                            report.problems.append("\(name): its footer is encrypted (written by an earlier logbook): pass --encryption-key-file to check this file")
                        } else {
                            footer = try reader.decompressPlain(h, stored: frame.stored, at: frame.offset).decodeJSON(SegmentFooter.self, path: seg)
                        }
                    default: break
                    }
                }
                if isOpen {
                    if let f = firstCommit, let p = previousEnd, f < p.lsn {
                        report.problems.append("\(name): first commit \(f) is before the end \(p.lsn) of \(p.name) (segments out of order or replaced)")
                    }
                    continue
                }
                guard let footerOffset else {
                    report.problems.append("\(name): sealed segment has no footer (truncated?)")
                    chain.damaged(name)
                    continue
                }
                guard let footer else { chain.damaged(name); continue }
                report.transactions += footer.transactions
                if let end = footer.last?.endLSN, let l = lastEnd, end != l {
                    report.problems.append("\(name): footer says its last commit ends at \(end), its frames end at \(l)")
                }
                try report.checkSealed(name, path: seg, footer: footer, contentEnd: footerOffset, chain: &chain, anchors: &anchors)
                let first = firstCommit ?? footer.last?.commitLSN
                if let f = first, let p = previousEnd, f < p.lsn {
                    report.problems.append("\(name): first commit \(f) is before the end \(p.lsn) of \(p.name) (segments out of order or replaced)")
                }
                if let l = footer.last?.endLSN ?? lastEnd { previousEnd = (l, name) }
            } catch let e as ArchiveError {
                report.problems.append("\(name)\(e.offset.map { " at byte \($0)" } ?? ""): \(e.message)")
                if !isOpen { chain.damaged(name) }
            }
        }
        var present = Set<String>()
        for base in try archive.baseFiles() {
            report.baseCopies += 1
            let name = (base as NSString).lastPathComponent
            present.insert(name)
            do {
                let reader = try FrameFileReader(path: base, key: nil, zstd: zstd)
                var footer: BaseFooter?
                var footerOffset: Int?
                while let frame = try nextStored(reader) {
                    report.frames += 1
                    guard frame.header.kind == .footer else { continue }
                    footerOffset = frame.offset
                    if frame.header.isEncrypted {
                        report.problems.append("\(name): its footer is encrypted (written by an earlier logbook): pass --encryption-key-file to check this file")
                    } else {
                        footer = try reader.decompressPlain(frame.header, stored: frame.stored, at: frame.offset).decodeJSON(BaseFooter.self, path: base)
                    }
                }
                guard let footerOffset else {
                    report.problems.append("\(name): base copy has no footer (truncated?)")
                    continue
                }
                guard let footer else { continue } // an encrypted footer: already reported
                try report.checkBaseCopy(name, path: base, recorded: footer.sha256, hashedLength: footerOffset, anchors: anchors)
            } catch let e as ArchiveError {
                report.problems.append("\(name)\(e.offset.map { " at byte \($0)" } ?? ""): \(e.message)")
            }
        }
        report.checkAnchoredBaseCopies(present: present, anchors: anchors, archive: archive)
        return report
    }

    private static func nextStored(_ reader: FrameFileReader) throws -> (header: FrameHeader, offset: Int, stored: [UInt8])? {
        do { return try reader.nextStored() } catch let p as FrameFileReader.Problem { throw p.error }
    }
}

/// Follows the hash chain through sealed segments in order: each footer's `previousSHA256` must be
/// the hash of the sealed segment before it as sealed (or of the pruned prefix's head), and its
/// `previousContentSHA256` that segment's content hash (required once it was recompressed).
struct HashChainFollower {
    private var previousHash: String?
    private var previous: SegmentFooter?
    private var previousName = "none"
    private var isFirst = true
    /// After a damaged segment the chain cannot be followed into the next one: already reported.
    private var unknown = false

    init(prunedHead: String?) { previousHash = prunedHead }

    /// The problem with this sealed segment's link, if any; then moves on to it.
    mutating func sealed(_ name: String, footer: SegmentFooter) -> String? {
        var problem: String?
        let named = previous?.isNamed(previousSHA256: footer.previousSHA256, previousContentSHA256: footer.previousContentSHA256)
            ?? (footer.previousSHA256 == previousHash)
        if !unknown, !(isFirst && footer.previousSHA256 == nil), !named {
            if let p = previous, footer.previousSHA256 == p.chainSHA256 {
                problem = "\(name): hash chain broken: it names the content hash \(footer.previousContentSHA256?.prefix(16) ?? "none") of \(previousName), whose content hash is \(p.contentSHA256?.prefix(16) ?? "none") (\(previousName) was replaced\(p.recompressed != nil ? " when recompressed" : ""))"
            } else {
                problem = "\(name): hash chain broken: it follows a segment hashed \(footer.previousSHA256?.prefix(16) ?? "none"), but the segment before it is \(previousName) hashed \(previousHash?.prefix(16) ?? "none") (a segment was deleted, replaced or reordered)"
            }
        }
        previousHash = footer.chainSHA256
        previous = footer
        previousName = name
        isFirst = false
        unknown = false
        return problem
    }

    /// A sealed segment that could not be read: its link is unknown.
    mutating func damaged(_ name: String) {
        unknown = true
        previous = nil
        isFirst = false
        previousName = name
    }
}
