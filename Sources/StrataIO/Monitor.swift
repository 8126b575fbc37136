#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable: state guarded by `withLock`, waiters that sleep until a
/// condition on that state holds (`wait(until:timeoutNanoseconds:)`) and are woken by
/// `broadcast()` after the state changes.
public final class Monitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

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

    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Wakes every waiter (call after changing the guarded state, inside or outside `withLock`).
    public func broadcast() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until `condition` (evaluated under the lock) holds or `timeoutNanoseconds` pass
    /// (nil: no timeout); returns whether it holds.
    public func wait(until condition: () -> Bool, timeoutNanoseconds: Int64?) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if condition() { return true }
        guard let timeoutNanoseconds else {
            while !condition() { pthread_cond_wait(self.condition, mutex) }
            return true
        }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int64(now.tv_nsec) + max(0, timeoutNanoseconds)
        var deadline = timespec(tv_sec: now.tv_sec + Int(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
        while !condition() {
            if pthread_cond_timedwait(self.condition, mutex, &deadline) == ETIMEDOUT { return condition() }
        }
        return true
    }
}
