#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A read-only shared memory mapping of a file. The mapping may reserve more address space
/// than the file holds (`reserve`), so a growing file is readable without remapping; callers
/// must only touch bytes below the file's current size (past EOF the kernel raises SIGBUS),
/// which the log guarantees by reading only below its published high watermark.
///
/// Immutable after creation; the mapped bytes are only read, so it is safe to share across
/// threads (`@unchecked Sendable`). Unmapped when the last reference goes away.
public final class MappedRegion: @unchecked Sendable {
    public let base: UnsafeRawPointer?
    public let length: Int
    public let path: String

    /// Maps `length` bytes of `file` read-only (at least one page even for an empty file).
    public init(file: DataFile, length: Int) throws {
        path = file.path
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapLength = max(pageSize, (length + pageSize - 1) / pageSize * pageSize)
        let p = mmap(nil, mapLength, PROT_READ, MAP_SHARED, file.fd, 0)
        if p == MAP_FAILED { throw StrataError.io(operation: "mmap \(mapLength) bytes", path: file.path, errno: errno) }
        base = UnsafeRawPointer(p)
        self.length = mapLength
    }

    deinit { if let base { munmap(UnsafeMutableRawPointer(mutating: base), length) } }

    /// The bytes `[0, count)`; `count` must not exceed the file size.
    @inlinable
    public func bytes(count: Int) -> UnsafeRawBufferPointer {
        precondition(count <= length, "read past the mapping")
        return UnsafeRawBufferPointer(start: base, count: count)
    }

    /// Hints sequential access for the next reads.
    public func adviseSequential() { if let base { madvise(UnsafeMutableRawPointer(mutating: base), length, MADV_SEQUENTIAL) } }
}

/// A read-only shared mapping of a growing file (a log segment being appended) that reserves
/// `length` bytes of address space, but only from `map()` on: an empty segment of an idle
/// partition holds no mapping at all. The single writer calls `map()` before it writes the
/// first bytes and publishes their size (under the log's lock); readers read only below a size
/// they were published, so they never meet an unmapped region with bytes to read.
public final class ReservedRegion: @unchecked Sendable {
    /// The mapping's address (0 until mapped).
    private let address = Atomic<Int>(0)
    public let length: Int
    private let fd: Int32
    private let path: String

    /// `mapNow`: map at once (a file with bytes already, or a read-only reader).
    public init(file: DataFile, length: Int, mapNow: Bool) throws {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        self.length = max(pageSize, (length + pageSize - 1) / pageSize * pageSize)
        fd = file.fd
        path = file.path
        if mapNow { try map() }
    }

    deinit {
        let a = address.load(ordering: .acquiring)
        if a != 0 { munmap(UnsafeMutableRawPointer(bitPattern: a), length) }
    }

    public var isMapped: Bool { address.load(ordering: .acquiring) != 0 }

    /// Maps the reservation (writer only; idempotent).
    public func map() throws {
        if address.load(ordering: .acquiring) != 0 { return }
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        if p == MAP_FAILED { throw StrataError.io(operation: "mmap \(length) bytes", path: path, errno: errno) }
        address.store(Int(bitPattern: p), ordering: .releasing)
    }

    /// The bytes `[0, count)`; `count` must not exceed the file size (and is 0 while unmapped).
    @inline(__always)
    public func bytes(count: Int) -> UnsafeRawBufferPointer {
        if count == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        precondition(count <= length, "read past the mapping")
        let a = address.load(ordering: .acquiring)
        precondition(a != 0, "read of an unmapped segment")
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: a), count: count)
    }
}

/// A read-write shared mapping of a preallocated file region, used for index files written in
/// place. Mapped on first use (`map()`, by the single writer, or at once with `mapNow`), so an
/// idle partition's empty indexes hold no address space; `shrink` gives back what a closed
/// segment's trimmed index no longer needs.
public final class WritableMapping: @unchecked Sendable {
    private let address = Atomic<Int>(0)
    /// Mapped bytes (changed only by the writer: `shrink`).
    public private(set) var length: Int
    private let fd: Int32
    private let writable: Bool
    private let path: String

    public init(file: DataFile, length: Int, writable: Bool = true, mapNow: Bool = true) throws {
        precondition(length > 0)
        self.length = length
        fd = file.fd
        path = file.path
        self.writable = writable
        if mapNow { try map() }
    }

    deinit {
        let a = address.load(ordering: .acquiring)
        if a != 0 { munmap(UnsafeMutableRawPointer(bitPattern: a), length) }
    }

    /// Maps the region (writer only; idempotent).
    public func map() throws {
        if address.load(ordering: .acquiring) != 0 { return }
        let p = mmap(nil, length, writable ? (PROT_READ | PROT_WRITE) : PROT_READ, MAP_SHARED, fd, 0)
        if p == MAP_FAILED { throw StrataError.io(operation: "mmap rw \(length) bytes", path: path, errno: errno) }
        address.store(Int(bitPattern: p), ordering: .releasing)
    }

    /// The start of the mapping. Only valid once mapped (readers reach it through an entry
    /// count the writer published after mapping).
    @inline(__always)
    public var base: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: address.load(ordering: .acquiring))! }

    public var isMapped: Bool { address.load(ordering: .acquiring) != 0 }

    /// Unmaps whole pages past `bytes` (writer only): what a trimmed index keeps readable is
    /// its entries. Readers never read past them.
    public func shrink(to bytes: Int) {
        let a = address.load(ordering: .acquiring)
        guard a != 0 else { return }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let keep = max(pageSize, (bytes + pageSize - 1) / pageSize * pageSize)
        if keep < length {
            munmap(UnsafeMutableRawPointer(bitPattern: a + keep), length - keep)
            length = keep
        }
    }

    /// Writes dirty pages of the mapping back to the file and waits.
    public func sync() throws {
        let a = address.load(ordering: .acquiring)
        guard a != 0 else { return }
        if msync(UnsafeMutableRawPointer(bitPattern: a), length, MS_SYNC) != 0 { throw StrataError.io(operation: "msync", path: path, errno: errno) }
    }
}
