/// Standby status update (`r`), sent by the client: Int64 written, Int64 flushed, Int64 applied,
/// Int64 client clock, Byte1 reply requested. Only `flush` moves the slot's `confirmed_flush_lsn`,
/// so it must only ever name data that is already fsynced.
public struct StandbyStatusUpdate: Sendable, Equatable {
    public var written: LSN
    public var flushed: LSN
    public var applied: LSN
    public var clock: PGTimestamp
    public var replyRequested: Bool

    public init(written: LSN, flushed: LSN, applied: LSN, clock: PGTimestamp = .now(), replyRequested: Bool = false) {
        self.written = written
        self.flushed = flushed
        self.applied = applied
        self.clock = clock
        self.replyRequested = replyRequested
    }

    public func encode() -> [UInt8] {
        var w = WireWriter(capacity: 34)
        w.write(UInt8(ascii: "r"))
        w.write(written)
        w.write(flushed)
        w.write(applied)
        w.write(clock)
        w.write(UInt8(replyRequested ? 1 : 0))
        return w.bytes
    }
}
