#if canImport(Glibc)
import Glibc
#endif

/// File descriptors: each open partition holds about three per segment (`.log`, `.index`,
/// `.timeindex`). Before opening many at once, make sure the process may: raise the soft
/// limit toward the hard one when needed (what `ulimit -n` users do by hand), or refuse with a
/// typed error before any directory is created, instead of failing halfway with EMFILE.
public enum DescriptorLimit {
    /// Descriptors open in this process now (entries of /proc/self/fd; 0 when unreadable).
    static func openCount() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while readdir(dir) != nil { n += 1 }
        return max(0, n - 3) // ".", "..", and the descriptor of the listing itself
    }

    /// Ensures `needed` more descriptors can be opened, raising the soft limit up to the hard
    /// limit if that is what it takes; throws `invalidArgument` naming `what` otherwise.
    public static func ensure(_ needed: Int, for what: String) throws {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let headroom = 64 // for the files every operation opens and closes on its way
        let want = openCount() + needed + headroom
        if UInt64(want) <= UInt64(limit.rlim_cur) { return }
        if UInt64(want) <= UInt64(limit.rlim_max) {
            var raised = limit
            raised.rlim_cur = rlim_t(want)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return }
        }
        throw StrataError.invalidArgument("\(what) needs about \(needed) more file descriptors (\(openCount()) open), beyond the process limit of \(limit.rlim_max) (raise it with `ulimit -n`, or use fewer partitions)")
    }
}
