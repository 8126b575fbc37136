#if canImport(Glibc)
import Glibc
#endif
import StrataIO
import Synchronization

/// The mechanics shared by `.index` and `.timeindex` files (Kafka's `AbstractIndex`): a file of
/// fixed-size big-endian entries, preallocated to `maxBytes` while its segment is active and
/// mapped read-write; trimmed to its entries when the segment is closed or rolled.
///
/// One writer appends; readers may search concurrently. The entry count is published with
/// release ordering after the entry's bytes are stored, so a reader never sees a half-written
/// entry.
final class IndexFile: @unchecked Sendable {
    let path: String
    let entrySize: Int
    let file: DataFile
    let mapping: WritableMapping?
    /// Entries the mapping has room for.
    private(set) var maxEntries: Int
    private let published = Atomic<Int>(0)
    /// Entries whose bytes have disk blocks behind them. The file is preallocated sparse (its
    /// size set, no blocks), so storing into the mapping past this point could need a block
    /// the filesystem no longer has — a SIGBUS, not an error. `reserve` allocates ahead.
    private var reservedEntries = 0
    /// Blocks are reserved this many bytes at a time.
    static let reservationBytes = 64 << 10

    /// Opens or creates the file. An existing file's entries are `size / entrySize` (a file
    /// left preallocated by an unclean stop is detected by the caller via `fileSizeOnOpen`).
    /// When `writable`, the file is grown to `maxBytes` (rounded down to whole entries).
    init(path: String, entrySize: Int, maxBytes: Int, writable: Bool) throws {
        self.path = path
        self.entrySize = entrySize
        file = try DataFile(path: path, flags: writable ? (O_RDWR | O_CREAT) : O_RDONLY)
        let size = Int(try file.size())
        fileSizeOnOpen = size
        let existing = size / entrySize
        // A file-size limit (ulimit -f) below the preallocation would fail it (EFBIG) even for
        // a tiny log: preallocate only what the limit allows (a full index rolls the segment).
        let capacity = writable ? max(min(maxBytes, Self.fileSizeLimit()) / entrySize, existing) : existing
        maxEntries = capacity
        if writable && capacity * entrySize != size {
            try file.truncate(to: Int64(capacity * entrySize))
        }
        // Mapped now when there are entries to read, else at the first append.
        mapping = capacity > 0 ? try WritableMapping(file: file, length: capacity * entrySize, writable: writable, mapNow: existing > 0) : nil
        published.store(existing, ordering: .releasing)
        reservedEntries = existing
    }

    /// Maps the file on first use, and makes sure the next `n` entries have disk blocks (`posix_fallocate`, which glibc
    /// emulates by writing zeros where a filesystem lacks it), so a full disk is a typed
    /// `StrataError.io` (ENOSPC) before anything is written, never a SIGBUS when an entry is
    /// stored into the mapping.
    func reserve(_ n: Int) throws {
        try mapping?.map()
        let needed = min(count + n, maxEntries)
        if needed <= reservedEntries { return }
        let start = reservedEntries * entrySize
        let end = min(maxEntries * entrySize, (needed * entrySize + Self.reservationBytes - 1) / Self.reservationBytes * Self.reservationBytes)
        let rc = posix_fallocate(file.fd, off_t(start), off_t(end - start))
        if rc != 0 { throw StrataError.io(operation: "reserve disk space for index entries (posix_fallocate)", path: path, errno: rc) }
        reservedEntries = end / entrySize
    }

    /// The process's file-size limit in bytes (`Int.max` when unlimited).
    private static func fileSizeLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max /* RLIM_INFINITY */ else { return Int.max }
        return Int(clamping: limit.rlim_cur)
    }

    /// The file's size when it was opened.
    let fileSizeOnOpen: Int

    var count: Int { published.load(ordering: .acquiring) }
    var isFull: Bool { count >= maxEntries }

    @inline(__always)
    func entry(_ i: Int) -> UnsafeRawPointer { UnsafeRawPointer(mapping!.base + i * entrySize) }

    /// Stores the next entry through `write` and publishes it. Caller checks `isFull`.
    func append(_ write: (UnsafeMutableRawPointer) -> Void) {
        let n = count
        precondition(n < maxEntries, "index full")
        precondition(mapping!.isMapped, "reserve() before the first append")
        write(mapping!.base + n * entrySize)
        published.store(n + 1, ordering: .releasing)
    }

    /// Drops entries from `keep` on (recovery and truncation).
    func truncate(toEntries keep: Int) {
        let n = count
        if keep < n {
            if let m = mapping, m.isMapped { (m.base + keep * entrySize).initializeMemory(as: UInt8.self, repeating: 0, count: (n - keep) * entrySize) }
            published.store(keep, ordering: .releasing)
        }
    }

    /// Largest `i` with `key(i) <= target`, or nil when every entry is larger (or none exist).
    /// Keys ascend and, in a log, grow nearly linearly with the entry number (offsets and
    /// timestamps against bytes written), so a few interpolation steps land next to the answer
    /// before a binary search finishes: ~3 cache misses instead of ~log2(n) on a cold index.
    @inline(__always)
    func largestLowerBound(_ target: Int64, key: (UnsafeRawPointer) -> Int64) -> Int? {
        let n = count
        if n == 0 || key(entry(0)) > target { return nil }
        var lo = 0
        var hi = n - 1
        if key(entry(hi)) <= target { return hi }
        // Invariant: key(lo) <= target < key(hi).
        var steps = 0
        while hi - lo > 16 && steps < 3 {
            steps += 1
            let klo = key(entry(lo)), khi = key(entry(hi))
            let fraction = Double(target &- klo) / Double(khi &- klo)
            var guess = lo + Int(fraction * Double(hi - lo))
            guess = min(max(guess, lo + 1), hi - 1)
            if key(entry(guess)) <= target {
                lo = guess
                // Usually the answer is right here; probe a small window above.
                let probe = min(guess + 4, hi - 1)
                if key(entry(probe)) > target { hi = probe } else { lo = probe }
            } else {
                hi = guess
                let probe = max(guess - 4, lo + 1)
                if probe < hi && key(entry(probe)) <= target { lo = probe }
            }
        }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if key(entry(mid)) <= target { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Sets the count without touching the bytes.
    func truncateCount(_ n: Int) { published.store(n, ordering: .releasing) }

    /// Shrinks the file to its entries (segment closed or rolled). The mapping stays valid for
    /// the entries; nothing past them is read.
    func trimToValidSize() throws {
        try file.truncate(to: Int64(count * entrySize))
        maxEntries = count
        mapping?.shrink(to: count * entrySize)
    }

    func flush() throws {
        try mapping?.sync()
    }

    /// Deletes the file (the mapping stays valid until released).
    func delete() throws { try FileSystem.remove(path) }
}

extension IndexFile {
    /// Counts entries as the longest prefix of entries that pass `isValid` (a preallocated file
    /// left by an unclean stop, or an active writer's file seen read-only, has zero-filled slots
    /// after its real entries). Binary search: validity is a prefix property. The probes read
    /// with `pread`, not through the mapping: the slots probed are mostly holes of the sparse
    /// file, and a fault on a hole of a full tmpfs is a SIGBUS where a read returns zeros.
    func trimToValidPrefix(isValid: (UnsafeRawPointer) -> Bool) throws {
        let n = count
        if n == 0 { return }
        var probe = [UInt8](repeating: 0, count: entrySize)
        func valid(_ i: Int) throws -> Bool {
            try probe.withUnsafeMutableBytes { b in
                do { try file.read(into: b, at: Int64(i * entrySize)) } catch StrataError.corrupt {
                    return false // the file got shorter (a writer trimmed it on roll): no entry there
                }
                return isValid(UnsafeRawPointer(b.baseAddress!))
            }
        }
        if try valid(n - 1) { return }
        var lo = 0
        var hi = n - 1 // entry(hi) is invalid
        if try !valid(0) { truncateCount(0); return }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if try valid(mid) { lo = mid } else { hi = mid }
        }
        truncateCount(lo + 1)
    }
}

/// What `.index` and `.timeindex` share: a base offset, an `IndexFile`, and truncation by
/// offset. Subclasses define the entry layout.
class SparseIndex: @unchecked Sendable {
    let baseOffset: Int64
    let storage: IndexFile
    /// Byte position of the relative-offset field (int32) inside an entry.
    let offsetField: Int

    init(path: String, baseOffset: Int64, entrySize: Int, offsetField: Int, maxBytes: Int, writable: Bool) throws {
        self.baseOffset = baseOffset
        self.offsetField = offsetField
        storage = try IndexFile(path: path, entrySize: entrySize, maxBytes: maxBytes, writable: writable)
    }

    var path: String { storage.path }
    var count: Int { storage.count }
    var fileSizeOnOpen: Int { storage.fileSizeOnOpen }

    /// The absolute offset named by entry `i`.
    func entryOffset(_ i: Int) -> Int64 { baseOffset + Int64(storage.entry(i).loadBE(at: offsetField, as: Int32.self)) }

    /// Drops entries whose offset is ≥ `offset`.
    func truncate(fromOffset offset: Int64) {
        var keep = count
        while keep > 0 && entryOffset(keep - 1) >= offset { keep -= 1 }
        storage.truncate(toEntries: keep)
    }

    func removeAll() { storage.truncate(toEntries: 0) }
    func trimToValidSize() throws { try storage.trimToValidSize() }
    func flush() throws { try storage.flush() }
    func close() { storage.file.close() }
    func delete() throws { try storage.delete() }
}
