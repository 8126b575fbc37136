import Foundation
import StrataIO

/// BM25 parameters (Lucene/tantivy defaults).
public struct BM25: Sendable, Equatable {
    public var k1: Float = 1.2
    public var b: Float = 0.75
    public init(k1: Float = 1.2, b: Float = 0.75) {
        self.k1 = k1
        self.b = b
    }

    /// Lucene's IDF: ln(1 + (N − n + 0.5) / (n + 0.5)).
    @inline(__always)
    public func idf(documents n: Int, total N: Int) -> Float {
        Float(log(1 + (Double(N) - Double(n) + 0.5) / (Double(n) + 0.5)))
    }

    /// The scorer of a term found in `n` of `N` documents, `occurrences` times in the query.
    func scorer(documents n: Int, total N: Int, occurrences: Int, averageLength: Float) -> TermScorer {
        TermScorer(weight: idf(documents: n, total: N) * Float(occurrences), k1: k1, b: b, avgdl: averageLength)
    }
}

/// An in-memory inverted index of one analyzed text field: per term, the documents holding it
/// with term frequencies, plus document lengths — the write buffer that on-disk segments will
/// be flushed from. Documents get ids 0, 1, 2, … in insertion order.
@_spi(Internals) @_spi(Evaluation) public final class MemoryIndex {
    public let analyzer: Analyzer
    /// The field name queries address (`field:term`); unqualified terms search it too.
    public let field: String
    let terms = TermTable()

    /// One term's postings: documents (ascending), frequencies, and positions concatenated in
    /// posting order.
    struct Postings {
        var docs: [UInt32]
        var freqs: [UInt32]
        var positions: [UInt32]
    }

    /// Postings by term id, in pooled slices (no allocation per term).
    let pool = PostingsPool()

    /// A term's postings decoded from the pool (`postings[id]`; tests and the query paths).
    struct PostingsView {
        let pool: PostingsPool
        subscript(_ id: Int) -> Postings {
            var p = Postings(docs: [], freqs: [], positions: [])
            pool.postings(id, docs: &p.docs, freqs: &p.freqs, positions: &p.positions)
            return p
        }
    }
    var postings: PostingsView { PostingsView(pool: pool) }
    /// Tokens per document (exact; tantivy keeps a 1-byte approximation).
    public private(set) var documentLengths: [UInt32] = []
    var totalLength: UInt64 = 0

    public init(analyzer: Analyzer, field: String = "message") {
        self.analyzer = analyzer
        self.field = field
        estimatedBytes = terms.measuredBytes() + pool.usedBytes
    }

    public var documentCount: Int { documentLengths.count }
    public var termCount: Int { terms.count }

    /// Indexes a document's text; returns its id.
    @discardableResult
    public func add(_ text: UnsafeRawBufferPointer) -> UInt32 {
        addValue(text)
        return endDocument()
    }

    /// Gap between the positions of two values of one field in one document (Elasticsearch's
    /// `position_increment_gap`), so phrases do not match across values.
    public static let valueGap = 100
    private var pendingLength: UInt32 = 0
    private var nextPosition = 0
    private var valuesInDocument = 0
    /// Heap bytes held (pool pages, term records, term bytes, document lengths), kept as the
    /// pool and table grow.
    public private(set) var estimatedBytes = 0

    /// Adds one value of the current document (a document may have several values; their
    /// positions are `valueGap` apart). Finish the document with `endDocument()`.
    public func addValue(_ text: UnsafeRawBufferPointer) {
        let analyzer = self.analyzer
        addTokens { invert in analyzer.analyze(text) { invert($0.bytes, $0.position) } }
    }

    /// `addValue` of a value analyzed elsewhere (`InversionPipeline`): `count` records of u32
    /// position, u32 length and the bytes, from `tokens`; returns the address past them.
    func addAnalyzed(_ tokens: UnsafeRawPointer, count: Int) -> UnsafeRawPointer {
        var p = tokens
        addTokens { invert in
            for _ in 0 ..< count {
                let position = Int(p.loadUnaligned(as: UInt32.self))
                let n = Int(p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                invert(UnsafeRawBufferPointer(start: p + 8, count: n), position)
                p += 8 &+ n
            }
        }
        return p
    }

    /// One value's tokens (bytes and position in the value), from `source`, into the current
    /// document: the term table, the postings and the length, with the value gap before it.
    @inline(__always)
    private func addTokens(_ source: ((UnsafeRawBufferPointer, Int) -> Void) -> Void) {
        let doc = UInt32(documentLengths.count)
        if valuesInDocument > 0 { nextPosition += Self.valueGap }
        valuesInDocument += 1
        var last = nextPosition - 1
        let base = nextPosition
        var length: UInt32 = 0
        let before = terms.measuredBytes() + pool.usedBytes
        let pool = self.pool
        let terms = self.terms
        source { bytes, position in
            length += 1
            let (id, isNew) = terms.intern(bytes)
            if isNew { _ = pool.addTerm() }
            last = base + position
            pool.add(Int(id), doc: doc, position: UInt32(truncatingIfNeeded: last))
        }
        estimatedBytes += terms.measuredBytes() + pool.usedBytes - before
        nextPosition = last + 1
        pendingLength += length
    }

    /// Ends the current document (which may have no values); returns its id.
    @discardableResult
    public func endDocument() -> UInt32 {
        let doc = UInt32(documentLengths.count)
        let lengthsBefore = documentLengths.capacity
        documentLengths.append(pendingLength)
        totalLength += UInt64(pendingLength)
        estimatedBytes += 4 * (documentLengths.capacity - lengthsBefore)
        pendingLength = 0
        nextPosition = 0
        valuesInDocument = 0
        return doc
    }

    /// Heap bytes held, from the capacities (for calibration).
    func measuredBytes() -> Int {
        documentLengths.capacity * 4 + terms.measuredBytes() + pool.bytes
    }

    /// Every term in byte order with its postings fed to `encoder` one at a time (a flush in
    /// the order documents were added).
    func encodeTermsSorted(_ encoder: inout InvertedFieldEncoder) throws {
        var scratch: [UInt32] = []
        for id in terms.sortedIDs() {
            encoder.beginTerm()
            try pool.forEachPosting(Int(id), &scratch) { doc, freq, positions in
                try encoder.addPosting(doc: doc, freq: freq, positions: positions)
            }
            try encoder.endTerm(terms.bytes(id))
        }
    }

    /// Every term in byte order with its postings (documents, frequencies, concatenated
    /// positions) — what a flush writes. The buffers are reused from term to term.
    func forEachTermSorted(_ body: (UnsafeRawBufferPointer, UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<UInt32>) throws -> Void) rethrows {
        var docs: [UInt32] = [], freqs: [UInt32] = [], positions: [UInt32] = []
        for id in terms.sortedIDs() {
            pool.postings(Int(id), docs: &docs, freqs: &freqs, positions: &positions)
            try docs.withUnsafeBufferPointer { d in
                try freqs.withUnsafeBufferPointer { f in
                    try positions.withUnsafeBufferPointer { p in try body(terms.bytes(id), d, f, p) }
                }
            }
        }
    }

    @discardableResult
    public func add(_ text: String) -> UInt32 {
        var copy = text
        return copy.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    /// Documents containing `term` (analyzed form).
    public func documentFrequency(_ term: String) -> Int {
        var copy = term
        return copy.withUTF8 { u in terms.find(UnsafeRawBufferPointer(u)).map { pool.documentFrequency(Int($0)) } ?? 0 }
    }

    /// A scored hit.
    public struct Hit: Sendable, Equatable {
        public var document: UInt32
        public var score: Float
    }

    /// BM25 top-`limit` for a query whose analyzed terms are OR-ed. A term repeated in the
    /// query counts as many times as it appears (its score is added once per occurrence, as
    /// a Lucene BooleanQuery with repeated SHOULD clauses does; tantivy's parser drops repeats).
    public func search(_ query: String, limit: Int, bm25: BM25 = BM25()) -> [Hit] {
        var terms: [[UInt8]] = []
        var copy = query
        copy.withUTF8 { u in analyzer.analyze(UnsafeRawBufferPointer(u)) { terms.append(Array($0.bytes)) } }
        // Postings in memory: building and reading the nodes cannot fail.
        return (try? MatchTree.top(terms: terms, limit: limit) { termNode($0, occurrences: $1, bm25: bm25) }) ?? []
    }
}
