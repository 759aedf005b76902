/// One column of a TupleData: `n` NULL, `u` unchanged TOASTed value (not sent), `t` text, `b` binary.
public enum TupleValue: Sendable, Hashable {
    case null
    case unchanged
    case text([UInt8])
    case binary([UInt8])

    public var textString: String? {
        if case .text(let b) = self { return String(decoding: b, as: UTF8.self) }
        return nil
    }
}

/// TupleData: Int16 number of columns, then one value per column.
public struct TupleData: Sendable, Hashable {
    public var values: [TupleValue]
    public init(_ values: [TupleValue]) { self.values = values }

    public static func decode(_ reader: inout WireReader) throws -> TupleData {
        let count = Int(try reader.readUInt16("TupleData column count"))
        var values: [TupleValue] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            let kindOffset = reader.offset
            let kind = try reader.readUInt8("TupleData column kind")
            switch kind {
            case UInt8(ascii: "n"): values.append(.null)
            case UInt8(ascii: "u"): values.append(.unchanged)
            case UInt8(ascii: "t"), UInt8(ascii: "b"):
                let len = try reader.readInt32("TupleData value length")
                guard len >= 0 else { throw WireDecodeError("negative TupleData value length \(len)", offset: reader.offset - 4) }
                let data = try reader.readBytes(Int(len), "TupleData value")
                values.append(kind == UInt8(ascii: "t") ? .text(data) : .binary(data))
            default:
                throw WireDecodeError("unknown TupleData column kind", offset: kindOffset, byte: kind)
            }
        }
        return TupleData(values)
    }

    public func encode(into w: inout WireWriter) {
        w.write(UInt16(values.count))
        for v in values {
            switch v {
            case .null: w.write(UInt8(ascii: "n"))
            case .unchanged: w.write(UInt8(ascii: "u"))
            case .text(let b): w.write(UInt8(ascii: "t")); w.write(Int32(b.count)); w.write(bytes: b)
            case .binary(let b): w.write(UInt8(ascii: "b")); w.write(Int32(b.count)); w.write(bytes: b)
            }
        }
    }
}

extension TupleData {
    /// Checks a TupleData's structure and moves past it without copying any value: the capture
    /// path stores messages as received and needs only their shape to be sound.
    public static func skip(_ reader: inout WireReader) throws {
        let count = Int(try reader.readUInt16("TupleData column count"))
        for _ in 0..<count {
            let kindOffset = reader.offset
            let kind = try reader.readUInt8("TupleData column kind")
            switch kind {
            case UInt8(ascii: "n"), UInt8(ascii: "u"): break
            case UInt8(ascii: "t"), UInt8(ascii: "b"):
                let len = try reader.readInt32("TupleData value length")
                guard len >= 0 else { throw WireDecodeError("negative TupleData value length \(len)", offset: reader.offset - 4) }
                try reader.skip(Int(len), "TupleData value")
            default:
                throw WireDecodeError("unknown TupleData column kind", offset: kindOffset, byte: kind)
            }
        }
    }
}
