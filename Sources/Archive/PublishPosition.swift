import Foundation
import PGWire

/// What has reached Kafka: the end LSN of the last transaction whose every message was
/// acknowledged. Kept in `ARCHIVE/fanout/kafka.json`, written atomically after each checkpoint.
public struct PublishPosition: Codable, Sendable {
    public var lsn: LSN
    public var commitTime: PGTimestamp?
    public var messages: Int
    public var updatedAt: String

    public init(lsn: LSN, commitTime: PGTimestamp?, messages: Int, updatedAt: String) {
        self.lsn = lsn; self.commitTime = commitTime; self.messages = messages; self.updatedAt = updatedAt
    }

    static func path(_ archive: ArchiveDirectory) -> String { archive.root + "/fanout/kafka.json" }

    public static func read(_ archive: ArchiveDirectory) -> PublishPosition? {
        guard let d = FileManager.default.contents(atPath: path(archive)) else { return nil }
        return try? JSONDecoder().decode(PublishPosition.self, from: d)
    }

    public func write(_ archive: ArchiveDirectory) throws {
        try FileIO.makeDirectory(archive.root + "/fanout")
        try archive.writeJSONAtomically(self, to: Self.path(archive))
    }
}
