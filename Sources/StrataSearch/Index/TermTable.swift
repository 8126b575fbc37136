#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// Terms of an in-memory index buffer: an open-addressing hash table over term bytes kept in
/// an arena, so looking up a token (borrowed bytes) allocates nothing; a new term costs one
/// arena append. The table's arrays live behind a pointer, so the per-token path runs without
/// the dynamic exclusivity checks class properties would cost.
final class TermTable {
    private struct Storage {
        var offsets: [Int32] = []     // term id → start in the arena
        var lengths: [Int32] = []
        var slots: [Int32]            // -1 empty, else term id
        var hashes: [UInt32]
        var mask: Int
    }

    private let arena = ByteWriter(capacity: 1 << 16)
    private let s: UnsafeMutablePointer<Storage>

    init() {
        s = .allocate(capacity: 1)
        s.initialize(to: Storage(slots: [Int32](repeating: -1, count: 1024), hashes: [UInt32](repeating: 0, count: 1024), mask: 1023))
    }

    deinit {
        s.deinitialize(count: 1)
        s.deallocate()
    }

    var count: Int { s.pointee.offsets.count }

    /// Heap bytes held (arena and table arrays).
    func measuredBytes() -> Int {
        arena.capacity + 4 * (s.pointee.offsets.capacity + s.pointee.lengths.capacity + s.pointee.slots.capacity + s.pointee.hashes.capacity)
    }

    /// FNV-1a over the bytes.
    @inline(__always)
    static func hash(_ b: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for byte in b { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
        return h
    }

    @inline(__always)
    func bytes(_ id: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena.base + Int(s.pointee.offsets[Int(id)]), count: Int(s.pointee.lengths[Int(id)]))
    }

    /// Calls `body` with every term (id and bytes), in id order.
    func forEach(_ body: (Int32, UnsafeRawBufferPointer) -> Void) {
        for id in 0 ..< Int32(count) { body(id, bytes(id)) }
    }

    /// The term ids in byte order of the terms: sorted on an 8-byte big-endian prefix key, with
    /// full comparisons only between equal prefixes.
    func sortedIDs() -> [Int32] {
        var keyed: [(UInt64, Int32)] = []
        keyed.reserveCapacity(count)
        for id in 0 ..< Int32(count) {
            let b = bytes(id)
            var key: UInt64 = 0
            for k in 0 ..< 8 { key = key << 8 | UInt64(k < b.count ? b[k] : 0) }
            keyed.append((key, id))
        }
        keyed.sort { x, y in
            if x.0 != y.0 { return x.0 < y.0 }
            return SegmentFormat.precedes(bytes(x.1), bytes(y.1))
        }
        return keyed.map(\.1)
    }

    /// The id of `term`, or nil.
    func find(_ term: UnsafeRawBufferPointer) -> Int32? {
        let h = Self.hash(term)
        var i = Int(h) & s.pointee.mask
        while true {
            let id = s.pointee.slots[i]
            if id < 0 { return nil }
            if s.pointee.hashes[i] == h && equal(id, term) { return id }
            i = (i + 1) & s.pointee.mask
        }
    }

    /// The id of `term`, adding it when new.
    @inline(__always)
    func intern(_ term: UnsafeRawBufferPointer) -> (id: Int32, isNew: Bool) {
        let h = Self.hash(term)
        let mask = s.pointee.mask
        var i = Int(h) & mask
        let found: Int32? = s.pointee.slots.withUnsafeBufferPointer { slots in
            s.pointee.hashes.withUnsafeBufferPointer { hashes in
                while true {
                    let id = slots[i]
                    if id < 0 { return nil }
                    if hashes[i] == h && equal(id, term) { return id }
                    i = (i + 1) & mask
                }
            }
        }
        if let found { return (found, false) }
        let id = Int32(s.pointee.offsets.count)
        s.pointee.offsets.append(Int32(arena.count))
        s.pointee.lengths.append(Int32(term.count))
        arena.append(term)
        s.pointee.slots[i] = id
        s.pointee.hashes[i] = h
        if s.pointee.offsets.count * 2 > s.pointee.slots.count { grow() }
        return (id, true)
    }

    @inline(__always)
    private func equal(_ id: Int32, _ term: UnsafeRawBufferPointer) -> Bool {
        let n = Int(s.pointee.lengths[Int(id)])
        guard n == term.count else { return false }
        return n == 0 || memcmp(arena.base + Int(s.pointee.offsets[Int(id)]), term.baseAddress!, n) == 0
    }

    private func grow() {
        let size = s.pointee.slots.count * 2
        var slots = [Int32](repeating: -1, count: size)
        var hashes = [UInt32](repeating: 0, count: size)
        let mask = size - 1
        for id in 0 ..< Int32(count) {
            let h = Self.hash(bytes(id))
            var i = Int(h) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = id
            hashes[i] = h
        }
        s.pointee.slots = slots
        s.pointee.hashes = hashes
        s.pointee.mask = mask
    }
}
