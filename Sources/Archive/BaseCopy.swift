import Foundation
import PGWire

/// The first frame of a base-copy file (JSON).
public struct BaseHeader: Codable, Sendable {
    public var format = "logbook-base"
    public var version = 1
    public var table: String
    /// The copy holds exactly the transactions whose commit LSN is below this point; the stream
    /// holds those at or after it.
    public var lsn: LSN
    public var snapshot: String
    public var reason: String
    public var createdAt: String
    /// The source's clock when the snapshot was taken: the copy serves points at or after it.
    public var snapshotTime: PGTimestamp
    public var definition: TableDefinition
    public init(table: String, lsn: LSN, snapshot: String, reason: String, createdAt: String, snapshotTime: PGTimestamp, definition: TableDefinition) {
        self.table = table; self.lsn = lsn; self.snapshot = snapshot; self.reason = reason
        self.createdAt = createdAt; self.snapshotTime = snapshotTime; self.definition = definition
    }
}

/// The last frame of a base-copy file (JSON).
public struct BaseFooter: Codable, Sendable {
    public var rows: Int
    public var rawBytes: Int
    /// SHA-256 of the file's bytes before this footer frame; the next sealed segment records it
    /// (`SegmentFooter.baseCopies`), which puts base copies in the archive's hash chain.
    public var sha256: String?
}

/// Writes a base copy: `COPY … TO STDOUT` text, in frames, into `base/<LSN>-<table>.base.partial`,
/// renamed to `.base` once complete and fsynced.
/// `@unchecked Sendable`: lanes on other threads reach the file, `rows` and `rawBytes` only under `lock`.
public final class BaseCopyWriter: @unchecked Sendable {
    let file: FrameFileWriter
    let finalPath: String
    let key: ArchiveKey?
    /// Guards the file, `rows` and `rawBytes` when lanes append from their threads.
    private let lock = NSLock()
    private var _rows = 0, _rawBytes = 0
    public var rows: Int { lock.withLock { _rows } }
    public var rawBytes: Int { lock.withLock { _rawBytes } }
    let frameBytes: Int

    /// `<LSN>-<table>.base`, the table's name kept to letters, digits, `.`, `_` and `-` (anything
    /// else as `%XX`, so no name can reach outside the folder); the header holds the name itself.
    public static func fileName(lsn: LSN, table: String) -> String {
        "\(lsn.fileName)\(fileSuffix(table: table))"
    }

    /// What every base copy file name of `table` ends with: `-<table>.base`.
    public static func fileSuffix(table: String) -> String {
        var safe = ""
        for b in table.utf8 {
            let c = Character(UnicodeScalar(b))
            if c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "_" || c == "-") { safe.append(c) } else { safe += String(format: "%%%02X", b) }
        }
        return "-\(safe).\(ArchiveFiles.baseExtension)"
    }

    public init(archive: ArchiveDirectory, header: BaseHeader, frameBytes: Int = 1 << 20) throws {
        if let identity = try archive.readIdentity() { try ArchiveEncryption.check(archive.key, against: identity, archive: archive.root) }
        finalPath = archive.basePath + "/" + Self.fileName(lsn: header.lsn, table: header.table)
        file = try FrameFileWriter(creating: finalPath + ".partial", key: archive.key, zstd: Zstd())
        key = archive.key
        self.frameBytes = frameBytes
        try file.writeJSONFrame(.fileHeader, header)
    }

    /// The lane of `append` (a reader on the writer's own thread).
    private lazy var own = Lane(writer: self)

    /// Adds COPY text data (whole rows; libpq hands out one row per call), through the writer's own lane.
    public func append(_ data: UnsafeRawBufferPointer) throws { try own.append(data) }

    public var bytesWritten: Int { lock.withLock { file.bytesWritten } }

    /// One of several readers of the same snapshot filling this file (a share of the table's pages
    /// each): it compresses (and seals) its frames on its own thread; whole frames go into the file
    /// in the order they are done. A base copy is a set of rows, so their order is free.
    public final class Lane {
        unowned let writer: BaseCopyWriter
        let zstd = Zstd()
        var buffer: [UInt8] = []
        var rows = 0, rawBytes = 0
        init(writer: BaseCopyWriter) {
            self.writer = writer
            buffer.reserveCapacity(writer.frameBytes + 65536)
        }

        /// Adds COPY text data (whole rows).
        public func append(_ data: UnsafeRawBufferPointer) throws {
            buffer.append(contentsOf: data)
            rawBytes += data.count
            rows += data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            if buffer.count >= writer.frameBytes { try flush() }
        }

        /// Hands the rows still buffered to the file.
        public func finish() throws { try flush() }

        func flush() throws {
            guard !buffer.isEmpty else { return }
            let frame = try FrameFileWriter.encodeFrame(.copyData, raw: buffer, key: writer.key, zstd: zstd)
            try writer.appendEncoded(frame, rows: rows, rawBytes: rawBytes)
            buffer.removeAll(keepingCapacity: true)
            rows = 0
            rawBytes = 0
        }
    }

    /// A lane for a reader on another thread (see `Lane`).
    public func makeLane() -> Lane { Lane(writer: self) }

    func appendEncoded(_ frame: [UInt8], rows: Int, rawBytes: Int) throws {
        try lock.withLock {
            try file.appendEncoded(frame)
            _rows += rows
            _rawBytes += rawBytes
        }
    }

    /// Writes the footer, fsyncs and publishes the file under its final name (every lane finished).
    public func finish() throws -> String {
        try own.finish()
        try file.writeJSONFrame(.footer, BaseFooter(rows: rows, rawBytes: rawBytes, sha256: file.sha256))
        try file.sync()
        try FileIO.rename(file.path, finalPath)
        try FileIO.fsyncDirectory(FileIO.parentFolder(of: finalPath))
        return finalPath
    }
}

/// Reads a base copy back: its header, then its COPY text in chunks.
public final class BaseCopyReader {
    public let path: String
    let frames: FrameFileReader
    public let header: BaseHeader
    public private(set) var footer: BaseFooter?
    /// Where the footer frame starts (once read): the recorded SHA-256 covers the bytes before it.
    public private(set) var footerOffset: Int?

    public init(path: String, key: ArchiveKey?, zstd: Zstd = Zstd()) throws {
        self.path = path
        frames = try FrameFileReader(path: path, key: key, zstd: zstd)
        let first: Frame?
        do { first = try frames.next() } catch let p as FrameFileReader.Problem { throw p.error }
        guard let first, first.header.kind == .fileHeader else {
            throw ArchiveError(.corrupt, "base copy has no header frame", path: path, offset: 8)
        }
        header = try first.decodeJSON(BaseHeader.self, path: path)
    }

    private var dataFrames = 0

    /// The next chunk of COPY text, nil after the footer. Throws if the file ends without one.
    /// `lane` of `lanes`: only every `lanes`-th data frame from the `lane`-th on is read (the others
    /// are skipped unread), so that several readers of one file share its rows.
    public func nextChunk(lane: Int = 0, of lanes: Int = 1) throws -> [UInt8]? {
        while true {
            if lanes > 1, try frames.peekKind() == .copyData {
                let mine = dataFrames % lanes == lane
                dataFrames += 1
                if !mine, try frames.skipFrame() { continue }
            }
            let frame: Frame?
            do { frame = try frames.next() } catch let p as FrameFileReader.Problem { throw p.error }
            guard let frame else {
                if footer == nil { throw ArchiveError(.corrupt, "base copy ends without its footer", path: path, offset: frames.offset,
                                                      fix: "take a new base copy with `logbook run --resnapshot`") }
                return nil
            }
            switch frame.header.kind {
            case .copyData: return frame.raw
            case .footer:
                footer = try frame.decodeJSON(BaseFooter.self, path: path)
                footerOffset = frame.offset
            default: throw ArchiveError(.corrupt, "unexpected frame kind in a base copy", path: path, offset: frame.offset)
            }
        }
    }

    /// The footer alone: frame headers are walked without reading their payloads.
    public static func footer(of path: String, key: ArchiveKey?, zstd: Zstd = Zstd()) throws -> BaseFooter {
        let frames = try FrameFileReader(path: path, key: key, zstd: zstd)
        guard let last = try frames.lastFrameOffset() else {
            throw ArchiveError(.corrupt, "base copy has no frames", path: path)
        }
        return try frames.frame(at: last, kind: .footer, what: "footer (the base copy ends without one)").decodeJSON(BaseFooter.self, path: path)
    }

    /// Reads only the header of every base copy of the archive.
    public static func headers(in archive: ArchiveDirectory) throws -> [(path: String, header: BaseHeader)] {
        let zstd = Zstd()
        return try archive.baseFiles().map { ($0, try BaseCopyReader(path: $0, key: archive.key, zstd: zstd).header) }
    }
}
