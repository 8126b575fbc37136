import StrataIO

/// Reads records in offset order from a `Log`, lock-free over mapped segments, up to the high
/// watermark. Each returned `RecordView` is valid until the next call. Batches are
/// CRC-checked as they are entered (like a Kafka consumer with `check.crcs=true`).
///
/// A cursor is used by one thread at a time (it owns decompression buffers). Its position
/// lives behind a pointer so the per-record path pays no dynamic exclusivity checks.
public final class LogCursor {
    public let log: Log

    struct State {
        var snapshot: Log.Snapshot
        var segmentIndex = 0
        var position = 0
        var iterator: BatchRecordIterator?
        var nextOffset: Int64 = 0
        /// The encoded headers of the record `next()` returned last.
        var lastHeaders = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    private let state: UnsafeMutablePointer<State>
    private let codecs: Codecs
    private let buffer = ByteWriter(capacity: 64 << 10)
    /// Verify batch CRCs on read (default true).
    @exclusivity(unchecked) public var verifyChecksums = true
    /// Return the records of control batches (transaction markers, leader-change records).
    /// Kafka consumers never see them; neither do cursors by default.
    @exclusivity(unchecked) public var includeControlBatches = false

    init(log: Log) {
        self.log = log
        state = .allocate(capacity: 1)
        state.initialize(to: State(snapshot: log.snapshot()))
        codecs = Codecs(maxDecompressedBytes: log.config.maxDecompressedBytes)
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// The encoded headers of the record `next()` returned last (valid as long as that
    /// record is): for callers that keep only the record's position, like the C API.
    public var lastHeaderBytes: UnsafeRawBufferPointer { state.pointee.lastHeaders }

    /// The offset the next record returned will have at least.
    public var nextOffset: Int64 { state.pointee.nextOffset }

    /// The high watermark this cursor last saw.
    public var highWatermark: Int64 { state.pointee.snapshot.highWatermark }

    /// Moves to `offset`. Throws `offsetOutOfRange` unless `logStartOffset ≤ offset ≤ highWatermark`.
    public func seek(to offset: Int64) throws {
        let s = state
        // The snapshot stays valid (segments only grow or are added); refresh it only when the
        // target lies beyond what it shows.
        if offset > s.pointee.snapshot.highWatermark || offset < s.pointee.snapshot.logStartOffset { s.pointee.snapshot = log.snapshot() }
        let snap = s.pointee.snapshot
        if offset < snap.logStartOffset || offset > snap.highWatermark {
            throw StrataError.offsetOutOfRange(requested: offset, logStart: snap.logStartOffset, logEnd: snap.highWatermark)
        }
        s.pointee.iterator = nil
        s.pointee.nextOffset = offset
        // Largest segment base offset ≤ offset.
        var lo = 0
        var hi = snap.segments.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if snap.segments[mid].baseOffset <= offset { lo = mid } else { hi = mid - 1 }
        }
        s.pointee.segmentIndex = lo
        let readable = snap.readable(lo)
        s.pointee.position = try snap.segments[lo].position(ofOffset: offset, readable: readable) ?? readable
    }

    /// Moves to the next segment, or refreshes the snapshot at the end. Returns false when
    /// there is nothing new. Retention may have removed segments from the front meanwhile, so
    /// the current segment is found again by identity in the fresh snapshot.
    private func advanceSegment() throws -> Bool {
        let s = state
        if s.pointee.segmentIndex < s.pointee.snapshot.segments.count - 1 {
            s.pointee.segmentIndex += 1
            s.pointee.position = 0
            return true
        }
        let fresh = log.snapshot()
        let old = s.pointee.snapshot
        if fresh.highWatermark == old.highWatermark && fresh.segments.count == old.segments.count
            && fresh.activeReadableSize == old.activeReadableSize && fresh.logStartOffset == old.logStartOffset {
            return false
        }
        let current = old.segments[s.pointee.segmentIndex]
        s.pointee.snapshot = fresh
        if let i = fresh.segments.firstIndex(where: { $0 === current }) {
            s.pointee.segmentIndex = i
            return true
        }
        // The segment this cursor finished was deleted; continue from the next offset.
        try seek(to: s.pointee.nextOffset)
        return true
    }

    /// The next record, or nil when the cursor has reached the high watermark (call again
    /// later to see new appends).
    public func next() throws -> RecordView? {
        let s = state
        while true {
            if s.pointee.iterator != nil {
                if let r = try s.pointee.iterator!.next() {
                    if r.offset < s.pointee.nextOffset { continue }
                    s.pointee.nextOffset = r.offset + 1
                    s.pointee.lastHeaders = r.headerBytes
                    return r
                }
                s.pointee.iterator = nil
            }
            guard let b = try nextBatchView() else { return nil }
            if b.header.isControl && !includeControlBatches {
                s.pointee.nextOffset = b.header.nextOffset
                continue
            }
            if verifyChecksums { try b.validateChecksum(file: s.pointee.snapshot.segments[s.pointee.segmentIndex].logPath) }
            s.pointee.iterator = try BatchRecordIterator(batch: b, codecs: codecs, buffer: buffer,
                                                         file: s.pointee.snapshot.segments[s.pointee.segmentIndex].logPath)
            if s.pointee.nextOffset > b.header.baseOffset { try s.pointee.iterator!.skip(toOffset: s.pointee.nextOffset) }
        }
    }

    /// The next batch not entirely below `nextOffset`, moving past it; nil at the end.
    private func nextBatchView() throws -> RecordBatchView? {
        let s = state
        while true {
            let i = s.pointee.segmentIndex
            let readable = s.pointee.snapshot.readable(i)
            if s.pointee.position >= readable {
                if try !advanceSegment() { return nil }
                continue
            }
            let segment = s.pointee.snapshot.segments[i]
            switch try RecordBatchView.probe(segment.bytes(upTo: readable), at: s.pointee.position, file: segment.logPath) {
            case .truncated:
                return nil
            case let .batch(b):
                s.pointee.position += b.header.sizeInBytes
                if b.header.lastOffset < s.pointee.nextOffset { continue }
                return b
            }
        }
    }

    /// The next whole batch (header and raw bytes, zero-copy from the mapping), skipping
    /// batches entirely below `nextOffset`; nil at the high watermark. Moves the cursor past
    /// it. Control batches are included; CRCs are not checked (call `validateChecksum()`).
    public func nextBatch() throws -> RecordBatchView? {
        state.pointee.iterator = nil
        guard let b = try nextBatchView() else { return nil }
        state.pointee.nextOffset = b.header.nextOffset
        return b
    }
}
