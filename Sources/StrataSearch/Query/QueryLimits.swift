/// Bounds on what one query may cost, each refused with `QueryError.tooComplex` before (or
/// instead of) the work: Lucene's `maxClauseCount` and Elasticsearch's
/// `indices.query.bool.max_clause_count` for clauses, and a cap on the terms one fuzzy clause
/// may expand to in a segment (Lucene rewrites fuzzy queries into at most `maxExpansions`
/// terms; here the query fails instead of silently dropping matches).
public struct QueryLimits: Sendable, Equatable {
    /// Leaf clauses in the query tree, counting each word of a phrase or multi-word term as
    /// one (a 21,000-word phrase took 18 s and 456 MB before this limit).
    public var maxClauses: Int
    /// Terms of one segment's dictionary one fuzzy clause may match.
    public var maxFuzzyExpansions: Int

    public init(maxClauses: Int = 4096, maxFuzzyExpansions: Int = 10_000) {
        self.maxClauses = maxClauses
        self.maxFuzzyExpansions = maxFuzzyExpansions
    }

    /// The limits of queries run by this task or thread (`QueryLimits.$current.withValue(l) {
    /// … }` sets them for a scope; the default otherwise). A task-local, so the searcher's
    /// entry points and the fuzzy expansion deep in a segment read the same value without it
    /// being passed through every layer.
    @TaskLocal public static var current = QueryLimits()

    /// Throws `tooComplex` when `query` has more clauses than `maxClauses`.
    public func check(_ query: Query) throws {
        let n = query.clauseCount(stoppingAbove: maxClauses)
        if n > maxClauses {
            throw QueryError.tooComplex("the query has more than \(maxClauses) clauses (phrase words count one each); narrow it, or raise QueryLimits.maxClauses")
        }
    }
}

extension Query {
    /// Leaf clauses (phrase and multi-word term words counted one each), counting stops once
    /// past `limit`.
    func clauseCount(stoppingAbove limit: Int) -> Int {
        switch self {
        case .matchAll, .exists, .prefix, .fuzzy, .range:
            return 1
        case let .term(_, text), let .phrase(_, text, _, _):
            // Words, as a cheap bound before analysis (a word may become several tokens).
            var words = 0, inWord = false
            for u in text.utf8 {
                let space = u == 0x20 || u == 0x09 || u == 0x0A || u == 0x0D
                if !space && !inWord { words += 1 }
                inWord = !space
                if words > limit { break }
            }
            return max(1, words)
        case let .boolean(must, should, mustNot, _):
            var total = 0
            for q in must + should + mustNot {
                total += q.clauseCount(stoppingAbove: limit - total)
                if total > limit { break }
            }
            return total
        }
    }
}
