import Foundation

/// `offsite/s3.json`: every file of the archive the object store confirmed, with the SHA-256 it
/// checked. A file is recorded only after the store answered; local copies are removed (with
/// `--local-keep`) only once recorded here.
public struct UploadLedger: Codable, Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var sha256: String
        public var size: Int
        public var uploadedAt: String
        public init(sha256: String, size: Int, uploadedAt: String) { self.sha256 = sha256; self.size = size; self.uploadedAt = uploadedAt }
    }
    /// `s3://bucket/prefix` the entries refer to.
    public var location: String
    /// Path relative to the archive folder (`segments/….seg`) to what was confirmed.
    public var objects: [String: Entry]

    public init(location: String, objects: [String: Entry] = [:]) { self.location = location; self.objects = objects }

    public static func path(_ archive: ArchiveDirectory) -> String { archive.root + "/offsite/s3.json" }

    public static func read(_ archive: ArchiveDirectory) -> UploadLedger? {
        guard let d = FileManager.default.contents(atPath: path(archive)) else { return nil }
        return try? JSONDecoder().decode(UploadLedger.self, from: d)
    }

    public func write(_ archive: ArchiveDirectory) throws {
        try FileIO.makeDirectory(archive.root + "/offsite")
        try archive.writeJSONAtomically(self, to: Self.path(archive))
    }
}
