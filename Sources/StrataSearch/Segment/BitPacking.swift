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
        let total = width * 16
        var bitPos = 0
        var i = 0
        // Whole 8-byte loads while they stay inside the block (a value spans at most 5 bytes).
        while i < blockSize && (bitPos >> 3) + 8 <= total {
            let word = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: bitPos >> 3, as: UInt64.self))
            out[i] = UInt32(truncatingIfNeeded: (word >> UInt64(bitPos & 7)) & mask)
            bitPos += width
            i += 1
        }
        while i < blockSize {
            let byte = bitPos >> 3, shift = bitPos & 7
            var word: UInt64 = 0
            let need = min(5, total - byte)
            for k in 0 ..< need { word |= UInt64(p.load(fromByteOffset: byte + k, as: UInt8.self)) << UInt64(8 * k) }
            out[i] = UInt32(truncatingIfNeeded: (word >> UInt64(shift)) & mask)
            bitPos += width
            i += 1
        }
    }
}
