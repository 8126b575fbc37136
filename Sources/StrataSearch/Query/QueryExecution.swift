import Foundation

/// A set of document ids as a bitset.
public struct DocSet: Sendable, Equatable {
    var words: [UInt64]
    public let capacity: Int

    init(capacity: Int, full: Bool = false) {
        self.capacity = capacity
        words = [UInt64](repeating: full ? ~0 : 0, count: (capacity + 63) / 64)
        if full && capacity % 64 != 0 { words[words.count - 1] = (1 << UInt64(capacity % 64)) - 1 }
    }

    @inline(__always) mutating func insert(_ d: UInt32) { words[Int(d >> 6)] |= 1 << UInt64(d & 63) }
    @inline(__always) public func contains(_ d: UInt32) -> Bool { words[Int(d >> 6)] & (1 << UInt64(d & 63)) != 0 }
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    mutating func formIntersection(_ o: DocSet) { for i in words.indices { words[i] &= o.words[i] } }
    mutating func formUnion(_ o: DocSet) { for i in words.indices { words[i] |= o.words[i] } }
    mutating func subtract(_ o: DocSet) { for i in words.indices { words[i] &= ~o.words[i] } }

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
    public var description: String {
        switch self {
        case let .unknownField(f, known): return "unknown field '\(f)'; the index has \(known.joined(separator: ", "))"
        }
    }
}

extension MemoryIndex {
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

    func termID(_ bytes: [UInt8]) -> Int32? { bytes.withUnsafeBytes { terms.find($0) } }

    func docs(ofTerm id: Int32) -> DocSet {
        var s = DocSet(capacity: documentCount)
        for d in postingDocs[Int(id)] { s.insert(d) }
        return s
    }

    /// Term ids whose bytes satisfy `accept`.
    func matchingTerms(_ accept: (UnsafeRawBufferPointer) -> Bool) -> [Int32] {
        var out: [Int32] = []
        terms.forEach { id, b in if accept(b) { out.append(id) } }
        return out
    }

    /// The documents matching `query`.
    public func matches(_ query: Query) throws -> DocSet {
        let n = documentCount
        switch query {
        case .matchAll:
            return DocSet(capacity: n, full: true)
        case let .exists(f):
            try checkField(f)
            var s = DocSet(capacity: n)
            for (d, l) in documentLengths.enumerated() where l > 0 { s.insert(UInt32(d)) }
            return s
        case let .term(f, text):
            try checkField(f)
            let tokens = analyzedTokens(text)
            if tokens.count > 1 { return try matches(.phrase(field: f, text: text, slop: 0, prefixLast: false)) }
            guard let t = tokens.first, let id = termID(t.0) else { return DocSet(capacity: n) }
            return docs(ofTerm: id)
        case let .phrase(f, text, slop, prefixLast):
            try checkField(f)
            return phraseMatches(text: text, slop: slop, prefixLast: prefixLast)
        case let .prefix(f, text):
            try checkField(f)
            let p = Array(text.lowercased().utf8)
            return union(matchingTerms { $0.count >= p.count && memcmp($0.baseAddress!, p, p.count) == 0 })
        case let .fuzzy(f, text, distance):
            try checkField(f)
            let target = Array(text.lowercased().utf8)
            return union(matchingTerms { Self.editDistance(target, $0, limit: distance) <= distance })
        case let .range(f, lower, upper, includeLower, includeUpper):
            try checkField(f)
            let lo = lower.map { Array($0.lowercased().utf8) }, hi = upper.map { Array($0.lowercased().utf8) }
            return union(matchingTerms { b in
                let t = Array(b)
                if let lo { if includeLower ? t.lexicographicallyPrecedes(lo) : !lo.lexicographicallyPrecedes(t) { return false } }
                if let hi { if includeUpper ? hi.lexicographicallyPrecedes(t) : !t.lexicographicallyPrecedes(hi) { return false } }
                return true
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

    /// Number of matching documents (exact).
    public func count(_ query: Query) throws -> Int { try matches(query).count }

    private func union(_ ids: [Int32]) -> DocSet {
        var s = DocSet(capacity: documentCount)
        for id in ids { for d in postingDocs[Int(id)] { s.insert(d) } }
        return s
    }

    /// Positions of term `id` in document `doc`, or nil.
    private func positions(_ id: Int32, in doc: UInt32) -> ArraySlice<UInt32>? {
        let docs = postingDocs[Int(id)]
        var lo = 0, hi = docs.count - 1
        while lo <= hi {
            let mid = (lo + hi) >> 1
            if docs[mid] == doc {
                let start = Int(postingPosStart[Int(id)][mid])
                return postingPositions[Int(id)][start ..< start + Int(postingFreqs[Int(id)][mid])]
            }
            if docs[mid] < doc { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }

    /// Phrase matching: every term at its relative position (stop-word gaps kept), with up to
    /// `slop` extra positions in total, in order. With `prefixLast` the last word is expanded to
    /// every term it prefixes.
    private func phraseMatches(text: String, slop: Int, prefixLast: Bool) -> DocSet {
        let n = documentCount
        var tokens: [([UInt8], Int)]
        var lastAlternatives: [Int32] = []
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
            lastAlternatives = matchingTerms { $0.count >= p.count && memcmp($0.baseAddress!, p, p.count) == 0 }
            if lastAlternatives.isEmpty { return DocSet(capacity: n) }
            tokens.append(([], (tokens.last?.1 ?? -1) + 1))
        } else {
            tokens = analyzedTokens(text)
        }
        if tokens.isEmpty { return DocSet(capacity: n) }
        var ids: [[Int32]] = []
        for (i, t) in tokens.enumerated() {
            if prefixLast && i == tokens.count - 1 { ids.append(lastAlternatives); continue }
            guard let id = termID(t.0) else { return DocSet(capacity: n) }
            ids.append([id])
        }
        // Candidates: documents holding every term (any alternative for the last).
        var candidates = DocSet(capacity: n, full: true)
        for alts in ids { candidates.formIntersection(union(alts)) }
        let base = tokens[0].1
        var result = DocSet(capacity: n)
        let single = ids.allSatisfy { $0.count == 1 }
        var lists: [ArraySlice<UInt32>] = []
        lists.reserveCapacity(ids.count)
        candidates.forEach { doc in
            lists.removeAll(keepingCapacity: true)
            for alts in ids {
                if single {
                    lists.append(positions(alts[0], in: doc) ?? [])
                } else {
                    var all: [UInt32] = []
                    for a in alts { if let p = positions(a, in: doc) { all.append(contentsOf: p) } }
                    lists.append(ArraySlice(all.sorted()))
                }
            }
            for p0 in lists[0] {
                var budget = slop
                var prev = Int(p0)
                var ok = true
                for k in 1 ..< lists.count {
                    let want = Int(p0) + (tokens[k].1 - base)
                    // The earliest occurrence after the previous term, at or past its target.
                    guard let found = lists[k].first(where: { Int($0) > prev && Int($0) >= want }) else { ok = false; break }
                    budget -= Int(found) - want
                    if budget < 0 { ok = false; break }
                    prev = Int(found)
                }
                if ok { result.insert(doc); break }
            }
        }
        return result
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

extension MemoryIndex {
    /// Analyzed terms of the query's positive clauses (the ones that score).
    func scoringTerms(_ q: Query, into out: inout [Int32: Int]) {
        switch q {
        case let .term(_, text), let .phrase(_, text, _, _):
            for (t, _) in analyzedTokens(text) { if let id = termID(t) { out[id, default: 0] += 1 } }
        case let .boolean(must, should, _, _):
            for c in must + should { scoringTerms(c, into: &out) }
        default:
            break
        }
    }

    /// The top `limit` matching documents by BM25 over the query's positive terms (documents
    /// matched only by prefix, fuzzy, range or match-all clauses score 0 and follow in id order).
    public func search(_ query: Query, limit: Int, bm25: BM25 = BM25()) throws -> [Hit] {
        let matched = try matches(query)
        var weights: [Int32: Int] = [:]
        scoringTerms(query, into: &weights)
        let n = documentCount
        let avgdl = Float(Double(totalLength) / Double(max(1, n)))
        var scores = [Float](repeating: 0, count: n)
        for (id, qtf) in weights {
            let idf = bm25.idf(documents: postingDocs[Int(id)].count, total: n) * Float(qtf)
            for (i, d) in postingDocs[Int(id)].enumerated() where matched.contains(d) {
                let tf = Float(postingFreqs[Int(id)][i])
                let norm = bm25.k1 * (1 - bm25.b + bm25.b * Float(documentLengths[Int(d)]) / avgdl)
                scores[Int(d)] += idf * tf * (bm25.k1 + 1) / (tf + norm)
            }
        }
        var hits: [Hit] = []
        matched.forEach { hits.append(Hit(document: $0, score: scores[Int($0)])) }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.document < $1.document }
        return Array(hits.prefix(limit))
    }
}
