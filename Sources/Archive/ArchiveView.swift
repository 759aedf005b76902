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
        /// A sealed segment's tables and relation OIDs, from its footer (nil: unknown, read it).
        public var tables: [String]? = nil
        public var relationOIDs: [UInt32]? = nil
        public init(path: String, limit: Int?) { self.path = path; self.limit = limit }

        /// Whether the segment may hold a record of the relation `oid` or of a table named `table`
        /// (a rename keeps the OID, a table made again keeps the name): only one whose footer names
        /// neither can be passed by.
        public func mayConcern(table: String, oid: UInt32) -> Bool {
            guard let tables, let relationOIDs else { return true }
            return tables.contains(table) || relationOIDs.contains(oid)
        }
    }

    /// The files that may hold a record of one table (the newest-first walk reads only those).
    public func files(concerning table: String, oid: UInt32) -> [File] { files.filter { $0.mayConcern(table: table, oid: oid) } }
    public let archive: ArchiveDirectory
    public let files: [File]
    public let end: ArchiveEnd
    /// What is wrong with the chain of segments (a missing, foreign, replaced or reordered file),
    /// one line each; a view with problems is only handed out when they were allowed.
    public let problems: [String]
    /// The archive's gaps: those the newest segments carry (in the hash chain) and `gaps.json`.
    public let gaps: [ArchiveGap]
    /// The base copies the newest sealed segment anchors in the hash chain (file name to SHA-256).
    public let anchoredBaseCopies: [String: String]

    public init(archive: ArchiveDirectory, files: [File], end: ArchiveEnd, problems: [String] = [], gaps: [ArchiveGap] = [],
                anchoredBaseCopies: [String: String] = [:]) {
        self.archive = archive; self.files = files; self.end = end; self.problems = problems; self.gaps = gaps
        self.anchoredBaseCopies = anchoredBaseCopies
    }

    /// Takes the view now. `includeOpen`: whether the segment being written is part of it.
    /// Every segment is checked to belong to this archive (its header) and to follow the one
    /// before it (the hash chain, from footers and headers alone): a missing, foreign, replaced or
    /// reordered file stops the command with one line naming it, unless `allowGaps`.
    public static func take(_ archive: ArchiveDirectory, includeOpen: Bool = true, allowGaps: Bool = false) throws -> ArchiveView {
        // Open ones first: one sealed in between is then listed twice, never missed.
        let open = includeOpen ? try archive.openSegments() : []
        let sealed = try archive.sealedSegments()
        let zstd = Zstd()
        var end = ArchiveEnd()
        var files = sealed.map { File(path: $0, limit: nil) }
        let identity = try archive.readIdentity()
        var problems: [String] = []
        var carried: [ArchiveGap] = []
        var anchored: [String: String] = [:]
        func name(_ p: String) -> String { "segments/" + (p as NSString).lastPathComponent }
        func foreign(_ h: SegmentHeader, _ p: String) {
            guard let identity, h.systemIdentifier != identity.systemIdentifier || h.database != identity.database || h.slot != identity.slot else { return }
            problems.append("\(name(p)) belongs to another archive (cluster \(h.systemIdentifier), database \(h.database), slot \(h.slot); this one is \(identity.systemIdentifier), \(identity.database), \(identity.slot))")
        }
        // A segment is named after its first LSN: another name means it was renamed or copied in.
        func misnamed(_ h: SegmentHeader, _ p: String) {
            guard ArchiveFiles.stem(p) != h.firstLSN.fileName else { return }
            problems.append("\(name(p)) is named for another position: its header says it begins at \(h.firstLSN) (\(h.firstLSN.fileName)); it was renamed or copied in")
        }
        // The chain: each footer names the hash of the segment sealed before it (after pruning, the
        // first kept one names the last pruned one).
        var previous: (path: String?, sha: String?, last: LSN?, footer: SegmentFooter?) = (nil, PrunedHead.read(archive), nil, nil)
        func names(_ previousSHA256: String?, _ previousContentSHA256: String?) -> Bool {
            previous.footer?.isNamed(previousSHA256: previousSHA256, previousContentSHA256: previousContentSHA256) ?? (previousSHA256 == previous.sha)
        }
        for p in sealed {
            let (h, f) = try SegmentScanner.headerAndFooter(of: p, key: archive.key, zstd: zstd)
            foreign(h, p)
            misnamed(h, p)
            if !names(f.previousSHA256, f.previousContentSHA256) {
                let after = previous.path.map { "does not follow \(name($0))" } ?? "chains to a segment that is not in the archive"
                problems.append("\(name(p)) \(after): the hash chain is broken (a segment is missing, or one was replaced or reordered); transactions from \(previous.last ?? .zero) to \(f.firstLSN) cannot be trusted")
            }
            if let l = f.last { end.merge(commitEnd: l.endLSN, time: l.commitTime) }
            if let w = f.watermark { end.merge(w) }
            carried = ArchiveDirectory.union(carried, f.gaps ?? [])
            if let b = f.baseCopies { anchored = b }
            previous = (p, f.chainSHA256, f.last?.endLSN ?? previous.last, f)
            if let i = files.firstIndex(where: { $0.path == p }) {
                files[i].tables = f.tables
                files[i].relationOIDs = f.relationOIDs
            }
        }
        let sealedNames = Set(sealed.map { ArchiveFiles.stem($0) })
        let stillOpen = open.filter { !sealedNames.contains(ArchiveFiles.stem($0)) }
        // The archiver writes one segment at a time, after every sealed one.
        if stillOpen.count > 1 {
            problems.append("\(stillOpen.count) open segments (\(stillOpen.map(name).joined(separator: ", "))): an archiver writes one at a time; all but one were copied in or left by another archive")
        }
        for p in stillOpen {
            let reader: FrameFileReader
            do { reader = try FrameFileReader(path: p, key: archive.key, zstd: zstd) } catch let e as ArchiveError where e.code == .io || e.code == .corrupt {
                // Sealed (renamed) since it was listed, or created a moment ago with nothing in it yet.
                let sealedPath = ArchiveFiles.sealedPath(forOpen: p)
                if FileManager.default.fileExists(atPath: sealedPath) {
                    let f = try SegmentScanner.footer(of: sealedPath, key: archive.key, zstd: zstd)
                    if let l = f.last { end.merge(commitEnd: l.endLSN, time: l.commitTime) }
                    if let w = f.watermark { end.merge(w) }
                    files.append(File(path: sealedPath, limit: nil))
                }
                continue
            }
            if let first = try? reader.next(), first.header.kind == .fileHeader, let h = try? first.decodeJSON(SegmentHeader.self, path: p) {
                foreign(h, p)
                misnamed(h, p)
                if let l = previous.last, h.firstLSN < l {
                    problems.append("\(name(p)) begins at \(h.firstLSN), before the end \(l) of the last sealed segment: it was replaced or copied in")
                }
                carried = ArchiveDirectory.union(carried, h.gaps ?? [])
                if let chained = h.previousSHA256, !names(chained, h.previousContentSHA256) {
                    problems.append("\(name(p)) was opened after a segment that is not in the archive: the hash chain is broken (the last sealed segment is missing or was replaced); transactions from \(previous.last ?? .zero) to \(h.firstLSN) cannot be trusted")
                }
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
        // gaps.json is an index of the gaps; the segments are the record.
        let listed: [ArchiveGap]
        do { listed = try archive.readGapsFile() } catch let e as ArchiveError { listed = []; problems.append(e.message) }
        for g in carried where !listed.contains(where: { $0.fromLSN == g.fromLSN && $0.toLSN == g.toLSN }) {
            problems.append("gaps.json does not list the gap from \(g.fromLSN) to \(g.toLSN) (\(g.reason)) that the segments record")
        }
        let gaps = ArchiveDirectory.union(listed, carried)
        // A gaps.json that lost entries is repaired by what the segments carry; replay still refuses the gap itself.
        let blocking = problems.filter { !$0.hasPrefix("gaps.json") }
        if !blocking.isEmpty && !allowGaps {
            throw ArchiveError(.corrupt, blocking[0] + (blocking.count > 1 ? " (and \(blocking.count - 1) more problems)" : ""), path: archive.root,
                               fix: "put the right file back (an off-site copy) and run `logbook verify --archive`; or pass --allow-gap to go on knowingly (the result names the gap)")
        }
        return ArchiveView(archive: archive, files: files, end: end, problems: problems, gaps: gaps, anchoredBaseCopies: anchored)
    }
}

/// The hash of the last pruned segment (`pruned.json`): what the first kept segment chains to.
public enum PrunedHead {
    struct Record: Decodable { var headSHA256: String?; var baseCopies: [String]? }
    static func record(_ archive: ArchiveDirectory) -> Record? {
        guard let d = FileManager.default.contents(atPath: archive.root + "/pruned.json") else { return nil }
        return try? JSONDecoder().decode(Record.self, from: d)
    }
    static func read(_ archive: ArchiveDirectory) -> String? { record(archive)?.headSHA256 }
    /// The base copies retention deleted (no longer expected in the folder).
    public static func prunedBaseCopies(_ archive: ArchiveDirectory) -> [String] { record(archive)?.baseCopies ?? [] }
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
