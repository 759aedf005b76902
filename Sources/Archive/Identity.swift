import Foundation
import PGWire

/// What an archive belongs to, recorded in `archive.json` when it is created. A run against
/// another cluster, database or slot is refused, so that two histories never mix.
public struct ArchiveIdentity: Codable, Sendable, Equatable {
    public var format: String = "logbook-archive"
    public var version: Int = 1
    public var systemIdentifier: String
    public var database: String
    public var slot: String
    public var publication: String
    public var createdAt: String
    /// Id of the AES-256-GCM key every frame is encrypted with (nil: not encrypted).
    public var encryptionKeyID: String?

    public init(systemIdentifier: String, database: String, slot: String, publication: String, createdAt: String,
                encryptionKeyID: String? = nil) {
        self.systemIdentifier = systemIdentifier; self.database = database; self.slot = slot
        self.publication = publication; self.createdAt = createdAt; self.encryptionKeyID = encryptionKeyID
    }

    /// Why `other` (what the source says now) does not match this archive, or nil.
    public func mismatch(with other: ArchiveIdentity) -> String? {
        if systemIdentifier != other.systemIdentifier {
            return "this archive belongs to the cluster with system identifier \(systemIdentifier), the source is \(other.systemIdentifier)"
        }
        if database != other.database { return "this archive belongs to database \(database), the source is \(other.database)" }
        if slot != other.slot { return "this archive belongs to slot \(slot), not \(other.slot)" }
        return nil
    }
}

/// The folder of an archive and the paths inside it.
public struct ArchiveDirectory: Sendable {
    public let root: String
    /// The archive's encryption key (nil: a clear archive, or a keyless check of one that is not).
    /// Handed down with the folder, so that two archives with different keys can be open in one
    /// process.
    public let key: ArchiveKey?
    public init(_ root: String, key: ArchiveKey? = nil) { self.root = root; self.key = key }

    public var identityPath: String { root + "/archive.json" }
    public var segmentsPath: String { root + "/segments" }
    public var basePath: String { root + "/base" }
    public var spoolPath: String { root + "/spool" }
    public var gapsPath: String { root + "/gaps.json" }

    public func readIdentity() throws -> ArchiveIdentity? {
        guard FileManager.default.fileExists(atPath: identityPath) else { return nil }
        let data = try FileIO.readFile(identityPath)
        do { return try JSONDecoder().decode(ArchiveIdentity.self, from: Data(data)) } catch {
            throw ArchiveError(.corrupt, "archive.json is damaged: \(describeDecoding(error))", path: identityPath,
                               fix: "restore archive.json from an off-site copy (every segment's header names the cluster, database and slot it belongs to)")
        }
    }

    /// Reads the identity, failing with a clear line if the folder is not an archive.
    public func requireIdentity() throws -> ArchiveIdentity {
        guard let id = try readIdentity() else {
            var dir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &dir), dir.boolValue else {
                throw ArchiveError(.notAnArchive, "no such folder", path: root, fix: "point --archive at the folder `logbook run` writes to")
            }
            guard access(root, R_OK | X_OK) == 0 else {
                throw ArchiveError(.io, "cannot read the folder: \(String(cString: strerror(errno)))", path: root,
                                   fix: "run as the user that owns the archive, or give this user read access (chmod/chown)")
            }
            if FileManager.default.fileExists(atPath: segmentsPath) {
                throw ArchiveError(.corrupt, "archive.json is missing, though the folder holds segments", path: root,
                                   fix: "restore archive.json from an off-site copy of this archive")
            }
            throw ArchiveError(.notAnArchive, "not a Logbook archive (no archive.json)", path: root,
                               fix: "point --archive at the folder `logbook run` writes to")
        }
        return id
    }

    public func create(_ identity: ArchiveIdentity) throws {
        for d in [root, segmentsPath, basePath, spoolPath] { try FileIO.makeDirectory(d) }
        try writeJSONAtomically(identity, to: identityPath)
    }

    /// Writes JSON to a temporary file, fsyncs it and renames it into place.
    public func writeJSONAtomically<T: Encodable>(_ value: T, to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try [UInt8](enc.encode(value))
        let tmp = path + ".tmp"
        let fd = try FileIO.open(tmp, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try FileIO.writeAll(fd, data, path: tmp)
            try FileIO.fsync(fd, path: tmp)
        } catch { close(fd); throw error }
        close(fd)
        try FileIO.rename(tmp, path)
        try FileIO.fsyncDirectory(FileIO.parentFolder(of: path))
    }

    /// Sealed segments, in LSN order.
    public func sealedSegments() throws -> [String] {
        try listFiles(segmentsPath, ext: ArchiveFiles.sealedSegmentExtension)
    }

    public func openSegments() throws -> [String] {
        try listFiles(segmentsPath, ext: ArchiveFiles.openSegmentExtension)
    }

    public func baseFiles() throws -> [String] {
        try listFiles(basePath, ext: ArchiveFiles.baseExtension)
    }

    func listFiles(_ dir: String, ext: String) throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { dir + "/" + $0 }
    }
}

/// A gap in the archive: times that cannot be restored (a lost slot, then a new base copy).
public struct ArchiveGap: Codable, Sendable, Equatable {
    public var fromLSN: LSN
    public var fromTime: PGTimestamp?
    public var toLSN: LSN
    public var detectedAt: String
    public var reason: String
    public init(fromLSN: LSN, fromTime: PGTimestamp?, toLSN: LSN, detectedAt: String, reason: String) {
        self.fromLSN = fromLSN; self.fromTime = fromTime; self.toLSN = toLSN; self.detectedAt = detectedAt; self.reason = reason
    }
}


extension ArchiveDirectory {
    /// Gaps listed in `gaps.json` (a lost slot, then new base copies), oldest first. Readers use
    /// `ArchiveView.gaps`, which adds those the segments carry.
    public func readGaps() -> [ArchiveGap] {
        (try? readGapsFile()) ?? []
    }

    /// `gaps.json`, failing when it is there but unreadable.
    public func readGapsFile() throws -> [ArchiveGap] {
        guard let d = FileManager.default.contents(atPath: gapsPath) else { return [] }
        do { return try JSONDecoder().decode([ArchiveGap].self, from: d) } catch {
            throw ArchiveError(.corrupt, "gaps.json is damaged: \(describeDecoding(error))", path: gapsPath,
                               fix: "the segments still record every gap: `logbook verify --archive` lists them; restore gaps.json from an off-site copy")
        }
    }

    /// Gaps from `gaps.json` and from a segment, each once, oldest first.
    static func union(_ a: [ArchiveGap], _ b: [ArchiveGap]) -> [ArchiveGap] {
        var out = a
        for g in b where !out.contains(where: { $0.fromLSN == g.fromLSN && $0.toLSN == g.toLSN }) { out.append(g) }
        return out.sorted { $0.toLSN < $1.toLSN }
    }
}

/// A JSON decoding error in a few words (which key or value, not the decoder's debug text).
public func describeDecoding(_ error: Error) -> String {
    guard let e = error as? DecodingError else { return "\(error)" }
    func path(_ c: [CodingKey]) -> String { c.isEmpty ? "" : " at " + c.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
    switch e {
    case .dataCorrupted(let c): return c.codingPath.isEmpty ? "not valid JSON" : "a bad value\(path(c.codingPath))"
    case .keyNotFound(let k, let c): return "no '\(k.stringValue)'\(path(c.codingPath))"
    case .typeMismatch(_, let c), .valueNotFound(_, let c): return "a value of the wrong type\(path(c.codingPath))"
    @unknown default: return "\(error)"
    }
}
