import CZstd

/// zstd (RFC 8878 frames) through libzstd, as Kafka writes it (codec 4, since Kafka 2.1):
/// the records section is one zstd frame; readers accept several concatenated frames and
/// skippable frames, as libzstd's streaming decoder does. Contexts are reused.
final class ZstdCodec {
    private var compressor: OpaquePointer?
    private var decompressor: OpaquePointer?
    /// Kafka's default `compression.zstd.level`.
    static let defaultLevel: Int32 = 3

    deinit {
        if let c = compressor { ZSTD_freeCCtx(c) }
        if let d = decompressor { ZSTD_freeDStream(d) }
    }

    private static func failed(_ code: Int) -> Bool { ZSTD_isError(code) != 0 }
    private static func name(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }

    func compress(_ input: UnsafeRawBufferPointer, level: Int32 = ZstdCodec.defaultLevel, into out: ByteWriter) throws {
        if compressor == nil { compressor = ZSTD_createCCtx() }
        guard let c = compressor else { throw StrataError.io(operation: "ZSTD_createCCtx", path: "", errno: 12) }
        let bound = ZSTD_compressBound(input.count)
        let dst = out.reserve(bound)
        let n = ZSTD_compressCCtx(c, dst, bound, input.baseAddress, input.count, level)
        if Self.failed(n) { throw StrataError.invalidArgument("zstd compression failed: \(Self.name(n))") }
        out.count += n
    }

    /// Appends the decompressed bytes of every frame in `input` to `out`; throws
    /// `decompressionLimitExceeded` instead of producing more than `limit` bytes, `corrupt`
    /// for damaged or truncated frames.
    func decompress(_ input: UnsafeRawBufferPointer, into out: ByteWriter, limit: Int) throws {
        if decompressor == nil { decompressor = ZSTD_createDStream() }
        guard let d = decompressor else { throw StrataError.io(operation: "ZSTD_createDStream", path: "", errno: 12) }
        _ = ZSTD_DCtx_reset(d, ZSTD_reset_session_only)
        if input.count == 0 { throw StrataError.corrupt(file: "", position: 0, reason: "empty zstd data (a frame needs at least a header)") }
        let start = out.count
        var src = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            let produced = out.count - start
            // Offer up to 256 KiB at a time, never past the limit (+1 to detect overflow).
            let room = min(max(256 * 1024, input.count * 4), limit - produced + 1)
            if room <= 0 { out.count = start; throw StrataError.decompressionLimitExceeded(codec: "zstd", limit: limit) }
            var dst = ZSTD_outBuffer(dst: out.reserve(room), size: room, pos: 0)
            let hint = ZSTD_decompressStream(d, &dst, &src)
            if Self.failed(hint) {
                out.count = start
                _ = ZSTD_DCtx_reset(d, ZSTD_reset_session_only)
                throw StrataError.corrupt(file: "", position: Int64(src.pos), reason: "invalid zstd frame: \(Self.name(hint))")
            }
            out.count += dst.pos
            if out.count - start > limit {
                out.count = start
                _ = ZSTD_DCtx_reset(d, ZSTD_reset_session_only)
                throw StrataError.decompressionLimitExceeded(codec: "zstd", limit: limit)
            }
            // 0: a frame is decoded and flushed; done if it was the last input.
            if hint == 0 && src.pos == src.size { return }
            // Input used up, room left, and the decoder still wants more: a frame ends early.
            // (A full output buffer means it may hold more: go round again.)
            if src.pos == src.size && dst.pos < dst.size {
                out.count = start
                _ = ZSTD_DCtx_reset(d, ZSTD_reset_session_only)
                throw StrataError.corrupt(file: "", position: Int64(input.count), reason: "truncated zstd frame (\(input.count) bytes end inside a frame)")
            }
        }
    }
}
