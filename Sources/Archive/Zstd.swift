import CZstd

/// zstd compression of one frame's payload. The only place that calls libzstd.
/// A context is reused across frames; one `Zstd` is used by one thread at a time.
public final class Zstd: @unchecked Sendable {
    private let cctx: OpaquePointer
    private let dctx: OpaquePointer
    public let level: Int32

    public init(level: Int32 = 3) {
        self.level = level
        cctx = ZSTD_createCCtx()
        dctx = ZSTD_createDCtx()
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        ZSTD_freeDCtx(dctx)
    }

    public func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { o in
            ZSTD_compress2(cctx, o.baseAddress, bound, input.baseAddress, input.count)
        }
        if ZSTD_isError(n) != 0 { throw ArchiveError(.compression, "zstd: " + String(cString: ZSTD_getErrorName(n))) }
        out.removeSubrange(n...)
        return out
    }

    public func compress(_ input: [UInt8]) throws -> [UInt8] { try input.withUnsafeBytes { try compress($0) } }

    /// Decompresses a payload whose decompressed size is known from the frame header.
    public func decompress(_ input: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rawLength)
        let n = out.withUnsafeMutableBytes { o in
            ZSTD_decompressDCtx(dctx, o.baseAddress, rawLength, input.baseAddress, input.count)
        }
        if ZSTD_isError(n) != 0 { throw ArchiveError(.corrupt, "zstd: " + String(cString: ZSTD_getErrorName(n))) }
        guard n == rawLength else { throw ArchiveError(.corrupt, "frame decompressed to \(n) bytes, header says \(rawLength)") }
        return out
    }
}
