import PGWire

/// The position of the last transaction a file (or the archive) holds.
public struct CommitPosition: Codable, Sendable, Equatable {
    public var commitLSN: LSN
    public var endLSN: LSN
    public var commitTime: PGTimestamp
    public init(commitLSN: LSN, endLSN: LSN, commitTime: PGTimestamp) {
        self.commitLSN = commitLSN; self.endLSN = endLSN; self.commitTime = commitTime
    }
}

extension LSN: Codable {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let v = LSN(string: s) else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an LSN: \(s)")) }
        self = v
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension PGTimestamp: Codable {
    public init(from decoder: Decoder) throws { self.init(rawValue: try decoder.singleValueContainer().decode(Int64.self)) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The first frame of every segment (JSON).
public struct SegmentHeader: Codable, Sendable {
    public var format = "logbook-segment"
    public var version = 1
    public var systemIdentifier: String
    public var database: String
    public var slot: String
    /// Commit LSN of the first transaction (or LSN of the first non-transactional message).
    public var firstLSN: LSN
    public var createdAt: String
}

/// The last frame of a sealed segment (JSON).
public struct SegmentFooter: Codable, Sendable {
    public var firstLSN: LSN
    public var last: CommitPosition?
    public var firstCommitTime: PGTimestamp?
    public var transactions: Int
    public var changes: Int
    public var frames: Int
    public var tables: [String]
}
