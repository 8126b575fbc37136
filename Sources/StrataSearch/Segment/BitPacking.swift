import StrataIO

/// Packs blocks of 128 unsigned integers with a fixed bit width (0–32), least significant bit
/// first, into 16 × width bytes (the layout of Formats/search-segment.md). Readers unpack with
/// `strata_unpack128` / `strata_unpack128_running` (CStrataSupport: vector code).
enum BitPacking {
    static let blockSize = 128

    /// Value `index` of the packed block at `block` (width ≤ 32), read in place: one unaligned
    /// 8-byte load and a shift. The caller guarantees 8 readable bytes from the value's first
    /// byte (a segment's sections are followed by at least its footer).
    @inline(__always)
    static func value(in block: UnsafeRawPointer, width: Int, index: Int) -> UInt64 {
        let bit = index &* width
        let word = UInt64(littleEndian: block.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self))
        return (word >> UInt64(bit & 7)) & ((1 << UInt64(width)) &- 1)
    }

    /// Bits needed for the largest value.
    @inline(__always)
    static func width(_ values: UnsafeBufferPointer<UInt32>) -> Int {
        var m: UInt32 = 0
        for v in values { m |= v }
        return 32 - m.leadingZeroBitCount
    }

    /// Appends the values (a block of 128, or fewer at a term's end) packed at `width` bits:
    /// ⌈count × width / 8⌉ bytes. The bits gather in a 64-bit accumulator and leave it 32 at a
    /// time, stored through a pointer into room reserved once (no per-byte append).
    @inline(__always)
    static func pack(_ values: UnsafeBufferPointer<UInt32>, width: Int, into out: ByteWriter) {
        precondition(values.count <= blockSize && width <= 32)
        if width == 0 || values.isEmpty { return }
        let bytes = (values.count &* width &+ 7) >> 3
        // 4 bytes of room past the packed bytes: the last store may reach into them.
        let p = out.reserve(bytes &+ 4)
        var acc: UInt64 = 0
        var bits = 0
        var at = 0
        for v in values {
            acc |= UInt64(v) << UInt64(bits)
            bits &+= width
            if bits >= 32 {
                p.storeBytes(of: UInt32(truncatingIfNeeded: acc).littleEndian, toByteOffset: at, as: UInt32.self)
                at &+= 4
                acc >>= 32
                bits &-= 32
            }
        }
        if bits > 0 { p.storeBytes(of: UInt32(truncatingIfNeeded: acc).littleEndian, toByteOffset: at, as: UInt32.self) }
        out.count += bytes
    }

    /// `pack` onto an array (tests and tools).
    static func pack(_ values: UnsafeBufferPointer<UInt32>, width: Int, into out: inout [UInt8]) {
        let w = ByteWriter(capacity: 16 * 32 + 4)
        pack(values, width: width, into: w)
        out.append(contentsOf: w.bytes)
    }
}
