import Archive
import Foundation
import PGWire

/// `logbook verify --archive DIR`: reads every frame of every file, checks its checksum, its
/// decompression, the records inside, that each sealed file is complete, and that segments follow
/// each other in commit order. One line per problem, naming the file, the offset and what is wrong.
public struct IntegrityReport: Sendable {
    public var problems: [String] = []
    public var segments = 0
    public var baseCopies = 0
    public var frames = 0
    public var transactions = 0
    /// Base copies written after the newest sealed segment (the next seal anchors them).
    public var unanchoredBaseCopies: [String] = []
    /// The newest sealed segment: the chain's head.
    public var headSegment: String?
    public var headSHA256: String?
    public var headLast: CommitPosition?
    public var firstLSN: LSN?
    /// Base copies anchored by the head segment.
    public var anchoredBaseCopies: [String: String] = [:]
    public var ok: Bool { problems.isEmpty }

    /// A base copy's content hash against its footer, and against the hash the chain anchored for it.
    mutating func checkBaseCopy(_ name: String, path: String, recorded: String?, hashedLength: Int?,
                                anchors: (segment: String, baseCopies: [String: String])?) throws {
        if let recorded, let end = hashedLength {
            if try fileSHA256(path, length: end) != recorded {
                problems.append("\(name): content does not match its recorded SHA-256 (changed after it was written)")
            } else if let a = anchors, let anchored = a.baseCopies[name], anchored != recorded {
                problems.append("\(name): replaced: \(a.segment) anchored it with SHA-256 \(anchored.prefix(16)), it now has \(recorded.prefix(16))")
            }
        } else {
            problems.append("\(name): footer has no SHA-256")
        }
        if let a = anchors, a.baseCopies[name] == nil { unanchoredBaseCopies.append(name) }
    }

    /// Base copies the newest sealed segment anchored that are neither in the folder nor pruned.
    mutating func checkAnchoredBaseCopies(present: Set<String>, anchors: (segment: String, baseCopies: [String: String])?, archive: ArchiveDirectory) {
        anchoredBaseCopies = anchors?.baseCopies ?? [:]
        guard let a = anchors else { return }
        let pruned = Set(Retention.prunedRecord(archive)?.baseCopies ?? [])
        for name in a.baseCopies.keys.sorted() where !present.contains(name) && !pruned.contains(name) {
            problems.append("\(name): missing: \(a.segment) anchored this base copy, and it was not pruned (deleted or renamed)")
        }
    }
}

public enum ArchiveVerifier {
    public static func verify(archive path: String, key: ArchiveKey? = nil) throws -> IntegrityReport {
        let archive = ArchiveDirectory(path, key: key)
        _ = try archive.requireIdentity()
        var report = IntegrityReport()
        let zstd = Zstd()
        var previousEnd: LSN?
        var previousName = ""
        // After pruning, the first kept segment chains to the recorded head of the pruned prefix.
        var chain = HashChainFollower(prunedHead: Retention.prunedRecord(archive)?.headSHA256)
        // The base copies the newest sealed segment anchors, and which one anchors them.
        var anchors: (segment: String, baseCopies: [String: String])?
        for seg in try archive.sealedSegments() + archive.openSegments() {
            report.segments += 1
            let name = (seg as NSString).lastPathComponent
            let isOpen = seg.hasSuffix(".partial")
            do {
                let reader = try SegmentReader(path: seg, key: archive.key, zstd: zstd)
                reader.digestContent()
                var decoder = PgOutputDecoder(protocolVersion: 1)
                var inTxn = false
                var first: LSN?
                var last: CommitPosition?
                var txns = 0
                var positions = ChangePositionReader()
                while let rec = try reader.nextRecord() {
                    if LogbookRecordTag.isChangePosition(rec) {
                        do { _ = try positions.read(rec, frameOffset: reader.currentFrameOffset) } catch {
                            report.problems.append("\(name) at byte \(reader.currentFrameOffset): undecodable change position: \(error)")
                            break
                        }
                        continue
                    }
                    guard let tag = rec.first, tag != LogbookRecordTag.tableDefinition else { continue }
                    let msg: PgOutputMessage
                    do { msg = try decoder.decode(rec).message } catch {
                        report.problems.append("\(name) at byte \(reader.currentFrameOffset): undecodable record: \(error)")
                        break
                    }
                    switch msg {
                    case .begin(let b):
                        if inTxn { report.problems.append("\(name) at byte \(reader.currentFrameOffset): transaction \(b.xid) begins inside another") }
                        inTxn = true
                        if first == nil { first = b.finalLSN }
                        if let l = last, b.finalLSN <= l.commitLSN {
                            report.problems.append("\(name) at byte \(reader.currentFrameOffset): commit \(b.finalLSN) is not after \(l.commitLSN)")
                        }
                    case .commit(let c):
                        if !inTxn { report.problems.append("\(name) at byte \(reader.currentFrameOffset): commit \(c.commitLSN) without its begin") }
                        inTxn = false
                        txns += 1
                        last = CommitPosition(commitLSN: c.commitLSN, endLSN: c.endLSN, commitTime: c.commitTime)
                    default: break
                    }
                }
                report.transactions += txns
                if !isOpen {
                    guard let footer = reader.footer else {
                        report.problems.append("\(name): sealed segment has no footer (truncated?)")
                        chain.damaged(name)
                        continue
                    }
                    if footer.transactions != txns || footer.last != last {
                        report.problems.append("\(name): footer says \(footer.transactions) transactions through \(footer.last?.endLSN.description ?? "-"), the file holds \(txns) through \(last?.endLSN.description ?? "-")")
                    }
                    if inTxn { report.problems.append("\(name): ends inside a transaction") }
                    if let recorded = footer.contentSHA256, recorded != reader.contentSHA256 {
                        report.problems.append("\(name): what its frames hold does not match its recorded content hash (changed after it was sealed\(footer.recompressed != nil ? ", or when it was recompressed" : ""))")
                    }
                    try report.checkSealed(name, path: seg, footer: footer, contentEnd: reader.footerOffset, chain: &chain, anchors: &anchors)
                }
                if let f = first, let p = previousEnd, f < p {
                    report.problems.append("\(name): first commit \(f) is before the end \(p) of \(previousName) (segments out of order or replaced)")
                }
                if let l = last { previousEnd = l.endLSN; previousName = name }
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
                let reader = try BaseCopyReader(path: base, key: archive.key, zstd: zstd)
                var rows = 0
                while let chunk = try reader.nextChunk() { rows += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
                if let f = reader.footer, f.rows != rows {
                    report.problems.append("\(name): footer says \(f.rows) rows, the file holds \(rows)")
                }
                // Tamper evidence: its own content hash, and the hash the chain anchored for it.
                try report.checkBaseCopy(name, path: base, recorded: reader.footer?.sha256, hashedLength: reader.footerOffset, anchors: anchors)
            } catch let e as ArchiveError {
                report.problems.append("\(name)\(e.offset.map { " at byte \($0)" } ?? ""): \(e.message)\(e.fix.map { " — \($0)" } ?? "")")
            }
        }
        report.checkAnchoredBaseCopies(present: present, anchors: anchors, archive: archive)
        // Segments that name another cluster, database or slot than archive.json (a copied-in file, or an edited archive.json).
        if let view = try? ArchiveView.take(archive, allowGaps: true) {
            report.problems += view.problems.filter { $0.contains("belongs to another archive") || $0.hasPrefix("gaps.json") }
        }
        return report
    }
}

extension IntegrityReport {
    /// A sealed segment's tamper evidence (its content hash, its link to the segment before); it is
    /// the head so far, and the last one naming the base copies anchors them.
    mutating func checkSealed(_ name: String, path: String, footer: SegmentFooter, contentEnd: Int?, chain: inout HashChainFollower,
                              anchors: inout (segment: String, baseCopies: [String: String])?) throws {
        if let recorded = footer.sha256, let end = contentEnd {
            if try fileSHA256(path, length: end) != recorded {
                problems.append("\(name): content does not match its recorded SHA-256 (changed after it was sealed)")
            }
        } else {
            problems.append("\(name): footer has no SHA-256")
        }
        if let p = chain.sealed(name, footer: footer) { problems.append(p) }
        if let b = footer.baseCopies { anchors = (name, b) }
        headSegment = name
        headSHA256 = footer.chainSHA256
        headLast = footer.last ?? headLast
        if firstLSN == nil { firstLSN = footer.firstLSN }
    }
}
