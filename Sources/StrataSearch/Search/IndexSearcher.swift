import StrataIO

/// A hit of an index search: the segment (index into `IndexSearcher.segments`), the document
/// within it, its BM25 score, when sorting by a field the sort value, and with
/// `SearchOptions.tieBreak` the tie-break values.
public struct SearchHit: Sendable, Equatable {
    public var segment: Int
    public var document: UInt32
    public var score: Float
    public var sortValue: Double?
    /// Values of the tie-break fields (`Int64.min` where a document has none).
    public var tieBreak: TieKey = TieKey()

    public init(segment: Int, document: UInt32, score: Float, sortValue: Double?, tieBreak: TieKey = TieKey()) {
        self.segment = segment
        self.document = document
        self.score = score
        self.sortValue = sortValue
        self.tieBreak = tieBreak
    }
}

/// Up to three integer tie-break values of a hit, compared in order.
public struct TieKey: Sendable, Equatable, Comparable {
    public var a: Int64 = .min
    public var b: Int64 = .min
    public var c: Int64 = .min
    public init(_ a: Int64 = .min, _ b: Int64 = .min, _ c: Int64 = .min) {
        self.a = a
        self.b = b
        self.c = c
    }
    public static func < (x: TieKey, y: TieKey) -> Bool { (x.a, x.b, x.c) < (y.a, y.b, y.c) }
}

/// How `IndexSearcher.search` orders and pages hits beyond the sort itself.
public struct SearchOptions: Sendable, Equatable {
    /// Integer or timestamp fields (at most three) that order hits of equal score or sort
    /// value, instead of index order: a stable order across refreshes and merges (a log-fed
    /// index uses its records' timestamp, partition and offset).
    public var tieBreak: [String] = []
    /// Ties largest first.
    public var tieBreakDescending = true
    /// Only hits that rank strictly after this one (deep paging: the last hit of the previous
    /// page, with its score or sort value and tie-break values).
    public var after: SearchHit?
    public init(tieBreak: [String] = [], tieBreakDescending: Bool = true, after: SearchHit? = nil) {
        self.tieBreak = tieBreak
        self.tieBreakDescending = tieBreakDescending
        self.after = after
    }
}

/// Sort order for `IndexSearcher.search`.
public enum SearchSort: Sendable, Equatable {
    /// BM25 score, highest first (ties: index order).
    case score
    /// A numeric or timestamp field; documents without a value come last (ties: index order).
    case field(String, descending: Bool)
}

/// A point-in-time view of an index: the segments and deletes as they were when it was taken.
/// Queries address fields by name; unqualified terms search the schema's default fields.
/// Scoring uses statistics of the whole index (document count, average length and document
/// frequency summed over segments, deleted documents included until merged, as Lucene does),
/// so a document scores the same however the index is split into segments.
///
/// Use one searcher per thread (analyzers keep per-call scratch state); taking one is cheap.
public final class IndexSearcher: @unchecked Sendable {
    struct Segment: @unchecked Sendable {
        let reader: SegmentReader
        /// Documents not to return: the deletes, plus in a restricted view the documents
        /// outside it.
        let deletes: DeletedDocuments?
        /// The whole segment lies outside a restricted view (`restricted(to:)`): queries skip it;
        /// it still counts in the scoring statistics.
        let excluded: Bool
        /// In a restricted view of a segment sorted by the restricting field: the run of
        /// documents in the view (cursors start at its start and end at its end).
        let docRange: Range<UInt32>?
        /// Documents in the view, not deleted.
        let liveCount: Int

        init(reader: SegmentReader, deletes: DeletedDocuments?, excluded: Bool = false, docRange: Range<UInt32>? = nil) {
            self.reader = reader
            self.deletes = deletes
            self.excluded = excluded
            self.docRange = docRange
            if excluded {
                liveCount = 0
            } else if let docRange {
                var deleted = 0
                if let deletes { for d in docRange where deletes.contains(d) { deleted += 1 } }
                liveCount = docRange.count - deleted
            } else {
                liveCount = reader.documentCount - (deletes?.count ?? 0)
            }
        }
    }

    /// What a searcher is built from (readers keep one and hand out searchers).
    struct State: @unchecked Sendable {
        var schema: Schema
        var segments: [(SegmentReader, DeletedDocuments?)]
    }

    public let schema: Schema
    let segments: [Segment]
    private var analyzers: [Analyzer?]
    /// Whether queries run on the engine — `QueryPlan`'s loops for the shapes it knows, the
    /// match tree (`MatchTree`) for the rest. Tests turn it off to hold the engine to the
    /// set-based path, which computes the same documents and scores from document sets.
    var usePlans = true
    /// Whether conjunctions of similar-length lists are merged a window at a time
    /// (`intersectInWindows`); tests turn it off to compare with the leapfrog alone.
    var windowedIntersections = true
    /// Per inverted field: documents and tokens over every segment.
    private var fieldStats: [(docs: Int, tokens: UInt64)?]
    /// The last query `treeMatches` ran and its terms' lookups (kept across its segments).
    var lastMatchContext: (Query, MatchContext)?

    private let searchFields: [Int]

    init(schema: Schema, segments: [(SegmentReader, DeletedDocuments?)]) {
        self.schema = schema
        searchFields = schema.searchFields
        analyzers = [Analyzer?](repeating: nil, count: schema.fields.count)
        fieldStats = [(docs: Int, tokens: UInt64)?](repeating: nil, count: schema.fields.count)
        self.segments = segments.map { Segment(reader: $0.0, deletes: $0.1) }
    }

    convenience init(state: State) { self.init(schema: state.schema, segments: state.segments) }

    private init(schema: Schema, restricted: [Segment]) {
        self.schema = schema
        searchFields = schema.searchFields
        analyzers = [Analyzer?](repeating: nil, count: schema.fields.count)
        fieldStats = [(docs: Int, tokens: UInt64)?](repeating: nil, count: schema.fields.count)
        segments = restricted
    }

    /// A view of the documents whose integer or timestamp `field` lies in `[lower, upper]`
    /// (nil: open), keeping the whole index's scoring statistics — a document scores as it does
    /// unrestricted. Segments whose value range misses the interval are skipped without
    /// reading them (their minimum and maximum are known from the doc values); segments
    /// entirely inside it are used as they are; only segments straddling a bound are scanned.
    public func restricted(field: String, lower: Int64?, upper: Int64?) throws -> IndexSearcher {
        guard let f = schema.number(of: field) else { throw QueryError.unknownField(field, known: schema.fields.map(\.name)) }
        guard schema.fields[f].type == .i64 || schema.fields[f].type == .timestamp else {
            throw QueryError.unsupported("a restricted view needs an integer or timestamp field; '\(field)' is \(schema.fields[f].type.typeName)")
        }
        let view = segments.map { s -> Segment in
            if s.excluded { return s }
            guard let column = s.reader.docValues.numericColumn(f), column.mayContain(lower: lower, upper: upper) else {
                return Segment(reader: s.reader, deletes: s.deletes, excluded: true)
            }
            if column.allWithin(lower: lower, upper: upper) { return s }
            let n = s.reader.documentCount
            if s.reader.isSorted(by: [f]) {
                // Documents in order of the field: the range is a run, found by binary search;
                // cursors are bounded to it, so the cost follows the run, not the segment.
                let run = column.sortedRun(lower: lower, upper: upper)
                let first = run.lowerBound, end = run.upperBound
                if first >= end { return Segment(reader: s.reader, deletes: s.deletes, excluded: true) }
                if let r = s.docRange { // a second restriction narrows the first
                    let lo = max(UInt32(first), r.lowerBound), hi = min(UInt32(end), r.upperBound)
                    if lo >= hi { return Segment(reader: s.reader, deletes: s.deletes, excluded: true) }
                    return Segment(reader: s.reader, deletes: s.deletes, docRange: lo ..< hi)
                }
                return Segment(reader: s.reader, deletes: s.deletes, docRange: UInt32(first) ..< UInt32(end))
            }
            var outside = DocSet(capacity: n)
            do {
                for d in 0 ..< n {
                    if !column.has(d) { outside.insert(UInt32(d)); continue }
                    let v = column.bits(d)
                    if let lower, v < lower { outside.insert(UInt32(d)) } else if let upper, v > upper { outside.insert(UInt32(d)) }
                }
            }
            if let r = s.docRange {
                outside.insert(range: 0 ..< Int(r.lowerBound))
                outside.insert(range: Int(r.upperBound) ..< n)
            }
            if let deletes = s.deletes { outside.formUnion(deletes.docSet) }
            if outside.count == s.reader.documentCount { return Segment(reader: s.reader, deletes: s.deletes, excluded: true) }
            return Segment(reader: s.reader, deletes: DeletedDocuments(outside))
        }
        let r = IndexSearcher(schema: schema, restricted: view)
        r.usePlans = usePlans
        r.windowedIntersections = windowedIntersections
        return r
    }

    /// Live (not deleted) documents.
    public var documentCount: Int { segments.reduce(0) { $0 + $1.liveCount } }

    /// Segments in this point-in-time view (excluded ones included).
    public var segmentCount: Int { segments.count }

    /// Segments a query over this view reads: in a restricted view (`restricted(field:lower:upper:)`),
    /// those not skipped whole because their values all lie outside the range.
    public var searchedSegmentCount: Int { segments.reduce(0) { $0 + ($1.excluded ? 0 : 1) } }

    func analyzer(_ field: Int) -> Analyzer {
        if let a = analyzers[field] { return a }
        let a = schema.fields[field].makeAnalyzer()
        analyzers[field] = a
        return a
    }

    func fieldNumbers(_ name: String?) throws -> [Int] {
        guard let name else { return searchFields }
        guard let n = schema.number(of: name) else { throw QueryError.unknownField(name, known: schema.fields.map(\.name)) }
        return [n]
    }

    /// A `PostingsSource` over one field of one segment, or nil when no document has the field.
    func source(_ field: Int, _ s: Segment) -> SegmentSearcher? {
        guard let inv = s.reader.invertedField(field) else { return nil }
        return SegmentSearcher(segment: inv, analyzer: analyzer(field), field: schema.fields[field].name)
    }

    // MARK: matching

    /// The live documents of segment `s` matching `query`.
    func matches(_ query: Query, in s: Segment) throws -> DocSet {
        if s.excluded { return DocSet(capacity: 0) }
        if usePlans, try plan(query) == nil, let si = segments.firstIndex(where: { $0.reader === s.reader }) {
            return try treeMatches(query, si)
        }
        var r = try rawMatches(query, s)
        if let d = s.deletes { d.subtract(from: &r) }
        if let range = s.docRange { r.keepOnly(Int(range.lowerBound) ..< Int(range.upperBound)) }
        return r
    }

    /// Exact number of live matching documents.
    public func count(_ query: Query) throws -> Int {
        let limits = QueryLimits.current
        try limits.check(query)
        return try limits.withDeadline {
            if usePlans { return try plan(query).map { try count($0) } ?? treeCount(query) }
            return try segments.reduce(0) { $0 + (try matches(query, in: $1)).count }
        }
    }

    func rawMatches(_ query: Query, _ s: Segment) throws -> DocSet {
        try QueryDeadline.check()
        let n = s.reader.documentCount
        if usePlans, let plan = try plan(query), let si = segments.firstIndex(where: { $0.reader === s.reader }) {
            return try matchSet(plan, si)
        }
        switch query {
        case .matchAll:
            return DocSet(capacity: n, full: true)
        case let .boolean(must, should, mustNot, minimumShouldMatch):
            var result = DocSet(capacity: n, full: true)
            for q in must { result.formIntersection(try rawMatches(q, s)) }
            if !should.isEmpty && minimumShouldMatch > 0 {
                if minimumShouldMatch == 1 {
                    var any = DocSet(capacity: n)
                    for q in should { any.formUnion(try rawMatches(q, s)) }
                    result.formIntersection(any)
                } else {
                    var counts = [UInt16](repeating: 0, count: n)
                    for q in should { try rawMatches(q, s).forEach { counts[Int($0)] += 1 } }
                    var enough = DocSet(capacity: n)
                    for (d, c) in counts.enumerated() where Int(c) >= minimumShouldMatch { enough.insert(UInt32(d)) }
                    result.formIntersection(enough)
                }
            } else if must.isEmpty && should.isEmpty && mustNot.isEmpty {
                return DocSet(capacity: n)
            }
            for q in mustNot { result.subtract(try rawMatches(q, s)) }
            return result
        case let .term(f, _), let .phrase(f, _, _, _), let .prefix(f, _), let .fuzzy(f, _, _):
            var result = DocSet(capacity: n)
            for field in try fieldNumbers(f) { result.formUnion(try fieldMatches(query, field, s)) }
            return result
        case let .range(f, _, _, _, _), let .exists(f):
            return try fieldMatches(query, try fieldNumbers(f)[0], s)
        }
    }

    func fieldMatches(_ query: Query, _ field: Int, _ s: Segment) throws -> DocSet {
        let n = s.reader.documentCount
        let def = schema.fields[field]
        if def.type.isInverted {
            guard let source = source(field, s) else { return DocSet(capacity: n) }
            return try source.matches(query.withField(def.name))
        }
        guard let column = s.reader.docValues.numericColumn(field) else { return DocSet(capacity: n) }
        var result = DocSet(capacity: n)
        switch query {
        case .exists:
            for d in 0 ..< n where column.has(d) { result.insert(UInt32(d)) }
        case let .term(_, text), let .phrase(_, text, 0, false):
            let v = try NumericBound.parse(text, def)
            for d in 0 ..< n where column.has(d) && NumericBound.compare(column, d, v) == 0 { result.insert(UInt32(d)) }
        case let .range(_, lower, upper, includeLower, includeUpper):
            let lo = try lower.map { try NumericBound.parse($0, def) }, hi = try upper.map { try NumericBound.parse($0, def) }
            for d in 0 ..< n where column.has(d) {
                if let lo { let c = NumericBound.compare(column, d, lo); if c < 0 || (c == 0 && !includeLower) { continue } }
                if let hi { let c = NumericBound.compare(column, d, hi); if c > 0 || (c == 0 && !includeUpper) { continue } }
                result.insert(UInt32(d))
            }
        default:
            throw QueryError.unsupported("\(query.kindName) queries do not apply to \(def.type.typeName) field '\(def.name)'; use a term or range query")
        }
        return result
    }

    // MARK: scoring

    func fieldStatistics(_ field: Int) -> (docs: Int, tokens: UInt64) { stats(field) }

    private func stats(_ field: Int) -> (docs: Int, tokens: UInt64) {
        if let s = fieldStats[field] { return s }
        var docs = 0, tokens: UInt64 = 0
        for s in segments {
            docs += s.reader.documentCount
            tokens += s.reader.invertedField(field)?.totalTokens ?? 0
        }
        fieldStats[field] = (docs, tokens)
        return (docs, tokens)
    }

    /// The set-based path's scores, clause by clause as `MatchTree` scores them: adds the score
    /// of `q` to `scores[d]` for every `d` of `within`, all of which `q` matches.
    private func addSetScores(_ q: Query, _ s: Segment, within: DocSet, _ bm25: BM25, _ scores: inout [Float]) throws {
        switch q {
        case let .term(f, text), let .phrase(f, text, _, _):
            for field in try fieldNumbers(f) {
                var here = try fieldMatches(q, field, s)
                here.formIntersection(within)
                guard schema.fields[field].type.isInverted else {
                    // A term naming a numeric field scores as a constant clause.
                    if f != nil { here.forEach { scores[Int($0)] += 1 } }
                    continue
                }
                guard let inv = s.reader.invertedField(field) else { continue }
                for t in analyzed(field, text) {
                    let r = try resolve([QueryPlan.Term(field: field, bytes: t.bytes, occurrences: 1)], scoring: true, bm25)
                    guard let scorer = r.scorers[0], let info = try t.bytes.withUnsafeBytes({ try inv.lookup($0) }) else { continue }
                    let (docs, freqs) = try inv.postings(info)
                    for (i, d) in docs.enumerated() where here.contains(d) { scores[Int(d)] += scorer.score(freqs[i], inv.norm(Int(d))) }
                }
            }
        case let .boolean(must, should, _, _):
            for c in must { try addSetScores(c, s, within: within, bm25, &scores) }
            for c in should {
                var here = try rawMatches(c, s)
                here.formIntersection(within)
                try addSetScores(c, s, within: here, bm25, &scores)
            }
        case .prefix, .fuzzy, .range, .exists, .matchAll:
            within.forEach { scores[Int($0)] += 1 }
        }
    }

    /// The top `limit` live documents matching `query`, by BM25 or by a numeric field.
    ///
    /// A clause scores only in the documents it matches, as in a Lucene BooleanQuery: a term or
    /// phrase clause scores the BM25 of its analyzed terms (term frequencies; a term repeated in
    /// the query counts once per occurrence); a boolean sums its must clauses and those of its
    /// should clauses that match; each prefix, fuzzy, range, exists, match-all clause or term
    /// naming a numeric field adds 1, as Lucene's constant-score queries do; mustNot clauses
    /// never score. Ties go to the earlier segment, then the earlier document.
    public func search(_ query: Query, limit: Int, sort: SearchSort = .score, options: SearchOptions = SearchOptions(), bm25: BM25 = BM25()) throws -> [SearchHit] {
        let limits = QueryLimits.current
        try limits.check(query)
        return try limits.withDeadline { try topHits(query, limit: limit, sort: sort, options: options, bm25: bm25) }
    }

    private func topHits(_ query: Query, limit: Int, sort: SearchSort, options: SearchOptions, bm25: BM25) throws -> [SearchHit] {
        guard limit > 0 else { return [] }
        var top = TopHits(limit: limit, sort: sort)
        var tieFields: [Int] = []
        if !options.tieBreak.isEmpty || options.after != nil {
            guard options.tieBreak.count <= 3 else { throw QueryError.unsupported("at most three tie-break fields") }
            var columns: [[DocValues.NumericColumn?]] = []
            let fields = try options.tieBreak.map { name -> Int in
                guard let n = schema.number(of: name), schema.fields[n].type == .i64 || schema.fields[n].type == .timestamp else {
                    throw QueryError.unsupported("tie-break fields must be integer or timestamp fields; '\(name)' is not one")
                }
                return n
            }
            for s in segments { columns.append(fields.map { s.reader.docValues.numericColumn($0) }) }
            // Segments whose documents are in tie-break order (an index sort): ascending ties
            // there are settled in document order.
            let sorted = segments.map { !fields.isEmpty && !$0.excluded && $0.reader.isSorted(by: fields) }
            top.configure(tieColumns: fields.isEmpty ? nil : columns, descending: options.tieBreakDescending, after: options.after, sortedSegments: sorted)
            tieFields = fields
        }
        if sort == .score, usePlans {
            if let plan = try plan(query) { try run(plan, top: &top, bm25: bm25) } else { try treeTop(query, top: &top, bm25: bm25) }
            return top.sorted()
        }
        var sortColumn: DocValues.NumericColumn?
        // Sorting by a field: visit segments best range first and skip those whose best value
        // cannot enter the top k (or lies wholly before the `after` hit).
        var order = Array(segments.indices)
        var sortField: Int?
        if case let .field(name, descending) = sort {
            guard let n = schema.number(of: name), schema.fields[n].type.isNumeric else {
                throw QueryError.unsupported("sorting needs a numeric or timestamp field; '\(name)' is not one")
            }
            sortField = n
            if schema.fields[n].type != .f64 {
                let ranges = segments.map { $0.reader.docValues.numericColumn(n)?.range }
                order.sort { a, b in
                    switch (ranges[a], ranges[b]) {
                    case let (x?, y?): return descending ? (x.max != y.max ? x.max > y.max : a < b) : (x.min != y.min ? x.min < y.min : a < b)
                    case (.some, nil): return true
                    case (nil, .some): return false
                    default: return a < b
                    }
                }
            }
        }
        for si in order {
            let s = segments[si]
            if s.excluded { continue }
            if let n = sortField, case let .field(_, descending) = sort, schema.fields[n].type != .f64,
               let range = s.reader.docValues.numericColumn(n)?.range {
                let best = Double(descending ? range.max : range.min), worst = Double(descending ? range.min : range.max)
                if let bar = top.threshold?.sortValue, descending ? best < bar : best > bar { continue }
                if let after = options.after?.sortValue, descending ? worst > after : worst < after { continue }
            }
            let matched = try matches(query, in: s)
            if matched.count == 0 { continue }
            switch sort {
            case .score:
                var scores = [Float](repeating: 0, count: s.reader.documentCount)
                try addSetScores(query, s, within: matched, bm25, &scores)
                matched.forEach { top.offer(SearchHit(segment: si, document: $0, score: scores[Int($0)], sortValue: nil)) }
            case let .field(name, descending):
                guard let n = schema.number(of: name), schema.fields[n].type.isNumeric else {
                    throw QueryError.unsupported("sorting needs a numeric or timestamp field; '\(name)' is not one")
                }
                sortColumn = s.reader.docValues.numericColumn(n)
                if tieFields.first == n, descending == options.tieBreakDescending, s.reader.isSorted(by: tieFields) {
                    // Documents are in the order sorted by (field, ties): walk them from the best
                    // end and stop at the first that cannot enter; the rest rank below it.
                    matched.forEach(descending: descending) { d in
                        top.offer(SearchHit(segment: si, document: d, score: 0, sortValue: sortColumn?.double(Int(d)))) != .rejected
                    }
                } else {
                    matched.forEach { top.offer(SearchHit(segment: si, document: $0, score: 0, sortValue: sortColumn?.double(Int($0)))) }
                }
            }
        }
        return top.sorted()
    }

    /// The value of a numeric or timestamp field for a hit (nil when the document has none).
    public func numericValue(_ field: String, of hit: SearchHit) -> Double? {
        guard let n = schema.number(of: field) else { return nil }
        return segments[hit.segment].reader.docValues.numericColumn(n)?.double(Int(hit.document))
    }

    /// The raw 64-bit value of an i64 or timestamp field for a hit (exact, unlike `numericValue`).
    public func integerValue(_ field: String, of hit: SearchHit) -> Int64? {
        guard let n = schema.number(of: field), let c = segments[hit.segment].reader.docValues.numericColumn(n), c.has(Int(hit.document)) else { return nil }
        return c.bits(Int(hit.document))
    }

    /// The values of a keyword field for a hit.
    public func keywordValues(_ field: String, of hit: SearchHit) -> [String] {
        guard let n = schema.number(of: field), let c = segments[hit.segment].reader.docValues.keywordColumn(n) else { return [] }
        return c.ordinals(Int(hit.document)).map { c.string(c.ordinal(at: $0)) }
    }
}

/// Keeps the best `limit` hits (a binary heap with the worst at the root). Ties go to index
/// order, or with tie-break columns to their values; with `after`, only hits ranking after it.
struct TopHits {
    let limit: Int
    let sort: SearchSort
    private var heap: [SearchHit] = []
    /// Per segment, the tie-break columns (nil: index order).
    private var tieColumns: [[DocValues.NumericColumn?]]?
    private var tieDescending = true
    private var after: SearchHit?
    /// Whether a hit whose score equals the k-th best may still enter (tie-break values decide).
    private(set) var tiesMayEnter = false
    /// Per segment: documents are in ascending tie-break order and ties go ascending.
    private var sortedSegments: [Bool] = []
    /// Per segment: a score at which a tied document was turned away; later documents of a
    /// sorted segment with that score rank below it, so they are turned away unread.
    private var cutoff: [Float] = []

    /// By score, no tie-break columns, no `after`: `offer` takes the short path.
    private var byScoreOnly: Bool

    init(limit: Int, sort: SearchSort) {
        self.limit = limit
        self.sort = sort
        byScoreOnly = sort == .score
        heap.reserveCapacity(min(limit, 4096))
    }

    mutating func configure(tieColumns: [[DocValues.NumericColumn?]]?, descending: Bool, after: SearchHit?, sortedSegments: [Bool] = []) {
        self.tieColumns = tieColumns
        tieDescending = descending
        self.after = after
        tiesMayEnter = tieColumns != nil || after != nil
        byScoreOnly = sort == .score && !tiesMayEnter
        self.sortedSegments = descending ? [] : sortedSegments
        cutoff = [Float](repeating: -.infinity, count: sortedSegments.count)
    }

    /// Whether a document of `segment` whose score is at most `bound` cannot enter a top k
    /// whose k-th score is `bar` (the pruning test of block-max and MaxScore).
    @inline(__always) func cannotEnter(_ bound: Float, _ bar: Float, segment: Int) -> Bool {
        if bound < bar { return true }
        if bound > bar { return false }
        return !tiesMayEnter || (segment < cutoff.count && cutoff[segment] == bar)
    }

    /// What `offer` did with a hit.
    enum Offer { case entered, rejected, beforeAfter }

    /// Whether `a` and `b` rank equally on the sort alone.
    @inline(__always) private func primaryOrder(_ a: SearchHit, _ b: SearchHit) -> Int { Self.primaryOrder(a, b, sort) }

    @inline(__always) private static func primaryOrder(_ a: SearchHit, _ b: SearchHit, _ sort: SearchSort) -> Int {
        switch sort {
        case .score:
            if a.score != b.score { return a.score > b.score ? -1 : 1 }
        case let .field(_, descending):
            switch (a.sortValue, b.sortValue) {
            case let (x?, y?) where x != y: return (descending ? x > y : x < y) ? -1 : 1
            case (.some, nil): return -1
            case (nil, .some): return 1
            default: break
            }
        }
        return 0
    }

    /// Whether `a` ranks before `b`.
    @inline(__always) func better(_ a: SearchHit, _ b: SearchHit) -> Bool {
        Self.better(a, b, sort, tieBreaks: tieColumns != nil, tieDescending)
    }

    @inline(__always) private static func better(_ a: SearchHit, _ b: SearchHit, _ sort: SearchSort, tieBreaks: Bool, _ tieDescending: Bool) -> Bool {
        let p = primaryOrder(a, b, sort)
        if p != 0 { return p < 0 }
        if tieBreaks, a.tieBreak != b.tieBreak { return tieDescending ? a.tieBreak > b.tieBreak : a.tieBreak < b.tieBreak }
        return a.segment != b.segment ? a.segment < b.segment : a.document < b.document
    }

    /// Adds `h` to `heap`, whose root is its worst hit by `better`. The sift moves a hole up
    /// through the heap's storage (one copy per level, no swaps, no per-step bounds or
    /// uniqueness checks).
    @inline(__always) private static func push(_ h: SearchHit, into heap: inout [SearchHit], _ better: (SearchHit, SearchHit) -> Bool) {
        heap.append(h)
        heap.withUnsafeMutableBufferPointer { b in
            var i = b.count &- 1
            while i > 0 {
                let p = (i &- 1) >> 1
                guard better(b[p], h) else { break }
                b[i] = b[p]
                i = p
            }
            b[i] = h
        }
    }

    /// Puts `h` in place of `heap`'s root (its worst hit by `better`) and restores the heap,
    /// moving a hole down as `push` moves one up.
    @inline(__always) private static func replaceWorst(with h: SearchHit, in heap: inout [SearchHit], _ better: (SearchHit, SearchHit) -> Bool) {
        heap.withUnsafeMutableBufferPointer { b in
            let n = b.count
            var i = 0
            while true {
                let l = 2 &* i &+ 1, r = l &+ 1
                guard l < n else { break }
                // The worse child (the one `better` ranks after the other).
                let c = r < n && better(b[l], b[r]) ? r : l
                guard better(h, b[c]) else { break }
                b[i] = b[c]
                i = c
            }
            b[i] = h
        }
    }

    /// Whether `h` ranks strictly after `after` (the previous page's last hit): by the sort,
    /// then the tie-break values; equal values mean the same record, which is not after itself.
    /// Without tie-break columns, index order decides.
    @inline(__always) private func ranksAfter(_ h: SearchHit, _ after: SearchHit) -> Bool {
        let p = primaryOrder(after, h)
        if p != 0 { return p < 0 }
        if tieColumns != nil {
            if h.tieBreak == after.tieBreak { return false }
            return tieDescending ? after.tieBreak > h.tieBreak : after.tieBreak < h.tieBreak
        }
        return better(after, h)
    }

    @inline(__always) private func withTieKey(_ h: SearchHit) -> SearchHit {
        guard let tieColumns else { return h }
        var h = h
        let cs = tieColumns[h.segment]
        let d = Int(h.document)
        func value(_ k: Int) -> Int64 {
            guard k < cs.count, let c = cs[k], c.has(d) else { return .min }
            return c.bits(d)
        }
        h.tieBreak = TieKey(value(0), value(1), value(2))
        return h
    }

    /// Whether `a` ranks before `b` by score, then index order (`better` without tie-breaks).
    @inline(__always) private static func scoresBetter(_ a: SearchHit, _ b: SearchHit) -> Bool {
        if a.score != b.score { return a.score > b.score }
        return a.segment != b.segment ? a.segment < b.segment : a.document < b.document
    }

    /// `offer` by score alone: the heap ordered by `scoresBetter`, nothing else to read.
    private mutating func offerByScore(_ h: SearchHit) -> Offer {
        if heap.count < limit {
            Self.push(h, into: &heap, Self.scoresBetter)
            return .entered
        }
        guard Self.scoresBetter(h, heap[0]) else { return .rejected }
        Self.replaceWorst(with: h, in: &heap, Self.scoresBetter)
        return .entered
    }

    @discardableResult
    mutating func offer(_ offered: SearchHit) -> Offer {
        if byScoreOnly { return offerByScore(offered) }
        var h = offered
        if let tieColumns {
            // Read the tie-break values only when they can matter; on a tie with the k-th hit
            // the first value usually decides, so it is read alone first.
            if heap.count == limit {
                let p = primaryOrder(h, heap[0])
                if p > 0 { return .rejected }
                if p == 0 {
                    if h.segment < cutoff.count, cutoff[h.segment] == h.score { return .rejected }
                    if let c = tieColumns[h.segment].first, let c, c.has(Int(h.document)) {
                        let a = c.bits(Int(h.document)), root = heap[0].tieBreak.a
                        if a != root && (tieDescending ? a < root : a > root) {
                            noteTieRejected(h)
                            return .rejected
                        }
                    }
                }
            }
            h = withTieKey(h)
        }
        if let after, !ranksAfter(h, after) { return .beforeAfter }
        let sort = self.sort, tieBreaks = tieColumns != nil, descending = tieDescending
        let order = { (a: SearchHit, b: SearchHit) in Self.better(a, b, sort, tieBreaks: tieBreaks, descending) }
        if heap.count < limit {
            Self.push(h, into: &heap, order)
        } else if better(h, heap[0]) {
            Self.replaceWorst(with: h, in: &heap, order)
        } else {
            if primaryOrder(h, heap[0]) == 0 { noteTieRejected(h) }
            return .rejected
        }
        return .entered
    }

    /// A document tied with the k-th hit on the sort ranked below it: in a sorted segment,
    /// every later document with the same score does too.
    @inline(__always) private mutating func noteTieRejected(_ h: SearchHit) {
        if h.segment < sortedSegments.count, sortedSegments[h.segment], sort == .score { cutoff[h.segment] = h.score }
    }

    /// The worst kept hit once `limit` are kept (the bar a new hit must pass).
    var threshold: SearchHit? { heap.count == limit ? heap.first : nil }

    /// The hits, best first. The comparison captures the sort's settings, not the collector
    /// (a closure over `self` copies it, arrays and all, for each sort).
    func sorted() -> [SearchHit] {
        if byScoreOnly && heap.count > 32 { return heap.sorted(by: Self.scoresBetter) }
        if byScoreOnly {
            // A few hits (a top 10): an insertion sort, its comparison inlined.
            var out = heap
            out.withUnsafeMutableBufferPointer { b in
                for i in b.indices.dropFirst() {
                    let h = b[i]
                    var j = i
                    while j > 0 && Self.scoresBetter(h, b[j &- 1]) { b[j] = b[j &- 1]; j &-= 1 }
                    b[j] = h
                }
            }
            return out
        }
        let sort = self.sort, tieBreaks = tieColumns != nil, descending = tieDescending
        return heap.sorted { Self.better($0, $1, sort, tieBreaks: tieBreaks, descending) }
    }
}

/// A parsed bound of a numeric query, compared against a column without converting values.
enum NumericBound {
    case integer(Int64)
    case double(Double)

    static func parse(_ text: String, _ def: FieldDefinition) throws -> NumericBound {
        switch def.type {
        case .i64:
            if let v = Int64(text) { return .integer(v) }
            if let d = Double(text), d.isFinite { return .double(d) }
        case .f64:
            if let d = Double(text) { return .double(d) }
        case .timestamp:
            if let v = Int64(text) { return .integer(v) }
            if let v = Timestamp.parse(text) { return .integer(v) }
        default:
            break
        }
        throw QueryError.unsupported("'\(text)' is not a valid \(def.type.typeName) value for field '\(def.name)'")
    }

    /// The sign of (value of `doc` − bound).
    @inline(__always) static func compare(_ c: DocValues.NumericColumn, _ doc: Int, _ b: NumericBound) -> Int {
        let bits = c.bits(doc)
        switch (c.type, b) {
        case let (.f64, .integer(v)):
            let x = Double(bitPattern: UInt64(bitPattern: bits)), y = Double(v)
            return x < y ? -1 : x > y ? 1 : 0
        case let (.f64, .double(y)):
            let x = Double(bitPattern: UInt64(bitPattern: bits))
            return x < y ? -1 : x > y ? 1 : 0
        case let (_, .integer(v)):
            return bits < v ? -1 : bits > v ? 1 : 0
        case let (_, .double(y)):
            let x = Double(bits)
            return x < y ? -1 : x > y ? 1 : 0
        }
    }
}

extension Query {
    /// The same query addressed to `field` (for single-field query types).
    func withField(_ field: String) -> Query {
        switch self {
        case let .term(_, t): return .term(field: field, text: t)
        case let .phrase(_, t, s, p): return .phrase(field: field, text: t, slop: s, prefixLast: p)
        case let .prefix(_, t): return .prefix(field: field, text: t)
        case let .fuzzy(_, t, d): return .fuzzy(field: field, text: t, distance: d)
        case let .range(_, l, u, il, iu): return .range(field: field, lower: l, upper: u, includeLower: il, includeUpper: iu)
        case .exists: return .exists(field: field)
        default: return self
        }
    }

    var kindName: String {
        switch self {
        case .matchAll: return "match_all"
        case .exists: return "exists"
        case .term: return "term"
        case .phrase: return "phrase"
        case .prefix: return "prefix"
        case .fuzzy: return "fuzzy"
        case .range: return "range"
        case .boolean: return "boolean"
        }
    }
}
