import Crypto
import PGWire

/// A segment's content hash: SHA-256 over what each frame holds, whatever its compression or
/// encryption. Per frame (the footer excepted), in order: its kind, raw length, first LSN, last
/// LSN and commit time, then the SHA-256 of its raw (decompressed) payload. A segment recompressed
/// later (`Recompressor`) has new bytes and the same content hash, which its successor names next
/// to the hash of the bytes as sealed: the chain stays whole and binds what was recompressed.
public struct ContentDigest {
    private var hasher = SHA256()
    /// False once a frame was added without its raw digest: the content hash is then unknown.
    public private(set) var isComplete = true

    public init() {}

    /// SHA-256 of a frame's raw payload.
    public static func rawDigest(_ raw: UnsafeRawBufferPointer) -> [UInt8] { Array(SHA256.hash(data: raw)) }
    public static func rawDigest(_ raw: [UInt8]) -> [UInt8] { raw.withUnsafeBytes { rawDigest($0) } }

    /// Adds one frame, given its raw payload's digest.
    public mutating func add(_ kind: FrameKind, rawLength: Int, firstLSN: LSN, lastEndLSN: LSN, lastCommitTime: PGTimestamp, rawDigest: [UInt8]) {
        var w = WireWriter(capacity: 29 + rawDigest.count)
        w.write(kind.rawValue)
        w.write(UInt32(rawLength))
        w.write(firstLSN)
        w.write(lastEndLSN)
        w.write(lastCommitTime)
        w.bytes.append(contentsOf: rawDigest)
        hasher.update(data: w.bytes)
    }

    /// Adds a frame read back (its header and raw payload).
    public mutating func add(_ frame: Frame) {
        add(frame.header.kind, rawLength: frame.header.rawLength, firstLSN: frame.header.firstLSN, lastEndLSN: frame.header.lastEndLSN,
            lastCommitTime: frame.header.lastCommitTime, rawDigest: Self.rawDigest(frame.raw))
    }

    /// A frame whose raw payload was not seen: the content hash can no longer be given.
    public mutating func markIncomplete() { isComplete = false }

    /// Hex content hash so far, nil if incomplete.
    public var hex: String? { isComplete ? hasher.finalize().map { String(format: "%02x", $0) }.joined() : nil }
}
