import CLZ4
import CSnappy
import CZstd
import Testing
@testable import StrataIO

func sampleData(_ n: Int, compressible: Bool, seed: UInt64 = 1) -> [UInt8] {
    var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var out = [UInt8](repeating: 0, count: n)
    let words = Array("INFO dfs.DataNode: Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010\n".utf8)
    for i in 0 ..< n {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        out[i] = compressible ? (x % 8 == 0 ? UInt8(truncatingIfNeeded: x >> 8) : words[i % words.count]) : UInt8(truncatingIfNeeded: x >> 24)
    }
    return out
}

func roundTrip(_ codec: CompressionCodec, _ data: [UInt8], codecs: Codecs = Codecs()) throws -> [UInt8] {
    let c = ByteWriter(), d = ByteWriter()
    try data.withUnsafeBytes { try codecs.compress(codec, $0, into: c) }
    try codecs.decompress(codec, c.bytes, into: d)
    return d.toArray()
}

@Suite struct CodecTests {
    @Test(arguments: [CompressionCodec.none, .gzip, .snappy, .lz4, .zstd])
    func roundTripsManySizes(codec: CompressionCodec) throws {
        let codecs = Codecs()
        for n in [0, 1, 100, 65535, 65536, 65537, 200_000, 1 << 20] {
            for compressible in [true, false] {
                let data = sampleData(n, compressible: compressible, seed: UInt64(n))
                #expect(try roundTrip(codec, data, codecs: codecs) == data, "codec \(codec) size \(n)")
            }
        }
    }

    @Test func lz4FrameIsKafkasShape() throws {
        let data = sampleData(150_000, compressible: true)
        let out = ByteWriter()
        try data.withUnsafeBytes { try Codecs().compress(.lz4, $0, into: out) }
        let b = out.toArray()
        #expect(Array(b[0 ..< 4]) == [0x04, 0x22, 0x4D, 0x18])
        #expect(b[4] == 0x60 && b[5] == 0x40)
        // The header checksum byte equals what liblz4 itself writes for the same descriptor.
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.blockSizeID = LZ4F_max64KB
        prefs.frameInfo.blockMode = LZ4F_blockIndependent
        let ref = [UInt8](unsafeUninitializedCapacity: 64) { buf, n in
            n = LZ4F_compressFrame(buf.baseAddress, 64, nil, 0, &prefs)
        }
        #expect(ref[4] == 0x60 && ref[5] == 0x40)
        #expect(b[6] == ref[6])
        #expect(Array(b.suffix(4)) == [0, 0, 0, 0])
        // Three 64 KiB blocks: walk them.
        var pos = 7, blocks = 0
        while true {
            let size = UInt32(b[pos]) | UInt32(b[pos + 1]) << 8 | UInt32(b[pos + 2]) << 16 | UInt32(b[pos + 3]) << 24
            pos += 4
            if size == 0 { break }
            pos += Int(size & 0x7fff_ffff)
            blocks += 1
        }
        #expect(blocks == 3 && pos == b.count)
    }

    @Test func incompressibleLZ4BlocksAreStoredWithTheHighBit() throws {
        let data = sampleData(1000, compressible: false)
        let out = ByteWriter()
        try data.withUnsafeBytes { try Codecs().compress(.lz4, $0, into: out) }
        let b = out.toArray()
        #expect(b[10] & 0x80 == 0x80)
        #expect(Array(b[11 ..< 1011]) == data)
    }

    /// Frames written by liblz4 with every option our encoder does not use.
    @Test func lz4DecoderAcceptsAnyValidFrame() throws {
        let data = sampleData(300_000, compressible: true)
        for (mode, checksums, contentSize) in [(LZ4F_blockLinked, true, true), (LZ4F_blockIndependent, false, true), (LZ4F_blockLinked, false, false)] {
            var prefs = LZ4F_preferences_t()
            prefs.frameInfo.blockSizeID = LZ4F_max256KB
            prefs.frameInfo.blockMode = mode
            prefs.frameInfo.contentChecksumFlag = checksums ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum
            prefs.frameInfo.blockChecksumFlag = checksums ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum
            prefs.frameInfo.contentSize = contentSize ? UInt64(data.count) : 0
            let bound = LZ4F_compressFrameBound(data.count, &prefs)
            var frame = [UInt8](repeating: 0, count: bound)
            let n = data.withUnsafeBytes { src in frame.withUnsafeMutableBytes { LZ4F_compressFrame($0.baseAddress, bound, src.baseAddress, data.count, &prefs) } }
            frame.removeLast(bound - n)
            let twice = frame + frame // several frames back to back
            let out = ByteWriter()
            try twice.withUnsafeBytes { try Codecs().decompress(.lz4, $0, into: out) }
            #expect(out.toArray() == data + data)
        }
    }

    /// A frame whose content or block checksum does not match its data is corrupt (a decoder
    /// told to skip checksums survived the mutation pass).
    @Test func lz4ChecksumsAreVerified() throws {
        let data = sampleData(100_000, compressible: true)
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled
        let bound = LZ4F_compressFrameBound(data.count, &prefs)
        var frame = [UInt8](repeating: 0, count: bound)
        let n = data.withUnsafeBytes { src in frame.withUnsafeMutableBytes { LZ4F_compressFrame($0.baseAddress, bound, src.baseAddress, data.count, &prefs) } }
        frame.removeLast(bound - n)
        let out = ByteWriter()
        try frame.withUnsafeBytes { try Codecs().decompress(.lz4, $0, into: out) }
        #expect(out.toArray() == data)
        // The content checksum is the frame's last 4 bytes.
        var badContent = frame
        badContent[badContent.count - 1] ^= 0x01
        #expect(throws: StrataError.self) { try badContent.withUnsafeBytes { try Codecs().decompress(.lz4, $0, into: ByteWriter()) } }
        // Block 1: header 7 bytes (magic 4, FLG, BD, HC), then a 4-byte block size, the block,
        // and its 4-byte checksum.
        let size = Int(UInt32(frame[7]) | UInt32(frame[8]) << 8 | UInt32(frame[9]) << 16 | UInt32(frame[10] & 0x7f) << 24)
        var badBlock = frame
        badBlock[11 + size] ^= 0x01
        #expect(throws: StrataError.self) { try badBlock.withUnsafeBytes { try Codecs().decompress(.lz4, $0, into: ByteWriter()) } }
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func truncatedAndGarbageInputIsATypedError(codec: CompressionCodec) throws {
        let codecs = Codecs()
        let c = ByteWriter()
        let data = sampleData(100_000, compressible: true)
        try data.withUnsafeBytes { try codecs.compress(codec, $0, into: c) }
        let full = c.toArray()
        for cut in [0, 1, 5, 11, full.count / 2, full.count - 1] {
            let out = ByteWriter()
            #expect(throws: StrataError.self, "cut at \(cut)") {
                try Array(full[0 ..< cut]).withUnsafeBytes { try codecs.decompress(codec, $0, into: out) }
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 200 {
            var junk = full
            for _ in 0 ..< 3 { junk[Int.random(in: 0 ..< junk.count, using: &rng)] ^= UInt8.random(in: 1 ... 255, using: &rng) }
            let out = ByteWriter()
            _ = try? junk.withUnsafeBytes { try codecs.decompress(codec, $0, into: out) } // must not crash
        }
        // The codec still works after errors.
        #expect(try roundTrip(codec, data, codecs: codecs) == data)
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func decompressionBombsHitTheLimit(codec: CompressionCodec) throws {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let c = ByteWriter()
        try zeros.withUnsafeBytes { try Codecs().compress(codec, $0, into: c) }
        #expect(c.count < zeros.count / 16) // snappy's ratio on zeros is ~21:1, the others' far higher
        let small = Codecs(maxDecompressedBytes: 1 << 20)
        let out = ByteWriter()
        #expect(throws: StrataError.decompressionLimitExceeded(codec: codec.description, limit: 1 << 20)) {
            try small.decompress(codec, c.bytes, into: out)
        }
        let exact = Codecs(maxDecompressedBytes: 8 << 20)
        try exact.decompress(codec, c.bytes, into: out)
        #expect(out.count == 8 << 20)
    }

    @Test func gzipAcceptsConcatenatedMembers() throws {
        let codecs = Codecs()
        let a = sampleData(5000, compressible: true, seed: 3), b = sampleData(7000, compressible: false, seed: 4)
        let c = ByteWriter()
        try a.withUnsafeBytes { try codecs.compress(.gzip, $0, into: c) }
        try b.withUnsafeBytes { try codecs.compress(.gzip, $0, into: c) }
        let out = ByteWriter()
        try codecs.decompress(.gzip, c.bytes, into: out)
        #expect(out.toArray() == a + b)
    }

    /// zstd: frames written by other encoders' options (several frames back to back, a
    /// skippable frame, a frame with a content checksum) all decode; a flipped checksum fails.
    @Test func zstdDecoderAcceptsAnyValidFrame() throws {
        let a = sampleData(300_000, compressible: true, seed: 5), b = sampleData(70_000, compressible: false, seed: 6)
        let codecs = Codecs()
        let c = ByteWriter()
        try a.withUnsafeBytes { try codecs.compress(.zstd, $0, into: c) }
        // A skippable frame (magic 0x184D2A50, 4-byte length, payload) between two frames.
        c.append([0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 9, 9, 9])
        try b.withUnsafeBytes { try codecs.compress(.zstd, $0, into: c) }
        let out = ByteWriter()
        try codecs.decompress(.zstd, c.bytes, into: out)
        #expect(out.toArray() == a + b)
        // With a content checksum (the last 4 bytes of the frame): flipped, it fails.
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(cctx) }
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        var frame = [UInt8](repeating: 0, count: ZSTD_compressBound(a.count))
        let n = a.withUnsafeBytes { src in frame.withUnsafeMutableBytes { ZSTD_compress2(cctx, $0.baseAddress, $0.count, src.baseAddress, src.count) } }
        #expect(ZSTD_isError(n) == 0)
        frame.removeLast(frame.count - n)
        let checked = ByteWriter()
        try frame.withUnsafeBytes { try codecs.decompress(.zstd, $0, into: checked) }
        #expect(checked.toArray() == a)
        frame[frame.count - 1] ^= 1
        #expect(throws: StrataError.self) { try frame.withUnsafeBytes { try codecs.decompress(.zstd, $0, into: ByteWriter()) } }
    }

    /// snappy as Kafka's Java producer writes it: xerial framing, 32 KiB blocks.
    @Test func snappyWritesXerialFraming() throws {
        let data = sampleData(100_000, compressible: true)
        let out = ByteWriter()
        try data.withUnsafeBytes { try Codecs().compress(.snappy, $0, into: out) }
        let b = out.toArray()
        #expect(Array(b[0 ..< 16]) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
        // Four blocks (32 KiB × 3 + the rest), each a big-endian length and raw snappy that
        // libsnappy itself decodes to that stretch of the input.
        var pos = 16, blocks = 0
        while pos < b.count {
            let n = Int(b[pos]) << 24 | Int(b[pos + 1]) << 16 | Int(b[pos + 2]) << 8 | Int(b[pos + 3])
            pos += 4
            var length = 0
            try b.withUnsafeBytes { raw in
                let src = (raw.baseAddress! + pos).assumingMemoryBound(to: CChar.self)
                try #require(snappy_uncompressed_length(src, n, &length) == SNAPPY_OK)
                var got = [UInt8](repeating: 0, count: length)
                var written = length
                let status = got.withUnsafeMutableBytes { snappy_uncompress(src, n, $0.baseAddress!.assumingMemoryBound(to: CChar.self), &written) }
                #expect(status == SNAPPY_OK && got == Array(data[blocks * 32768 ..< min(data.count, (blocks + 1) * 32768)]))
            }
            pos += n
            blocks += 1
        }
        #expect(pos == b.count && blocks == 4)
    }

    /// snappy as other writers leave it: raw (librdkafka), and xerial streams written back
    /// to back (a header between blocks).
    @Test func snappyReadsRawAndConcatenatedStreams() throws {
        let codecs = Codecs()
        let a = sampleData(50_000, compressible: true, seed: 5), b = sampleData(9_000, compressible: false, seed: 6)
        var raw = [UInt8](repeating: 0, count: snappy_max_compressed_length(a.count))
        var n = raw.count
        let status = a.withUnsafeBytes { src in raw.withUnsafeMutableBytes {
            snappy_compress(src.baseAddress!.assumingMemoryBound(to: CChar.self), src.count, $0.baseAddress!.assumingMemoryBound(to: CChar.self), &n)
        } }
        #expect(status == SNAPPY_OK)
        raw.removeLast(raw.count - n)
        let out = ByteWriter()
        try raw.withUnsafeBytes { try codecs.decompress(.snappy, $0, into: out) }
        #expect(out.toArray() == a)

        let two = ByteWriter()
        try a.withUnsafeBytes { try codecs.compress(.snappy, $0, into: two) }
        try b.withUnsafeBytes { try codecs.compress(.snappy, $0, into: two) }
        out.removeAll()
        try codecs.decompress(.snappy, two.bytes, into: out)
        #expect(out.toArray() == a + b)
    }

    @Test func snappyDamageIsATypedErrorWithoutOutput() throws {
        let codecs = Codecs()
        let c = ByteWriter()
        try sampleData(40_000, compressible: true).withUnsafeBytes { try codecs.compress(.snappy, $0, into: c) }
        let good = c.toArray()
        func fails(_ bytes: [UInt8], _ expected: (StrataError) -> Bool, _ what: String) {
            let out = ByteWriter()
            out.append([9, 9])
            do {
                try bytes.withUnsafeBytes { try codecs.decompress(.snappy, $0, into: out) }
                Issue.record("\(what): decoded")
            } catch let e as StrataError {
                #expect(expected(e), "\(what): \(e)")
            } catch { Issue.record("\(what): \(error)") }
            #expect(out.toArray() == [9, 9], "\(what): nothing appended")
        }
        func corrupt(_ e: StrataError) -> Bool { if case .corrupt = e { true } else { false } }
        var v2 = good
        v2[15] = 2 // minimum compatible version 2: a future format
        fails(v2, { if case .unsupported = $0 { true } else { false } }, "compatible version 2")
        var long = good
        long[16] = 0x7f // first block's length far past the end
        fails(long, corrupt, "block past the end")
        var zero = good
        zero[16 ..< 20] = [0, 0, 0, 0]
        fails(zero, corrupt, "empty block")
        fails(Array(good[0 ..< 18]), corrupt, "torn block length")
        fails([], corrupt, "empty input")
        // A raw block that declares 4 GiB - 1 in 5 bytes: refused before any output is made.
        fails([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00], { $0 == .decompressionLimitExceeded(codec: "snappy", limit: Codecs.defaultMaxDecompressedBytes) }, "declared bomb")
        // The codec still works.
        let out = ByteWriter()
        try codecs.decompress(.snappy, c.bytes, into: out)
        #expect(out.count == 40_000)
    }
}
