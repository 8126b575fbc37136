#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// When appends reach stable storage.
public enum FlushPolicy: Sendable, Equatable, Codable {
    /// `append` returns after `fdatasync` of the segment: an acknowledged record survives a
    /// power loss.
    case everyAppend
    /// The page cache decides (data survives a process crash, not a power loss, until
    /// `flush()` or a roll/close).
    case os
}

/// Where a cursor starts.
public enum StartPosition: Sendable, Equatable {
    /// The log start offset.
    case earliest
    /// The high watermark: only records appended from now on.
    case latest
    /// A specific offset (must lie in `[logStartOffset, highWatermark]`).
    case offset(Int64)
    /// The first record whose timestamp is ≥ this (milliseconds); the high watermark when none.
    case timestamp(Int64)
}

/// The offsets an append was given.
public struct AppendResult: Sendable, Equatable {
    public var firstOffset: Int64
    public var lastOffset: Int64
    public var count: Int { Int(lastOffset - firstOffset + 1) }
}

/// One partition: an ordered sequence of segments in a Kafka partition directory.
///
/// Concurrency: one writer at a time (appends serialize on a lock); any number of readers
/// (`LogCursor`) read lock-free over mapped segments, bounded by the high watermark, which is
/// published only after whole batches are written — a reader never sees a torn batch.
public final class Log: @unchecked Sendable {
    public let directory: String
    public let config: LogConfig
    public let flushPolicy: FlushPolicy
    public let isReadOnly: Bool
    /// What opening repaired, per segment base offset (empty after a clean reopen).
    public private(set) var openReports: [Int64: LogSegment.OpenReport] = [:]

    private let writeLock = Lock()
    private let stateLock = Lock()
    // Published state (stateLock): what readers may see.
    private var segments: [LogSegment]
    private var activeReadableSize: Int
    private var publishedEnd: Int64
    private var startOffset: Int64
    private var closed = false
    // Writer state (writeLock).
    private let builder: RecordBatchBuilder
    /// Bytes of encoded batches buffered before they are written in one call.
    static let writeChunkBytes = 4 << 20

    /// A consistent view for readers.
    struct Snapshot {
        var segments: [LogSegment]
        var activeReadableSize: Int
        var highWatermark: Int64
        var logStartOffset: Int64

        func readable(_ i: Int) -> Int { i == segments.count - 1 ? activeReadableSize : segments[i].size }
    }

    private init(directory: String, config: LogConfig, flushPolicy: FlushPolicy, readOnly: Bool, segments: [LogSegment]) {
        self.directory = directory
        self.config = config
        self.flushPolicy = flushPolicy
        isReadOnly = readOnly
        self.segments = segments
        activeReadableSize = segments.last!.size
        publishedEnd = segments.last!.nextOffset
        startOffset = segments.first!.baseOffset
        builder = RecordBatchBuilder(codecs: Codecs(maxDecompressedBytes: config.maxDecompressedBytes))
    }

    /// Opens the partition directory, creating it (with an empty first segment) when absent and
    /// not read-only. Segments are checked as described in `LogSegment.open`.
    public static func open(directory: String, config: LogConfig = LogConfig(), flushPolicy: FlushPolicy = .os,
                            readOnly: Bool = false) throws -> Log {
        try config.validate()
        if !FileSystem.isDirectory(directory) {
            if readOnly { throw StrataError.notFound("partition directory \(directory)") }
            try FileSystem.createDirectory(directory)
            try FileSystem.syncDirectory(FileSystem.parent(of: directory))
        }
        let names = try FileSystem.list(directory)
        let bases = names.compactMap(LogSegment.baseOffset(ofLogFile:)).sorted()
        var segments: [LogSegment] = []
        var reports: [Int64: LogSegment.OpenReport] = [:]
        for (i, base) in bases.enumerated() {
            let (segment, report) = try LogSegment.open(directory: directory, baseOffset: base, config: config, writable: !readOnly)
            if report != LogSegment.OpenReport() { reports[base] = report }
            if let previous = segments.last, segment.baseOffset < previous.nextOffset {
                throw StrataError.corrupt(file: segment.logPath, position: 0,
                                          reason: "segment base offset \(segment.baseOffset) overlaps the previous segment, which ends at \(previous.nextOffset)")
            }
            if !readOnly && i < bases.count - 1 {
                // Closed segments keep trimmed indexes.
                try segment.onBecomeInactive()
            }
            segments.append(segment)
        }
        if segments.isEmpty {
            if readOnly { throw StrataError.notFound("log segments in \(directory)") }
            segments.append(try LogSegment.create(directory: directory, baseOffset: 0, config: config))
        }
        let log = Log(directory: directory, config: config, flushPolicy: flushPolicy, readOnly: readOnly, segments: segments)
        log.openReports = reports
        return log
    }

    // MARK: - Published offsets

    func snapshot() -> Snapshot {
        stateLock.withLock {
            Snapshot(segments: segments, activeReadableSize: activeReadableSize, highWatermark: publishedEnd, logStartOffset: startOffset)
        }
    }

    /// The first offset in the log.
    public var logStartOffset: Int64 { stateLock.withLock { startOffset } }
    /// The offset the next appended record gets; readers see records below it.
    public var highWatermark: Int64 { stateLock.withLock { publishedEnd } }
    /// Same as `highWatermark` on a single node (every written batch is committed).
    public var logEndOffset: Int64 { highWatermark }
    /// Number of segments.
    public var segmentCount: Int { stateLock.withLock { segments.count } }
    /// Base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Int64] { stateLock.withLock { segments.map(\.baseOffset) } }
    /// Total bytes of `.log` files.
    public var sizeInBytes: Int { let s = snapshot(); return s.segments.indices.reduce(0) { $0 + s.readable($1) } }

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
    private func append(buffer records: UnsafeBufferPointer<Record>) throws -> AppendResult {
        try append(buffer: records, count: records.count) { $0 }
    }

    /// Appends `records[pick(0)]`, `records[pick(1)]`, … `records[pick(count - 1)]` — used by
    /// `Topic` to route records to partitions without copying them.
    func append(buffer records: UnsafeBufferPointer<Record>, selecting picks: UnsafeBufferPointer<Int32>) throws -> AppendResult {
        try append(buffer: records, count: picks.count) { Int(picks[$0]) }
    }

    @inline(__always)
    private func append(buffer records: UnsafeBufferPointer<Record>, count: Int, _ pick: (Int) -> Int) throws -> AppendResult {
        if count == 0 { throw StrataError.invalidArgument("append needs at least one record") }
        return try writeLock.withLock {
            try checkWritable()
            let now = currentTimeMillis()
            let first = segments.last!.nextOffset
            let target = config.targetBatchBytes
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
            builder.reset()
            var open = false
            for i in 0 ..< count {
                if open && builder.openBatchSize >= config.targetBatchBytes {
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
        }
    }

    /// Upper bound of a record's encoded size (varints at their widest for small records).
    @inline(__always)
    static func estimatedSize(_ r: Record) -> Int {
        var n = 24 + (r.key.map { $0.count } ?? 0) + (r.value.map { $0.count } ?? 0)
        if !r.headers.isEmpty { n += RecordBatchBuilder.headersSize(r.headers) }
        return n
    }

    private func checkWritable() throws {
        if isReadOnly { throw StrataError.invalidArgument("the log at \(directory) was opened read-only") }
        if stateLock.withLock({ closed }) { throw StrataError.closed("log \(directory)") }
    }

    private func finishBatch(now: Int64) throws {
        let b = try builder.finish(logAppendTime: now)
        if b.size > config.maxBatchBytes {
            builder.reset()
            throw StrataError.recordTooLarge(size: b.size, limit: config.maxBatchBytes)
        }
    }

    /// Writes the builder's finished batches, rolling segments as needed, then publishes.
    private func writeOut(now: Int64) throws {
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
            if flushPolicy == .everyAppend { try active.logFile.syncData() }
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
    private func roll(newBaseOffset: Int64) throws -> LogSegment {
        let old = segments.last!
        try old.onBecomeInactive()
        try old.flush()
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

    /// Forces written data and indexes to disk.
    public func flush() throws {
        try writeLock.withLock {
            if isReadOnly { return }
            try segments.last!.flush()
        }
    }

    /// Flushes, writes the final time-index entry, trims index files, and closes. Further calls
    /// fail with `closed`; open cursors keep reading what was published.
    public func close() throws {
        try writeLock.withLock {
            if stateLock.withLock({ closed }) { return }
            stateLock.withLock { closed = true }
            if !isReadOnly { try segments.last!.close() }
        }
        notifyAppend()
    }

    // MARK: - Waiting for appends

    private let waitLock = Lock()
    private var appendWaiters: [@Sendable () -> Void] = []

    /// Registers a one-shot callback run after the next publish (used by tailing readers).
    func onNextAppend(_ callback: @escaping @Sendable () -> Void) {
        waitLock.withLock { appendWaiters.append(callback) }
    }

    private func notifyAppend() {
        let waiters = waitLock.withLock { () -> [@Sendable () -> Void] in
            let w = appendWaiters
            appendWaiters.removeAll()
            return w
        }
        for w in waiters { w() }
    }

    // MARK: - Reading

    /// A cursor positioned at `start`. Throws `offsetOutOfRange` for an offset outside
    /// `[logStartOffset, highWatermark]`.
    public func cursor(from start: StartPosition = .earliest) throws -> LogCursor {
        let c = LogCursor(log: self)
        switch start {
        case .earliest: try c.seek(to: logStartOffset)
        case .latest: try c.seek(to: highWatermark)
        case let .offset(o): try c.seek(to: o)
        case let .timestamp(t): try c.seek(to: try offset(forTimestamp: t) ?? highWatermark)
        }
        return c
    }

    /// Reads the record at `offset` (an owned copy); nil when the offset holds no record
    /// (removed by compaction) and the next record is returned instead... see `cursor`.
    public func read(offset: Int64) throws -> Record? {
        let c = try cursor(from: .offset(offset))
        guard let r = try c.next(), r.offset == offset else { return nil }
        return r.owned()
    }

    /// The first offset whose record timestamp is ≥ `timestamp` (Kafka's ListOffsets by time),
    /// or nil when every record is older.
    public func offset(forTimestamp timestamp: Int64) throws -> Int64? {
        let snap = snapshot()
        let codecs = Codecs(maxDecompressedBytes: config.maxDecompressedBytes)
        let buffer = ByteWriter()
        for (i, segment) in snap.segments.enumerated() {
            let readable = snap.readable(i)
            // Skip segments whose largest timestamp is older (known from the time index).
            if i < snap.segments.count - 1, let last = segment.timeIndex.lastEntry, last.timestamp < timestamp { continue }
            guard let pos = try segment.position(ofTimestamp: timestamp, readable: readable) else { continue }
            let data = segment.bytes(upTo: readable)
            var p = pos
            while p < readable {
                guard case .batch(let b) = try RecordBatchView.probe(data, at: p, file: segment.logPath) else { break }
                if b.header.maxTimestamp >= timestamp {
                    var it = try BatchRecordIterator(batch: b, codecs: codecs, buffer: buffer, file: segment.logPath)
                    while let r = try it.next() {
                        if r.offset >= snap.logStartOffset && r.timestamp >= timestamp { return r.offset }
                    }
                }
                p += b.header.sizeInBytes
            }
        }
        return nil
    }

    /// For logs opened read-only: picks up batches and segments another process appended since
    /// the last call. Returns true when the high watermark moved.
    @discardableResult
    public func refresh() throws -> Bool {
        guard isReadOnly else { return false }
        return try writeLock.withLock {
            var changed = false
            let active = segments.last!
            var report = LogSegment.OpenReport()
            let before = active.nextOffset
            try active.scanTail(from: activeReadableSize, nextOffset: active.nextOffset, repair: false, report: &report)
            if active.nextOffset != before { changed = true }
            let names = try FileSystem.list(directory)
            let bases = names.compactMap(LogSegment.baseOffset(ofLogFile:)).filter { $0 > active.baseOffset }.sorted()
            var added: [LogSegment] = []
            for base in bases {
                let (s, _) = try LogSegment.open(directory: directory, baseOffset: base, config: config, writable: false)
                added.append(s)
                changed = true
            }
            let size = active.size
            stateLock.withLock {
                activeReadableSize = size
                segments.append(contentsOf: added)
                if !added.isEmpty { activeReadableSize = added.last!.size }
                publishedEnd = segments.last!.nextOffset
            }
            return changed
        }
    }
}
