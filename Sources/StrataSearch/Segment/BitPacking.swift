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

    /// Unpacks 128 values of `width` bits from `p` (16 × width readable bytes). Dispatches to
    /// a copy of the loop per width, so each runs with constant shifts and masks.
    @inline(__always)
    static func unpack(_ p: UnsafeRawPointer, width: Int, into out: UnsafeMutablePointer<UInt32>) {
        switch width {
        case 0: out.initialize(repeating: 0, count: blockSize)
        case 1: unpackFixed(p, W1.self, out)
        case 2: unpackFixed(p, W2.self, out)
        case 3: unpackFixed(p, W3.self, out)
        case 4: unpackFixed(p, W4.self, out)
        case 5: unpackFixed(p, W5.self, out)
        case 6: unpackFixed(p, W6.self, out)
        case 7: unpackFixed(p, W7.self, out)
        case 8: unpackFixed(p, W8.self, out)
        case 9: unpackFixed(p, W9.self, out)
        case 10: unpackFixed(p, W10.self, out)
        case 11: unpackFixed(p, W11.self, out)
        case 12: unpackFixed(p, W12.self, out)
        case 13: unpackFixed(p, W13.self, out)
        case 14: unpackFixed(p, W14.self, out)
        case 15: unpackFixed(p, W15.self, out)
        case 16: unpackFixed(p, W16.self, out)
        case 17: unpackFixed(p, W17.self, out)
        case 18: unpackFixed(p, W18.self, out)
        case 19: unpackFixed(p, W19.self, out)
        case 20: unpackFixed(p, W20.self, out)
        case 21: unpackFixed(p, W21.self, out)
        case 22: unpackFixed(p, W22.self, out)
        case 23: unpackFixed(p, W23.self, out)
        case 24: unpackFixed(p, W24.self, out)
        case 25: unpackFixed(p, W25.self, out)
        case 26: unpackFixed(p, W26.self, out)
        case 27: unpackFixed(p, W27.self, out)
        case 28: unpackFixed(p, W28.self, out)
        case 29: unpackFixed(p, W29.self, out)
        case 30: unpackFixed(p, W30.self, out)
        case 31: unpackFixed(p, W31.self, out)
        case 32: unpackFixed(p, W32.self, out)
        default: break
        }
    }

    /// Specialized per width type, so `width` is a compile-time constant in each copy.
    private static func unpackFixed<W: PackedWidth>(_ p: UnsafeRawPointer, _: W.Type, _ out: UnsafeMutablePointer<UInt32>) {
        let width = W.bits
        let mask: UInt64 = width == 32 ? 0xFFFF_FFFF : (1 << UInt64(width)) - 1
        let total = width * 16
        // Values whose 8-byte window stays inside the block: all but the last few.
        let safe = min(blockSize, ((total - 8) * 8) / width + 1)
        for i in 0 ..< safe {
            let bitPos = i * width
            let word = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: bitPos >> 3, as: UInt64.self))
            out[i] = UInt32(truncatingIfNeeded: (word >> UInt64(bitPos & 7)) & mask)
        }
        for i in safe ..< blockSize {
            let bitPos = i * width
            let byte = bitPos >> 3
            var word: UInt64 = 0
            let need = min(5, total - byte)
            for k in 0 ..< need { word |= UInt64(p.load(fromByteOffset: byte + k, as: UInt8.self)) << UInt64(8 * k) }
            out[i] = UInt32(truncatingIfNeeded: (word >> UInt64(bitPos & 7)) & mask)
        }
    }
}

/// A bit width as a type (the unpacker is specialized per width).
protocol PackedWidth { static var bits: Int { get } }
enum W1: PackedWidth { static let bits = 1 }
enum W2: PackedWidth { static let bits = 2 }
enum W3: PackedWidth { static let bits = 3 }
enum W4: PackedWidth { static let bits = 4 }
enum W5: PackedWidth { static let bits = 5 }
enum W6: PackedWidth { static let bits = 6 }
enum W7: PackedWidth { static let bits = 7 }
enum W8: PackedWidth { static let bits = 8 }
enum W9: PackedWidth { static let bits = 9 }
enum W10: PackedWidth { static let bits = 10 }
enum W11: PackedWidth { static let bits = 11 }
enum W12: PackedWidth { static let bits = 12 }
enum W13: PackedWidth { static let bits = 13 }
enum W14: PackedWidth { static let bits = 14 }
enum W15: PackedWidth { static let bits = 15 }
enum W16: PackedWidth { static let bits = 16 }
enum W17: PackedWidth { static let bits = 17 }
enum W18: PackedWidth { static let bits = 18 }
enum W19: PackedWidth { static let bits = 19 }
enum W20: PackedWidth { static let bits = 20 }
enum W21: PackedWidth { static let bits = 21 }
enum W22: PackedWidth { static let bits = 22 }
enum W23: PackedWidth { static let bits = 23 }
enum W24: PackedWidth { static let bits = 24 }
enum W25: PackedWidth { static let bits = 25 }
enum W26: PackedWidth { static let bits = 26 }
enum W27: PackedWidth { static let bits = 27 }
enum W28: PackedWidth { static let bits = 28 }
enum W29: PackedWidth { static let bits = 29 }
enum W30: PackedWidth { static let bits = 30 }
enum W31: PackedWidth { static let bits = 31 }
enum W32: PackedWidth { static let bits = 32 }
