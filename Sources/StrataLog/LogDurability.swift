import StrataIO

extension Log {
    /// Every offset below this is on stable storage (Kafka's recovery point). Checkpointed by
    /// `LogStore` so that recovery after a crash can start there.
    public var recoveryPoint: Int64 { syncLock.withLock { flushedOffset } }

    /// Makes everything appended so far durable (fdatasync of the log, msync of its indexes).
    /// Waits for an append in progress: a roll replaces the active segment's index mappings,
    /// which must not be synced while that happens.
    public func flush() throws {
        if isReadOnly { return }
        try writeLock.withLock { try sync(upTo: highWatermark, indexes: true) }
    }

    /// Makes every record appended so far durable (fdatasync of the log data; indexes are
    /// derived and recovery rebuilds them). Runs beside appends, like the `.everyBatch` policy's
    /// group commit.
    public func syncRecords() throws {
        if isReadOnly { return }
        try sync(upTo: highWatermark, indexes: false)
    }

    /// Called after each append, outside the write lock.
    func applyFlushPolicy(appended: Int, upTo end: Int64) throws {
        switch flushPolicy {
        case .os:
            return
        case .everyBatch:
            try sync(upTo: end, indexes: false)
        case let .interval(records, ms):
            let due = syncLock.withLock { () -> Bool in
                unflushedRecords += appended
                return unflushedRecords >= records || currentTimeMillis() - lastFlushMs >= ms
            }
            if due { try sync(upTo: end, indexes: false) }
        }
    }

    /// For the background flusher: flushes when the `.interval` policy's time is up.
    public func flushIfDue(now: Int64 = currentTimeMillis()) throws {
        guard case let .interval(_, ms) = flushPolicy, !isReadOnly else { return }
        let due = syncLock.withLock { unflushedRecords > 0 && now - lastFlushMs >= ms }
        if due { try sync(upTo: highWatermark, indexes: false) }
    }

    /// Group commit: the first caller to get here syncs everything published so far; callers
    /// whose records that sync already covered return without a second fdatasync.
    func sync(upTo end: Int64, indexes: Bool) throws {
        try syncLock.withLock {
            if flushedOffset >= end && !indexes { return }
            let (active, target, isClosed) = stateLock.withLock { (segments.last!, publishedEnd, closed) }
            if isClosed { return } // close() flushed everything
            // Older segments were fsynced when they were rolled.
            if indexes { try active.flush() } else { try active.logFile.syncData() }
            syncCount += 1
            flushedOffset = max(flushedOffset, target)
            unflushedRecords = 0
            lastFlushMs = currentTimeMillis()
        }
    }

    /// Flushes, writes the final time-index entry, trims index files, and closes. Further calls
    /// fail with `closed`; open cursors keep reading what was published.
    public func close() throws {
        try writeLock.withLock {
            try syncLock.withLock {
                if stateLock.withLock({ closed }) { return }
                if !isReadOnly {
                    try segments.last!.close()
                    flushedOffset = segments.last!.nextOffset
                }
                stateLock.withLock { closed = true }
            }
        }
        notifyAppend()
    }
}
