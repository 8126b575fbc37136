#if canImport(Glibc)
import Glibc
#endif
import Logging
import StrataIO

/// When appends reach stable storage. Every policy survives a crash of the process (written
/// bytes are in the page cache); they differ in what survives a power loss or kernel crash.
public enum FlushPolicy: Sendable, Equatable, Codable {
    /// `append` returns only after `fdatasync` covered its records: an acknowledged record
    /// survives a power loss. Concurrent appenders share one `fdatasync` (group commit).
    case everyBatch
    /// `fdatasync` once `records` records were appended since the last flush, or `ms`
    /// milliseconds passed (checked on append and by the store's background flusher). A power
    /// loss can lose what was appended since the last flush.
    case interval(records: Int, ms: Int64)
    /// The kernel writes pages back when it likes; Strata flushes only on roll, `flush()` and
    /// close. A power loss can lose everything since the last roll or flush.
    case os
}

/// How to open a log after the previous process stopped.
public enum RecoveryMode: Sendable, Equatable {
    /// The previous writer closed the log cleanly: check every index against its log and the
    /// tail of each segment, cut a torn tail.
    case clean
    /// After an unclean stop: additionally validate every batch (structure, CRC, offset order)
    /// from the segment holding `recoveryPoint` to the end, rebuild those segments' indexes,
    /// cut at the first invalid byte and delete any later segments. With `recoveryPoint` nil
    /// only the last segment is recovered: every roll fsyncs the segment it closes, so older
    /// segments never hold unflushed data.
    case unclean(recoveryPoint: Int64?)
    /// `strata recover`: every segment, every batch, every record decoded (`BatchValidator`,
    /// as `strata verify` checks). A batch that fails but whose framing is intact is taken out
    /// of its segment into a quarantine file (its offsets become a gap); a tail whose framing
    /// is broken is cut into one. Later segments stay: they are checked on their own.
    case full
}

/// What opening a log found and repaired.
public struct RecoveryReport: Sendable, Equatable, CustomStringConvertible {
    /// Base offsets of the segments whose every batch was validated.
    public var recoveredSegments: [Int64] = []
    /// Bytes cut from the end of the log (torn or invalid data).
    public var truncatedBytes = 0
    /// The log end offset after truncation, when bytes were cut: records from here on were lost
    /// (they were never acknowledged as durable).
    public var truncatedAtOffset: Int64?
    /// Segments taken out of the log because an earlier segment was truncated (base offset →
    /// bytes): Kafka deletes them; here they are renamed into quarantine files (`quarantined`).
    public var deletedSegments: [Int64: Int] = [:]
    /// Segments whose indexes were rebuilt, and why.
    public var rebuiltIndexes: [Int64: String] = [:]
    /// Damaged batches found in flushed, closed segments (segment base offset → byte
    /// positions), kept in place: reading one fails with `corrupt`; the batches after it and
    /// every later segment stay readable. `strata verify` names them.
    public var damagedBatches: [Int64: [Int]] = [:]
    /// Batches full recovery took out of their segments (segment base offset → batches).
    public var removedBatches: [Int64: [RemovedBatch]] = [:]
    /// Quarantine files written: every byte cut or taken out, and every segment moved aside
    /// instead of deleted (torn writes excepted), is in one of these.
    public var quarantined: [String] = []

    public var isEmpty: Bool {
        truncatedBytes == 0 && deletedSegments.isEmpty && rebuiltIndexes.isEmpty && damagedBatches.isEmpty && removedBatches.isEmpty
    }

    public var description: String {
        var parts: [String] = []
        if truncatedBytes > 0 { parts.append("cut \(truncatedBytes) bytes of torn or invalid data; the log now ends at offset \(truncatedAtOffset ?? -1)") }
        if !deletedSegments.isEmpty { parts.append("moved segments \(deletedSegments.keys.sorted()) out of the log after the truncation (\(deletedSegments.values.reduce(0, +)) bytes)") }
        for (base, batches) in removedBatches.sorted(by: { $0.key < $1.key }) {
            parts.append("took \(batches.count) invalid batch\(batches.count == 1 ? "" : "es") out of segment \(base): \(batches.map(\.description).joined(separator: "; "))")
        }
        if !quarantined.isEmpty { parts.append("kept what was taken out in \(quarantined.joined(separator: ", "))") }
        for (base, why) in rebuiltIndexes.sorted(by: { $0.key < $1.key }) { parts.append("rebuilt the indexes of segment \(base): \(why)") }
        for (base, positions) in damagedBatches.sorted(by: { $0.key < $1.key }) {
            parts.append("damaged data kept in flushed segment \(base) at byte \(positions.map(String.init).joined(separator: ", ")) (later data stays readable; run `strata verify`)")
        }
        if !recoveredSegments.isEmpty { parts.append("validated every batch of segments \(recoveredSegments)") }
        return parts.isEmpty ? "nothing to repair" : parts.joined(separator: "; ")
    }
}

/// The logger Strata's operational messages (recovery, retention, compaction, background
/// failures) go to unless one is given: swift-log's `Logger` labelled `strata`, so the
/// application's `LoggingSystem` decides where they end up.
public func defaultStrataLogger() -> Logger { Logger(label: "strata") }

extension Logger {
    /// A logger that drops every message (tools and tests that report on their own).
    public static var silent: Logger { Logger(label: "strata") { _ in SwiftLogNoOpLogHandler() } }
}

/// Which records of transactions a cursor returns (Kafka's `isolation.level`).
public enum IsolationLevel: Sendable, Equatable {
    /// Every data record, aborted transactions included (Kafka's default).
    case readUncommitted
    /// Records of committed transactions and non-transactional records only; the cursor stops
    /// before a transaction that is still open (Formats/transactions.md §3).
    case readCommitted
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
    public internal(set) var openReports: [Int64: LogSegment.OpenReport] = [:]
    /// What opening found and repaired, summed up.
    public internal(set) var recoveryReport = RecoveryReport()
    let logger: Logger

    let writeLock = Lock()
    let stateLock = Lock()
    let syncLock = Lock()
    let cleanLock = Lock()
    var cleanerCheckpointValue: Int64 = 0
    /// Offsets below this were compacted already (Kafka's cleaner checkpoint); `LogStore`
    /// persists it in `topics/cleaner-offset-checkpoint`.
    public internal(set) var cleanerCheckpoint: Int64 {
        get { stateLock.withLock { cleanerCheckpointValue } }
        set { stateLock.withLock { cleanerCheckpointValue = newValue } }
    }
    // Published state (stateLock): what readers may see.
    var segments: [LogSegment]
    var activeReadableSize: Int
    var publishedEnd: Int64
    var startOffset: Int64
    var closed = false
    // Durability state (syncLock; `flushedOffset` also read under stateLock).
    /// Every offset below this is on stable storage.
    var flushedOffset: Int64
    var unflushedRecords = 0
    var lastFlushMs: Int64
    /// fdatasync calls made by flushes (group commit makes this smaller than the appends).
    public internal(set) var syncCount = 0
    // Writer state (writeLock).
    let builder: RecordBatchBuilder
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

    init(directory: String, config: LogConfig, flushPolicy: FlushPolicy, readOnly: Bool, segments: [LogSegment], logger: Logger) {
        self.directory = directory
        self.config = config
        self.flushPolicy = flushPolicy
        self.logger = logger
        isReadOnly = readOnly
        self.segments = segments
        activeReadableSize = segments.last!.size
        publishedEnd = segments.last!.nextOffset
        startOffset = segments.first!.baseOffset
        flushedOffset = segments.last!.nextOffset
        lastFlushMs = currentTimeMillis()
        builder = RecordBatchBuilder(codecs: Codecs(maxDecompressedBytes: config.maxDecompressedBytes))
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

    // MARK: - Waiting for appends

    let waiters = AppendWaiters()
    private let observerLock = Lock()
    private var observers: [WakeSignal] = []

    /// Wakes every task waiting for new records (after a publish, or on close), and signals
    /// the append observers.
    func notifyAppend() {
        waiters.wakeAll()
        let signals = observerLock.withLock { observers }
        for s in signals { s.signal() }
    }

    /// Signals `signal` after every append from now on (the store's index followers wait on
    /// it instead of polling).
    public func addAppendObserver(_ signal: WakeSignal) {
        observerLock.withLock { observers.append(signal) }
    }

    /// Stops signalling `signal`.
    public func removeAppendObserver(_ signal: WakeSignal) {
        observerLock.withLock { observers.removeAll { $0 === signal } }
    }
}
