import StrataIO

/// Merges segments into one, dropping deleted documents. Documents keep their relative order
/// (segment order, then document order) — postings of each term are then concatenated with
/// renumbered documents — or, with an index sort, take the sort's order over all inputs
/// (postings of a term are then put back in document order).
enum SegmentMerger {
    /// Old → new document numbers of one merge input: `base + d` for an input without deletes
    /// merged in order (no array), else one entry per document (-1: deleted).
    struct DocMap {
        let base: Int32
        let explicit: [Int32]?
        let count: Int
        @inline(__always) subscript(_ d: Int) -> Int32 { explicit?[d] ?? base + Int32(d) }
    }

    /// Writes segment `name` (not fsync'd: the index syncs it when a commit first names it);
    /// returns its document count, inverted fields and, per input, each old document's new
    /// number (-1: deleted). No files are written when every document was deleted.
    static func merge(_ inputs: [(SegmentReader, DeletedDocuments?)], schema: Schema, directory: String, name: String,
                      sort: IndexSort? = nil) throws -> (documents: Int, fields: [Int], maps: [DocMap]) {
        // Old → new document numbers.
        var maps: [DocMap] = []
        var next: Int32 = 0
        let sorting = sort.map { !$0.fields.isEmpty && inputs.count > 1 } ?? false
        // Large files were not checksummed when they opened: a merge reads them whole, so it
        // checks them first and never copies damage into a new segment.
        for (reader, _) in inputs { try reader.verifyIntegrity() }
        for (reader, deletes) in inputs {
            if !sorting && (deletes?.count ?? 0) == 0 {
                maps.append(DocMap(base: next, explicit: nil, count: reader.documentCount))
                next += Int32(reader.documentCount)
                continue
            }
            var m = [Int32](repeating: -1, count: reader.documentCount)
            for d in 0 ..< reader.documentCount where !(deletes?.contains(UInt32(d)) ?? false) {
                m[d] = next
                next += 1
            }
            maps.append(DocMap(base: 0, explicit: m, count: reader.documentCount))
        }
        let total = Int(next)
        if total == 0 { return (0, [], maps) }
        if let sort, sorting {
            // Sort order over all inputs: the concatenation, permuted.
            var owner: [(input: Int, doc: Int)] = []
            owner.reserveCapacity(total)
            for (i, m) in maps.enumerated() { for d in 0 ..< m.count where m[d] >= 0 { owner.append((i, d)) } }
            let columns = inputs.map { r in sort.fields.map { r.0.docValues.numericColumn($0) } }
            let keys: [(Int) -> Int64?] = sort.fields.indices.map { k in
                { n in
                    let (i, d) = owner[n]
                    guard let c = columns[i][k], c.has(d) else { return nil }
                    return c.bits(d)
                }
            }
            if let newOf = IndexSort.permutation(count: total, keys: keys) {
                for i in maps.indices {
                    var m = maps[i].explicit!
                    for d in m.indices where m[d] >= 0 { m[d] = newOf[Int(m[d])] }
                    maps[i] = DocMap(base: 0, explicit: m, count: m.count)
                }
            }
        }
        var fields = Set<Int>()
        for (r, _) in inputs { fields.formUnion(r.invertedFields) }
        for f in fields.sorted() {
            try mergeInverted(field: f, inputs, maps: maps, total: total, sorted: sorting, path: directory + "/" + SearchIndexFiles.inverted(name, field: f))
        }
        try DocValues.write(docCount: total, columns: try mergeDocValues(inputs, schema: schema, maps: maps, total: total),
                            path: directory + "/" + SearchIndexFiles.docValues(name))
        return (total, fields.sorted(), maps)
    }

    /// Merges one field's dictionaries k-way (terms stream in byte order from each input) and
    /// writes the result through a spilling encoder: in order, postings stream one at a time (memory
    /// stays bounded by the compressed blocks of one term); sorted, one term's postings are held to reorder.
    private static func mergeInverted(field f: Int, _ inputs: [(SegmentReader, DeletedDocuments?)], maps: [DocMap], total: Int, sorted: Bool, path: String) throws {
        var iterators: [(Int, IndexSegment.TermIterator)] = []
        for (i, (reader, _)) in inputs.enumerated() {
            guard let seg = reader.invertedField(f) else { continue }
            iterators.append((i, try IndexSegment.TermIterator(seg)))
        }
        let norms: NormSource
        if maps.allSatisfy({ $0.explicit == nil }) {
            // In order, nothing deleted: the inputs' norms are read in place.
            norms = NormSource(concatenating: inputs.map { ($0.0.invertedField(f), $0.0.documentCount) })
        } else {
            var array = [UInt32](repeating: 0, count: total)
            for (i, (reader, _)) in inputs.enumerated() {
                guard let seg = reader.invertedField(f) else { continue }
                for d in 0 ..< reader.documentCount where maps[i][d] >= 0 { array[Int(maps[i][d])] = seg.norm(d) }
            }
            norms = NormSource(array)
        }
        var encoder = InvertedFieldEncoder(norms: norms, spillDirectory: FileSystem.parent(of: path))
        var reorder = PostingsReorder()
        // Reused for every term: the merge allocates nothing per term but its cursors.
        var docs: [UInt32] = [], freqs: [UInt32] = [], positions: [UInt32] = [], term: [UInt8] = []
        var equal: [Int] = []
        while true {
            // The smallest current term; inputs holding it contribute in input order.
            equal.removeAll(keepingCapacity: true)
            for k in iterators.indices where iterators[k].1.hasTerm {
                guard let first = equal.first else { equal.append(k); continue }
                let order = iterators[k].1.withTerm { a in iterators[first].1.withTerm { b in SegmentFormat.compare(a, b) } }
                if order < 0 {
                    equal.removeAll(keepingCapacity: true)
                    equal.append(k)
                } else if order == 0 {
                    equal.append(k)
                }
            }
            guard let first = equal.first else { break }
            term.removeAll(keepingCapacity: true)
            iterators[first].1.withTerm { term.append(contentsOf: $0) }
            if !sorted {
                // Documents keep their order: postings stream through the encoder one at a
                // time, so not even the most frequent term is held whole.
                encoder.beginTerm()
                for k in equal {
                    let (i, it) = iterators[k]
                    try streamLivePostings(it.segment, it.info, map: maps[i], &encoder, &positions)
                    try it.next()
                }
                try term.withUnsafeBytes { try encoder.endTerm($0) }
                continue
            }
            docs.removeAll(keepingCapacity: true)
            freqs.removeAll(keepingCapacity: true)
            positions.removeAll(keepingCapacity: true)
            for k in equal {
                let (i, it) = iterators[k]
                try appendLivePostings(it.segment, it.info, map: maps[i], &docs, &freqs, &positions)
                try it.next()
            }
            if docs.isEmpty { continue }
            reorder.sortByDocument(docs: &docs, freqs: &freqs, positions: &positions) // index sorting interleaves inputs
            try term.withUnsafeBytes { t in
                try docs.withUnsafeBufferPointer { d in
                    try freqs.withUnsafeBufferPointer { q in try positions.withUnsafeBufferPointer { p in try encoder.add(term: t, docs: d, freqs: q, positions: p) } }
                }
            }
        }
        let out = try SegmentOutput(path: path)
        do {
            try encoder.finish(to: out)
            try out.commit(durable: false)
        } catch {
            out.abandon()
            throw error
        }
    }

    /// Feeds one input term's surviving postings, renumbered, to the encoder (`scratch` holds a
    /// posting's positions).
    private static func streamLivePostings(_ segment: IndexSegment, _ info: IndexSegment.TermInfo, map: DocMap,
                                           _ encoder: inout InvertedFieldEncoder, _ scratch: inout [UInt32]) throws {
        try forEachLivePosting(segment, info, map: map, &scratch) { doc, freq, positions in
            try encoder.addPosting(doc: doc, freq: freq, positions: positions)
        }
    }

    /// Appends one input term's postings whose documents survive, renumbered, with their
    /// positions, to the arrays (sorted merges reorder them afterwards).
    private static func appendLivePostings(_ segment: IndexSegment, _ info: IndexSegment.TermInfo, map: DocMap,
                                           _ docs: inout [UInt32], _ freqs: inout [UInt32], _ positions: inout [UInt32]) throws {
        docs.reserveCapacity(docs.count + info.docFreq)
        freqs.reserveCapacity(freqs.count + info.docFreq)
        var scratch: [UInt32] = []
        try forEachLivePosting(segment, info, map: map, &scratch) { doc, freq, p in
            docs.append(doc)
            freqs.append(freq)
            positions.append(contentsOf: UnsafeBufferPointer(start: p, count: Int(freq)))
        }
    }

    /// Calls `body` with each posting of one input term whose document survives (`map[d]` ≥ 0):
    /// its new number, frequency and positions (in `scratch`).
    @inline(__always)
    private static func forEachLivePosting(_ segment: IndexSegment, _ info: IndexSegment.TermInfo, map: DocMap, _ scratch: inout [UInt32],
                                           _ body: (UInt32, UInt32, UnsafePointer<UInt32>) throws -> Void) throws {
        let c = try PostingsCursor.open(segment, info, positions: true)
        let explicit = map.explicit ?? [], base = map.base, implicit = map.explicit == nil
        try explicit.withUnsafeBufferPointer { m in
            while c.doc != PostingsCursor.exhausted {
                let f = c.frequency
                if f == 0 { throw segment.fail(info.postings.lowerBound, "a frequency of 0") }
                guard Int(c.doc) < map.count else { throw segment.fail(info.postings.lowerBound, "document \(c.doc) of \(map.count)") }
                let n = implicit ? base + Int32(c.doc) : m[Int(c.doc)]
                if n >= 0 {
                    if scratch.count < Int(f) { scratch.append(contentsOf: repeatElement(0, count: Int(f) - scratch.count)) }
                    try scratch.withUnsafeMutableBufferPointer { s in
                        _ = try c.positions(to: s.baseAddress!, upTo: .max)
                        try body(UInt32(n), f, s.baseAddress!)
                    }
                }
                try c.next()
            }
        }
        if let left = c.positionsLeft, left > 0 {
            throw segment.fail(info.positions.upperBound - left, "\(left) bytes after the last position")
        }
    }

    private static func mergeDocValues(_ inputs: [(SegmentReader, DeletedDocuments?)], schema: Schema, maps: [DocMap], total: Int) throws -> [DocValueColumn] {
        var columns: [DocValueColumn] = []
        let inOrder = maps.allSatisfy { $0.explicit == nil }
        for (f, def) in schema.fields.enumerated() {
            if def.type.isNumeric {
                guard inputs.contains(where: { $0.0.docValues.numericColumn(f) != nil }) else { continue }
                if inOrder {
                    // Read from the mapped inputs while the file is written.
                    columns.append(.concatenated(field: f, type: def.type, parts: inputs.map { ($0.0.docValues.numericColumn(f), $0.0.documentCount) }))
                    continue
                }
                var present = [UInt64](repeating: 0, count: (total + 63) / 64)
                var values = [Int64](repeating: 0, count: total)
                for (i, (reader, _)) in inputs.enumerated() {
                    guard let c = reader.docValues.numericColumn(f) else { continue }
                    for d in 0 ..< reader.documentCount where maps[i][d] >= 0 && c.has(d) {
                        let n = Int(maps[i][d])
                        present[n >> 6] |= 1 << UInt64(n & 63)
                        values[n] = c.bits(d)
                    }
                }
                columns.append(.numeric(field: f, type: def.type, present: present, values: values))
            } else if def.type == .keyword {
                guard inputs.contains(where: { $0.0.docValues.keywordColumn(f) != nil }) else { continue }
                var all = Set<[UInt8]>()
                for (reader, _) in inputs {
                    guard let c = reader.docValues.keywordColumn(f) else { continue }
                    for o in 0 ..< c.valueCount { all.insert(Array(c.value(o))) }
                }
                var values = Array(all)
                values.sort { a, b in a.withUnsafeBytes { x in b.withUnsafeBytes { y in SegmentFormat.precedes(x, y) } } }
                var ordOf: [[UInt8]: UInt32] = [:]
                for (o, v) in values.enumerated() { ordOf[v] = UInt32(o) }
                var starts: [UInt32] = [0], ords: [UInt32] = []
                let inputColumns = inputs.map { $0.0.docValues.keywordColumn(f) }
                let remaps = inputColumns.map { c in c.map { c in (0 ..< c.valueCount).map { ordOf[Array(c.value($0))]! } } ?? [] }
                // New document n's values, in new-number order (any permutation of the inputs).
                var oldOf = [(Int32, Int32)](repeating: (-1, -1), count: total)
                for (i, m) in maps.enumerated() { for d in 0 ..< m.count where m[d] >= 0 { oldOf[Int(m[d])] = (Int32(i), Int32(d)) } }
                for (i, d) in oldOf {
                    if let c = inputColumns[Int(i)] { for k in c.ordinals(Int(d)) { ords.append(remaps[Int(i)][c.ordinal(at: k)]) } }
                    starts.append(UInt32(ords.count))
                }
                columns.append(.keyword(field: f, values: values, docStarts: starts, ords: ords))
            }
        }
        return columns
    }
}

/// A log-structured merge policy in the spirit of Lucene's: segments fall into tiers by live
/// size (each tier `mergeFactor` times the one below, starting at `floorDocuments`); when
/// `mergeFactor` *adjacent* segments of a tier (or below) are there, they merge into one of the
/// next tier, in their place. Merging neighbours only (as Lucene's LogMergePolicy does) keeps
/// segments in the order documents arrived, so each segment covers a narrow stretch of time and
/// a time-range query skips the others. A segment with more than `maxDeletedRatio` of its
/// documents deleted is rewritten alone; beyond `4 · mergeFactor` segments the smallest
/// adjacent run merges whatever its tiers. Each document is rewritten about
/// log_mergeFactor(N / floor) times.
public struct TieredMergePolicy: Sendable {
    public var mergeFactor = 10
    public var floorDocuments = 1000
    public var maxDeletedRatio = 0.5
    public init(mergeFactor: Int = 10, floorDocuments: Int = 1000, maxDeletedRatio: Double = 0.5) {
        self.mergeFactor = max(2, mergeFactor)
        self.floorDocuments = max(1, floorDocuments)
        self.maxDeletedRatio = maxDeletedRatio
    }

    /// Segments to merge next (adjacent indices, ascending), given (live, deleted) document
    /// counts in index order; nil for none.
    public func pick(_ segments: [(live: Int, deleted: Int)]) -> [Int]? {
        for (i, s) in segments.enumerated() where s.deleted > 0 && Double(s.deleted) > maxDeletedRatio * Double(s.live + s.deleted) {
            return [i]
        }
        guard segments.count >= mergeFactor else { return nil }
        let tiers = segments.map { s -> Int in
            var tier = 0, size = floorDocuments
            while s.live > size && tier < 40 { size = size.multipliedReportingOverflow(by: mergeFactor).overflow ? Int.max : size * mergeFactor; tier += 1 }
            return tier
        }
        // The lowest tier with a run of `mergeFactor` neighbours at or below it; the oldest run.
        for tier in Set(tiers).sorted() {
            var run = 0
            for i in tiers.indices {
                run = tiers[i] <= tier ? run + 1 : 0
                if run == mergeFactor, tiers[(i - mergeFactor + 1) ... i].contains(tier) { return Array(i - mergeFactor + 1 ... i) }
                if run == mergeFactor { run -= 1 } // slide: the window must hold the tier itself
            }
        }
        // Too many segments without such a run: the lightest neighbours merge.
        if segments.count > 4 * mergeFactor {
            var best = 0, bestSize = Int.max
            for start in 0 ... segments.count - mergeFactor {
                let size = segments[start ..< start + mergeFactor].reduce(0) { $0 + $1.live }
                if size < bestSize { best = start; bestSize = size }
            }
            return Array(best ..< best + mergeFactor)
        }
        return nil
    }
}
