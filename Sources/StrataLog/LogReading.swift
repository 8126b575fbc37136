import StrataIO

extension Log {
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
