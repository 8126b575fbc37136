import Dispatch
import StrataIO

/// Tasks waiting for appends to a log. Each waiter is resumed exactly once: by an append,
/// by its timeout, or by cancellation, whichever comes first.
final class AppendWaiters: @unchecked Sendable {
    private let lock = Lock()
    private var next = 0
    private var waiting: [Int: CheckedContinuation<Bool, Never>] = [:]

    /// Registers a waiter; returns its id.
    func add(_ c: CheckedContinuation<Bool, Never>) -> Int {
        lock.withLock {
            next += 1
            waiting[next] = c
            return next
        }
    }

    /// Resumes one waiter with `woke` if it is still waiting.
    func resume(_ id: Int, woke: Bool) {
        let c = lock.withLock { waiting.removeValue(forKey: id) }
        c?.resume(returning: woke)
    }

    func wakeAll() {
        let all = lock.withLock { () -> [CheckedContinuation<Bool, Never>] in
            let w = Array(waiting.values)
            waiting.removeAll()
            return w
        }
        for c in all { c.resume(returning: true) }
    }
}

/// A boxed id shared by the wait and its cancellation handler.
private final class WaiterID: @unchecked Sendable {
    private let lock = Lock()
    private var id: Int?
    private var cancelled = false
    func set(_ v: Int) -> Bool { lock.withLock { id = v; return cancelled } }
    func cancel() -> Int? { lock.withLock { cancelled = true; return id } }
}

extension Log {
    /// Suspends until the high watermark moves past `seen`, the log closes, `timeout` passes
    /// (returns false) or the task is cancelled (returns false). No polling for a writable log:
    /// appends wake the waiter. A read-only log (written by another process) is re-checked
    /// every 50 ms with `refresh()`.
    func waitForAppend(beyond seen: Int64, timeout: Duration?) async -> Bool {
        if isReadOnly {
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + $0 }
            while !Task.isCancelled {
                if (try? refresh()) == true || highWatermark > seen { return true }
                if let deadline, clock.now >= deadline { return false }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        let box = WaiterID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                let id = waiters.add(c)
                if box.set(id) { waiters.resume(id, woke: false); return }
                // Registered first, then checked: an append in between is not missed.
                if highWatermark > seen || stateLock.withLock({ closed }) { waiters.resume(id, woke: true); return }
                if let timeout {
                    // A dispatch timer, not a sleeping task: the timeout fires on time even
                    // when every cooperative thread is busy, and costs no task per wait.
                    let waiters = self.waiters
                    let c = timeout.components
                    let nanos = Double(c.seconds) * 1e9 + Double(c.attoseconds) / 1e9
                    let delay = Int(min(max(nanos, 0), Double(Int.max / 2)))  // ~146 years at most
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(delay)) { waiters.resume(id, woke: false) }
                }
            }
        } onCancel: {
            if let id = box.cancel() { waiters.resume(id, woke: false) }
        }
    }

    /// An endless sequence of the records appended to this log from `start` on: it waits for
    /// new appends (woken by them, no polling), ends when `idleTimeout` passes without a
    /// record or the log is closed, and throws `CancellationError` when its task is cancelled.
    /// Several tasks may each iterate their own sequence.
    public func records(from start: StartPosition = .earliest, idleTimeout: Duration? = nil) throws -> LogTail {
        LogTail(log: self, cursor: try cursor(from: start), idleTimeout: idleTimeout)
    }
}

/// A record delivered by a `LogTail`.
public struct ConsumedRecord: Sendable, Equatable {
    public var offset: Int64
    public var record: Record
}

/// See `Log.records(from:idleTimeout:)`.
public struct LogTail: AsyncSequence {
    public typealias Element = ConsumedRecord
    let log: Log
    let cursor: LogCursor
    let idleTimeout: Duration?

    public func makeAsyncIterator() -> Iterator { Iterator(log: log, cursor: cursor, idleTimeout: idleTimeout) }

    public struct Iterator: AsyncIteratorProtocol {
        let log: Log
        let cursor: LogCursor
        let idleTimeout: Duration?

        public mutating func next() async throws -> ConsumedRecord? {
            while true {
                try Task.checkCancellation()
                if let r = try cursor.next() { return ConsumedRecord(offset: r.offset, record: r.owned()) }
                if log.stateLock.withLock({ log.closed }) { return nil }
                let woke = await log.waitForAppend(beyond: cursor.highWatermark, timeout: idleTimeout)
                try Task.checkCancellation()
                if !woke { return nil }
            }
        }
    }
}
