/// An error in bytes received from the server or read from an archive: names the offset and the byte.
public struct WireDecodeError: Error, Sendable, CustomStringConvertible {
    public var what: String
    public var offset: Int
    public var byte: UInt8?

    public init(_ what: String, offset: Int, byte: UInt8? = nil) {
        self.what = what
        self.offset = offset
        self.byte = byte
    }

    public var description: String {
        if let byte {
            return "\(what) at offset \(offset) (byte 0x\(String(byte, radix: 16, uppercase: true)))"
        }
        return "\(what) at offset \(offset)"
    }
}

/// Reads big-endian integers, C strings and byte runs from a message. Never traps: every
/// read past the end throws a `WireDecodeError` naming the offset.
public struct WireReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    public let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        self.end = bytes.count
    }

    public var remaining: Int { end - offset }

    @inline(__always)
    mutating func need(_ n: Int, _ what: StaticString) throws {
        guard n >= 0, remaining >= n else {
            throw WireDecodeError("message ends inside \(what): needs \(n) bytes, has \(remaining)", offset: offset)
        }
    }

    public mutating func readUInt8(_ what: StaticString = "byte") throws -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readUInt16(_ what: StaticString = "int16") throws -> UInt16 {
        try need(2, what)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    public mutating func readUInt32(_ what: StaticString = "int32") throws -> UInt32 {
        try need(4, what)
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return v
    }

    public mutating func readInt32(_ what: StaticString = "int32") throws -> Int32 {
        Int32(bitPattern: try readUInt32(what))
    }

    public mutating func readUInt64(_ what: StaticString = "int64") throws -> UInt64 {
        try need(8, what)
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }

    public mutating func readInt64(_ what: StaticString = "int64") throws -> Int64 {
        Int64(bitPattern: try readUInt64(what))
    }

    public mutating func readLSN(_ what: StaticString = "LSN") throws -> LSN { LSN(try readUInt64(what)) }

    public mutating func readTimestamp(_ what: StaticString = "timestamp") throws -> PGTimestamp {
        PGTimestamp(rawValue: try readInt64(what))
    }

    public mutating func readBytes(_ n: Int, _ what: StaticString = "bytes") throws -> [UInt8] {
        try need(n, what)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    public mutating func skip(_ n: Int, _ what: StaticString = "bytes") throws {
        try need(n, what)
        offset += n
    }

    /// A NUL-terminated string.
    public mutating func readCString(_ what: StaticString = "string") throws -> String {
        guard let nul = bytes[offset..<end].firstIndex(of: 0) else {
            throw WireDecodeError("\(what) has no terminating NUL", offset: offset)
        }
        defer { offset = nul + 1 }
        return String(decoding: bytes[offset..<nul], as: UTF8.self)
    }

    /// Throws unless every byte was consumed.
    public func expectEnd(_ what: StaticString) throws {
        if remaining != 0 {
            throw WireDecodeError("\(remaining) unexpected bytes after \(what)", offset: offset, byte: bytes[offset])
        }
    }
}

/// Appends big-endian values; the counterpart of `WireReader`.
public struct WireWriter {
    public var bytes: [UInt8] = []
    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ v: UInt8) { bytes.append(v) }
    public mutating func write(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xFF)) }
    public mutating func write(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(s)) & 0xFF)) } }
    public mutating func write(_ v: Int32) { write(UInt32(bitPattern: v)) }
    public mutating func write(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((v >> UInt64(s)) & 0xFF)) } }
    public mutating func write(_ v: Int64) { write(UInt64(bitPattern: v)) }
    public mutating func write(_ v: LSN) { write(v.rawValue) }
    public mutating func write(_ v: PGTimestamp) { write(v.rawValue) }
    public mutating func write(cString s: String) { bytes.append(contentsOf: Array(s.utf8)); bytes.append(0) }
    public mutating func write(bytes b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }
}
