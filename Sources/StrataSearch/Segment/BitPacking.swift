/// Packs blocks of 128 unsigned integers with a fixed bit width (0–32), least significant bit
/// first, into 16 × width bytes (the layout of Formats/search-segment.md). Readers unpack with
/// `strata_unpack128` / `strata_unpack128_running` (CStrataSupport: vector code).
enum BitPacking {
    static let blockSize = 128

    /// Bits needed for the largest value.
    @inline(__always)
    static func width(_ values: UnsafeBufferPointer<UInt32>) -> Int {
        var m: UInt32 = 0
        for v in values { m |= v }
        return 32 - m.leadingZeroBitCount
    }

    /// Appends the values (a block of 128, or fewer at a term's end) packed at `width` bits:
    /// ⌈count × width / 8⌉ bytes.
    static func pack(_ values: UnsafeBufferPointer<UInt32>, width: Int, into out: inout [UInt8]) {
        precondition(values.count <= blockSize)
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
}
