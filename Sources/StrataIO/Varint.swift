/// Protobuf-style variable-length integers with zigzag encoding, as Kafka's record format uses
/// them (`ByteUtils.writeVarint` / `writeVarlong`).
public enum Varint {
    /// Zigzag-encode a signed 64-bit value.
    @inlinable @inline(__always)
    public static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    /// Zigzag-decode.
    @inlinable @inline(__always)
    public static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    /// Bytes needed for the zigzag varint of `v`.
    @inlinable @inline(__always)
    public static func size(_ v: Int64) -> Int {
        let z = zigzag(v)
        // 1 + floor(bits/7): 64 - lzcnt gives the bit length (0 for z == 0).
        let bits = 64 - z.leadingZeroBitCount
        return bits == 0 ? 1 : (bits + 6) / 7
    }

    /// Writes the zigzag varint of `v` at `p`; returns the number of bytes written (1...10).
    @inlinable @inline(__always)
    public static func write(_ v: Int64, to p: UnsafeMutableRawPointer) -> Int {
        var z = zigzag(v)
        var i = 0
        while z >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: z) | 0x80, toByteOffset: i, as: UInt8.self)
            z >>= 7
            i += 1
        }
        p.storeBytes(of: UInt8(truncatingIfNeeded: z), toByteOffset: i, as: UInt8.self)
        return i + 1
    }
}
