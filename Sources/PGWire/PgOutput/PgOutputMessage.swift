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

    /// What the capture path needs of a row change: its tag and relation, with the message's
    /// structure checked but no value copied. Other messages are decoded in full.
    public enum Routed: Sendable {
        /// Insert, Update or Delete of `relation`.
        case rowChange(tag: PgOutputMessage.Tag, relation: UInt32, streamXid: UInt32?)
        case other(DecodedPgOutput)
    }

    public mutating func route(_ bytes: [UInt8], from offset: Int = 0) throws -> Routed {
        guard offset < bytes.count else { throw WireDecodeError("empty pgoutput message", offset: offset) }
        let tagByte = bytes[offset]
        guard tagByte == PgOutputMessage.Tag.insert.rawValue || tagByte == PgOutputMessage.Tag.update.rawValue || tagByte == PgOutputMessage.Tag.delete.rawValue else {
            return .other(try decode(bytes, from: offset))
        }
        var r = WireReader(bytes, offset: offset + 1)
        let xid: UInt32? = inStream ? try r.readUInt32("stream xid") : nil
        let relation = try r.readUInt32("relation OID")
        guard let tag = PgOutputMessage.Tag(rawValue: tagByte) else { throw WireDecodeError("not a row change", offset: offset, byte: tagByte) }
        var tupleTag = try r.readUInt8("tuple tag")
        switch tag {
        case .insert:
            guard tupleTag == UInt8(ascii: "N") else { throw WireDecodeError("Insert expects tuple tag 'N'", offset: r.offset - 1, byte: tupleTag) }
            try TupleData.skip(&r)
        case .update:
            if tupleTag == UInt8(ascii: "K") || tupleTag == UInt8(ascii: "O") {
                try TupleData.skip(&r)
                tupleTag = try r.readUInt8("Update new tuple tag")
            }
            guard tupleTag == UInt8(ascii: "N") else { throw WireDecodeError("Update expects tuple tag 'K', 'O' or 'N'", offset: r.offset - 1, byte: tupleTag) }
            try TupleData.skip(&r)
        default:
            guard tupleTag == UInt8(ascii: "K") || tupleTag == UInt8(ascii: "O") else {
                throw WireDecodeError("Delete expects tuple tag 'K' or 'O'", offset: r.offset - 1, byte: tupleTag)
            }
            try TupleData.skip(&r)
        }
        try r.expectEnd("row change")
        return .rowChange(tag: tag, relation: relation, streamXid: xid)
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
