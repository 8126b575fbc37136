#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// The files of one segment: `<base>.log`, `<base>.index`, `<base>.timeindex` (see
/// Formats/log-segment.md) and, where Kafka wrote one, `<base>.txnindex` (transactions.md). The `.log` is written with `pwrite` and read through a shared
/// read-only mapping that reserves room for the whole segment, so readers never remap.
///
/// Writer state (`size`, `nextOffset`, index bookkeeping) is touched only by the single writer
/// under the log's lock; readers use only the mapping and the indexes, bounded by a size the
/// log published.
public final class LogSegment: @unchecked Sendable {
    public let baseOffset: Int64
    public let directory: String
    let logFile: DataFile
    let mapping: ReservedRegion
    let offsetIndex: OffsetIndex
    let timeIndex: TimeIndex
    let config: LogConfig
    public let writable: Bool

    /// Bytes of whole batches in the `.log`.
    public internal(set) var size: Int
    /// One past the last offset in the segment (== baseOffset when empty).
    public internal(set) var nextOffset: Int64
    /// Largest batch maxTimestamp so far, and the last offset of the batch that carried it.
    public internal(set) var maxTimestampSoFar: Int64 = -1
    var offsetOfMaxTimestampSoFar: Int64 = -1
    var bytesSinceLastIndexEntry = 0
    /// Wall-clock creation time, for `segmentMs` rolling of segments without timestamps.
    let createdAtMs: Int64
    /// The max timestamp of the segment's first batch (Kafka's `rollingBasedTimestamp`).
    var firstBatchMaxTimestamp: Int64?
    /// The entries of the segment's `.txnindex` (aborted transactions whose marker is here),
    /// read once when the segment opens and never changed after (Formats/transactions.md).
    public internal(set) var abortedTransactions: [AbortedTransaction] = []
    /// Why the `.txnindex` could not be used, if it could not.
    public internal(set) var transactionIndexProblem: String?

    public static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// Parses `NNNNNNNNNNNNNNNNNNNN.log` into its base offset.
    public static func baseOffset(ofLogFile name: String) -> Int64? {
        guard name.hasSuffix(".log"), name.count == 24 else { return nil }
        let digits = name.prefix(20)
        guard digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        return Int64(digits)
    }

    public let logPath: String
    public var indexPath: String { directory + "/" + Self.fileName(baseOffset, ".index") }
    public var timeIndexPath: String { directory + "/" + Self.fileName(baseOffset, ".timeindex") }

    /// `active`: the segment appends go to (or may go to, read-only beside a writer), which
    /// reserves `segmentBytes` of address space — mapped at the first append when it is
    /// empty. A closed segment maps only the bytes it holds.
    private init(directory: String, baseOffset: Int64, config: LogConfig, writable: Bool, active: Bool = true) throws {
        self.directory = directory
        self.baseOffset = baseOffset
        self.config = config
        self.writable = writable
        logPath = directory + "/" + Self.fileName(baseOffset, ".log")
        logFile = try DataFile(path: logPath, flags: writable ? (O_RDWR | O_CREAT) : O_RDONLY)
        let fileSize = Int(try logFile.size())
        mapping = try ReservedRegion(file: logFile, length: active ? max(fileSize, config.segmentBytes) : fileSize,
                                     mapNow: fileSize > 0 || !writable)
        offsetIndex = try OffsetIndex(path: directory + "/" + Self.fileName(baseOffset, ".index"), baseOffset: baseOffset,
                                      maxBytes: config.maxIndexBytes, writable: writable)
        timeIndex = try TimeIndex(path: directory + "/" + Self.fileName(baseOffset, ".timeindex"), baseOffset: baseOffset,
                                  maxBytes: config.maxIndexBytes, writable: writable)
        size = fileSize
        nextOffset = baseOffset
        createdAtMs = currentTimeMillis()
    }

    /// Creates an empty segment.
    static func create(directory: String, baseOffset: Int64, config: LogConfig) throws -> LogSegment {
        let s = try LogSegment(directory: directory, baseOffset: baseOffset, config: config, writable: true)
        if s.size != 0 {
            throw StrataError.corrupt(file: s.logPath, position: 0, reason: "a new segment's file already holds \(s.size) bytes")
        }
        try FileSystem.syncDirectory(directory)
        return s
    }

    /// What opening found and repaired.
    public struct OpenReport: Sendable, Equatable {
        /// Bytes cut from the end of the `.log` (a torn or invalid tail).
        public var truncatedBytes = 0
        /// Why the indexes were rebuilt, if they were.
        public var rebuiltIndexReason: String?
        /// Positions of damaged batches kept in place in a flushed, closed segment (bit rot,
        /// not a torn write): reading them fails with `corrupt`, later batches stay readable.
        public var damagedPositions: [Int] = []
        /// Quarantine files holding bytes cut from this segment (`Quarantine`).
        public var quarantined: [String] = []
    }

    /// Cuts the log at `pos`, first keeping the bytes cut in a quarantine file unless they are
    /// only a torn write.
    private func cut(at pos: Int, data: UnsafeRawBufferPointer, report: inout OpenReport) throws {
        if !Quarantine.isTornTail(data, from: pos) {
            report.quarantined.append(try Quarantine.keep([UInt8](data[pos...]), from: logPath, position: pos))
        }
        try logFile.truncate(to: Int64(pos))
    }

    /// Opens an existing segment. The indexes are checked against the log; when they are
    /// missing, untrimmed, or inconsistent they are rebuilt by scanning the log. The tail after
    /// the last index entry is scanned (structure and CRC); a torn or corrupt tail is cut off
    /// when `writable` (read-only opens just stop before it).
    static func open(directory: String, baseOffset: Int64, config: LogConfig, writable: Bool, active: Bool = true,
                     fullRecovery: Bool = false, flushed: Bool = false,
                     validator: BatchValidator = BatchValidator(records: false)) throws -> (LogSegment, OpenReport) {
        let (s, report) = try openFiles(directory: directory, baseOffset: baseOffset, config: config, writable: writable, active: active,
                                        fullRecovery: fullRecovery, flushed: flushed, validator: validator)
        (s.abortedTransactions, s.transactionIndexProblem) = TransactionIndex.load(directory: directory, baseOffset: baseOffset,
                                                                                    nextOffset: s.nextOffset, writable: writable)
        return (s, report)
    }

    private static func openFiles(directory: String, baseOffset: Int64, config: LogConfig, writable: Bool, active: Bool,
                                  fullRecovery: Bool, flushed: Bool, validator: BatchValidator) throws -> (LogSegment, OpenReport) {
        let indexExisted = FileSystem.exists(directory + "/" + fileName(baseOffset, ".index"))
        let timeIndexExisted = FileSystem.exists(directory + "/" + fileName(baseOffset, ".timeindex"))
        if !writable && (!indexExisted || !timeIndexExisted) {
            // Read-only and no index: scan everything.
            let s = try LogSegment(directoryForReadOnlyWithoutIndexes: directory, baseOffset: baseOffset, config: config)
            var report = OpenReport()
            report.rebuiltIndexReason = "index files missing (read-only open: scanned the log instead)"
            try s.scanTail(from: 0, nextOffset: baseOffset, repair: false, report: &report)
            return (s, report)
        }
        let s = try LogSegment(directory: directory, baseOffset: baseOffset, config: config, writable: writable, active: active)
        var report = OpenReport()
        try s.offsetIndex.storage.trimToValidPrefix(isValid: { $0.loadBE(at: 4, as: Int32.self) > 0 })
        try s.timeIndex.storage.trimToValidPrefix(isValid: { $0.loadBE(at: 0, as: Int64.self) != 0 || $0.loadBE(at: 8, as: Int32.self) != 0 })
        if !writable {
            // A live writer may have appended since the log's size was read; it writes the log
            // before the index entries, so the log size read now covers every entry counted.
            s.size = min(Int(try s.logFile.size()), s.mapping.length)
        }
        if fullRecovery && writable {
            // Recovery after an unclean stop: validate every batch, rebuild both indexes.
            try s.rebuildIndexes(report: &report, validator: validator)
            return (s, report)
        }
        func offsetIndexProblem() -> String? {
            if let why = s.offsetIndex.inconsistency(logSize: s.size) { return "offset index: \(why)" }
            if let last = s.offsetIndex.lastEntry, !s.batchAt(position: last.position, hasLastOffset: last.offset) {
                return "offset index: last entry (\(last.offset) at \(last.position)) does not point at that batch"
            }
            return nil
        }
        var reason: String? = nil
        if !indexExisted || !timeIndexExisted {
            reason = "index file missing"
        } else {
            reason = offsetIndexProblem()
            // Read-only beside a live writer: the last entry seen may be one it is writing
            // (half its bytes there). Without it the index is whole again — it is sparse, so
            // lookups scan on from the entry before; other damage still counts.
            if reason != nil && !writable && s.offsetIndex.count > 0 {
                s.offsetIndex.storage.truncateCount(s.offsetIndex.count - 1)
                reason = offsetIndexProblem()
            }
        }
        if let reason {
            guard writable else { throw StrataError.corrupt(file: s.indexPath, position: 0, reason: reason) }
            report.rebuiltIndexReason = reason
            try s.rebuildIndexes(report: &report)
            return (s, report)
        }
        // Scan the tail after the last offset-index entry to find the next offset and to make
        // sure the tail holds only whole, valid batches.
        let start = s.offsetIndex.lastEntry?.position ?? 0
        let startOffset = s.offsetIndex.lastEntry.map { _ in s.baseOffset } ?? s.baseOffset
        if let tl = s.timeIndex.lastEntry { s.maxTimestampSoFar = tl.timestamp; s.offsetOfMaxTimestampSoFar = tl.offset }
        // A flushed, closed segment (below the recovery point, not the last) has no torn tail:
        // an invalid batch there is damage, kept and stepped over, not cut.
        try s.scanTail(from: start, nextOffset: startOffset, repair: writable && !flushed, report: &report, skipDamage: flushed)
        if var why = s.timeIndex.inconsistency(nextOffset: s.nextOffset) {
            if !writable && s.timeIndex.count > 0 {
                // As for the offset index: the entry a live writer is writing, left out.
                s.timeIndex.storage.truncateCount(s.timeIndex.count - 1)
                guard let still = s.timeIndex.inconsistency(nextOffset: s.nextOffset) else { return (s, report) }
                why = still
            }
            guard writable else { throw StrataError.corrupt(file: s.timeIndexPath, position: 0, reason: why) }
            report.rebuiltIndexReason = "time index: \(why)"
            try s.rebuildIndexes(report: &report)
        }
        return (s, report)
    }

    private init(directoryForReadOnlyWithoutIndexes directory: String, baseOffset: Int64, config: LogConfig) throws {
        // Used only when a read-only open finds no index files: in-memory empty indexes.
        self.directory = directory
        self.baseOffset = baseOffset
        self.config = config
        writable = false
        logPath = directory + "/" + Self.fileName(baseOffset, ".log")
        logFile = try DataFile(path: logPath, flags: O_RDONLY)
        let fileSize = Int(try logFile.size())
        mapping = try ReservedRegion(file: logFile, length: max(fileSize, config.segmentBytes), mapNow: true)
        let tmp = "/dev/null"
        offsetIndex = try OffsetIndex(path: tmp, baseOffset: baseOffset, maxBytes: 0, writable: false)
        timeIndex = try TimeIndex(path: tmp, baseOffset: baseOffset, maxBytes: 0, writable: false)
        size = fileSize
        nextOffset = baseOffset
        createdAtMs = currentTimeMillis()
    }

    /// The readable bytes `[0, size)`.
    @inline(__always)
    public func bytes(upTo size: Int) -> UnsafeRawBufferPointer { mapping.bytes(count: size) }

    func batchAt(position: Int, hasLastOffset offset: Int64) -> Bool {
        guard position >= 0, position < size,
              case .batch(let b)? = try? RecordBatchView.probe(bytes(upTo: size), at: position) else { return false }
        return b.header.lastOffset == offset
    }

    /// The batch at `pos` when it is whole, structurally valid, CRC-valid, in offset order
    /// (base offset ≥ `next`) and addressable from this segment's base offset; nil when the
    /// data from `pos` on is a torn or damaged tail. Throws `unsupported` for intact old
    /// message formats (magic 0/1 with a valid legacy CRC-32), so legacy data is never
    /// mistaken for a tail and cut; zero bytes or a magic byte damaged into 0/1 are a tail.
    func validBatch(in data: UnsafeRawBufferPointer, at pos: Int, next: Int64, validator: BatchValidator) throws -> RecordBatchView? {
        let b: RecordBatchView
        do {
            guard case .batch(let found) = try RecordBatchView.probe(data, at: pos, file: logPath) else { return nil }
            b = found
        } catch let e as StrataError {
            if case .unsupported = e {
                if LegacyMessage.isIntact(data, at: pos) { throw e }
                return nil
            }
            return nil
        }
        return validator.problem(of: b, segmentBase: baseOffset, next: next, file: logPath) == nil ? b : nil
    }

    /// Validates batches from `position` to the end of the file. Sets `size`, `nextOffset`
    /// and the index bookkeeping. An invalid or torn tail is truncated when `repair`.
    func scanTail(from position: Int, nextOffset startOffset: Int64, repair: Bool, report: inout OpenReport,
                  skipDamage: Bool = false, validator: BatchValidator = BatchValidator(records: false)) throws {
        let fileSize = Int(try logFile.size())
        let data = bytes(upTo: fileSize)
        var pos = position
        var next = startOffset
        bytesSinceLastIndexEntry = 0
        while pos < fileSize {
            guard let b = try validBatch(in: data, at: pos, next: next, validator: validator) else {
                // With `skipDamage`, a batch whose framing is intact (its length leads to the
                // next batch or to the end) but whose checksum or offsets are wrong is kept and
                // stepped over; anything else ends the scan.
                guard skipDamage, case .batch(let damaged)? = try? RecordBatchView.probe(data, at: pos),
                      pos + damaged.header.sizeInBytes <= fileSize else { break }
                let after = pos + damaged.header.sizeInBytes
                if after < fileSize { guard case .batch? = try? RecordBatchView.probe(data, at: after) else { break } }
                report.damagedPositions.append(pos)
                bytesSinceLastIndexEntry += damaged.header.sizeInBytes
                pos = after
                continue
            }
            if firstBatchMaxTimestamp == nil { firstBatchMaxTimestamp = b.header.maxTimestamp }
            if b.header.maxTimestamp > maxTimestampSoFar {
                maxTimestampSoFar = b.header.maxTimestamp
                offsetOfMaxTimestampSoFar = b.header.lastOffset
            }
            // Kafka resets the counter when it indexes a batch, then adds that batch's size:
            // so the counter is the bytes from the last indexed batch (inclusive) to the end.
            bytesSinceLastIndexEntry += b.header.sizeInBytes
            next = b.header.nextOffset
            pos += b.header.sizeInBytes
        }
        if pos < fileSize {
            if skipDamage {
                report.damagedPositions.append(pos) // kept on disk; readable up to here
            } else {
                report.truncatedBytes += fileSize - pos
                if repair { try cut(at: pos, data: data, report: &report) }
            }
        }
        size = pos
        nextOffset = max(next, baseOffset)
        if firstBatchMaxTimestamp == nil && size > 0 {
            if case .batch(let first)? = try? RecordBatchView.probe(data, at: 0) { firstBatchMaxTimestamp = first.header.maxTimestamp }
        }
    }

    /// Rebuilds `.index` and `.timeindex` by scanning every batch (Kafka's `LogSegment.recover`).
    /// Stops at the first invalid batch and cuts the file there. When an index fills, the scan
    /// goes on without adding entries (lookups then scan further, nothing is lost).
    func rebuildIndexes(report: inout OpenReport, validator: BatchValidator = BatchValidator(records: false)) throws {
        offsetIndex.removeAll()
        timeIndex.removeAll()
        maxTimestampSoFar = -1
        offsetOfMaxTimestampSoFar = -1
        bytesSinceLastIndexEntry = 0
        firstBatchMaxTimestamp = nil
        let fileSize = Int(try logFile.size())
        let data = bytes(upTo: fileSize)
        var pos = 0
        var next = baseOffset
        while pos < fileSize, let b = try validBatch(in: data, at: pos, next: next, validator: validator) {
            if firstBatchMaxTimestamp == nil { firstBatchMaxTimestamp = b.header.maxTimestamp }
            try offsetIndex.storage.reserve(1)
            try timeIndex.storage.reserve(1)
            indexBatch(lastOffset: b.header.lastOffset, maxTimestamp: b.header.maxTimestamp, position: pos, size: b.header.sizeInBytes)
            next = b.header.nextOffset
            pos += b.header.sizeInBytes
        }
        if pos < fileSize {
            report.truncatedBytes += fileSize - pos
            try cut(at: pos, data: data, report: &report)
        }
        size = pos
        nextOffset = next
    }

    /// Kafka's indexing rule for one appended batch: remember the largest timestamp; when more
    /// than `indexIntervalBytes` were appended since the last entry, index this batch (its last
    /// offset → its position) and the largest timestamp so far.
    @inline(__always)
    func indexBatch(lastOffset: Int64, maxTimestamp: Int64, position: Int, size batchSize: Int) {
        if maxTimestamp > maxTimestampSoFar {
            maxTimestampSoFar = maxTimestamp
            offsetOfMaxTimestampSoFar = lastOffset
        }
        if bytesSinceLastIndexEntry > config.indexIntervalBytes && !offsetIndex.isFull && !timeIndex.isFull {
            offsetIndex.append(offset: lastOffset, position: position)
            timeIndex.maybeAppend(timestamp: maxTimestampSoFar, offset: offsetOfMaxTimestampSoFar)
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += batchSize
    }

    /// Whether a batch of `batchSize` bytes ending at `lastOffset` must go to a new segment
    /// (Kafka's `shouldRoll`). Age is measured like Kafka: the incoming batch's max timestamp
    /// minus the first batch's, or wall-clock time since creation when there are no timestamps.
    func shouldRoll(batchSize: Int, lastOffset: Int64, maxTimestamp: Int64, now: Int64) -> Bool {
        if size == 0 { return lastOffset - baseOffset > Int64(Int32.max) }
        let age: Int64
        if let first = firstBatchMaxTimestamp, first >= 0, maxTimestamp >= 0 { age = maxTimestamp - first } else { age = now - createdAtMs }
        return size + batchSize > config.segmentBytes
            || age > config.segmentMs
            || offsetIndex.isFull || timeIndex.isFull
            || lastOffset - baseOffset > Int64(Int32.max)
    }

    /// Writes whole batches (bytes `data`, described by `batches`) at the end of the segment and
    /// indexes them. On a write error the file is cut back to its previous size.
    func append(_ data: UnsafeRawBufferPointer, batches: ArraySlice<BuiltBatch>, dataStart: Int) throws {
        // The reservation of an empty segment is mapped before its first bytes are published.
        try mapping.map()
        // Disk blocks for the index entries these batches may add, before the log is written:
        // a full disk then fails the append with nothing written.
        try offsetIndex.storage.reserve(batches.count)
        try timeIndex.storage.reserve(batches.count + 1)
        do {
            try logFile.write(data, at: Int64(size))
        } catch {
            try? logFile.truncate(to: Int64(size))
            throw error
        }
        for b in batches {
            if firstBatchMaxTimestamp == nil { firstBatchMaxTimestamp = b.maxTimestamp }
            indexBatch(lastOffset: b.lastOffset, maxTimestamp: b.maxTimestamp, position: size + (b.position - dataStart), size: b.size)
            nextOffset = b.lastOffset + 1
        }
        size += data.count
    }

    /// The segment stops being active: write the final time-index entry and trim the indexes.
    func onBecomeInactive() throws {
        if writable { try timeIndex.storage.reserve(1) }
        if maxTimestampSoFar >= 0 { timeIndex.maybeAppend(timestamp: maxTimestampSoFar, offset: offsetOfMaxTimestampSoFar, force: true) }
        try offsetIndex.trimToValidSize()
        try timeIndex.trimToValidSize()
    }

    /// Flushes the `.log` and indexes to disk.
    func flush() throws {
        try logFile.syncData()
        try offsetIndex.flush()
        try timeIndex.flush()
    }

    func close() throws {
        if writable {
            try onBecomeInactive()
            try flush()
        }
        logFile.close()
        offsetIndex.close()
        timeIndex.close()
    }

    /// Position of the first batch whose last offset is ≥ `target`, scanning from the offset
    /// index's hint; nil when no such batch is below `readable`.
    public func position(ofOffset target: Int64, readable: Int) throws -> Int? {
        let data = bytes(upTo: readable)
        // Fast path: when batches are indexed densely, the first entry at or after the target
        // points straight at the batch holding it (one header read instead of two).
        if target > baseOffset, let up = offsetIndex.ceiling(target), up.position < readable,
           case .batch(let b) = try RecordBatchView.probe(data, at: up.position, file: logPath),
           b.header.baseOffset <= target, b.header.lastOffset >= target {
            return up.position
        }
        let hint = target <= baseOffset ? (offset: baseOffset, position: 0) : offsetIndex.lookup(target)
        var pos = hint.position
        while pos < readable {
            guard case .batch(let b) = try RecordBatchView.probe(data, at: pos, file: logPath) else { return nil }
            if b.header.lastOffset >= target { return pos }
            pos += b.header.sizeInBytes
        }
        return nil
    }

    /// The first offset whose batch's maxTimestamp is ≥ `timestamp`, as (position, batch);
    /// the caller then finds the first record with timestamp ≥ `timestamp` in it.
    public func position(ofTimestamp timestamp: Int64, readable: Int) throws -> Int? {
        let hint = timeIndex.lookup(timestamp)
        var pos = try position(ofOffset: hint.offset, readable: readable) ?? readable
        let data = bytes(upTo: readable)
        while pos < readable {
            guard case .batch(let b) = try RecordBatchView.probe(data, at: pos, file: logPath) else { return nil }
            if b.header.maxTimestamp >= timestamp { return pos }
            pos += b.header.sizeInBytes
        }
        return nil
    }

    /// Closes the descriptors; the mapping stays readable for cursors that hold the segment.
    func closeFiles() {
        logFile.close()
        offsetIndex.close()
        timeIndex.close()
    }

    /// Deletes the segment's files.
    func deleteFiles() throws {
        closeFiles()
        try FileSystem.remove(logPath)
        try FileSystem.remove(indexPath)
        try FileSystem.remove(timeIndexPath)
        try FileSystem.remove(directory + "/" + Self.fileName(baseOffset, TransactionIndex.suffix))
    }
}

/// Milliseconds since the Unix epoch.
public func currentTimeMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
