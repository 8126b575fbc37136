extension IndexSearcher {
    /// One query's terms, looked up in every segment once and scored from whole-index
    /// statistics, shared by the trees `MatchTree` builds for each segment.
    final class MatchContext {
        let scoring: Bool
        let bm25: BM25
        private var resolved: [[QueryPlan.Term]: Resolved] = [:]

        init(scoring: Bool, bm25: BM25) {
            self.scoring = scoring
            self.bm25 = bm25
        }

        func resolve(_ terms: [QueryPlan.Term], in searcher: IndexSearcher) throws -> Resolved {
            if let r = resolved[terms] { return r }
            let r = try searcher.resolve(terms, scoring: scoring, bm25)
            resolved[terms] = r
            return r
        }
    }

    /// A segment of this searcher as the match tree sees it: terms and phrases on its cursors
    /// (bounded to a restricted view's run), other clauses through the set algebra.
    struct SegmentMatchSource: MatchSource {
        let searcher: IndexSearcher
        let segment: Int
        let context: MatchContext

        var documentCount: Int { searcher.segments[segment].reader.documentCount }
        func fields(_ name: String?) throws -> [Int] { try searcher.fieldNumbers(name) }
        func isInverted(_ field: Int) -> Bool { searcher.schema.fields[field].type.isInverted }
        func analyzed(_ field: Int, _ text: String) -> [(bytes: [UInt8], position: Int)] { searcher.analyzed(field, text) }

        func termNode(_ field: Int, _ bytes: [UInt8], scoring: Bool) throws -> MatchNode? {
            let r = try context.resolve([QueryPlan.Term(field: field, bytes: bytes, occurrences: 1)], in: searcher)
            guard let c = try searcher.cursor(r, segment, 0, field) else { return nil }
            return CursorTermNode(c, scorer: scoring ? r.scorers.first ?? nil : nil)
        }

        func phraseNode(_ field: Int, _ text: String, _ tokens: [(bytes: [UInt8], position: Int)], slop: Int, scoring: Bool) throws -> MatchNode? {
            let unique = searcher.merge(tokens.map { QueryPlan.Term(field: field, bytes: $0.bytes, occurrences: 1) })
            let r = try context.resolve(unique, in: searcher)
            guard let matcher = try searcher.phraseMatcher(unique, tokens, slop, r, segment) else { return nil }
            let scorers = scoring && !r.scorers.isEmpty ? r.scorers : [TermScorer?](repeating: nil, count: unique.count)
            return try CursorPhraseNode(matcher, scorers: scorers)
        }

        func matchSet(_ query: Query, field: Int?) throws -> DocSet {
            let s = searcher.segments[segment]
            if let field { return try searcher.fieldMatches(query, field, s) }
            return try searcher.rawMatches(query, s)
        }
    }

    /// The match tree of `query` in segment `si` (nil: no match there).
    func matchTree(_ query: Query, _ si: Int, _ context: MatchContext) throws -> MatchNode? {
        try MatchTree.build(query, SegmentMatchSource(searcher: self, segment: si, context: context), scoring: context.scoring)
    }

    /// Live documents matching a query no `QueryPlan` shape covers, counted from its trees.
    func treeCount(_ query: Query) throws -> Int {
        let context = MatchContext(scoring: false, bm25: BM25())
        var n = 0
        for (si, s) in segments.enumerated() where !s.excluded {
            guard let node = try matchTree(query, si, context) else { continue }
            try MatchTree.forEach(node, deletes: s.deletes, range: s.docRange) { _ in n += 1; return true }
        }
        return n
    }

    /// The live documents of segment `s` matching `query`, from its tree. Callers ask segment
    /// by segment (aggregations, sorting by a field, deletes): the terms' lookups of the last
    /// query are kept for the next segment's call.
    func treeMatches(_ query: Query, _ si: Int) throws -> DocSet {
        let s = segments[si]
        var set = DocSet(capacity: s.reader.documentCount)
        if s.excluded { return set }
        let context: MatchContext
        if let (last, kept) = lastMatchContext, last == query { context = kept } else {
            context = MatchContext(scoring: false, bm25: BM25())
            lastMatchContext = (query, context)
        }
        guard let node = try matchTree(query, si, context) else { return set }
        try MatchTree.forEach(node, deletes: s.deletes, range: s.docRange) { set.insert($0); return true }
        return set
    }

    /// Top-k by score of a query no `QueryPlan` shape covers, from its trees.
    func treeTop(_ query: Query, top: inout TopHits, bm25: BM25) throws {
        let context = MatchContext(scoring: true, bm25: bm25)
        for (si, s) in segments.enumerated() where !s.excluded {
            guard let node = try matchTree(query, si, context) else { continue }
            try MatchTree.collect(node, segment: si, deletes: s.deletes, range: s.docRange, scoring: true, into: &top)
        }
    }
}
