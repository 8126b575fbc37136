import CZlib

/// gzip (RFC 1952) through zlib, with reusable deflate/inflate streams.
final class GzipCodec {
    private var deflater: UnsafeMutablePointer<z_stream>?
    private var deflaterLevel: Int32 = -100
    private var inflater: UnsafeMutablePointer<z_stream>?

    deinit {
        if let d = deflater { deflateEnd(d); d.deallocate() }
        if let i = inflater { inflateEnd(i); i.deallocate() }
    }

    private func zfail(_ what: String, _ code: Int32, _ stream: UnsafeMutablePointer<z_stream>) -> StrataError {
        let msg = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(code)"
        return .corrupt(file: "", position: Int64(stream.pointee.total_in), reason: "\(what): \(msg)")
    }

    func compress(_ input: UnsafeRawBufferPointer, level: Int32, into out: ByteWriter) throws {
        if deflater == nil || deflaterLevel != level {
            if let d = deflater { deflateEnd(d); d.deallocate() }
            let d = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            d.initialize(to: z_stream())
            let rc = deflateInit2_(d, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            if rc != Z_OK { d.deallocate(); throw StrataError.invalidArgument("gzip level \(level) rejected by zlib (\(rc))") }
            deflater = d
            deflaterLevel = level
        } else {
            deflateReset(deflater!)
        }
        let d = deflater!
        let bound = Int(deflateBound(d, uLong(input.count))) + 32
        let dst = out.reserve(bound)
        d.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        d.pointee.avail_in = uInt(input.count)
        d.pointee.next_out = dst.assumingMemoryBound(to: Bytef.self)
        d.pointee.avail_out = uInt(bound)
        let rc = deflate(d, Z_FINISH)
        if rc != Z_STREAM_END { throw zfail("gzip compression", rc, d) }
        out.count += bound - Int(d.pointee.avail_out)
    }

    /// Inflates one or more concatenated gzip members.
    func decompress(_ input: UnsafeRawBufferPointer, into out: ByteWriter, limit: Int) throws {
        if inflater == nil {
            let i = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            i.initialize(to: z_stream())
            let rc = inflateInit2_(i, 31, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            if rc != Z_OK { i.deallocate(); throw StrataError.io(operation: "inflateInit2", path: "", errno: 12) }
            inflater = i
        } else {
            inflateReset(inflater!)
        }
        let z = inflater!
        let start = out.count
        z.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        z.pointee.avail_in = uInt(input.count)
        while true {
            let produced = out.count - start
            let room = min(max(256 * 1024, input.count * 4), limit - produced + 1)
            if room <= 0 { out.count = start; throw StrataError.decompressionLimitExceeded(codec: "gzip", limit: limit) }
            let dst = out.reserve(room)
            z.pointee.next_out = dst.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = uInt(room)
            let rc = inflate(z, Z_NO_FLUSH)
            out.count += room - Int(z.pointee.avail_out)
            if out.count - start > limit { out.count = start; throw StrataError.decompressionLimitExceeded(codec: "gzip", limit: limit) }
            if rc == Z_STREAM_END {
                if z.pointee.avail_in == 0 { return }
                // Another gzip member may follow (GZIPInputStream accepts concatenations).
                inflateReset(z)
                continue
            }
            if rc == Z_BUF_ERROR && z.pointee.avail_in == 0 {
                out.count = start
                throw StrataError.corrupt(file: "", position: Int64(input.count), reason: "gzip data is truncated")
            }
            if rc != Z_OK && rc != Z_BUF_ERROR {
                out.count = start
                throw zfail("invalid gzip data", rc, z)
            }
        }
    }
}
