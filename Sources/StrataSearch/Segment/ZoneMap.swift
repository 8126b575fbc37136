/// The smallest and largest value of an integer or timestamp column per zone of 256 documents,
/// built in one pass over the column the first time a range query needs it (kept by the
/// segment's reader; not stored). A range clause on a segment that is not sorted by its field —
/// log timestamps from interleaved sources are nearly sorted, not sorted — skips every zone whose
/// values all miss the range, so the cursors jump over those documents instead of checking each.
final class ZoneMap: @unchecked Sendable {
    static let shift = 8
    /// Per zone: minimum, maximum present value (`Int64.max`, `Int64.min` for a zone without
    /// values, which no range matches). Immutable once built.
    private let bounds: UnsafeMutablePointer<Int64>
    /// What queries read: the bounds without the object (no reference counting in the
    /// leapfrog). Valid while the map lives, which is as long as its segment reader.
    let view: View

    struct View {
        let bounds: UnsafePointer<Int64>
        let zones: Int

        /// The first document at or after `doc` whose zone may hold a value in `[lower, upper]`
        /// (`doc` itself when its zone may); `PostingsCursor.exhausted` when no later zone may.
        @inline(__always) func next(_ doc: UInt32, lower: Int64, upper: Int64) -> UInt32 {
            var z = Int(doc) >> ZoneMap.shift
            let first = z
            while z < zones && (bounds[2 * z + 1] < lower || bounds[2 * z] > upper) { z += 1 }
            if z == first { return doc }
            return z < zones ? UInt32(z << ZoneMap.shift) : PostingsCursor.exhausted
        }
    }

    init(_ column: DocValues.NumericColumn) {
        let zones = (column.count + (1 << Self.shift) - 1) >> Self.shift
        bounds = .allocate(capacity: max(1, 2 * zones))
        for z in 0 ..< zones { bounds[2 * z] = .max; bounds[2 * z + 1] = .min }
        for d in 0 ..< column.count where column.has(d) {
            let v = column.bits(d), z = d >> Self.shift
            if v < bounds[2 * z] { bounds[2 * z] = v }
            if v > bounds[2 * z + 1] { bounds[2 * z + 1] = v }
        }
        view = View(bounds: UnsafePointer(bounds), zones: zones)
    }

    deinit { bounds.deallocate() }
}
