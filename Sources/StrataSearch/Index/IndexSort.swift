/// Index sorting (Lucene's `IndexSort`, Elasticsearch's `index.sort`): documents of every
/// segment a flush or merge writes are numbered in the order of integer or timestamp fields
/// (ascending, a missing value first, ties by the order documents were added). A store's index
/// sorts by time, partition and offset, so a segment's document order is its records' order:
/// ties of equal score are settled in document order, a time range is a run of documents,
/// and "newest first" reads a segment backwards.
struct IndexSort {
    /// The sort fields (numbers in the schema).
    let fields: [Int]

    /// The permutation putting `count` documents in sort order, given each field's values
    /// (nil where a document has none): `newOf[old]`; nil when they are in order already.
    static func permutation(count: Int, keys: [(Int) -> Int64?]) -> [Int32]? {
        guard !keys.isEmpty, count > 1 else { return nil }
        @inline(__always) func less(_ a: Int, _ b: Int) -> Bool {
            for k in keys {
                let x = k(a) ?? .min, y = k(b) ?? .min
                if x != y { return x < y }
            }
            return a < b
        }
        var sorted = true
        for d in 1 ..< count where less(d, d - 1) { sorted = false; break }
        if sorted { return nil }
        var order = Array(0 ..< count)
        order.sort(by: less)
        var newOf = [Int32](repeating: 0, count: count)
        for (new, old) in order.enumerated() { newOf[old] = Int32(new) }
        return newOf
    }
}

/// One term's postings put (back) in document order after renumbering: documents with their
/// frequencies and positions, reordered together. Reused across terms.
struct PostingsReorder {
    private var order: [Int] = []
    private var starts: [Int] = []
    private var docs: [UInt32] = []
    private var freqs: [UInt32] = []
    private var positions: [UInt32] = []

    /// Sorts the postings (`docs` possibly out of order, `positions` concatenated per posting
    /// in the same order) by document, in place.
    mutating func sortByDocument(docs d: inout [UInt32], freqs f: inout [UInt32], positions p: inout [UInt32]) {
        var ordered = true
        for i in d.indices.dropFirst() where d[i] < d[i - 1] { ordered = false; break }
        if ordered { return }
        starts.removeAll(keepingCapacity: true)
        var at = 0
        for q in f { starts.append(at); at += Int(q) }
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: d.indices)
        order.sort { d[$0] < d[$1] }
        docs.removeAll(keepingCapacity: true)
        freqs.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        for i in order {
            docs.append(d[i])
            freqs.append(f[i])
            positions.append(contentsOf: p[starts[i] ..< starts[i] + Int(f[i])])
        }
        swap(&d, &docs)
        swap(&f, &freqs)
        swap(&p, &positions)
    }
}
