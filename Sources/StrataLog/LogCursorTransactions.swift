import StrataIO

/// A producer's transaction as a read_committed cursor decided it: its data batches lie in
/// `first...last` (`last` is the marker's offset).
struct DecidedTransaction {
    var first: Int64
    var last: Int64
    var aborted: Bool
}

enum TransactionOutcome { case committed, aborted, open }

/// Transaction marker types (the control record key's `type`).
enum ControlRecordType: Int16 {
    case abort = 0
    case commit = 1

    /// The type of the marker in control batch `b`, after checking its CRC; `corrupt` when
    /// its first record is not an ABORT or COMMIT marker.
    static func marker(in b: RecordBatchView, codecs: Codecs, file: String) throws -> ControlRecordType {
        try b.validateChecksum(file: file)
        var it = try BatchRecordIterator(batch: b, codecs: codecs, buffer: ByteWriter(capacity: 64), file: file)
        guard let r = try it.next(), let key = r.key, key.count >= 4,
              let type = ControlRecordType(rawValue: Int16(bigEndian: key.loadUnaligned(fromByteOffset: 2, as: Int16.self))) else {
            throw StrataError.corrupt(file: file, position: b.position,
                                      reason: "control batch at offset \(b.header.baseOffset) of transactional producer \(b.header.producerId) holds no ABORT or COMMIT marker")
        }
        return type
    }
}

extension LogCursor {
    /// Whether the transaction holding `batch` (a transactional data batch this cursor just
    /// passed) committed, aborted, or is still open (Formats/transactions.md §3).
    func transactionOutcome(of batch: RecordBatchView) throws -> TransactionOutcome {
        let producer = batch.header.producerId
        let at = batch.header.baseOffset
        if let d = state.pointee.decided[producer], d.first <= at, at <= d.last { return d.aborted ? .aborted : .committed }
        let snap = log.snapshot()
        let start = Self.segmentIndex(containing: at, in: snap)
        // The .txnindex shortcut: an entry counts only once its ABORT marker is found.
        for i in start ..< snap.segments.count {
            for e in snap.segments[i].abortedTransactions where e.producerId == producer && e.firstOffset <= at && at <= e.lastOffset {
                if let (offset, type) = try marker(of: producer, from: e.lastOffset, in: snap, exactly: true), offset == e.lastOffset, type == .abort {
                    state.pointee.decided[producer] = DecidedTransaction(first: e.firstOffset, last: offset, aborted: true)
                    return .aborted
                }
            }
        }
        guard let (offset, type) = try marker(of: producer, from: at, in: snap, exactly: false) else {
            state.pointee.stoppedBelow = snap.highWatermark
            return .open
        }
        state.pointee.stoppedBelow = nil
        state.pointee.decided[producer] = DecidedTransaction(first: at, last: offset, aborted: type == .abort)
        return type == .abort ? .aborted : .committed
    }

    /// The first control batch of `producer` at or after offset `from` (only the batch holding
    /// `from` when `exactly`), with its marker type; nil when the readable log ends first.
    private func marker(of producer: Int64, from: Int64, in snap: Log.Snapshot, exactly: Bool) throws -> (Int64, ControlRecordType)? {
        var i = Self.segmentIndex(containing: from, in: snap)
        guard i < snap.segments.count else { return nil }
        let first = snap.segments[i]
        guard var pos = try first.position(ofOffset: from, readable: snap.readable(i)) else {
            if exactly { return nil }
            i += 1
            return try scan(producer: producer, segment: i, position: 0, in: snap)
        }
        if exactly {
            let data = first.bytes(upTo: snap.readable(i))
            while case .batch(let b) = try RecordBatchView.probe(data, at: pos, file: first.logPath) {
                if b.header.lastOffset >= from {
                    guard b.header.baseOffset <= from, b.header.isControl, b.header.producerId == producer else { return nil }
                    return (b.header.baseOffset, try markerType(of: b, file: first.logPath))
                }
                pos += b.header.sizeInBytes
            }
            return nil
        }
        return try scan(producer: producer, segment: i, position: pos, in: snap)
    }

    /// Reads batch headers from `position` of segment `index` on for `producer`'s next marker.
    private func scan(producer: Int64, segment index: Int, position: Int, in snap: Log.Snapshot) throws -> (Int64, ControlRecordType)? {
        var pos = position
        for i in index ..< snap.segments.count {
            let segment = snap.segments[i]
            let data = segment.bytes(upTo: snap.readable(i))
            while case .batch(let b) = try RecordBatchView.probe(data, at: pos, file: segment.logPath) {
                if b.header.isControl && b.header.producerId == producer {
                    return (b.header.baseOffset, try markerType(of: b, file: segment.logPath))
                }
                pos += b.header.sizeInBytes
            }
            pos = 0
        }
        return nil
    }

    private func markerType(of b: RecordBatchView, file: String) throws -> ControlRecordType {
        try ControlRecordType.marker(in: b, codecs: codecs, file: file)
    }

    /// The index of the segment holding `offset`: the last whose base offset is ≤ it.
    static func segmentIndex(containing offset: Int64, in snap: Log.Snapshot) -> Int {
        var lo = 0
        var hi = snap.segments.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if snap.segments[mid].baseOffset <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
}
