#if canImport(Glibc)
import Glibc
#endif

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

/// A read-write shared mapping of a fixed-size file region, used for index files that are
/// preallocated and written in place. Only the single writer mutates it.
public final class WritableMapping: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let length: Int

    public init(file: DataFile, length: Int, writable: Bool = true) throws {
        precondition(length > 0)
        let p = mmap(nil, length, writable ? (PROT_READ | PROT_WRITE) : PROT_READ, MAP_SHARED, file.fd, 0)
        if p == MAP_FAILED { throw StrataError.io(operation: "mmap rw \(length) bytes", path: file.path, errno: errno) }
        base = p!
        self.length = length
    }

    deinit { munmap(base, length) }

    /// Writes dirty pages of the mapping back to the file and waits.
    public func sync() throws {
        if msync(base, length, MS_SYNC) != 0 { throw StrataError.io(operation: "msync", path: "index mapping", errno: errno) }
    }
}
