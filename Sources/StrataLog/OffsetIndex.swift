import StrataIO

/// A segment's `.index` file (see Formats/log-segment.md): sparse 8-byte entries
/// `(relativeOffset: Int32, position: Int32)`, big-endian, ascending in both fields. An entry
/// maps the last offset of a batch to the byte position where that batch starts.
final class OffsetIndex: SparseIndex, @unchecked Sendable {
    static let entrySize = 8

    init(path: String, baseOffset: Int64, maxBytes: Int, writable: Bool) throws {
        try super.init(path: path, baseOffset: baseOffset, entrySize: Self.entrySize, offsetField: 0, maxBytes: maxBytes, writable: writable)
    }

    var isFull: Bool { storage.isFull }

    /// Entry `i` as (absolute offset, position).
    func entry(_ i: Int) -> (offset: Int64, position: Int) {
        let p = storage.entry(i)
        return (baseOffset + Int64(p.loadBE(at: 0, as: Int32.self)), Int(p.loadBE(at: 4, as: Int32.self)))
    }

    var lastEntry: (offset: Int64, position: Int)? { count == 0 ? nil : entry(count - 1) }

    /// Appends an entry; `offset` must be above the last entry's and representable relative to
    /// the base offset (the segment rolls before that stops being true).
    func append(offset: Int64, position: Int) {
        let rel = Int32(offset - baseOffset)
        let pos = Int32(position)
        storage.append { p in
            p.storeBE(rel, at: 0)
            p.storeBE(pos, at: 4)
        }
    }

    /// The entry with the largest offset ≤ `target`; `(baseOffset, 0)` when there is none.
    /// Scanning the log from the returned position finds `target`.
    func lookup(_ target: Int64) -> (offset: Int64, position: Int) {
        let rel = target - baseOffset
        guard let i = storage.largestLowerBound(rel, key: { Int64($0.loadBE(at: 0, as: Int32.self)) }) else {
            return (baseOffset, 0)
        }
        return entry(i)
    }

    /// The entry with the smallest offset ≥ `target`, if any: the batch it points at ends at
    /// or after `target`, and holds it when its base offset is ≤ `target`.
    func ceiling(_ target: Int64) -> (offset: Int64, position: Int)? {
        let rel = target - baseOffset
        let i = storage.largestLowerBound(rel - 1, key: { Int64($0.loadBE(at: 0, as: Int32.self)) }).map { $0 + 1 } ?? 0
        return i < count ? entry(i) : nil
    }

    /// Checks the entries: ascending offsets and positions, offsets above the base and
    /// positions within `logSize`. Returns a description of the first problem, or nil.
    func inconsistency(logSize: Int) -> String? {
        var lastOffset = Int64.min
        var lastPosition = -1
        for i in 0 ..< count {
            let e = entry(i)
            if e.offset < baseOffset { return "entry \(i) has offset \(e.offset) below the base offset \(baseOffset)" }
            if e.offset <= lastOffset && i > 0 { return "entry \(i) offset \(e.offset) is not above the previous \(lastOffset)" }
            if e.position <= lastPosition && i > 0 { return "entry \(i) position \(e.position) is not above the previous \(lastPosition)" }
            if e.position >= logSize { return "entry \(i) position \(e.position) is past the log's end (\(logSize) bytes)" }
            lastOffset = e.offset
            lastPosition = e.position
        }
        return nil
    }
}
