#if canImport(Glibc)
import Glibc
#endif
import Logging
import StrataIO

/// What one compaction pass did.
public struct CompactionResult: Sendable, Equatable {
    /// Segments rewritten (base offsets); segments with nothing to drop are left alone.
    public var cleanedSegments: [Int64] = []
    public var bytesBefore = 0
    public var bytesAfter = 0
    public var recordsRead = 0
    public var recordsKept = 0
    /// Tombstones dropped because their delete horizon had passed.
    public var tombstonesRemoved = 0
    /// Offsets below this were considered (the active segment's base offset).
    public var cleanedUpTo: Int64 = 0
}

extension Log {
    /// The fraction of the closed segments' bytes at or above the cleaner checkpoint.
    public var dirtyRatio: Double {
        let snap = snapshot()
        let closed = snap.segments.dropLast()
        let total = closed.reduce(0) { $0 + $1.size }
        guard total > 0 else { return 0 }
        let checkpoint = cleanerCheckpoint
        let dirty = closed.filter { $0.nextOffset > checkpoint }.reduce(0) { $0 + $1.size }
        return Double(dirty) / Double(total)
    }

    /// Compacts when the policy is `compact` and the dirty ratio reached
    /// `config.minCleanableDirtyRatio` (the scheduled path).
    public func compactIfDirty(now: Int64 = currentTimeMillis()) throws {
        guard config.cleanupPolicy == .compact, dirtyRatio >= config.minCleanableDirtyRatio, dirtyRatio > 0 else { return }
        try compact(now: now)
    }

    /// Key-based compaction with Kafka's log-cleaner semantics (Formats/compaction.md): over
    /// the closed segments, keep only the latest record of every key; offsets never change;
    /// a tombstone (null value) is kept until `deleteRetentionMs` after the first cleaning
    /// that saw it (the batch's delete horizon), then dropped. Records without a key, control
    /// batches and the active segment are left alone. Appends and reads go on meanwhile; each
    /// rewritten segment replaces the old one atomically (`.cleaned` → `.swap` → `.log`).
    @discardableResult
    public func compact(now: Int64 = currentTimeMillis()) throws -> CompactionResult {
        try cleanLock.withLock {
            if isReadOnly { throw StrataError.readOnly("the log at \(directory)") }
            let snap = snapshot()
            let closedSegments = Array(snap.segments.dropLast())
            var result = CompactionResult(cleanedUpTo: snap.segments.last!.baseOffset)
            guard !closedSegments.isEmpty else { return result }
            let codecs = Codecs(maxDecompressedBytes: config.maxDecompressedBytes)
            let buffer = ByteWriter(capacity: 64 << 10)

            // Pass 1: the latest offset of every key in the closed segments, keyed by a 128-bit
            // digest of the key (like Kafka's cleaner, which keys its map by MD5).
            var latest: [KeyDigest: Int64] = [:]
            for segment in closedSegments {
                try forEachBatch(segment, readable: segment.size) { batch in
                    if batch.header.isControl { return }
                    var it = try BatchRecordIterator(batch: batch, codecs: codecs, buffer: buffer, file: segment.logPath)
                    while let r = try it.next() {
                        if let k = r.key { latest[KeyDigest(k)] = r.offset }
                    }
                }
            }

            // Pass 2: rewrite each segment that loses something.
            let builder = RecordBatchBuilder(codecs: codecs)
            var keep: [RecordView] = []
            for segment in closedSegments {
                builder.reset()
                var changed = false
                var read = 0, kept = 0, removedTombstones = 0
                try forEachBatch(segment, readable: segment.size) { batch in
                    if batch.header.isControl {
                        try copyVerbatim(batch, into: builder)
                        return
                    }
                    let horizonPassed = batch.header.hasDeleteHorizon && now >= batch.header.baseTimestamp
                    var it = try BatchRecordIterator(batch: batch, codecs: codecs, buffer: buffer, file: segment.logPath)
                    keep.removeAll(keepingCapacity: true)
                    var total = 0
                    var needsHorizon = false
                    while let r = try it.next() {
                        total += 1
                        guard let k = r.key else { keep.append(r); continue }
                        if latest[KeyDigest(k)] != r.offset { continue } // superseded
                        if r.value == nil {
                            if horizonPassed { removedTombstones += 1; continue }
                            if !batch.header.hasDeleteHorizon { needsHorizon = true }
                        }
                        keep.append(r)
                    }
                    read += total
                    kept += keep.count
                    if keep.count == total && !needsHorizon {
                        try copyVerbatim(batch, into: builder)
                        return
                    }
                    changed = true
                    if keep.isEmpty { return }
                    let base = needsHorizon ? now + config.deleteRetentionMs
                        : (batch.header.hasDeleteHorizon ? batch.header.baseTimestamp : keep[0].timestamp)
                    builder.beginRewrite(of: batch.header, baseTimestamp: base, deleteHorizon: needsHorizon || batch.header.hasDeleteHorizon)
                    for r in keep { builder.addKept(r) }
                    try builder.finish()
                }
                result.recordsRead += read
                result.recordsKept += kept
                result.tombstonesRemoved += removedTombstones
                guard changed else { continue }
                if try swapIn(segment, with: builder.output.bytes) {
                    result.cleanedSegments.append(segment.baseOffset)
                    result.bytesBefore += segment.size
                    result.bytesAfter += builder.output.count
                }
            }
            cleanerCheckpoint = result.cleanedUpTo
            if !result.cleanedSegments.isEmpty {
                logger.info("compacted \(directory): \(result.cleanedSegments.count) segment(s), \(result.bytesBefore) → \(result.bytesAfter) bytes, kept \(result.recordsKept) of \(result.recordsRead) records")
            }
            return result
        }
    }

    private func forEachBatch(_ segment: LogSegment, readable: Int, _ body: (RecordBatchView) throws -> Void) throws {
        let data = segment.bytes(upTo: readable)
        var pos = 0
        while pos < readable {
            guard case .batch(let b) = try RecordBatchView.probe(data, at: pos, file: segment.logPath) else {
                throw StrataError.corrupt(file: segment.logPath, position: Int64(pos), reason: "truncated batch in a closed segment")
            }
            try b.validateChecksum(file: segment.logPath)
            try body(b)
            pos += b.header.sizeInBytes
        }
    }

    private func copyVerbatim(_ batch: RecordBatchView, into builder: RecordBatchBuilder) throws {
        builder.output.append(batch.bytes)
    }

    /// Replaces `old` with a segment holding `bytes`, crash-safely: write `<base>.log.cleaned`
    /// and fsync, rename to `.log.swap`, then (under the write lock) drop the old indexes,
    /// rename the swap file over the `.log`, and open the new segment (indexes rebuilt). An
    /// interrupted swap is completed by the next open. Returns false when retention removed
    /// the segment meanwhile.
    private func swapIn(_ old: LogSegment, with bytes: UnsafeRawBufferPointer) throws -> Bool {
        let cleaned = old.logPath + ".cleaned"
        let swap = old.logPath + ".swap"
        let file = try DataFile(path: cleaned, flags: O_WRONLY | O_CREAT | O_TRUNC)
        if bytes.count > 0 { try file.write(bytes, at: 0) }
        try file.sync()
        file.close()
        try FileSystem.rename(cleaned, swap)
        try FileSystem.syncDirectory(directory)
        return try writeLock.withLock {
            guard let index = stateLock.withLock({ segments.firstIndex { $0 === old } }), index < stateLock.withLock({ segments.count - 1 }) else {
                try FileSystem.remove(swap)
                return false
            }
            old.closeFiles()
            try FileSystem.remove(old.indexPath)
            try FileSystem.remove(old.timeIndexPath)
            try FileSystem.rename(swap, old.logPath)
            try FileSystem.syncDirectory(directory)
            let (fresh, _) = try LogSegment.open(directory: directory, baseOffset: old.baseOffset, config: config, writable: true)
            try fresh.onBecomeInactive()
            try fresh.flush()
            stateLock.withLock { segments[index] = fresh }
            return true
        }
    }
}

/// A 128-bit digest of a record key: two 64-bit SipHash values (the process's seed, with
/// different prefixes fed first). Two distinct keys collide in both with negligible chance
/// for any realistic key count; the map lives only for one compaction pass.
struct KeyDigest: Hashable {
    let a: Int
    let b: Int

    @inline(__always)
    init(_ key: UnsafeRawBufferPointer) {
        var h1 = Hasher()
        h1.combine(key.count)
        h1.combine(bytes: key)
        var h2 = Hasher()
        h2.combine(0x5bd1_e995 as UInt32)
        h2.combine(bytes: key)
        a = h1.finalize()
        b = h2.finalize()
    }
}
