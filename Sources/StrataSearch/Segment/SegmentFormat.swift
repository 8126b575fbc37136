#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// Constants of the single-file index segment (Formats/search-segment.md). Little-endian.
enum SegmentFormat {
    /// Written and read (§7: older versions are refused).
    static let magic: [UInt8] = Array("STRASEG5".utf8)
    /// "STRASEG" without the version digit.
    static let magicStem: [UInt8] = Array("STRASEG".utf8)

    /// A term's first 8 bytes as a big-endian integer, zero-padded: `key(a) < key(b)` implies
    /// a < b in byte order; equal keys need the full comparison.
    @inline(__always)
    static func blockKey<C: Collection>(_ term: C) -> UInt64 where C.Element == UInt8 {
        var k: UInt64 = 0
        var shift: UInt64 = 56
        for byte in term.prefix(8) { k |= UInt64(byte) << shift; shift &-= 8 }
        return k
    }
    static let footerSize = 72
    /// Bytes per document in the norms section (§1): the fewest of 1, 2 or 4 that hold the
    /// longest document's token count.
    static func normBytes(longest: UInt32) -> Int { longest <= 0xFF ? 1 : longest <= 0xFFFF ? 2 : 4 }
    /// Document `d`'s token count in a norms section of `width` bytes per document.
    @inline(__always)
    static func norm(_ section: UnsafeRawPointer, width: Int, _ d: Int) -> UInt32 {
        switch width {
        case 1: return norm(section, d, as: UInt8.self)
        case 2: return norm(section, d, as: UInt16.self)
        default: return norm(section, d, as: UInt32.self)
        }
    }

    /// Document `d`'s token count in a norms section of `Width` integers (a loop that knows the
    /// width reads without the switch).
    @inline(__always)
    static func norm<Width: FixedWidthInteger & UnsignedInteger>(_ section: UnsafeRawPointer, _ d: Int, as _: Width.Type) -> UInt32 {
        UInt32(Width(littleEndian: section.loadUnaligned(fromByteOffset: d &* MemoryLayout<Width>.size, as: Width.self)))
    }
    static let termsPerBlock = 16
    /// u32 lastDoc, u32 blockOffset, u16 maxFreq, u16 minNorm, u32 positionsBlock, u8
    /// positionsIndex (§3).
    static let skipEntrySize = 17
    /// A stored maxFreq of this value bounds nothing (the true one may be larger).
    static let saturatedFrequency: UInt32 = 0xFFFF

    /// Appends a protobuf-style unsigned varint.
    static func putVarint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    static func putLE<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    /// `putVarint` into a byte writer (the encoders' hot paths: one capacity check per value).
    @inline(__always) static func putVarint(_ v: UInt64, _ out: ByteWriter) {
        let p = out.reserve(10)
        var v = v, n = 0
        while v >= 0x80 { p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: n, as: UInt8.self); v >>= 7; n &+= 1 }
        p.storeBytes(of: UInt8(v), toByteOffset: n, as: UInt8.self)
        out.count += n &+ 1
    }

    /// `putLE` into a byte writer.
    @inline(__always) static func putLE<T: FixedWidthInteger>(_ v: T, _ out: ByteWriter) {
        out.reserve(MemoryLayout<T>.size).storeBytes(of: v.littleEndian, as: T.self)
        out.count += MemoryLayout<T>.size
    }

    /// Unsigned byte-wise order (the dictionary's order).
    @inline(__always)
    /// What a prefix query does with dictionary term `t` met in byte order from the block that
    /// may hold prefix `p`: take it (it starts with `p`), skip it (it sorts before `p`), or stop
    /// (past every term starting with `p`). An empty prefix takes every term.
    static func prefixVerdict(_ t: UnsafeRawBufferPointer, _ p: UnsafeRawBufferPointer) -> TermVerdict {
        if p.isEmpty || (t.count >= p.count && memcmp(t.baseAddress!, p.baseAddress!, p.count) == 0) { return .take }
        return precedes(t, p) ? .skip : .stop
    }

    /// Byte order of two terms: negative, zero or positive as `a` sorts before, with or after `b`.
    @inline(__always)
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }

    /// Whether `a` sorts before `b` in byte order (a prefix before its extensions).
    @inline(__always)
    static func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool { compare(a, b) < 0 }
}
