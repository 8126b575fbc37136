import StrataIO

/// One committed or refreshed segment opened for reading: an `IndexSegment` per inverted field
/// and the doc-value file. Immutable and shared by every searcher that sees the segment; the
/// mappings stay valid after the files are deleted by a merge until the last searcher lets go.
final class SegmentReader: @unchecked Sendable {
    let number: UInt32
    let name: String
    let documentCount: Int
    /// Inverted files by field number (nil: no document of the segment has the field).
    let inverted: [IndexSegment?]
    /// The field numbers with an inverted file.
    let invertedFields: [Int]
    let docValues: DocValues

    /// Files up to this size have their whole-file CRC checked when a segment opens; larger
    /// ones when it is merged or `verifyIntegrity()` runs, so opening costs O(1) in data size.
    static let checksumOnOpenBytes = 256 << 10

    init(directory: String, number: UInt32, documentCount: Int, invertedFields: [Int]) throws {
        self.number = number
        name = Manifest.segmentName(number)
        self.documentCount = documentCount
        var inverted = [IndexSegment?](repeating: nil, count: (invertedFields.max() ?? -1) + 1)
        self.invertedFields = invertedFields.sorted()
        for f in invertedFields {
            let s = try IndexSegment(path: directory + "/" + SearchIndexFiles.inverted(name, field: f), checksumUpTo: Self.checksumOnOpenBytes)
            guard s.documentCount == documentCount else {
                throw StrataError.corrupt(file: s.path, position: 0, reason: "index segment has \(s.documentCount) documents, the manifest says \(documentCount)")
            }
            inverted[f] = s
        }
        self.inverted = inverted
        docValues = try DocValues(path: directory + "/" + SearchIndexFiles.docValues(name), expectedDocuments: documentCount,
                                  checksumUpTo: Self.checksumOnOpenBytes)
    }

    /// Checks every file's whole-file CRC (`corrupt` naming the file).
    func verifyIntegrity() throws {
        for f in invertedFields { try inverted[f]?.verifyChecksum() }
        try docValues.verifyChecksum()
    }

    /// The inverted file of `field`, or nil when no document of the segment has it.
    @inline(__always) func invertedField(_ field: Int) -> IndexSegment? { field < inverted.count ? inverted[field] : nil }

    private let sortLock = Lock()
    private var sortedBy: [[Int]: Bool] = [:]

    /// Whether the documents are in ascending order of `fields` (integer or timestamp values
    /// compared in turn, a missing value first) — what an index sort writes. Checked once per
    /// field list (a pass over the columns) and remembered.
    func isSorted(by fields: [Int]) -> Bool {
        if let known = sortLock.withLock({ sortedBy[fields] }) { return known }
        let columns = fields.map { docValues.numericColumn($0) }
        // One integer or timestamp field: the column's statistics say (no pass).
        if fields.count == 1, let c = columns[0], c.type != .f64 { return c.ascending }
        var sorted = !fields.isEmpty
        if sorted {
            @inline(__always) func value(_ k: Int, _ d: Int) -> Int64 {
                guard let c = columns[k], c.has(d), c.type != .f64 else { return .min }
                return c.bits(d)
            }
            outer: for d in 1 ..< max(1, documentCount) {
                for k in columns.indices {
                    let a = value(k, d - 1), b = value(k, d)
                    if a < b { continue outer }
                    if a > b { sorted = false; break outer }
                }
            }
        }
        sortLock.withLock { sortedBy[fields] = sorted }
        return sorted
    }

    private var zoneMaps: [Int: ZoneMap] = [:]

    /// The zone map of integer or timestamp `field` (built on first use and kept), nil
    /// without a column.
    func zoneMap(_ field: Int) -> ZoneMap? {
        if let known = sortLock.withLock({ zoneMaps[field] }) { return known }
        guard let column = docValues.numericColumn(field), column.type != .f64 else { return nil }
        let map = ZoneMap(column)
        sortLock.withLock { zoneMaps[field] = map }
        return map
    }

    /// Sum of the files' sizes.
    func sizeOnDisk(directory: String) -> Int64 {
        var total = FileSystem.fileSize(docValues.path) ?? 0
        for case let s? in inverted { total += FileSystem.fileSize(s.path) ?? 0 }
        return total
    }
}
