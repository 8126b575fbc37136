import CZlib
import StrataIO

/// Kafka's pre-0.11 message sets (magic 0 and 1), recognized only to tell legacy data apart
/// from corruption: Strata does not decode them. Layout of one entry: offset int64,
/// messageSize int32, then the message: crc uint32 (CRC-32, IEEE, over the rest of the
/// message), magic int8, attributes int8, [timestamp int64 when magic 1], key and value as
/// int32 length + bytes.
enum LegacyMessage {
    /// Whether the entry at `offset` is a whole legacy message whose CRC-32 matches — real
    /// legacy data rather than a corrupted v2 batch whose magic byte changed.
    static func isIntact(_ data: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        guard data.count - offset >= 17, let base = data.baseAddress else { return false }
        let p = base + offset
        let size = Int(p.loadBE(at: 8, as: Int32.self))
        let magic = p.loadBE(at: 16, as: Int8.self)
        let minimum = magic == 0 ? 14 : 22 // crc + magic + attributes (+ timestamp) + two lengths
        guard size >= minimum, size <= data.count - offset - 12 else { return false }
        let stored = p.loadBE(at: 12, as: UInt32.self)
        let computed = UInt32(crc32(0, (p + 16).assumingMemoryBound(to: Bytef.self), uInt(size - 4)))
        return stored == computed
    }
}
