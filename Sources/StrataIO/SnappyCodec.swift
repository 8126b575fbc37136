import CSnappy

/// snappy (Kafka codec 2) through libsnappy, in the two forms Kafka topics hold:
///
/// - **xerial framing**, what Kafka's Java producer writes (snappy-java's
///   `SnappyOutputStream`) and what this codec writes: a 16-byte header — the magic
///   `82 53 4E 41 50 50 59 00` ("\x82SNAPPY\0"), a big-endian int32 version and a big-endian
///   int32 minimum compatible version (both 1) — then blocks of at most 32 KiB of input,
///   each a big-endian int32 length followed by that many bytes of raw snappy. A header met
///   again between blocks (concatenated streams) is skipped, as snappy-java does.
/// - **raw snappy**, one block without framing (what librdkafka writes): any records section
///   that does not start with the magic.
///
/// Every block's declared uncompressed length is checked against the cap before it is decoded.
final class SnappyCodec {
    static let magic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let headerSize = 16
    /// snappy-java's default block size (Kafka's producer uses it).
    static let blockSize = 32 * 1024

    func compress(_ input: UnsafeRawBufferPointer, into out: ByteWriter) throws {
        out.append(Self.magic)
        out.appendBE(Int32(1))
        out.appendBE(Int32(1))
        var pos = 0
        repeat {
            let n = min(Self.blockSize, input.count - pos)
            let lengthAt = out.count
            out.appendBE(Int32(0))
            var produced = snappy_max_compressed_length(n)
            let dst = out.reserve(produced)
            let status = snappy_compress(input.baseAddress.map { ($0 + pos).assumingMemoryBound(to: CChar.self) }, n,
                                         dst.assumingMemoryBound(to: CChar.self), &produced)
            guard status == SNAPPY_OK else { throw StrataError.invalidArgument("snappy compression failed (status \(status.rawValue))") }
            out.count += produced
            out.setBE(Int32(produced), at: lengthAt)
            pos += n
        } while pos < input.count
    }

    static func isXerial(_ input: UnsafeRawBufferPointer, at pos: Int) -> Bool {
        guard input.count - pos >= headerSize else { return false }
        for i in 0 ..< magic.count where input[pos + i] != magic[i] { return false }
        return true
    }

    /// Appends the decompressed bytes to `out`; `decompressionLimitExceeded` instead of
    /// producing more than `limit` bytes, `corrupt` for damaged or truncated data.
    func decompress(_ input: UnsafeRawBufferPointer, into out: ByteWriter, limit: Int) throws {
        let start = out.count
        do {
            guard Self.isXerial(input, at: 0) else {
                try block(input, from: 0, count: input.count, into: out, produced: 0, limit: limit)
                return
            }
            var pos = 0
            while pos < input.count {
                if Self.isXerial(input, at: pos) {
                    let compatible = Int32(bigEndian: input.loadUnaligned(fromByteOffset: pos + 12, as: Int32.self))
                    guard compatible == 1 else {
                        throw StrataError.unsupported(file: "", position: Int64(pos), reason: "xerial snappy stream needs reader version \(compatible); this reader is version 1")
                    }
                    pos += Self.headerSize
                    continue
                }
                guard input.count - pos >= 4 else {
                    throw StrataError.corrupt(file: "", position: Int64(pos), reason: "truncated xerial snappy block length (\(input.count - pos) of 4 bytes)")
                }
                let n = Int(Int32(bigEndian: input.loadUnaligned(fromByteOffset: pos, as: Int32.self)))
                pos += 4
                guard n > 0, n <= input.count - pos else {
                    throw StrataError.corrupt(file: "", position: Int64(pos - 4), reason: "xerial snappy block of \(n) bytes, \(input.count - pos) bytes left")
                }
                try block(input, from: pos, count: n, into: out, produced: out.count - start, limit: limit)
                pos += n
            }
        } catch {
            out.count = start
            throw error
        }
    }

    /// Decodes one raw snappy block.
    private func block(_ input: UnsafeRawBufferPointer, from pos: Int, count: Int, into out: ByteWriter, produced: Int, limit: Int) throws {
        guard count > 0, let base = input.baseAddress else {
            throw StrataError.corrupt(file: "", position: Int64(pos), reason: "empty snappy block (a block needs at least its length)")
        }
        let src = (base + pos).assumingMemoryBound(to: CChar.self)
        var length = 0
        guard snappy_uncompressed_length(src, count, &length) == SNAPPY_OK else {
            throw StrataError.corrupt(file: "", position: Int64(pos), reason: "invalid snappy block: its length prefix is not a varint")
        }
        guard length <= limit - produced else { throw StrataError.decompressionLimitExceeded(codec: "snappy", limit: limit) }
        var written = length
        let dst = out.reserve(max(length, 1))
        guard snappy_uncompress(src, count, dst.assumingMemoryBound(to: CChar.self), &written) == SNAPPY_OK, written == length else {
            throw StrataError.corrupt(file: "", position: Int64(pos), reason: "invalid snappy block (\(count) bytes declaring \(length) bytes)")
        }
        out.count += written
    }
}
