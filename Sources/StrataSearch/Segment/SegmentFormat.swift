import StrataIO

/// Constants of the single-file index segment (Formats/search-segment.md). Little-endian.
enum SegmentFormat {
    static let magic: [UInt8] = Array("STRASEG1".utf8)
    static let footerSize = 72
    static let termsPerBlock = 16

    /// Appends a protobuf-style unsigned varint.
    static func putVarint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    static func putLE<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }
}
