import Foundation

/// A set of document ids as a bitset.
@_spi(Internals) public struct DocSet: Sendable, Equatable {
    var words: [UInt64]
    public let capacity: Int

    init(capacity: Int, full: Bool = false) {
        self.capacity = capacity
        words = [UInt64](repeating: full ? ~0 : 0, count: (capacity + 63) / 64)
        if full && capacity % 64 != 0 { words[words.count - 1] = (1 << UInt64(capacity % 64)) - 1 }
    }

    @inline(__always) mutating func insert(_ d: UInt32) { words[Int(d >> 6)] |= 1 << UInt64(d & 63) }
    @inline(__always) mutating func remove(_ d: UInt32) { words[Int(d >> 6)] &= ~(1 << UInt64(d & 63)) }
    @inline(__always) public func contains(_ d: UInt32) -> Bool { words[Int(d >> 6)] & (1 << UInt64(d & 63)) != 0 }
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    mutating func formIntersection(_ o: DocSet) { for i in words.indices { words[i] &= o.words[i] } }
    mutating func formUnion(_ o: DocSet) { for i in words.indices { words[i] |= o.words[i] } }
    mutating func subtract(_ o: DocSet) { for i in words.indices { words[i] &= ~o.words[i] } }

    /// Removes every document outside `range` (word at a time).
    mutating func keepOnly(_ range: Range<Int>) {
        let lo = range.lowerBound, hi = range.upperBound
        for w in words.indices {
            let start = w * 64, end = start + 64
            if end <= lo || start >= hi { words[w] = 0; continue }
            if start >= lo && end <= hi { continue }
            var mask = ~UInt64(0)
            if lo > start { mask &= ~0 << UInt64(lo - start) }
            if hi < end { mask &= (1 << UInt64(hi - start)) - 1 }
            words[w] &= mask
        }
    }

    /// Adds documents `range` (word at a time).
    mutating func insert(range: Range<Int>) {
        var d = range.lowerBound
        while d < range.upperBound {
            if d & 63 == 0 && d + 64 <= range.upperBound { words[d >> 6] = ~0; d += 64; continue }
            words[d >> 6] |= 1 << UInt64(d & 63)
            d += 1
        }
    }

    /// Members in ascending (or descending) order while `body` returns true.
    public func forEach(descending: Bool, while body: (UInt32) -> Bool) {
        if descending {
            var w = words.count - 1
            while w >= 0 {
                var bits = words[w]
                while bits != 0 {
                    let b = 63 - bits.leadingZeroBitCount
                    if !body(UInt32(w * 64 + b)) { return }
                    bits &= ~(1 << UInt64(b))
                }
                w -= 1
            }
        } else {
            for (w, word) in words.enumerated() {
                var bits = word
                while bits != 0 {
                    if !body(UInt32(w * 64 + bits.trailingZeroBitCount)) { return }
                    bits &= bits - 1
                }
            }
        }
    }

    /// The first member ≥ `d`, or `UInt32.max` when there is none (a word at a time).
    func first(from d: UInt32) -> UInt32 {
        var w = Int(d >> 6)
        guard w < words.count else { return .max }
        var bits = words[w] & (~0 << UInt64(d & 63))
        while bits == 0 {
            w += 1
            if w == words.count { return .max }
            bits = words[w]
        }
        return UInt32(w * 64 + bits.trailingZeroBitCount)
    }

    /// Members in ascending order.
    public func forEach(_ body: (UInt32) -> Void) {
        for (w, word) in words.enumerated() {
            var bits = word
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                body(UInt32(w * 64 + b))
                bits &= bits - 1
            }
        }
    }
}

/// Errors running a query against an index.
public enum QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownField(String, known: [String])
    /// The query cannot run as asked (e.g. a prefix query on a numeric field).
    case unsupported(String)
    /// The query passes a `QueryLimits` bound (clauses, fuzzy expansions).
    case tooComplex(String)
    /// The search ran past `QueryLimits.timeoutMs`.
    case timedOut(String)
    public var description: String {
        switch self {
        case let .unknownField(f, known): return "unknown field '\(f)'; the index has \(known.joined(separator: ", "))"
        case let .unsupported(why): return why
        case let .tooComplex(why), let .timedOut(why): return why
        }
    }
}

/// One term's postings, materialized: documents (ascending), frequencies, and positions
/// (`positions[posStart[i] ..< posStart[i] + freqs[i]]` belong to `docs[i]`).
@_spi(Internals) public struct TermPostings: Sendable {
    public var docs: [UInt32]
    public var freqs: [UInt32]
    public var posStart: [UInt32]
    public var positions: [UInt32]

    /// Positions of `doc`, or nil when the term is not in it.
    func positions(in doc: UInt32) -> ArraySlice<UInt32>? {
        var lo = 0, hi = docs.count - 1
        while lo <= hi {
            let mid = (lo + hi) >> 1
            if docs[mid] == doc {
                let start = Int(posStart[mid])
                return positions[start ..< start + Int(freqs[mid])]
            }
            if docs[mid] < doc { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }
}

/// What query execution needs from an index: the in-memory buffer and on-disk segments both
/// provide it, so every query type runs the same way on either.
@_spi(Internals) public protocol PostingsSource {
    var analyzer: Analyzer { get }
    /// The field queries address.
    var field: String { get }
    var documentCount: Int { get }
    var totalTokens: UInt64 { get }
    func norm(_ doc: Int) -> UInt32
    /// The postings of an (already analyzed) term, or nil.
    func termPostings(_ term: UnsafeRawBufferPointer) throws -> TermPostings?
    /// The postings of the terms `verdict` takes (prefix, fuzzy, range). Sources with a sorted
    /// dictionary start at `lower` and stop at the first `.stop`; others visit every term.
    /// Without `positions` the postings' positions are left empty.
    func termsMatching(from lower: [UInt8]?, positions: Bool, _ verdict: (UnsafeRawBufferPointer) -> TermVerdict) throws -> [TermPostings]
}

/// What a term scan does with a term.
@_spi(Internals) public enum TermVerdict: Sendable {
    case take, skip
    /// Past the last term that can match (in byte order).
    case stop
}

extension PostingsSource {
    /// Terms starting with `p`, in order from `p`.
    func termsWithPrefix(_ p: [UInt8], positions: Bool) throws -> [TermPostings] {
        try p.withUnsafeBytes { prefix in
            try termsMatching(from: p, positions: positions) { t in SegmentFormat.prefixVerdict(t, prefix) }
        }
    }
}

extension PostingsSource {
    private func checkField(_ f: String?) throws {
        if let f, f != field { throw QueryError.unknownField(f, known: [field]) }
    }

    /// The analyzed tokens of query text, with positions.
    func analyzedTokens(_ text: String) -> [([UInt8], Int)] {
        var out: [([UInt8], Int)] = []
        var copy = text
        copy.withUTF8 { u in analyzer.analyze(UnsafeRawBufferPointer(u)) { out.append((Array($0.bytes), $0.position)) } }
        return out
    }

    /// Raw query text as the analyzer's terms spell it: lowercased, except for the keyword and
    /// whitespace analyzers, which keep case.
    func normalizedTerm(_ text: String) -> [UInt8] { analyzer.rawQueryTerm(text) }

    func postings(_ bytes: [UInt8]) throws -> TermPostings? { try bytes.withUnsafeBytes { try termPostings($0) } }

    private func union(_ list: [TermPostings]) -> DocSet {
        var s = DocSet(capacity: documentCount)
        for p in list { for d in p.docs { s.insert(d) } }
        return s
    }

    /// The documents matching `query`.
    func matches(_ query: Query) throws -> DocSet {
        let n = documentCount
        switch query {
        case .matchAll:
            return DocSet(capacity: n, full: true)
        case let .exists(f):
            try checkField(f)
            var s = DocSet(capacity: n)
            for d in 0 ..< n where norm(d) > 0 { s.insert(UInt32(d)) }
            return s
        case let .term(f, text):
            try checkField(f)
            let tokens = analyzedTokens(text)
            if tokens.count > 1 { return try matches(.phrase(field: f, text: text, slop: 0, prefixLast: false)) }
            guard let t = tokens.first, let p = try postings(t.0) else { return DocSet(capacity: n) }
            return union([p])
        case let .phrase(f, text, slop, prefixLast):
            try checkField(f)
            return try phraseMatches(text: text, slop: slop, prefixLast: prefixLast)
        case let .prefix(f, text):
            try checkField(f)
            return union(try termsWithPrefix(normalizedTerm(text), positions: false))
        case let .fuzzy(f, text, distance):
            try checkField(f)
            let target = normalizedTerm(text)
            let cap = QueryLimits.current.maxFuzzyExpansions
            var taken = 0
            let terms = try termsMatching(from: nil, positions: false) { t in
                guard MemoryIndex.editDistance(target, t, limit: distance) <= distance else { return .skip }
                taken += 1
                return taken > cap ? .stop : .take
            }
            if taken > cap {
                throw QueryError.tooComplex("fuzzy '\(text)'~\(distance) matches more than \(cap) terms of field \(field); use a longer term or a smaller distance, or raise QueryLimits.maxFuzzyExpansions")
            }
            return union(terms)
        case let .range(f, lower, upper, includeLower, includeUpper):
            try checkField(f)
            let lo = lower.map(normalizedTerm), hi = upper.map(normalizedTerm)
            return union(try termsMatching(from: lo, positions: false) { b in
                let t = Array(b)
                if let hi { if includeUpper ? hi.lexicographicallyPrecedes(t) : !t.lexicographicallyPrecedes(hi) { return .stop } }
                if let lo { if includeLower ? t.lexicographicallyPrecedes(lo) : !lo.lexicographicallyPrecedes(t) { return .skip } }
                return .take
            })
        case let .boolean(must, should, mustNot, minimumShouldMatch):
            var result = DocSet(capacity: n, full: true)
            for q in must { result.formIntersection(try matches(q)) }
            if !should.isEmpty && minimumShouldMatch > 0 {
                var counts = [UInt16](repeating: 0, count: n)
                for q in should { try matches(q).forEach { counts[Int($0)] += 1 } }
                var enough = DocSet(capacity: n)
                for (d, c) in counts.enumerated() where Int(c) >= minimumShouldMatch { enough.insert(UInt32(d)) }
                result.formIntersection(enough)
            } else if must.isEmpty && should.isEmpty && mustNot.isEmpty {
                return DocSet(capacity: n)
            }
            for q in mustNot { result.subtract(try matches(q)) }
            return result
        }
    }

    /// Number of matching documents (exact), from the query's match tree.
    public func count(_ query: Query) throws -> Int {
        guard let node = try MatchTree.build(query, PostingsMatchSource(source: self, bm25: BM25()), scoring: false) else { return 0 }
        var n = 0
        try MatchTree.forEach(node, deletes: nil, range: nil) { _ in n += 1; return true }
        return n
    }

    /// A term's scorer from this source's statistics.
    func localScorer(documentFrequency df: Int, occurrences: Int, _ bm25: BM25) -> TermScorer {
        bm25.scorer(documents: df, total: documentCount, occurrences: occurrences, averageLength: Float(Double(totalTokens) / Double(max(1, documentCount))))
    }

    /// Phrase matching: every term at its relative position (stop-word gaps kept), with up to
    /// `slop` extra positions in total, in order. With `prefixLast` the last word is expanded to
    /// every term it prefixes.
    private func phraseMatches(text: String, slop: Int, prefixLast: Bool) throws -> DocSet {
        let n = documentCount
        var tokens: [([UInt8], Int)]
        var lastAlternatives: [TermPostings] = []
        if prefixLast {
            // The last word is a raw (lowercased, unstemmed) prefix right after the rest.
            let scalars = Array(text.unicodeScalars)
            var cut = scalars.count
            while cut > 0 && (CharacterSet.alphanumerics.contains(scalars[cut - 1])) { cut -= 1 }
            let head = String(String.UnicodeScalarView(scalars[..<cut]))
            let last = String(String.UnicodeScalarView(scalars[cut...])).lowercased()
            if last.isEmpty { return DocSet(capacity: n) }
            tokens = analyzedTokens(head)
            let p = Array(last.utf8)
            lastAlternatives = try termsWithPrefix(p, positions: true)
            if lastAlternatives.isEmpty { return DocSet(capacity: n) }
            tokens.append(([], (tokens.last?.1 ?? -1) + 1))
        } else {
            tokens = analyzedTokens(text)
        }
        if tokens.isEmpty { return DocSet(capacity: n) }
        var terms: [[TermPostings]] = []
        for (i, t) in tokens.enumerated() {
            if prefixLast && i == tokens.count - 1 { terms.append(lastAlternatives); continue }
            guard let p = try postings(t.0) else { return DocSet(capacity: n) }
            terms.append([p])
        }
        // Candidates: documents holding every term (any alternative for the last).
        var candidates = DocSet(capacity: n, full: true)
        for alts in terms { candidates.formIntersection(union(alts)) }
        let offsets = tokens.map { $0.1 - tokens[0].1 }
        var result = DocSet(capacity: n)
        let single = terms.allSatisfy { $0.count == 1 }
        var lists: [ArraySlice<UInt32>] = []
        lists.reserveCapacity(terms.count)
        candidates.forEach { doc in
            lists.removeAll(keepingCapacity: true)
            for alts in terms {
                if single {
                    lists.append(alts[0].positions(in: doc) ?? [])
                } else {
                    var all: [UInt32] = []
                    for a in alts { if let p = a.positions(in: doc) { all.append(contentsOf: p) } }
                    lists.append(ArraySlice(all.sorted()))
                }
            }
            if Phrase.occurs(lists, offsets, slop: slop) { result.insert(doc) }
        }
        return result
    }

    /// The top `limit` matching documents by BM25 (clause by clause, as `MatchTree` scores),
    /// ties in document order.
    public func search(_ query: Query, limit: Int, bm25: BM25 = BM25()) throws -> [MemoryIndex.Hit] {
        try MatchTree.top(MatchTree.build(query, PostingsMatchSource(source: self, bm25: bm25), scoring: true), limit: limit)
    }
}

/// A memory buffer or a lone segment file as the match tree sees it: one field, terms as nodes
/// of the source, phrases and every other clause from the set algebra (`matches`), phrases
/// scored by their terms.
struct PostingsMatchSource<Source: PostingsSource>: MatchSource {
    let source: Source
    let bm25: BM25

    var documentCount: Int { source.documentCount }
    func fields(_ name: String?) throws -> [Int] {
        if let name, name != source.field { throw QueryError.unknownField(name, known: [source.field]) }
        return [0]
    }
    func isInverted(_ field: Int) -> Bool { true }
    func analyzed(_ field: Int, _ text: String) -> [(bytes: [UInt8], position: Int)] { source.analyzedTokens(text).map { ($0.0, $0.1) } }
    func termNode(_ field: Int, _ bytes: [UInt8], scoring: Bool) throws -> MatchNode? {
        guard let p = try source.postings(bytes) else { return nil }
        let source = source
        return ListTermNode(docs: p.docs, freqs: p.freqs, norm: { source.norm($0) },
                            scorer: scoring ? source.localScorer(documentFrequency: p.docs.count, occurrences: 1, bm25) : nil)
    }
    func phraseNode(_ field: Int, _ text: String, _ tokens: [(bytes: [UInt8], position: Int)], slop: Int, scoring: Bool) throws -> MatchNode? {
        var scorers: [MatchNode] = []
        if scoring { scorers = try tokens.compactMap { try termNode(field, $0.bytes, scoring: true) } }
        let matched = SetNode(try source.matches(.phrase(field: nil, text: text, slop: slop, prefixLast: false)), constant: 0, scorers: scorers)
        return matched.doc == PostingsCursor.exhausted ? nil : matched
    }
    func matchSet(_ query: Query, field: Int?) throws -> DocSet { try source.matches(query) }
}

extension MemoryIndex: PostingsSource {
    public var totalTokens: UInt64 { totalLength }
    public func norm(_ doc: Int) -> UInt32 { documentLengths[doc] }

    func termID(_ bytes: [UInt8]) -> Int32? { bytes.withUnsafeBytes { terms.find($0) } }

    private func materialize(_ id: Int32, positions: Bool = true) -> TermPostings {
        let p = postings[Int(id)]
        if !positions { return TermPostings(docs: p.docs, freqs: p.freqs, posStart: [], positions: []) }
        var posStart: [UInt32] = []
        posStart.reserveCapacity(p.freqs.count)
        var at: UInt32 = 0
        for f in p.freqs { posStart.append(at); at += f }
        return TermPostings(docs: p.docs, freqs: p.freqs, posStart: posStart, positions: p.positions)
    }

    public func termPostings(_ term: UnsafeRawBufferPointer) throws -> TermPostings? {
        terms.find(term).map { materialize($0) }
    }

    func termNode(_ term: [UInt8], occurrences: Int, bm25: BM25?) -> MatchNode? {
        guard let id = termID(term) else { return nil }
        let p = postings[Int(id)]
        let lengths = documentLengths
        return ListTermNode(docs: p.docs, freqs: p.freqs, norm: { lengths[$0] },
                            scorer: bm25.map { localScorer(documentFrequency: p.docs.count, occurrences: occurrences, $0) })
    }

    public func termsMatching(from lower: [UInt8]?, positions: Bool, _ verdict: (UnsafeRawBufferPointer) -> TermVerdict) throws -> [TermPostings] {
        // The buffer's terms are unordered: every term is visited (a stop only skips).
        var out: [TermPostings] = []
        terms.forEach { id, b in if verdict(b) == .take { out.append(materialize(id, positions: positions)) } }
        return out
    }

    /// Levenshtein distance, stopping early once every cell exceeds `limit`.
    static func editDistance(_ a: [UInt8], _ b: UnsafeRawBufferPointer, limit: Int) -> Int {
        if abs(a.count - b.count) > limit { return limit + 1 }
        var prev = Array(0 ... b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1 ... max(1, a.count) where a.count > 0 {
            cur[0] = i
            var best = cur[0]
            for j in 1 ... max(1, b.count) where b.count > 0 {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                best = min(best, cur[j])
            }
            if best > limit { return limit + 1 }
            swap(&prev, &cur)
        }
        return a.isEmpty ? b.count : prev[b.count]
    }
}
