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

    private func invertedIndex(_ field: Int, _ definition: FieldDefinition) -> MemoryIndex {
        if let m = inverted[field] { return m }
        let type = definition.type
        let m = MemoryIndex(analyzer: definition.makeAnalyzer(), field: String(field))
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
    func addTerms(_ field: Int, _ definition: FieldDefinition, _ bytes: UnsafeRawBufferPointer) {
        let type = definition.type
        let m = invertedIndex(field, definition)
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

    /// Adds a text value of the current document already analyzed (`InversionPipeline`'s
    /// token records from `tokens`); returns the address past them.
    func addAnalyzed(_ field: Int, _ definition: FieldDefinition, tokens: UnsafeRawPointer, count: Int) -> UnsafeRawPointer {
        invertedIndex(field, definition).addAnalyzed(tokens, count: count)
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

    /// The value of numeric field `f` for buffered document `d`, if set.
    func number(_ f: Int, _ d: Int) -> Int64? {
        guard let c = numeric[f], d < c.values.count, d >> 6 < c.present.count, c.present[d >> 6] & (1 << UInt64(d & 63)) != 0 else { return nil }
        return c.values[d]
    }

    /// The buffered documents holding `term` in field `f` (buffer numbering), if any.
    func documents(field f: Int, term: UnsafeRawBufferPointer) -> [UInt32]? {
        guard let m = inverted[f], let id = m.terms.find(term) else { return nil }
        return m.postings[Int(id)].docs
    }

    /// Writes the buffer as segment `name` in `directory` (not fsync'd: the index syncs the
    /// files when a commit first names them), its documents in `sort` order; returns the
    /// inverted field numbers and the renumbering (`newOf[buffer doc]`, nil: buffer order).
    func flush(directory: String, name: String, sort: IndexSort? = nil) throws -> (fields: [Int], newOf: [Int32]?) {
        var newOf: [Int32]?
        if let sort, !sort.fields.isEmpty {
            newOf = IndexSort.permutation(count: documentCount, keys: sort.fields.map { f in { self.number(f, $0) } })
        }
        var fields: [Int] = []
        for (f, m) in inverted.sorted(by: { $0.key < $1.key }) {
            try SegmentWriter.write(m, to: directory + "/" + SearchIndexFiles.inverted(name, field: f), durable: false, renumbering: newOf)
            fields.append(f)
        }
        var columns: [DocValueColumn] = []
        for (f, c) in numeric.sorted(by: { $0.key < $1.key }) {
            var present = c.present, values = c.values
            present += [UInt64](repeating: 0, count: max(0, (documentCount + 63) / 64 - present.count))
            present.removeLast(max(0, present.count - (documentCount + 63) / 64))
            values += [Int64](repeating: 0, count: documentCount - values.count)
            if let newOf {
                var p = [UInt64](repeating: 0, count: present.count), v = [Int64](repeating: 0, count: values.count)
                for d in 0 ..< documentCount where present[d >> 6] & (1 << UInt64(d & 63)) != 0 {
                    let n = Int(newOf[d])
                    p[n >> 6] |= 1 << UInt64(n & 63)
                    v[n] = values[d]
                }
                present = p
                values = v
            }
            columns.append(.numeric(field: f, type: c.type, present: present, values: values))
        }
        for (f, starts) in keywordStarts.sorted(by: { $0.key < $1.key }) {
            let m = inverted[f]!
            // Ordinals follow the byte order of the values.
            let ids = m.terms.sortedIDs()
            var ordOf = [UInt32](repeating: 0, count: ids.count)
            for (o, id) in ids.enumerated() { ordOf[Int(id)] = UInt32(o) }
            var docStarts = starts, ords = keywordTerms[f]!.map { ordOf[Int($0)] }
            if let newOf {
                // Each document's ordinals moved to its new number.
                var oldOf = [Int](repeating: 0, count: documentCount)
                for d in 0 ..< documentCount { oldOf[Int(newOf[d])] = d }
                var s: [UInt32] = [0], o: [UInt32] = []
                o.reserveCapacity(ords.count)
                for n in 0 ..< documentCount {
                    let d = oldOf[n]
                    o.append(contentsOf: ords[Int(starts[d]) ..< Int(starts[d + 1])])
                    s.append(UInt32(o.count))
                }
                docStarts = s
                ords = o
            }
            columns.append(.keyword(field: f, values: ids.map { Array(m.terms.bytes($0)) }, docStarts: docStarts, ords: ords))
        }
        try DocValues.write(docCount: documentCount, columns: columns, path: directory + "/" + SearchIndexFiles.docValues(name))
        return (fields, newOf)
    }
}

/// File names inside an index directory (Formats/search-index.md §1).
enum SearchIndexFiles {
    static func inverted(_ segment: String, field: Int) -> String { "\(segment).f\(field).inv" }
    static func docValues(_ segment: String) -> String { "\(segment).dv" }
    static func deletes(_ segment: String, generation: UInt32) -> String { "\(segment).d\(generation).del" }
    static let lock = "write.lock"
}
