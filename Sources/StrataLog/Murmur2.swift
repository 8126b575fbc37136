/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`), used by the Java
/// producer's default partitioner for keyed records.
public enum Murmur2 {
    /// The signed 32-bit hash Kafka computes for `key`.
    public static func hash(_ key: UnsafeRawBufferPointer) -> Int32 {
        let seed: UInt32 = 0x9747_b28c
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = key.count
        var h: UInt32 = seed ^ UInt32(truncatingIfNeeded: length)
        let words = length / 4
        for i in 0 ..< words {
            var k = UInt32(littleEndian: key.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = words * 4
        let rest = length & 3
        if rest == 3 { h ^= UInt32(key[tail + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(key[tail + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(key[tail])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    public static func hash(_ key: [UInt8]) -> Int32 { key.withUnsafeBytes { hash($0) } }

    /// The partition Kafka's default partitioner picks for a keyed record:
    /// `(hash & 0x7fffffff) % partitions`.
    public static func partition(forKey key: [UInt8], partitions: Int32) -> Int32 {
        key.withUnsafeBytes { partition(forKey: $0, partitions: partitions) }
    }

    /// The same for borrowed key bytes.
    public static func partition(forKey key: UnsafeRawBufferPointer, partitions: Int32) -> Int32 {
        precondition(partitions > 0)
        return (hash(key) & 0x7fff_ffff) % partitions
    }
}
