#if canImport(Glibc)
import Glibc
#endif
import CStrataSupport

/// A wake-up flag for a background thread (a pthread condition variable): `signal()` sets it
/// and wakes the waiter; `wait` returns when it is set (clearing it) or when the timeout
/// passes. Signals sent while nobody waits are not lost: the next `wait` returns at once.
public final class WakeSignal: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var pending = false

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Sets the flag and wakes every waiter.
    public func signal() {
        pthread_mutex_lock(mutex)
        pending = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until the flag is set or `nanoseconds` pass (nil: no timeout); returns whether
    /// it was set, and clears it.
    @discardableResult
    public func wait(nanoseconds: Int64?) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if let nanoseconds {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let total = Int64(now.tv_nsec) + max(0, nanoseconds)
            var deadline = timespec(tv_sec: now.tv_sec + Int(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
            while !pending {
                if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
            }
        } else {
            while !pending { pthread_cond_wait(condition, mutex) }
        }
        let was = pending
        pending = false
        return was
    }
}

/// Monotonic clock in nanoseconds (intervals, deadlines).
@inline(__always) public func monotonicNanoseconds() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
}

/// Lowers the calling thread's priority by `steps` nice levels (deferrable background work,
/// such as merges, yields to indexing). Failures are ignored: it is only a hint.
public func lowerCurrentThreadPriority(by steps: Int32) {
    _ = strata_lower_thread_priority(steps)
}
