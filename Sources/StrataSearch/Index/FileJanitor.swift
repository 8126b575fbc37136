import Foundation
import StrataIO

/// Removes files an index no longer needs on a thread of its own, so the writer never waits
/// for an unlink (on a filesystem mounted with `discard` an unlink of a large segment trims it
/// synchronously, which can take hundreds of milliseconds). Names are never reused in an index
/// (segment numbers and generations only grow), so a removal that runs late is still right;
/// anything left when the process dies is garbage the next writer removes.
final class FileJanitor: @unchecked Sendable {
    private let monitor = Monitor()
    private var queue: [String] = []
    private var stopped = false
    private var running = true

    init() {
        let t = Thread { [self] in self.loop() }
        t.name = "strata-janitor"
        t.start()
    }

    /// Queues `path` for removal.
    func remove(_ path: String) {
        monitor.withLock { queue.append(path) }
        monitor.broadcast()
    }

    /// Removes what is queued, then ends the thread.
    func stop() {
        monitor.withLock { stopped = true }
        monitor.broadcast()
        _ = monitor.wait(until: { !running }, timeoutNanoseconds: 10_000_000_000)
    }

    private func loop() {
        lowerCurrentThreadPriority(by: 5)
        while true {
            var batch: [String] = []
            var done = false
            _ = monitor.wait(until: { !queue.isEmpty || stopped }, timeoutNanoseconds: nil)
            monitor.withLock {
                batch = queue
                queue.removeAll()
                done = stopped && batch.isEmpty
            }
            if done { break }
            for path in batch { try? FileSystem.remove(path) }
        }
        monitor.withLock { running = false }
        monitor.broadcast()
    }
}
