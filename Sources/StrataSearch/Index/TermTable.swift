#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// Terms of an in-memory index buffer: an open-addressing hash table over term bytes kept in
/// an arena, so looking up a token (borrowed bytes) allocates nothing; a new term costs one
/// arena append.
final class TermTable {
    private let arena = ByteWriter(capacity: 1 << 16)
    private var offsets: [Int32] = []     // term id → start in the arena
    private var lengths: [Int32] = []
    private var slots: [Int32]            // -1 empty, else term id
    private var hashes: [UInt32]
    private var mask: Int

    init() {
        slots = [Int32](repeating: -1, count: 1024)
        hashes = [UInt32](repeating: 0, count: 1024)
        mask = 1023
    }

    var count: Int { offsets.count }

    @inline(__always)
    static func hash(_ b: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for byte in b { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
        return h
    }

    func bytes(_ id: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena.base + Int(offsets[Int(id)]), count: Int(lengths[Int(id)]))
    }

    /// Calls `body` with every term (id and bytes), in id order.
    func forEach(_ body: (Int32, UnsafeRawBufferPointer) -> Void) {
        for id in 0 ..< Int32(offsets.count) { body(id, bytes(id)) }
    }

    /// The id of `term`, or nil.
    func find(_ term: UnsafeRawBufferPointer) -> Int32? {
        let h = Self.hash(term)
        var i = Int(h) & mask
        while true {
            let id = slots[i]
            if id < 0 { return nil }
            if hashes[i] == h && equal(id, term) { return id }
            i = (i + 1) & mask
        }
    }

    /// The id of `term`, adding it when new.
    func intern(_ term: UnsafeRawBufferPointer) -> (id: Int32, isNew: Bool) {
        let h = Self.hash(term)
        var i = Int(h) & mask
        while true {
            let id = slots[i]
            if id < 0 { break }
            if hashes[i] == h && equal(id, term) { return (id, false) }
            i = (i + 1) & mask
        }
        let id = Int32(offsets.count)
        offsets.append(Int32(arena.count))
        lengths.append(Int32(term.count))
        arena.append(term)
        slots[i] = id
        hashes[i] = h
        if offsets.count * 2 > slots.count { grow() }
        return (id, true)
    }

    @inline(__always)
    private func equal(_ id: Int32, _ term: UnsafeRawBufferPointer) -> Bool {
        let n = Int(lengths[Int(id)])
        guard n == term.count else { return false }
        return n == 0 || memcmp(arena.base + Int(offsets[Int(id)]), term.baseAddress!, n) == 0
    }

    private func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        var newHashes = [UInt32](repeating: 0, count: size)
        mask = size - 1
        for id in 0 ..< Int32(offsets.count) {
            let h = Self.hash(bytes(id))
            var i = Int(h) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = id
            newHashes[i] = h
        }
        hashes = newHashes
    }
}
