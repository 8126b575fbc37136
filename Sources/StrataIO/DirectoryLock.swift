#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// An exclusive, non-blocking `flock` on a lock file naming its holder ("pid N"): one writer
/// process per directory. The kernel drops the lock when the process dies, so a crash never
/// leaves a stale lock.
public final class DirectoryLock: @unchecked Sendable {
    private var fd: Int32

    /// Takes the lock or throws `locked` naming the holder (`what` names the directory's role
    /// in the message, e.g. "store" or "index").
    public init(path: String, what: String) throws {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw StrataError.io(operation: "open", path: path, errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            var buf = [UInt8](repeating: 0, count: 64)
            let n = pread(fd, &buf, 63, 0)
            Glibc.close(fd)
            let holder = n > 0 ? String(decoding: buf[0 ..< n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
            if code == EWOULDBLOCK { throw StrataError.locked(path: path, holder: "\(holder) (the \(what))") }
            throw StrataError.io(operation: "flock", path: path, errno: code)
        }
        let me = "pid \(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = me.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.fd = fd
    }

    public var isHeld: Bool { fd >= 0 }

    /// Releases the lock (idempotent).
    public func release() {
        if fd >= 0 {
            flock(fd, LOCK_UN)
            Glibc.close(fd)
            fd = -1
        }
    }

    deinit { release() }
}
