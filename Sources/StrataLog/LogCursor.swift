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
        /// The error a record of the current batch failed with: reading resumes only after a
        /// seek (the iterator stopped inside a record, so what follows cannot be trusted).
        var failure: (any Error)?
        /// read_committed: each producer's latest transaction this cursor has decided.
        var decided: [Int64: DecidedTransaction] = [:]
        /// read_committed, stopped before an open transaction: the high watermark then (the
        /// marker, when it comes, lies beyond it).
        var stoppedBelow: Int64?
    }

    let state: UnsafeMutablePointer<State>
    let codecs: Codecs
    private let buffer = ByteWriter(capacity: 64 << 10)
    /// Verify batch CRCs on read (default true).
    @exclusivity(unchecked) public var verifyChecksums = true
    /// Return the records of control batches (transaction markers, leader-change records).
    /// Kafka consumers never see them; neither do cursors by default.
    @exclusivity(unchecked) public var includeControlBatches = false
    /// `.readUncommitted` (default) returns aborted transactions' records too; `.readCommitted`
    /// filters them and stops before an open transaction, as a Kafka consumer with
    /// `isolation.level=read_committed` does (Formats/transactions.md §3).
    @exclusivity(unchecked) public var isolation = IsolationLevel.readUncommitted

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

    /// The offset the next record returned will have at least.
    public var nextOffset: Int64 { state.pointee.nextOffset }

    /// New records must reach past this offset before this cursor can return more: its
    /// `nextOffset`, or — read_committed, stopped before an open transaction — the high
    /// watermark it saw there. What a tailing reader waits on.
    public var waitOffset: Int64 { max(state.pointee.nextOffset, state.pointee.stoppedBelow ?? 0) }

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
        s.pointee.failure = nil
        s.pointee.stoppedBelow = nil
        s.pointee.nextOffset = offset
        let lo = Self.segmentIndex(containing: offset, in: snap)
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
    /// A batch or record that fails its checksum or does not decode throws, and so does every
    /// later call until `seek(to:)`: the cursor never skips what it could not read.
    public func next() throws -> RecordView? {
        let s = state
        while true {
            if s.pointee.iterator != nil {
                if let r = try nextInBatch() {
                    if r.offset < s.pointee.nextOffset { continue }
                    s.pointee.nextOffset = r.offset + 1
                    return r
                }
                s.pointee.iterator = nil
            }
            if let failure = s.pointee.failure { throw failure }
            guard let b = try nextBatchView() else { return nil }
            if b.header.isControl && !includeControlBatches {
                s.pointee.nextOffset = b.header.nextOffset
                continue
            }
            if b.header.isTransactional && !b.header.isControl && isolation == .readCommitted {
                let outcome: TransactionOutcome
                do { outcome = try transactionOutcome(of: b) } catch { throw stayFailed(error) }
                switch outcome {
                case .committed: s.pointee.stoppedBelow = nil
                case .aborted:
                    s.pointee.nextOffset = b.header.nextOffset
                    continue
                case .open:
                    // The last stable offset: read this batch again once its marker is there.
                    s.pointee.position -= b.header.sizeInBytes
                    return nil
                }
            }
            do {
                if verifyChecksums { try b.validateChecksum(file: s.pointee.snapshot.segments[s.pointee.segmentIndex].logPath) }
                s.pointee.iterator = try BatchRecordIterator(batch: b, codecs: codecs, buffer: buffer,
                                                             file: s.pointee.snapshot.segments[s.pointee.segmentIndex].logPath)
                if s.pointee.nextOffset > b.header.baseOffset { try s.pointee.iterator!.skip(toOffset: s.pointee.nextOffset) }
            } catch {
                // The position already moved past this batch: stay failed rather than skip it.
                throw stayFailed(error)
            }
        }
    }

    /// Reads records into `out` (at most `out.count`, all of one batch, so compressed or not
    /// they stay valid together) and returns how many: 0 at the high watermark. The views are
    /// valid until the next call of a reading method. Costs less per record than `next()`
    /// for callers that hand records out one at a time across a boundary, like the C API.
    /// A record that fails to decode after the first is thrown by the next call.
    public func read(into out: UnsafeMutableBufferPointer<RecordView>) throws -> Int {
        guard let base = out.baseAddress, let first = try next() else { return 0 }
        // RecordView is trivial: plain stores initialize it.
        base.initialize(to: first)
        let s = state
        guard out.count > 1, s.pointee.iterator != nil else { return 1 }
        // The rest of the batch: its offsets rise past `first`'s (the iterator checks).
        let (more, error) = s.pointee.iterator!.read(into: UnsafeMutableBufferPointer(rebasing: out[1...]))
        if let error { _ = stayFailed(error) }
        if more > 0 { s.pointee.nextOffset = out[more].offset + 1 }
        return 1 + more
    }

    /// The next record of the current batch (nil after its last); a failure is kept for the
    /// calls that follow.
    @inline(__always)
    private func nextInBatch() throws -> RecordView? {
        do {
            return try state.pointee.iterator!.next()
        } catch {
            throw stayFailed(error)
        }
    }

    /// Records `error` as where this cursor stopped: every reading call throws it until a
    /// seek. Returns it, for the caller to throw.
    private func stayFailed(_ error: any Error) -> any Error {
        state.pointee.iterator = nil
        state.pointee.failure = error
        return error
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
