import StrataIO

/// A segment's `.timeindex` file (see Formats/log-segment.md): sparse 12-byte entries
/// `(timestamp: Int64, relativeOffset: Int32)`, big-endian. An entry says "the largest
/// timestamp seen up to and including this offset is `timestamp`"; timestamps strictly increase
/// from entry to entry.
final class TimeIndex: SparseIndex, @unchecked Sendable {
    static let entrySize = 12

    init(path: String, baseOffset: Int64, maxBytes: Int, writable: Bool) throws {
        try super.init(path: path, baseOffset: baseOffset, entrySize: Self.entrySize, offsetField: 8, maxBytes: maxBytes, writable: writable)
    }

    /// Full one entry early: the last slot is kept for the final entry written on roll/close.
    var isFull: Bool { storage.count >= storage.maxEntries - 1 }

    func entry(_ i: Int) -> (timestamp: Int64, offset: Int64) {
        let p = storage.entry(i)
        return (p.loadBE(at: 0, as: Int64.self), baseOffset + Int64(p.loadBE(at: 8, as: Int32.self)))
    }

    var lastEntry: (timestamp: Int64, offset: Int64)? { count == 0 ? nil : entry(count - 1) }

    /// Appends `(timestamp, offset)` only if `timestamp` is above the last entry's (Kafka's
    /// `maybeAppend`); `force` ignores a full index (the final entry written on roll/close).
    func maybeAppend(timestamp: Int64, offset: Int64, force: Bool = false) {
        // An empty index behaves as if its last entry were (-1, baseOffset): timestamps ≤ -1
        // (batches without timestamps) are never indexed.
        if timestamp <= (lastEntry?.timestamp ?? -1) { return }
        if storage.isFull || (!force && isFull) { return }
        let rel = Int32(offset - baseOffset)
        storage.append { p in
            p.storeBE(timestamp, at: 0)
            p.storeBE(rel, at: 8)
        }
    }

    /// The entry with the largest timestamp ≤ `timestamp`; `(-1, baseOffset)` when none.
    func lookup(_ timestamp: Int64) -> (timestamp: Int64, offset: Int64) {
        guard let i = storage.largestLowerBound(timestamp, key: { $0.loadBE(at: 0, as: Int64.self) }) else {
            return (-1, baseOffset)
        }
        return entry(i)
    }

    /// Checks ascending timestamps and offsets within `[baseOffset, nextOffset)`.
    func inconsistency(nextOffset: Int64) -> String? {
        var last: (timestamp: Int64, offset: Int64)?
        for i in 0 ..< count {
            let e = entry(i)
            if e.offset < baseOffset || e.offset >= max(nextOffset, baseOffset + 1) {
                return "entry \(i) offset \(e.offset) is outside the segment's offsets \(baseOffset)..<\(nextOffset)"
            }
            if let l = last, e.timestamp <= l.timestamp || e.offset < l.offset {
                return "entry \(i) (\(e.timestamp), \(e.offset)) does not follow (\(l.timestamp), \(l.offset))"
            }
            last = e
        }
        return nil
    }
}
