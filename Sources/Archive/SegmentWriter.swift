import Foundation
import PGWire

/// Appends transactions to the open segment, seals it when it is big or old enough, and reports
/// the last commit that is durable (fsynced). One instance per archive, used by one thread.
///
/// Records of a transaction are collected into a frame buffer; a frame is written when the
/// buffer passes `frameBytes` (so a huge transaction never sits in memory) and at every `flush()`.
/// A transaction never spans two segments.
public final class SegmentWriter {
    public struct Options: Sendable {
        public var rollBytes = 64 << 20
        public var rollSeconds: Double = 3600
        public var frameBytes = 1 << 20
        public var compressionLevel: Int32 = 3
        /// Keys per filter of the key index; each full filter is written as a part of its own.
        public var keysPerIndexFilter = KeyIndex.keysPerFilter
        public init() {}
    }

    let archive: ArchiveDirectory
    let identity: ArchiveIdentity
    let options: Options
    let zstd: Zstd

    // The open segment.
    var file: FrameFileWriter?
    var segmentFirstLSN = LSN.zero
    var openedAt = Date()
    var relationsInSegment = Set<UInt32>()
    /// Every relation a record of the open segment concerns (the footer's `relationOIDs`).
    var oidsInSegment = Set<UInt32>()
    var tablesInSegment = Set<String>()
    var segTransactions = 0
    var segChanges = 0
    var segMarks: [ArchiveMark] = []
    var txnMarks: [ArchiveMark] = []
    var segFirstCommitTime: PGTimestamp?
    var segLast: CommitPosition?
    var segWatermark: Watermark?
    /// The keys of the segment's changes per table, and the tables any key of which it may touch: its `KeyIndex`.
    var segKeys = KeyIndex.Builder()
    /// Where the parts of the key index written so far start.
    var segIndexOffsets: [Int] = []
    /// A part could not be written: the segment is sealed without a key index (history reads it in full).
    var segIndexBroken = false

    // The frame being built.
    var buffer = RecordBuffer()
    var bufferFirstLSN = LSN.zero
    var bufferLast: CommitPosition?
    /// The last change position written into the frame being built (the base of the next `+`).
    var bufferLastPosition: LSN?

    var inTransaction = false
    var currentCommitLSN = LSN.zero
    /// Records (Y…, R, #) that describe each relation; written before its first change in a segment.
    var relationRecords: [UInt32: (table: String, records: [[UInt8]])] = [:]

    /// Last commit written to the file (maybe not yet fsynced).
    public private(set) var lastWritten: CommitPosition?
    /// Last commit known to be on disk.
    public private(set) var durable: CommitPosition?
    /// Last watermark written (durable after the next `flush()`), and the last one known on disk.
    public private(set) var lastWatermark: Watermark?
    public private(set) var durableWatermark: Watermark?
    public private(set) var segmentsSealed = 0
    /// Hash of the last sealed segment as sealed, and its content hash: the next segment chains to them.
    var previousSHA256: String?
    var previousContentSHA256: String?
    public private(set) var bytesWritten = 0
    public var hasUnflushedData: Bool { !buffer.isEmpty || lastWritten != durable }
    public var isInTransaction: Bool { inTransaction }
    /// Bytes collected for the next frame.
    public var bufferedBytes: Int { buffer.bytes.count }

    /// Opens the archive for writing: recovers an interrupted open segment (cutting a torn tail
    /// and any transaction without its Commit) and finds the last durable commit.
    public init(archive: ArchiveDirectory, identity: ArchiveIdentity, options: Options = Options()) throws {
        self.archive = archive
        self.identity = identity
        self.options = options
        self.zstd = Zstd(level: options.compressionLevel)
        // Nothing is written with another key than the archive's, nor in the clear into an encrypted one.
        try ArchiveEncryption.check(archive.key, against: identity, archive: archive.root)
        var st = stat()
        if stat(archive.root, &st) == 0 { rootID = (UInt64(st.st_dev), UInt64(st.st_ino)) }
        for partial in try archive.openSegments() {
            try SegmentRecovery.recover(partial, archive: archive, zstd: zstd)
        }
        durable = try SegmentScanner.lastCommit(in: archive)
        lastWritten = durable
        durableWatermark = try SegmentScanner.lastWatermark(in: archive)
        lastWatermark = durableWatermark
        if let last = try archive.sealedSegments().last {
            let footer = try SegmentScanner.footer(of: last, key: archive.key, zstd: zstd)
            previousSHA256 = footer.chainSHA256
            previousContentSHA256 = footer.contentSHA256
            anchoredBaseCopies = footer.baseCopies ?? [:]
            carriedGaps = footer.gaps ?? []
        }
    }

    /// The archive's gaps: those the last sealed segment carried, and `gaps.json`.
    func knownGaps() -> [ArchiveGap]? {
        let all = ArchiveDirectory.union(carriedGaps, archive.readGaps())
        return all.isEmpty ? nil : all
    }
    var carriedGaps: [ArchiveGap] = []

    /// Base copy file name to its recorded SHA-256, as the last seal saw them.
    var anchoredBaseCopies: [String: String] = [:]

    /// The base copies present now, with their recorded hashes (read only for new files).
    func currentBaseCopies() throws -> [String: String] {
        var now: [String: String] = [:]
        for path in try archive.baseFiles() {
            let name = (path as NSString).lastPathComponent
            if let known = anchoredBaseCopies[name] { now[name] = known; continue }
            if let sha = try BaseCopyReader.footer(of: path, key: archive.key, zstd: zstd).sha256 { now[name] = sha }
        }
        return now
    }

    /// Registers how a relation is described (its Y and R messages and its table definition record).
    /// The records are written again before the relation's next change, in this segment and in every
    /// later one that mentions it, so each segment decodes on its own.
    public func defineRelation(_ oid: UInt32, table: String, records: [[UInt8]]) {
        relationRecords[oid] = (table, records)
        relationsInSegment.remove(oid)
    }

    public func beginTransaction(_ begin: BeginMessage, raw: [UInt8]) throws {
        guard !inTransaction else { throw ArchiveError(.invalidState, "a transaction began inside another (xid \(begin.xid))", path: archive.root) }
        try openSegmentIfNeeded(firstLSN: begin.finalLSN)
        inTransaction = true
        txnMarks.removeAll()
        currentCommitLSN = begin.finalLSN
        if buffer.isEmpty { bufferFirstLSN = begin.finalLSN }
        buffer.append(raw)
    }

    /// Appends one change (normalized pgoutput message) of the open transaction, or a
    /// non-transactional message between transactions. `lsn`: the change's own WAL position,
    /// written before it as an `@` record.
    public func appendChange(_ raw: [UInt8], relations: [UInt32], lsn: LSN? = nil) throws {
        if !inTransaction {
            // A non-transactional logical message: needs an open segment too.
            try openSegmentIfNeeded(firstLSN: currentCommitLSN)
        }
        defineInSegment(relations)
        // Relative to the frame's previous position where it can be (positions only grow within a transaction).
        buffer.appendPosition(lsn, after: &bufferLastPosition)
        buffer.append(raw)
        if relations.isEmpty, var mark = ArchiveMark.from(record: raw) {
            if inTransaction { txnMarks.append(mark) } else { mark.commitTime = nil; segMarks.append(mark) }
        }
        segChanges += 1
        if buffer.bytes.count >= options.frameBytes { try writeFrame() }
    }

    /// Writes the definition records of each relation not yet described in this segment.
    func defineInSegment<S: Sequence>(_ relations: S) where S.Element == UInt32 {
        for oid in relations { oidsInSegment.insert(oid) }
        for oid in relations where !relationsInSegment.contains(oid) {
            if let def = relationRecords[oid] {
                for r in def.records { buffer.append(r) }
                tablesInSegment.insert(def.table)
            }
            relationsInSegment.insert(oid)
        }
    }

    /// Appends changes of the open transaction prepared (and compressed) before its commit, as
    /// one frame, its payload as it is: what is buffered, with the definitions of its relations
    /// this segment lacks, goes first.
    public func appendPrepared(_ prepared: PreparedFrame) throws {
        guard inTransaction else { throw ArchiveError(.invalidState, "prepared changes outside a transaction", path: archive.root) }
        defineInSegment(prepared.relations.map(\.oid))
        try writeFrame()
        guard let file else { throw ArchiveError(.invalidState, "prepared changes without an open segment", path: archive.root) }
        let before = file.bytesWritten
        try file.writeCompressedFrame(.records, compressed: prepared.payload, rawLength: prepared.rawLength, rawDigest: prepared.rawDigest,
                                      firstLSN: currentCommitLSN)
        bytesWritten += file.bytesWritten - before
        segChanges += prepared.changes
        for k in prepared.keys { for h in k.hashes { segKeys.add(table: k.table, hash: h) } }
        for t in prepared.everyKey { segKeys.addEveryKey(table: t) }
        try writeFullKeyFilters()
    }

    /// The zstd level of this writer's frames, for frames prepared elsewhere.
    public var frameCompressor: Zstd { zstd }
    public var frameBytes: Int { options.frameBytes }

    public func commitTransaction(_ commit: CommitMessage, raw: [UInt8]) throws {
        guard inTransaction else { throw ArchiveError(.invalidState, "a commit at \(commit.commitLSN) outside a transaction", path: archive.root) }
        buffer.append(raw)
        let pos = CommitPosition(commitLSN: commit.commitLSN, endLSN: commit.endLSN, commitTime: commit.commitTime)
        bufferLast = pos
        segLast = pos
        if segFirstCommitTime == nil { segFirstCommitTime = commit.commitTime }
        segTransactions += 1
        for var m in txnMarks { m.commitTime = commit.commitTime; segMarks.append(m) }
        txnMarks.removeAll()
        inTransaction = false
        if buffer.bytes.count >= options.frameBytes { try writeFrame() }
    }

    /// Writes the frame being built and fsyncs the segment. Returns the last durable commit.
    @discardableResult
    public func flush() throws -> CommitPosition? {
        try writeFrame()
        if let file, lastWritten != durable || lastWatermark != durableWatermark || file.frameCount > 0 {
            try file.sync()
            durable = lastWritten
            durableWatermark = lastWatermark
        }
        return durable
    }

    /// Fails when the archive folder was deleted or replaced, or the open segment unlinked, since
    /// the writer started: nothing may be confirmed that is not durable in this folder.
    public func checkInPlace() throws {
        var st = stat()
        guard stat(archive.root, &st) == 0, UInt64(st.st_dev) == rootID.dev, UInt64(st.st_ino) == rootID.ino else {
            throw ArchiveError(.io, "the archive folder was deleted or replaced while archiving", path: archive.root,
                               fix: "nothing after the last confirmed position was confirmed; restore the folder (or start a new one with --resnapshot) and restart")
        }
        if let file {
            var fst = stat()
            guard fstat(file.fd, &fst) == 0, fst.st_nlink > 0 else {
                throw ArchiveError(.io, "the open segment was deleted while archiving", path: file.path,
                                   fix: "nothing after the last confirmed position was confirmed; restart logbook run (the slot resends the rest)")
            }
        }
    }

    /// Device and inode of the archive folder when the writer started.
    var rootID: (dev: UInt64, ino: UInt64) = (0, 0)

    /// Appends a watermark in a frame of its own (durable at the next `flush()`). Only between
    /// transactions with nothing buffered, so that everything before it is in the file first; and
    /// only forward, past the last commit.
    public func writeWatermark(_ w: Watermark) throws {
        guard !inTransaction, buffer.isEmpty else { return }
        if let last = lastWatermark, w.lsn < last.lsn || w.time < last.time || w == last { return }
        if let c = lastWritten, w.lsn < c.endLSN { return }
        let first = max(w.lsn, lastWritten?.endLSN ?? .zero)
        // A segment holding only watermarks was sealed at this same position (a stop, then no WAL
        // since): a new one would take its name. This watermark waits until the server's WAL moves.
        if file == nil, FileManager.default.fileExists(atPath: archive.segmentsPath + "/" + first.fileName + "." + ArchiveFiles.sealedSegmentExtension) { return }
        try openSegmentIfNeeded(firstLSN: first)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let json = [UInt8](try enc.encode(w))
        let before = file!.bytesWritten
        try file!.writeFrame(.watermark, raw: json, firstLSN: .zero, lastEndLSN: w.lsn, lastCommitTime: w.time)
        bytesWritten += file!.bytesWritten - before
        lastWatermark = w
        segWatermark = w
    }

    /// Seals the open segment if it passed its size or age (only between transactions).
    /// `quiet`: called in a quiet moment, when only a segment that holds transactions is sealed (one
    /// of watermarks alone stays open, so that the next watermark does not need a new name).
    public func sealIfDue(now: Date = Date(), quiet: Bool = false) throws {
        guard !inTransaction, let file, !quiet || segTransactions > 0 else { return }
        if file.bytesWritten + buffer.bytes.count >= options.rollBytes || now.timeIntervalSince(openedAt) >= options.rollSeconds {
            try seal()
        }
    }

    /// Notes the key of a change just appended (for the segment's key index).
    public func indexKey(table: String, hash: UInt64) { segKeys.add(table: table, hash: hash) }
    /// Notes a change just appended that may touch any key of `table` (a TRUNCATE, a keyless row).
    public func indexEveryKey(table: String) { segKeys.addEveryKey(table: table) }

    /// Writes the key index and the footer, fsyncs, and renames the open segment to its sealed name.
    public func seal() throws {
        guard let file, !inTransaction else { return }
        try writeFrame()
        if !segKeys.isEmpty, !segIndexBroken {
            let index = segKeys.build()
            if !index.tables.isEmpty || segIndexOffsets.isEmpty {
                let bytes = index.encode()
                // The filters are in `bytes` now: let them go before it is compressed. (Should the
                // write fail, a retried seal writes no index, and history reads the segment in full.)
                segKeys = KeyIndex.Builder(keysPerFilter: options.keysPerIndexFilter)
                let at = file.bytesWritten
                do { try file.writeFrame(.keyIndex, raw: bytes) } catch { segIndexBroken = true; throw error }
                segIndexOffsets.append(at)
            }
            segKeys = KeyIndex.Builder(keysPerFilter: options.keysPerIndexFilter)
        }
        let offsets = segIndexBroken ? [] : segIndexOffsets
        segIndexOffsets = []
        segIndexBroken = false
        var footer = SegmentFooter(firstLSN: segmentFirstLSN, last: segLast, firstCommitTime: segFirstCommitTime,
                                   transactions: segTransactions, changes: segChanges, frames: file.frameCount + 1,
                                   tables: tablesInSegment.sorted(), sha256: file.sha256, previousSHA256: previousSHA256,
                                   marks: segMarks.isEmpty ? nil : segMarks, baseCopies: try currentBaseCopies(),
                                   watermark: segWatermark, gaps: knownGaps(), keyIndexOffset: offsets.count == 1 ? offsets[0] : nil)
        footer.relationOIDs = oidsInSegment.sorted()
        footer.keyIndexOffsets = offsets.count > 1 ? offsets : nil
        footer.contentSHA256 = file.content.hex
        footer.previousContentSHA256 = previousContentSHA256
        try file.writeJSONFrame(.footer, footer)
        try file.sync()
        durable = lastWritten
        durableWatermark = lastWatermark
        let sealed = archive.segmentsPath + "/" + segmentFirstLSN.fileName + "." + ArchiveFiles.sealedSegmentExtension
        try FileIO.rename(file.path, sealed)
        try FileIO.fsyncDirectory(archive.segmentsPath)
        previousSHA256 = footer.sha256
        previousContentSHA256 = footer.contentSHA256
        anchoredBaseCopies = footer.baseCopies ?? [:]
        self.file = nil
        segmentsSealed += 1
    }

    /// Writes what is buffered, fsyncs, and closes the open segment without sealing it: used
    /// when the stream breaks mid-transaction. The next `SegmentWriter` on the archive recovers
    /// it, cutting the unfinished transaction, which the server sends again.
    public func abandon() throws {
        guard let file else { return }
        try writeFrame()
        try file.sync()
        durable = lastWritten
        durableWatermark = lastWatermark
        self.file = nil
        inTransaction = false
    }

    func openSegmentIfNeeded(firstLSN: LSN) throws {
        if file != nil { return }
        let path = archive.segmentsPath + "/" + firstLSN.fileName + "." + ArchiveFiles.openSegmentExtension
        let f = try FrameFileWriter(creating: path, key: archive.key, zstd: zstd)
        let header = SegmentHeader(systemIdentifier: identity.systemIdentifier, database: identity.database, slot: identity.slot,
                                   firstLSN: firstLSN, createdAt: ISO8601DateFormatter().string(from: Date()),
                                   previousSHA256: previousSHA256, previousContentSHA256: previousContentSHA256, gaps: knownGaps())
        try f.writeJSONFrame(.fileHeader, header)
        try FileIO.fsyncDirectory(archive.segmentsPath)
        file = f
        segmentFirstLSN = firstLSN
        openedAt = Date()
        relationsInSegment.removeAll()
        oidsInSegment.removeAll()
        tablesInSegment.removeAll()
        segTransactions = 0
        segChanges = 0
        segMarks = []
        segFirstCommitTime = nil
        segLast = nil
        segWatermark = nil
        segKeys = KeyIndex.Builder(keysPerFilter: options.keysPerIndexFilter)
        segIndexOffsets = []
        segIndexBroken = false
    }

    /// Writes the key index's filters completed since the last call as a part of their own.
    func writeFullKeyFilters() throws {
        guard segKeys.hasFullFilters, let file else { return }
        let bytes = segKeys.takeFullFilters().encode()
        let at = file.bytesWritten
        do { try file.writeFrame(.keyIndex, raw: bytes) } catch { segIndexBroken = true; throw error }
        segIndexOffsets.append(at)
        bytesWritten += file.bytesWritten - at
    }

    func writeFrame() throws {
        guard !buffer.isEmpty, let file else { return }
        let before = file.bytesWritten
        try buffer.bytes.withUnsafeBytes { raw in
            try file.writeFrame(.records, raw: raw, firstLSN: bufferFirstLSN, lastEndLSN: bufferLast?.endLSN ?? .zero,
                                lastCommitTime: bufferLast?.commitTime ?? PGTimestamp(rawValue: 0))
        }
        bytesWritten += file.bytesWritten - before
        if let bufferLast { lastWritten = bufferLast }
        buffer.removeAll()
        bufferLast = nil
        bufferLastPosition = nil
        bufferFirstLSN = currentCommitLSN
        try writeFullKeyFilters()
    }
}
