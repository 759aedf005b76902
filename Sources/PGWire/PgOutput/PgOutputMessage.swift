/// Every pgoutput message Logbook understands, by its tag.
public enum PgOutputMessage: Sendable {
    case begin(BeginMessage)               // 'B'
    case commit(CommitMessage)             // 'C'
    case origin(OriginMessage)             // 'O'
    case relation(RelationMessage)         // 'R'
    case type(TypeMessage)                 // 'Y'
    case insert(InsertMessage)             // 'I'
    case update(UpdateMessage)             // 'U'
    case delete(DeleteMessage)             // 'D'
    case truncate(TruncateMessage)         // 'T'
    case message(LogicalMessage)           // 'M'
    case streamStart(StreamStartMessage)   // 'S'
    case streamStop                        // 'E'
    case streamCommit(StreamCommitMessage) // 'c'
    case streamAbort(StreamAbortMessage)   // 'A'

    public enum Tag: UInt8, Sendable {
        case begin = 0x42        // B
        case commit = 0x43       // C
        case origin = 0x4F       // O
        case relation = 0x52     // R
        case type = 0x59         // Y
        case insert = 0x49       // I
        case update = 0x55       // U
        case delete = 0x44       // D
        case truncate = 0x54     // T
        case message = 0x4D      // M
        case streamStart = 0x53  // S
        case streamStop = 0x45   // E
        case streamCommit = 0x63 // c
        case streamAbort = 0x41  // A

        /// Messages that carry an Int32 xid right after the tag when sent inside a stream.
        public var carriesStreamXid: Bool {
            switch self {
            case .relation, .type, .insert, .update, .delete, .truncate, .message: return true
            default: return false
            }
        }
    }
}

/// A decoded message with the xid it carried inside a stream (nil outside one).
public struct DecodedPgOutput: Sendable {
    public var message: PgOutputMessage
    public var streamXid: UInt32?
}

/// Decodes pgoutput messages. Knows whether it is inside a Stream Start … Stream Stop block,
/// where R/Y/I/U/D/T/M carry an extra xid. Throws on an unknown tag or leftover bytes.
public struct PgOutputDecoder: Sendable {
    public let protocolVersion: Int
    public private(set) var inStream = false

    public init(protocolVersion: Int) { self.protocolVersion = protocolVersion }

    public mutating func decode(_ bytes: [UInt8], from offset: Int = 0) throws -> DecodedPgOutput {
        var r = WireReader(bytes, offset: offset)
        let tagByte = try r.readUInt8("pgoutput tag")
        guard let tag = PgOutputMessage.Tag(rawValue: tagByte) else {
            throw WireDecodeError("unknown pgoutput message (protocol \(protocolVersion))", offset: offset, byte: tagByte)
        }
        var xid: UInt32?
        if inStream && tag.carriesStreamXid { xid = try r.readUInt32("stream xid") }
        let message: PgOutputMessage
        switch tag {
        case .begin: message = .begin(try .decode(&r))
        case .commit: message = .commit(try .decode(&r))
        case .origin: message = .origin(try .decode(&r))
        case .relation: message = .relation(try .decode(&r))
        case .type: message = .type(try .decode(&r))
        case .insert: message = .insert(try .decode(&r))
        case .update: message = .update(try .decode(&r))
        case .delete: message = .delete(try .decode(&r))
        case .truncate: message = .truncate(try .decode(&r))
        case .message: message = .message(try .decode(&r))
        case .streamStart:
            guard protocolVersion >= 2 else { throw WireDecodeError("Stream Start needs protocol 2", offset: offset, byte: tagByte) }
            guard !inStream else { throw WireDecodeError("Stream Start inside a stream", offset: offset, byte: tagByte) }
            message = .streamStart(try .decode(&r))
            inStream = true
        case .streamStop:
            guard inStream else { throw WireDecodeError("Stream Stop outside a stream", offset: offset, byte: tagByte) }
            try r.expectEnd("Stream Stop")
            message = .streamStop
            inStream = false
        case .streamCommit: message = .streamCommit(try .decode(&r))
        case .streamAbort: message = .streamAbort(try .decode(&r))
        }
        return DecodedPgOutput(message: message, streamXid: xid)
    }

    /// The message as pgoutput sends it outside a stream: the stream xid, if any, removed.
    /// This is the form the archive stores.
    public static func normalized(_ bytes: [UInt8], from offset: Int, hadStreamXid: Bool) -> [UInt8] {
        guard hadStreamXid else { return Array(bytes[offset...]) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count - offset - 4)
        out.append(bytes[offset])
        out.append(contentsOf: bytes[(offset + 5)...])
        return out
    }
}
