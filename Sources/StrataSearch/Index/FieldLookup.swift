#if canImport(Glibc)
import Glibc
#endif

/// JSON path bytes → field number, without building a `String` per value: an open-addressing
/// table (FNV-1a hashes, linear probing) that caches what the schema answered. A miss falls back
/// to the schema (and dynamic mapping); fields are only ever added, so an entry stays right
/// until the schema is replaced.
struct FieldLookup {
    struct Entry {
        var hash: UInt64
        var path: [UInt8]
        /// The field the path maps to, or -1 when the schema ignores it.
        var field: Int32
        /// Multi-fields fed from the path (`path.keyword`).
        var derived: [Int]
    }

    private var slots: [Int32] = Array(repeating: -1, count: 64)
    private(set) var entries: [Entry] = []

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// The cached entry for `path`, if any.
    @inline(__always) func find(_ path: UnsafeRawBufferPointer, hash h: UInt64) -> Int? {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { return nil }
            let entry = entries[e]
            if entry.hash == h && entry.path.count == path.count &&
                entry.path.withUnsafeBytes({ $0.count == 0 || memcmp($0.baseAddress!, path.baseAddress!, path.count) == 0 }) {
                return e
            }
            i = (i + 1) & mask
        }
    }

    mutating func insert(_ path: UnsafeRawBufferPointer, hash h: UInt64, field: Int32, derived: [Int]) {
        if (entries.count + 1) * 2 > slots.count { grow() }
        entries.append(Entry(hash: h, path: Array(path), field: field, derived: derived))
        place(Int32(entries.count - 1))
    }

    private mutating func place(_ e: Int32) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: entries[Int(e)].hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = e
    }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        for e in entries.indices { place(Int32(e)) }
    }

    mutating func removeAll() {
        slots = Array(repeating: -1, count: 64)
        entries.removeAll()
    }
}
