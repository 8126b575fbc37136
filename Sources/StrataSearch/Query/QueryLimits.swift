import StrataIO

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

    /// Wall-clock time one search, count or aggregation may take (nil: no limit). Checked as
    /// each segment's postings are opened, so a search stops within about one segment's work
    /// of the deadline, with `QueryError.timedOut`.
    public var timeoutMs: Int?

    public init(maxClauses: Int = 4096, maxFuzzyExpansions: Int = 10_000, timeoutMs: Int? = nil) {
        self.maxClauses = maxClauses
        self.maxFuzzyExpansions = maxFuzzyExpansions
        self.timeoutMs = timeoutMs
    }

    /// Runs `body` under this search's deadline: the one already running (a store request
    /// spanning search, count and aggregations), or a new one from `timeoutMs`.
    public func withDeadline<R>(_ body: () throws -> R) rethrows -> R {
        guard let ms = timeoutMs, QueryDeadline.current == nil else { return try body() }
        return try QueryDeadline.$current.withValue(monotonicNanoseconds() &+ Int64(ms) &* 1_000_000) { try body() }
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

/// The monotonic time (nanoseconds) the running search must finish by, if it has one.
enum QueryDeadline {
    @TaskLocal static var current: Int64?

    /// Throws `timedOut` once the running search is past its deadline.
    @inline(__always)
    static func check() throws {
        if let d = current, monotonicNanoseconds() > d {
            throw QueryError.timedOut("the search ran past its \(QueryLimits.current.timeoutMs.map { "\($0) ms " } ?? "")time limit (QueryLimits.timeoutMs)")
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
