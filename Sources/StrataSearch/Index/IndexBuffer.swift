import StrataIO

/// The documents added since the last flush: one `MemoryIndex` per inverted field and one
/// column per numeric or keyword field, all with the same document numbering. A flush writes
/// it as an immutable segment (an inverted file per field and a doc-value file).
final class IndexBuffer {
    private(set) var documentCount = 0
    private(set) var inverted: [Int: MemoryIndex] = [:]
    private var numeric: [Int: (type: FieldType, present: [UInt64], values: [Int64])] = [:]
    /// Keyword doc values: per field, term ids of the field's MemoryIndex per document.
    private var keywordStarts: [Int: [UInt32]] = [:]
    private var keywordTerms: [Int: [Int32]] = [:]
    private var keywordFields: [Int] = []
    private var touched: [Int] = []
    private var baseBytes = 0

    /// Heap bytes held, measured from capacities (slow; calibration and tests).
    func measuredBytes() -> Int {
        var total = baseBytes
        for (_, m) in inverted { total += m.measuredBytes() }
        return total
    }

    /// Approximate heap bytes held.
    var estimatedBytes: Int {
        var total = baseBytes
        for (_, m) in inverted { total += m.estimatedBytes }
        return total
    }

    private func invertedIndex(_ field: Int, _ type: FieldType) -> MemoryIndex {
        if let m = inverted[field] { return m }
        let m = MemoryIndex(analyzer: Analyzer(type.analyzerKind), field: String(field))
        for _ in 0 ..< documentCount { m.endDocument() }
        inverted[field] = m
        if type == .keyword {
            keywordStarts[field] = [UInt32](repeating: 0, count: documentCount + 1)
            keywordTerms[field] = []
            keywordFields.append(field)
        }
        return m
    }

    /// Adds a text or keyword value to the current document.
    func addTerms(_ field: Int, _ type: FieldType, _ bytes: UnsafeRawBufferPointer) {
        let m = invertedIndex(field, type)
        if type == .keyword {
            guard bytes.count > 0, bytes.count <= 32766 else { return }
            m.addValue(bytes)
            if let id = m.terms.find(bytes) {
                keywordTerms[field]!.append(id)
                baseBytes += 4
            }
        } else {
            m.addValue(bytes)
        }
    }

    /// Sets a numeric value of the current document (the first value of a field wins).
    func setNumber(_ field: Int, _ type: FieldType, _ bits: Int64) {
        if numeric[field] == nil {
            numeric[field] = (type, [UInt64](repeating: 0, count: (documentCount + 64) / 64), [Int64](repeating: 0, count: documentCount))
        }
        let d = documentCount
        // Documents without the field since its last value leave gaps to fill (any length).
        while numeric[field]!.present.count <= d >> 6 { numeric[field]!.present.append(0); baseBytes += 8 }
        if numeric[field]!.values.count <= d {
            let gap = d + 1 - numeric[field]!.values.count
            numeric[field]!.values.append(contentsOf: repeatElement(0, count: gap))
            baseBytes += 8 * gap
        }
        if numeric[field]!.present[d >> 6] & (1 << UInt64(d & 63)) != 0 { return }
        numeric[field]!.present[d >> 6] |= 1 << UInt64(d & 63)
        numeric[field]!.values[d] = bits
    }

    /// Ends the current document.
    func endDocument() {
        for (_, m) in inverted { m.endDocument() }
        // Over the field numbers, not the dictionary: iterating it while changing its arrays
        // would copy every keyword array on every document.
        for f in keywordFields {
            // Sort and dedupe this document's keyword term ids by term bytes.
            let start = Int(keywordStarts[f]!.last!)
            if keywordTerms[f]!.count - start > 1 {
                let m = inverted[f]!
                var ids = Array(keywordTerms[f]![start...])
                ids.sort { SegmentFormat.precedes(m.terms.bytes($0), m.terms.bytes($1)) }
                var unique: [Int32] = []
                for id in ids where unique.last != id { unique.append(id) }
                keywordTerms[f]!.replaceSubrange(start..., with: unique)
            }
            keywordStarts[f]!.append(UInt32(keywordTerms[f]!.count))
            baseBytes += 4
        }
        documentCount += 1
    }

    /// Writes the buffer as segment `name` in `directory` (not fsync'd: the index syncs the
    /// files when a commit first names them); returns the inverted field numbers.
    func flush(directory: String, name: String) throws -> [Int] {
        var fields: [Int] = []
        for (f, m) in inverted.sorted(by: { $0.key < $1.key }) {
            try SegmentWriter.write(m, to: directory + "/" + SearchIndexFiles.inverted(name, field: f), durable: false)
            fields.append(f)
        }
        var columns: [DocValueColumn] = []
        for (f, c) in numeric.sorted(by: { $0.key < $1.key }) {
            var present = c.present, values = c.values
            present += [UInt64](repeating: 0, count: max(0, (documentCount + 63) / 64 - present.count))
            present.removeLast(max(0, present.count - (documentCount + 63) / 64))
            values += [Int64](repeating: 0, count: documentCount - values.count)
            columns.append(.numeric(field: f, type: c.type, present: present, values: values))
        }
        for (f, starts) in keywordStarts.sorted(by: { $0.key < $1.key }) {
            let m = inverted[f]!
            // Ordinals follow the byte order of the values.
            let ids = m.terms.sortedIDs()
            var ordOf = [UInt32](repeating: 0, count: ids.count)
            for (o, id) in ids.enumerated() { ordOf[Int(id)] = UInt32(o) }
            let ords = keywordTerms[f]!.map { ordOf[Int($0)] }
            columns.append(.keyword(field: f, values: ids.map { Array(m.terms.bytes($0)) }, docStarts: starts, ords: ords))
        }
        try FileSystem.writeAtomically(DocValues.encode(docCount: documentCount, columns: columns), to: directory + "/" + SearchIndexFiles.docValues(name), durable: false)
        return fields
    }
}

/// File names inside an index directory (Formats/search-index.md §1).
enum SearchIndexFiles {
    static func inverted(_ segment: String, field: Int) -> String { "\(segment).f\(field).inv" }
    static func docValues(_ segment: String) -> String { "\(segment).dv" }
    static func deletes(_ segment: String, generation: UInt32) -> String { "\(segment).d\(generation).del" }
    static let lock = "write.lock"
}
