import StrataIO

/// Reads records in offset order from a `Log`, lock-free over mapped segments, up to the high
/// watermark. Each returned `RecordView` is valid until the next call. Batches are
/// CRC-checked as they are entered (like a Kafka consumer with `check.crcs=true`).
///
/// A cursor is used by one thread at a time (it owns decompression buffers).
public final class LogCursor {
    public let log: Log
    private var snapshot: Log.Snapshot
    private var segmentIndex = 0
    private var position = 0
    private var iterator: BatchRecordIterator?
    /// The offset the next record returned will have at least.
    public private(set) var nextOffset: Int64 = 0
    private let codecs: Codecs
    private let buffer = ByteWriter(capacity: 64 << 10)
    /// Verify batch CRCs on read (default true).
    public var verifyChecksums = true
    /// Return the records of control batches (transaction markers, leader-change records).
    /// Kafka consumers never see them; neither do cursors by default.
    public var includeControlBatches = false

    init(log: Log) {
        self.log = log
        snapshot = log.snapshot()
        codecs = Codecs(maxDecompressedBytes: log.config.maxDecompressedBytes)
    }

    /// Moves to `offset`. Throws `offsetOutOfRange` unless `logStartOffset ≤ offset ≤ highWatermark`.
    public func seek(to offset: Int64) throws {
        // The snapshot stays valid (segments only grow or are added); refresh it only when the
        // target lies beyond what it shows.
        if offset > snapshot.highWatermark || offset < snapshot.logStartOffset { snapshot = log.snapshot() }
        if offset < snapshot.logStartOffset || offset > snapshot.highWatermark {
            throw StrataError.offsetOutOfRange(requested: offset, logStart: snapshot.logStartOffset, logEnd: snapshot.highWatermark)
        }
        iterator = nil
        nextOffset = offset
        // Largest segment base offset ≤ offset.
        var lo = 0
        var hi = snapshot.segments.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if snapshot.segments[mid].baseOffset <= offset { lo = mid } else { hi = mid - 1 }
        }
        segmentIndex = lo
        let segment = snapshot.segments[lo]
        let readable = snapshot.readable(lo)
        position = try segment.position(ofOffset: offset, readable: readable) ?? readable
    }

    /// The high watermark this cursor last saw.
    public var highWatermark: Int64 { snapshot.highWatermark }

    /// The next record, or nil when the cursor has reached the high watermark (call again
    /// later to see new appends).
    public func next() throws -> RecordView? {
        while true {
            if iterator != nil {
                if let r = try iterator!.next() {
                    if r.offset < nextOffset { continue }
                    nextOffset = r.offset + 1
                    return r
                }
                iterator = nil
            }
            let segment = snapshot.segments[segmentIndex]
            let readable = snapshot.readable(segmentIndex)
            if position >= readable {
                if segmentIndex < snapshot.segments.count - 1 {
                    segmentIndex += 1
                    position = 0
                    continue
                }
                // At the published end: look for new data.
                let fresh = log.snapshot()
                if fresh.highWatermark == snapshot.highWatermark && fresh.segments.count == snapshot.segments.count
                    && fresh.activeReadableSize == snapshot.activeReadableSize {
                    return nil
                }
                snapshot = fresh
                continue
            }
            let data = segment.bytes(upTo: readable)
            switch try RecordBatchView.probe(data, at: position, file: segment.logPath) {
            case .truncated:
                return nil
            case let .batch(b):
                position += b.header.sizeInBytes
                if b.header.lastOffset < nextOffset { continue }
                if b.header.isControl && !includeControlBatches {
                    nextOffset = b.header.nextOffset
                    continue
                }
                if verifyChecksums { try b.validateChecksum(file: segment.logPath) }
                iterator = try BatchRecordIterator(batch: b, codecs: codecs, buffer: buffer, file: segment.logPath)
                if nextOffset > b.header.baseOffset { try iterator!.skip(toOffset: nextOffset) }
            }
        }
    }

    /// The next whole batch (header and raw bytes, zero-copy), skipping batches entirely below
    /// `nextOffset`; nil at the high watermark. Moves the cursor past it.
    public func nextBatch() throws -> RecordBatchView? {
        iterator = nil
        while true {
            let segment = snapshot.segments[segmentIndex]
            let readable = snapshot.readable(segmentIndex)
            if position >= readable {
                if segmentIndex < snapshot.segments.count - 1 {
                    segmentIndex += 1
                    position = 0
                    continue
                }
                let fresh = log.snapshot()
                if fresh.highWatermark == snapshot.highWatermark && fresh.segments.count == snapshot.segments.count
                    && fresh.activeReadableSize == snapshot.activeReadableSize { return nil }
                snapshot = fresh
                continue
            }
            switch try RecordBatchView.probe(segment.bytes(upTo: readable), at: position, file: segment.logPath) {
            case .truncated: return nil
            case let .batch(b):
                position += b.header.sizeInBytes
                if b.header.lastOffset < nextOffset { continue }
                nextOffset = b.header.nextOffset
                return b
            }
        }
    }
}
