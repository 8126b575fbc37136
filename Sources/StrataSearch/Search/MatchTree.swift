/// What the match tree's builder asks of an index kind: one segment of a searcher, a lone
/// segment file or the memory buffer. Terms and phrases become cursors (or postings lists);
/// every other clause is answered by the index kind's document-set algebra, the one fallback.
protocol MatchSource {
    var documentCount: Int { get }
    /// The fields a term or phrase clause addressing `name` reads (nil: the default fields).
    func fields(_ name: String?) throws -> [Int]
    /// Whether `field` is inverted (else a numeric column, matched by the set algebra).
    func isInverted(_ field: Int) -> Bool
    func analyzed(_ field: Int, _ text: String) -> [(bytes: [UInt8], position: Int)]
    /// The node of an analyzed term (nil: no document has it), scoring unless `scoring` is false.
    func termNode(_ field: Int, _ bytes: [UInt8], scoring: Bool) throws -> MatchNode?
    /// The node of a phrase of at least two analyzed tokens.
    func phraseNode(_ field: Int, _ text: String, _ tokens: [(bytes: [UInt8], position: Int)], slop: Int, scoring: Bool) throws -> MatchNode?
    /// The set algebra's documents for `query`, on one field (numeric clauses) or on the fields
    /// it names (nil).
    func matchSet(_ query: Query, field: Int?) throws -> DocSet
}

/// The query engine's general path: any `Query` compiled to a tree of `MatchNode`s over one
/// segment (or the memory buffer), streamed in document order into one collector (`TopHits`)
/// or counted. Scores follow the clauses: a term or phrase clause scores the BM25 of its
/// analyzed terms where it matches (once per field it matches in); a boolean sums its must
/// clauses and the should clauses that match; prefix, fuzzy, range, exists and match-all
/// clauses and term clauses naming a numeric field add 1 where they match (Lucene's
/// constant-score rewrites); mustNot clauses never score.
enum MatchTree {
    /// The tree of `query` over `source`; nil when it matches nothing.
    static func build<S: MatchSource>(_ query: Query, _ source: S, scoring: Bool) throws -> MatchNode? {
        try QueryDeadline.check()
        switch query {
        case .matchAll:
            return source.documentCount > 0 ? AllNode(count: source.documentCount, constant: scoring ? 1 : 0) : nil
        case let .term(f, _), let .phrase(f, _, _, _):
            var nodes: [MatchNode] = []
            for field in try source.fields(f) {
                if let n = try leaf(query, field, explicit: f != nil, source, scoring: scoring) { nodes.append(n) }
            }
            return try union(nodes)
        case .prefix, .fuzzy, .range, .exists:
            return set(try source.matchSet(query, field: nil), constant: scoring ? 1 : 0)
        case let .boolean(must, should, mustNot, minimumShouldMatch):
            if must.isEmpty && should.isEmpty && mustNot.isEmpty { return nil }
            var required: [MatchNode] = []
            for q in must {
                guard let n = try build(q, source, scoring: scoring) else { return nil }
                required.append(n)
            }
            let optional = try should.compactMap { try build($0, source, scoring: scoring) }
            var scoredAlongside: MatchNode?
            if !should.isEmpty && minimumShouldMatch > 0 {
                if optional.count < minimumShouldMatch { return nil }
                required.append(optional.count == 1 ? optional[0] : try disjunction(optional, minimum: minimumShouldMatch))
            } else {
                scoredAlongside = try union(optional)
            }
            var node: MatchNode
            if required.isEmpty {
                // Only optional or excluded clauses: every document is a candidate (scoring 0).
                guard source.documentCount > 0 else { return nil }
                node = AllNode(count: source.documentCount, constant: 0)
            } else {
                node = required.count == 1 ? required[0] : try ConjunctionNode(required)
            }
            if let scoredAlongside, scoring { node = OptionalNode(node, optional: scoredAlongside) }
            let excluded = try mustNot.compactMap { try build($0, source, scoring: false) }
            if let ex = try union(excluded) { node = try ExclusionNode(node, excluding: ex) }
            return node
        }
    }

    /// A term or phrase clause on one field.
    private static func leaf<S: MatchSource>(_ query: Query, _ field: Int, explicit: Bool, _ source: S, scoring: Bool) throws -> MatchNode? {
        guard source.isInverted(field) else {
            return set(try source.matchSet(query, field: field), constant: scoring && explicit ? 1 : 0)
        }
        switch query {
        case let .phrase(_, text, _, true):
            // Phrase prefix: matched by the set algebra, scored by the terms of its text.
            let documents = try source.matchSet(query, field: field)
            guard let matched = set(documents, constant: 0) else { return nil }
            guard scoring else { return matched }
            let scorers = try source.analyzed(field, text).compactMap { try source.termNode(field, $0.bytes, scoring: true) }
            return SetNode(documents, constant: 0, scorers: scorers)
        case let .term(_, text), let .phrase(_, text, _, _):
            var slop = 0
            if case let .phrase(_, _, s, _) = query { slop = s }
            let tokens = source.analyzed(field, text)
            if tokens.isEmpty { return nil }
            if tokens.count == 1 { return try source.termNode(field, tokens[0].bytes, scoring: scoring) }
            return try source.phraseNode(field, text, tokens, slop: slop, scoring: scoring)
        default:
            return nil
        }
    }

    /// One node matching any of `nodes` (nil for none).
    static func union(_ nodes: [MatchNode]) throws -> MatchNode? {
        if nodes.count <= 1 { return nodes.first }
        return try disjunction(nodes, minimum: 1)
    }

    /// Children scanned in turn up to this many; a heap beyond.
    static let linearDisjunctionLimit = 8

    private static func disjunction(_ nodes: [MatchNode], minimum: Int) throws -> MatchNode {
        nodes.count <= linearDisjunctionLimit ? try DisjunctionNode(nodes, minimum: minimum) : try HeapDisjunctionNode(nodes, minimum: minimum)
    }

    private static func set(_ s: DocSet, constant: Float) -> MatchNode? {
        let node = SetNode(s, constant: constant)
        return node.doc == PostingsCursor.exhausted ? nil : node
    }

    /// Calls `body` for each document of `node` in `range` (nil: all) and not in `deletes`, in
    /// order, until it returns false (candidates are confirmed after the deletes are checked).
    static func forEach(_ node: MatchNode, deletes: DeletedDocuments?, range: Range<UInt32>?, _ body: (UInt32) throws -> Bool) throws {
        if let range { try node.advance(to: range.lowerBound) }
        let end = range?.upperBound ?? PostingsCursor.exhausted
        var visited = 0
        while node.doc < end {
            let d = node.doc
            if !(deletes?.contains(d) ?? false), try node.matches(), try !body(d) { return }
            visited += 1
            if visited & 4095 == 0 { try QueryDeadline.check() }
            try node.next()
        }
    }

    /// Offers every document of `node` (as `forEach`) to `top` with its score (0 unless `scoring`).
    static func collect(_ node: MatchNode, segment: Int, deletes: DeletedDocuments?, range: Range<UInt32>?, scoring: Bool, into top: inout TopHits) throws {
        try forEach(node, deletes: deletes, range: range) { d in
            top.offer(SearchHit(segment: segment, document: d, score: scoring ? try node.score() : 0, sortValue: nil))
            return true
        }
    }

    /// The top `limit` documents of `node` by score, ties in document order (the memory buffer
    /// and lone segment files: one segment, no deletes).
    static func top(_ node: MatchNode?, limit: Int) throws -> [MemoryIndex.Hit] {
        guard let node, limit > 0 else { return [] }
        var top = TopHits(limit: limit, sort: .score)
        try collect(node, segment: 0, deletes: nil, range: nil, scoring: true, into: &top)
        return top.sorted().map { MemoryIndex.Hit(document: $0.document, score: $0.score) }
    }

    /// The top `limit` documents holding any of `terms` (analyzed; a repeated term scores once
    /// per occurrence), each term's node made by `node(bytes, occurrences)`.
    static func top(terms: [[UInt8]], limit: Int, _ node: ([UInt8], Int) throws -> MatchNode?) throws -> [MemoryIndex.Hit] {
        var distinct: [[UInt8]] = [], occurrences: [[UInt8]: Int] = [:]
        for t in terms {
            if occurrences[t] == nil { distinct.append(t) }
            occurrences[t, default: 0] += 1
        }
        return try top(union(distinct.compactMap { try node($0, occurrences[$0]!) }), limit: limit)
    }
}
