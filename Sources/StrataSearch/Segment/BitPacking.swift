/// Packs blocks of 128 unsigned integers with a fixed bit width (0–32), least significant bit
/// first, into 16 × width bytes (the layout of Formats/search-segment.md).
enum BitPacking {
    static let blockSize = 128

    /// Bits needed for the largest value.
    @inline(__always)
    static func width(_ values: UnsafeBufferPointer<UInt32>) -> Int {
        var m: UInt32 = 0
        for v in values { m |= v }
        return 32 - m.leadingZeroBitCount
    }

    /// Appends 128 values packed at `width` bits.
    static func pack(_ values: UnsafeBufferPointer<UInt32>, width: Int, into out: inout [UInt8]) {
        precondition(values.count == blockSize)
        if width == 0 { return }
        var acc: UInt64 = 0
        var bits = 0
        for v in values {
            acc |= UInt64(v) << UInt64(bits)
            bits += width
            while bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: acc))
                acc >>= 8
                bits -= 8
            }
        }
        if bits > 0 { out.append(UInt8(truncatingIfNeeded: acc)) }
    }

    /// Unpacks 128 values of `width` bits from `p` (16 × width readable bytes).
    @inline(__always)
    static func unpack(_ p: UnsafeRawPointer, width: Int, into out: UnsafeMutablePointer<UInt32>) {
        if width == 0 {
            out.initialize(repeating: 0, count: blockSize)
            return
        }
        let mask: UInt64 = width == 32 ? 0xFFFF_FFFF : (1 << UInt64(width)) - 1
        var bitPos = 0
        for i in 0 ..< blockSize {
            let byte = bitPos >> 3, shift = bitPos & 7
            // Read up to 5 bytes covering the value (bounded by the block's byte length).
            var word: UInt64 = 0
            let need = min(5, width * 16 - byte)
            for k in 0 ..< need { word |= UInt64(p.load(fromByteOffset: byte + k, as: UInt8.self)) << UInt64(8 * k) }
            out[i] = UInt32(truncatingIfNeeded: (word >> UInt64(shift)) & mask)
            bitPos += width
        }
    }
}
