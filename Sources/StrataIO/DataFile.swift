#if canImport(Glibc)
import Glibc
#endif
import CStrataSupport

/// An open file descriptor with positioned I/O. Calls retry on EINTR and finish partial
/// transfers; failures become `StrataError.io` naming the file.
///
/// Thread-safety: positioned reads and writes do not share a file position, so concurrent
/// `pread`s are safe; the single-writer discipline of the layers above keeps writes ordered.
public final class DataFile: @unchecked Sendable {
    public let path: String
    public private(set) var fd: Int32

    /// Opens `path` with `flags` (e.g. `O_RDWR | O_CREAT`).
    /// Refuses what is not a file of bytes: a directory or a FIFO named like a segment would
    /// fail later with a misleading error (mmap's "No such device") or block the open (a FIFO
    /// waits for a writer; it is opened non-blocking to find out).
    public init(path: String, flags: Int32, mode: mode_t = 0o644) throws {
        self.path = path
        let fd = open(path, flags | O_CLOEXEC | O_NONBLOCK, mode)
        if fd < 0 { throw StrataError.io(operation: "open", path: path, errno: errno) }
        var st = stat()
        let kind = fstat(fd, &st) == 0 ? st.st_mode & S_IFMT : S_IFREG
        if kind != S_IFREG && kind != S_IFCHR && kind != S_IFBLK {
            Glibc.close(fd)
            let what = kind == S_IFDIR ? "a directory" : kind == S_IFIFO ? "a FIFO" : kind == S_IFSOCK ? "a socket" : "not a regular file"
            throw StrataError.invalidArgument("\(path) is \(what), not a file Strata can read or write")
        }
        // Back to blocking I/O (it never mattered for regular files).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        self.fd = fd
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// Current size in bytes.
    public func size() throws -> Int64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw StrataError.io(operation: "fstat", path: path, errno: errno) }
        return Int64(st.st_size)
    }

    /// Writes all of `bytes` at `offset`. On failure nothing is promised about the bytes
    /// past `offset`; callers that must keep the file clean truncate back (see `Log`).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StrataError.io(operation: "pwrite", path: path, errno: errno)
            }
            if n == 0 { throw StrataError.io(operation: "pwrite", path: path, errno: EIO) }
            done += n
        }
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or throws (a short file is `corrupt`).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StrataError.io(operation: "pread", path: path, errno: errno)
            }
            if n == 0 {
                throw StrataError.corrupt(file: path, position: offset + Int64(done), reason: "file ends \(buffer.count - done) bytes early")
            }
            done += n
        }
    }

    /// Reads the whole file (tools and tests; hot paths use `MappedRegion`).
    public func readAll() throws -> [UInt8] {
        let n = Int(try size())
        var out = [UInt8](repeating: 0, count: n)
        if n > 0 { try out.withUnsafeMutableBytes { try read(into: $0, at: 0) } }
        return out
    }

    public func truncate(to length: Int64) throws {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw StrataError.io(operation: "ftruncate to \(length)", path: path, errno: errno)
        }
    }

    /// Flushes file data (not necessarily metadata) to stable storage.
    /// Starts writing the file's dirty pages to disk without waiting for it (a hint: a later
    /// `sync` then has little left to do). Errors are ignored.
    public func startWriteback() { _ = strata_start_writeback(fd) }

    public func syncData() throws {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw StrataError.io(operation: "fdatasync", path: path, errno: errno)
        }
    }

    /// Flushes data and metadata.
    public func sync() throws {
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw StrataError.io(operation: "fsync", path: path, errno: errno)
        }
    }
}

/// Directory-level helpers: create, list, fsync, atomic replace.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Whether `path` exists; a path that cannot be looked up for another reason than its
    /// absence (permission denied on a directory above it, an I/O error) throws
    /// `StrataError.io` instead of reading as missing.
    public static func existsChecked(_ path: String) throws -> Bool {
        if access(path, F_OK) == 0 { return true }
        if errno == ENOENT || errno == ENOTDIR { return false }
        throw StrataError.io(operation: "look up", path: path, errno: errno)
    }

    /// Whether `path` is a directory; throws `StrataError.io` when it cannot be looked up for
    /// another reason than its absence (as `existsChecked`).
    public static func isDirectoryChecked(_ path: String) throws -> Bool {
        var st = stat()
        if stat(path, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR }
        if errno == ENOENT || errno == ENOTDIR { return false }
        throw StrataError.io(operation: "look up", path: path, errno: errno)
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }

    /// Creates `path` and missing parents.
    public static func createDirectory(_ path: String) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if !isDirectory(prefix) {
                if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                    throw StrataError.io(operation: "mkdir", path: prefix, errno: errno)
                }
            }
            prefix += "/"
        }
    }

    /// Names in a directory (no `.`/`..`), sorted.
    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw StrataError.io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        // d_name is read in place up to its NUL: copying the whole char[256] field would read
        // past a short last record of readdir's buffer (AddressSanitizer found it).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(dir) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// fsync on a directory, so that creates, renames and deletes inside it are durable.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw StrataError.io(operation: "open directory", path: path, errno: errno) }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw StrataError.io(operation: "fsync directory", path: path, errno: errno) }
    }

    public static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw StrataError.io(operation: "unlink", path: path, errno: errno) }
    }

    /// Removes a directory tree (tests and tools).
    public static func removeTree(_ path: String) throws {
        if isDirectory(path) {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 { throw StrataError.io(operation: "rmdir", path: path, errno: errno) }
        } else if exists(path) {
            try remove(path)
        }
    }

    public static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw StrataError.io(operation: "rename to \(to)", path: from, errno: errno) }
    }

    /// The whole content of a (small) file.
    public static func readFile(_ path: String) throws -> [UInt8] {
        try DataFile(path: path, flags: O_RDONLY).readAll()
    }

    /// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync, rename,
    /// fsync of the directory. A crash leaves either the old or the new content. With
    /// `durable: false` the fsyncs are left out: a process crash still leaves the old or the new
    /// content, a power loss may leave neither (the caller syncs later, or does not need to).
    public static func writeAtomically(_ bytes: [UInt8], to path: String, durable: Bool = true) throws {
        let tmp = temporaryPath(for: path)
        let file = try DataFile(path: tmp, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            if durable { try file.sync() } else { file.startWriteback() }
        } catch {
            file.close()
            try? remove(tmp)
            throw error
        }
        file.close()
        try rename(tmp, path)
        if durable { try syncDirectory(parent(of: path)) }
    }

    /// `path.tmp`, or — when that name would not fit a 255-byte file name (a topic name of
    /// 249 characters plus ".json") — a hidden `.<FNV-1a of the name>.tmp` beside it.
    static func temporaryPath(for path: String) -> String {
        let name = lastComponent(path)
        guard name.utf8.count + 4 > 255 else { return path + ".tmp" }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return parent(of: path) + "/." + String(h, radix: 16) + ".tmp"
    }

    /// fsyncs the file at `path` (written earlier without it, e.g. by `writeAtomically(durable: false)`).
    public static func syncFile(_ path: String) throws {
        let file = try DataFile(path: path, flags: O_RDONLY)
        defer { file.close() }
        try file.sync()
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
