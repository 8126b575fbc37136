#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import StrataIO

/// The store's background work on one timer: interval flushes every tick, retention and
/// scheduled compaction every `maintenanceIntervalMs`, the recovery-point checkpoint every
/// `checkpointIntervalMs` (Kafka checkpoints every 60 s). Errors go to the store's logger;
/// the next tick tries again.
final class StoreScheduler: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private let queue = DispatchQueue(label: "strata.store.background")
    private var ticks = 0
    private let checkpointEveryTicks: Int
    private let maintenanceEveryTicks: Int

    init(store: LogStore, intervalMs: Int, checkpointIntervalMs: Int = 60_000, maintenanceIntervalMs: Int = 30_000) {
        checkpointEveryTicks = max(1, checkpointIntervalMs / max(1, intervalMs))
        maintenanceEveryTicks = max(1, maintenanceIntervalMs / max(1, intervalMs))
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(intervalMs), repeating: .milliseconds(intervalMs))
        timer.setEventHandler { [weak self, weak store] in
            guard let self, let store else { return }
            self.ticks += 1
            do {
                try store.runBackgroundWork(maintenance: self.ticks % self.maintenanceEveryTicks == 0,
                                            checkpoint: self.ticks % self.checkpointEveryTicks == 0)
            } catch {
                store.logger.error("background work failed: \(error)")
            }
        }
        timer.resume()
    }

    /// Stops the timer and waits for a tick in progress.
    func stop() {
        timer.cancel()
        queue.sync {}
    }
}
