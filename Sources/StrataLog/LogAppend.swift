import StrataIO

extension Log {
    // MARK: - Appending

    /// Appends records, grouping them into batches of about `config.targetBatchBytes`.
    /// Returns the offsets given. Records without a timestamp get the current time.
    ///
    /// An append is written with one `pwrite` per segment when its batches total at most
    /// 4 MiB; larger appends are written in 4 MiB steps, and if a later step fails the earlier
    /// batches stay in the log (`logEndOffset` says how far).
    @discardableResult
    public func append(_ records: [Record]) throws -> AppendResult {
        try records.withUnsafeBufferPointer { try append(buffer: $0) }
    }

    /// Appends a slice of records (see `append(_:)`).
    @discardableResult
    public func append(_ records: ArraySlice<Record>) throws -> AppendResult {
        try records.withUnsafeBufferPointer { try append(buffer: $0) }
    }

    /// Appends any sequence of records (copied into an array first; prefer arrays).
    @discardableResult
    public func append<S: Sequence<Record>>(contentsOf records: S) throws -> AppendResult {
        try append(Array(records))
    }

    /// The one append path: records in contiguous memory, encoded straight into batches.
    func append(buffer records: UnsafeBufferPointer<Record>) throws -> AppendResult {
        try append(buffer: records, count: records.count) { $0 }
    }

    /// Appends `records[pick(0)]`, `records[pick(1)]`, … `records[pick(count - 1)]` — used by
    /// `Topic` to route records to partitions without copying them.
    func append(buffer records: UnsafeBufferPointer<Record>, selecting picks: UnsafeBufferPointer<Int32>) throws -> AppendResult {
        try append(buffer: records, count: picks.count) { Int(picks[$0]) }
    }

    @inline(__always)
    func append(buffer records: UnsafeBufferPointer<Record>, count: Int, _ pick: (Int) -> Int) throws -> AppendResult {
        if count == 0 { throw StrataError.invalidArgument("append needs at least one record") }
        return try writeLock.withLock {
            try checkWritable()
            let now = currentTimeMillis()
            let first = segments.last!.nextOffset
            try Self.checkOffsetRoom(first: first, count: count)
            let target = effectiveTargetBatchBytes
            let codec = config.compression
            let timestampType = config.timestampType
            let builder = self.builder
            builder.reset()
            var open = false
            var openSize = 0
            for i in 0 ..< count {
                let record = pick(i)
                let estimate = Self.estimatedSize(records[record])
                if open && openSize + estimate > target {
                    try finishBatch(now: now)
                    open = false
                    if builder.output.count >= Self.writeChunkBytes { try writeOut(now: now) }
                }
                if !open {
                    builder.begin(baseOffset: first + Int64(i), codec: codec, timestampType: timestampType)
                    open = true
                    openSize = RecordBatchHeader.size
                }
                builder.add(records[record], defaultTimestamp: now)
                openSize += estimate
            }
            try finishBatch(now: now)
            try writeOut(now: now)
            return AppendResult(firstOffset: first, lastOffset: first + Int64(count) - 1)
        }.durable(self)
    }

    /// The largest offset a record may get: a batch's base offset must leave room for its
    /// 32-bit last-offset delta without overflowing (the bound `RecordBatchView.probe` checks).
    static let maxOffset = Int64.max - Int64(Int32.max) - 1

    /// Refuses an append of `count` records from `first` on that would pass `maxOffset` (a
    /// segment file named near Int64.max, say): a typed error instead of a trap.
    static func checkOffsetRoom(first: Int64, count: Int) throws {
        if first > maxOffset || Int64(count) > maxOffset - first + 1 {
            throw StrataError.invalidArgument("the log ends at offset \(first); \(count) more records would pass the largest offset \(maxOffset) (is a segment file misnamed?)")
        }
    }

    /// Appends one record; returns its offset.
    @discardableResult
    public func append(_ record: Record) throws -> Int64 {
        try append([record]).firstOffset
    }

    /// Appends records produced by `fill`, which is called with the batch builder and must call
    /// `add(key:value:headers:timestamp:)` once per record with borrowed bytes (the
    /// allocation-free path). `count` records are expected; `fill(i, builder)` adds record `i`
    /// and returns its approximate encoded size.
    @discardableResult
    public func append(count: Int, _ fill: (Int, RecordBatchBuilder) -> Void) throws -> AppendResult {
        if count <= 0 { throw StrataError.invalidArgument("append needs at least one record") }
        return try writeLock.withLock {
            try checkWritable()
            let now = currentTimeMillis()
            let first = segments.last!.nextOffset
            try Self.checkOffsetRoom(first: first, count: count)
            builder.reset()
            var open = false
            for i in 0 ..< count {
                if open && builder.openBatchSize >= effectiveTargetBatchBytes {
                    try finishBatch(now: now)
                    open = false
                    if builder.output.count >= Self.writeChunkBytes { try writeOut(now: now) }
                }
                if !open {
                    builder.begin(baseOffset: first + Int64(i), codec: config.compression, timestampType: config.timestampType)
                    open = true
                }
                fill(i, builder)
            }
            if builder.recordCount != 0 || open { try finishBatch(now: now) }
            try writeOut(now: now)
            return AppendResult(firstOffset: first, lastOffset: first + Int64(count) - 1)
        }.durable(self)
    }

    /// Upper bound of a record's encoded size (varints at their widest for small records).
    @inline(__always)
    static func estimatedSize(_ r: Record) -> Int {
        var n = 24 + (r.key.map { $0.count } ?? 0) + (r.value.map { $0.count } ?? 0)
        if !r.headers.isEmpty { n += RecordBatchBuilder.headersSize(r.headers) }
        return n
    }

    func checkWritable() throws {
        if isReadOnly { throw StrataError.readOnly("the log at \(directory)") }
        if stateLock.withLock({ closed }) { throw StrataError.closed("log \(directory)") }
    }

    /// Batches never outgrow a segment: the target is capped below `segmentBytes`.
    var effectiveTargetBatchBytes: Int { min(config.targetBatchBytes, config.segmentBytes / 2) }

    /// The largest batch accepted: `maxBatchBytes`, and never more than a segment holds (as
    /// Kafka refuses batches larger than `segment.bytes`), so a segment's `.log` never
    /// outgrows the mapping reserved for it.
    var batchSizeLimit: Int { min(config.maxBatchBytes, config.segmentBytes) }

    func finishBatch(now: Int64) throws {
        let b = try builder.finish(logAppendTime: now)
        if b.size > batchSizeLimit {
            builder.reset()
            throw StrataError.recordTooLarge(size: b.size, limit: batchSizeLimit)
        }
    }

    /// Writes the builder's finished batches, rolling segments as needed, then publishes.
    func writeOut(now: Int64) throws {
        let batches = builder.batches
        let out = builder.output
        var i = 0
        while i < batches.count {
            var active = segments.last!
            if active.shouldRoll(batchSize: batches[i].size, lastOffset: batches[i].lastOffset, maxTimestamp: batches[i].maxTimestamp, now: now) {
                active = try roll(newBaseOffset: batches[i].baseOffset)
            }
            // Group the batches that fit in this segment into one write.
            let room = min(active.offsetIndex.storage.maxEntries - active.offsetIndex.count,
                           active.timeIndex.storage.maxEntries - active.timeIndex.count) - 2
            var j = i + 1
            var total = batches[i].size
            while j < batches.count, j - i < room,
                  active.size + total + batches[j].size <= config.segmentBytes,
                  batches[j].lastOffset - active.baseOffset <= Int64(Int32.max) {
                total += batches[j].size
                j += 1
            }
            let start = batches[i].position
            let data = UnsafeRawBufferPointer(start: out.base + start, count: total)
            try active.append(data, batches: batches[i ..< j], dataStart: start)
            let size = active.size
            let end = active.nextOffset
            stateLock.withLock {
                activeReadableSize = size
                publishedEnd = end
            }
            notifyAppend()
            i = j
        }
        builder.reset()
    }

    /// Closes the active segment and starts a new one at `newBaseOffset`.
    @discardableResult
    func roll(newBaseOffset: Int64) throws -> LogSegment {
        let old = segments.last!
        try old.onBecomeInactive()
        try old.flush()
        let flushedTo = old.nextOffset
        syncLock.withLock { flushedOffset = max(flushedOffset, flushedTo) }
        let fresh = try LogSegment.create(directory: directory, baseOffset: newBaseOffset, config: config)
        stateLock.withLock {
            segments.append(fresh)
            activeReadableSize = 0
        }
        return fresh
    }

    /// Starts a new segment now (no-op when the active one is empty).
    public func roll() throws {
        try writeLock.withLock {
            try checkWritable()
            let active = segments.last!
            if active.size > 0 { try roll(newBaseOffset: active.nextOffset) }
        }
    }

}

extension AppendResult {
    /// Applies the log's flush policy after the write lock is released, so concurrent
    /// appenders can share one fdatasync.
    func durable(_ log: Log) throws -> AppendResult {
        try log.applyFlushPolicy(appended: count, upTo: lastOffset + 1)
        return self
    }
}
