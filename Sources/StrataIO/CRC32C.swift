import CStrataSupport

/// CRC-32C (Castagnoli), the checksum of Kafka's v2 record batches.
public enum CRC32C {
    /// CRC of `bytes`, continuing from `crc` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return strata_crc32c(crc, base, bytes.count)
    }

    /// CRC of an array of bytes.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The table-driven implementation, for cross-checking the hardware path.
    public static func portableChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        return strata_crc32c_portable(0, base, bytes.count)
    }

    /// Whether the SSE4.2 instruction is used.
    public static var isHardwareAccelerated: Bool { strata_crc32c_is_hardware() != 0 }
}
