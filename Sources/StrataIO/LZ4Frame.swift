import CLZ4
import CStrataSupport

/// The LZ4 frame format as Kafka writes it (see Formats/record-batch.md, "LZ4 frames").
enum LZ4Frame {
    static let magic: UInt32 = 0x184D_2204
    /// FLG: version 01, independent blocks, no block checksums, no content size, no content checksum.
    static let kafkaFLG: UInt8 = 0x60
    /// BD: 64 KiB maximum block size.
    static let kafkaBD: UInt8 = 0x40
    static let blockSize = 64 * 1024
    /// High bit of a block size word: the block is stored uncompressed.
    static let uncompressedBit: UInt32 = 0x8000_0000

    /// The frame header checksum byte: second byte of XXH32 over the descriptor.
    static func headerChecksum(_ descriptor: [UInt8]) -> UInt8 {
        let h = descriptor.withUnsafeBytes { strata_xxh32($0.baseAddress, $0.count, 0) }
        return UInt8(truncatingIfNeeded: h >> 8)
    }
}

/// Encodes Kafka-style LZ4 frames with a reusable compression state (no allocation per call).
final class LZ4FrameEncoder {
    private let state: UnsafeMutableRawPointer
    private let headerChecksum = LZ4Frame.headerChecksum([LZ4Frame.kafkaFLG, LZ4Frame.kafkaBD])

    init() {
        state = UnsafeMutableRawPointer.allocate(byteCount: Int(LZ4_sizeofState()), alignment: 16)
    }

    deinit { state.deallocate() }

    func compress(_ input: UnsafeRawBufferPointer, into out: ByteWriter) {
        let header = out.reserve(7)
        header.storeBytes(of: LZ4Frame.magic.littleEndian, as: UInt32.self)
        header.storeBytes(of: LZ4Frame.kafkaFLG, toByteOffset: 4, as: UInt8.self)
        header.storeBytes(of: LZ4Frame.kafkaBD, toByteOffset: 5, as: UInt8.self)
        header.storeBytes(of: headerChecksum, toByteOffset: 6, as: UInt8.self)
        out.count += 7
        var offset = 0
        while offset < input.count {
            let n = min(LZ4Frame.blockSize, input.count - offset)
            let src = input.baseAddress! + offset
            let bound = Int(LZ4_compressBound(Int32(n)))
            let slot = out.reserve(4 + max(bound, n))
            let written = Int(LZ4_compress_fast_extState(state, src.assumingMemoryBound(to: CChar.self),
                                                          (slot + 4).assumingMemoryBound(to: CChar.self),
                                                          Int32(n), Int32(bound), 1))
            if written <= 0 || written >= n {
                slot.storeBytes(of: (UInt32(n) | LZ4Frame.uncompressedBit).littleEndian, as: UInt32.self)
                (slot + 4).copyMemory(from: src, byteCount: n)
                out.count += 4 + n
            } else {
                slot.storeBytes(of: UInt32(written).littleEndian, as: UInt32.self)
                out.count += 4 + written
            }
            offset += n
        }
        out.reserve(4).storeBytes(of: UInt32(0), as: UInt32.self)
        out.count += 4
    }
}

/// Decodes any valid LZ4 frame sequence (any block size, linked or independent blocks,
/// checksums, content size, several concatenated frames) through liblz4's streaming API,
/// with a hard cap on the output size.
final class LZ4FrameDecoder {
    private var context: OpaquePointer?

    init() {
        var ctx: OpaquePointer?
        _ = LZ4F_createDecompressionContext(&ctx, UInt32(LZ4F_VERSION))
        context = ctx
    }

    deinit { LZ4F_freeDecompressionContext(context) }

    func decompress(_ input: UnsafeRawBufferPointer, into out: ByteWriter, limit: Int) throws {
        guard let ctx = context else { throw StrataError.io(operation: "LZ4F_createDecompressionContext", path: "", errno: 12) }
        let start = out.count
        var consumedTotal = 0
        var frameDone = true
        if input.count == 0 {
            throw StrataError.corrupt(file: "", position: 0, reason: "empty lz4 data (a frame needs at least a header)")
        }
        while consumedTotal < input.count {
            frameDone = false
            // Offer up to 256 KiB of output at a time, never past the limit (+1 to detect overflow).
            let produced = out.count - start
            let room = min(max(256 * 1024, input.count * 4), limit - produced + 1)
            if room <= 0 { throw StrataError.decompressionLimitExceeded(codec: "lz4", limit: limit) }
            let dst = out.reserve(room)
            var dstSize = room
            var srcSize = input.count - consumedTotal
            let hint = LZ4F_decompress(ctx, dst, &dstSize, input.baseAddress! + consumedTotal, &srcSize, nil)
            if LZ4F_isError(hint) != 0 {
                LZ4F_resetDecompressionContext(ctx)
                out.count = start
                let name = String(cString: LZ4F_getErrorName(hint))
                throw StrataError.corrupt(file: "", position: Int64(consumedTotal), reason: "invalid lz4 frame: \(name)")
            }
            out.count += dstSize
            consumedTotal += srcSize
            if out.count - start > limit {
                LZ4F_resetDecompressionContext(ctx)
                out.count = start
                throw StrataError.decompressionLimitExceeded(codec: "lz4", limit: limit)
            }
            if hint == 0 {
                frameDone = true // a frame ended; another may follow
            } else if srcSize == 0 && dstSize == 0 {
                break // no progress: input exhausted mid-frame
            }
        }
        if !frameDone {
            LZ4F_resetDecompressionContext(ctx)
            out.count = start
            throw StrataError.corrupt(file: "", position: Int64(input.count), reason: "lz4 frame is truncated (no end mark)")
        }
    }
}
