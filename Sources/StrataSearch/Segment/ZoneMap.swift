/// The smallest and largest value of an integer or timestamp column per zone of 256 documents,
/// built in one pass over the column the first time a range query needs it (kept by the
/// segment's reader; not stored). A range clause on a segment that is not sorted by its field —
/// log timestamps from interleaved sources are nearly sorted, not sorted — skips every zone whose
/// values all miss the range, so the cursors jump over those documents instead of checking each.
final class ZoneMap: Sendable {
    static let shift = 8
    /// Per zone: minimum and maximum present value (`Int64.max`, `Int64.min` for a zone without
    /// values, which no range matches).
    private let bounds: [(min: Int64, max: Int64)]

    init(_ column: DocValues.NumericColumn) {
        let zones = (column.count + (1 << Self.shift) - 1) >> Self.shift
        var bounds = [(min: Int64, max: Int64)](repeating: (.max, .min), count: zones)
        for d in 0 ..< column.count where column.has(d) {
            let v = column.bits(d), z = d >> Self.shift
            if v < bounds[z].min { bounds[z].min = v }
            if v > bounds[z].max { bounds[z].max = v }
        }
        self.bounds = bounds
    }

    /// The first document at or after `doc` whose zone may hold a value in `[lower, upper]`
    /// (`doc` itself when its zone may); `PostingsCursor.exhausted` when no later zone may.
    @inline(__always) func next(_ doc: UInt32, lower: Int64, upper: Int64) -> UInt32 {
        var z = Int(doc) >> Self.shift
        let first = z
        while z < bounds.count && (bounds[z].max < lower || bounds[z].min > upper) { z += 1 }
        if z == first { return doc }
        return z < bounds.count ? UInt32(z << Self.shift) : PostingsCursor.exhausted
    }
}
