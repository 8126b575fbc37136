import CStrataSupport
import StrataIO

/// The query shapes that run on streaming postings cursors instead of document sets: a term,
/// a conjunction of terms and integer/timestamp ranges, a disjunction of terms (both with
/// excluded terms), a phrase and a prefix — each on one field. Top-k uses block-max bounds
/// (one term), MaxScore (disjunctions) and the k-th score as a bar checked before positions
/// are read (phrases); counts use document frequencies when nothing is deleted. Anything else
/// runs through the general set-based path; both give the same documents and scores (tested).
enum QueryPlan {
    /// A term of the query: field, analyzed bytes, how often it occurs in the query.
    struct Term: Hashable {
        var field: Int
        var bytes: [UInt8]
        var occurrences: Int
    }

    case empty
    case term(Term)
    /// Every term, every filter's range, every phrase, none of the excluded terms. The phrases'
    /// terms are among `terms` (their cursors read positions); no two phrases share a term.
    case conjunction([Term], excluded: [Term], filters: [NumericFilter], phrases: [PhraseCheck])
    case disjunction([Term], excluded: [Term])
    /// Every term starting with `bytes` (at least one byte); each match scores 1, as Lucene's
    /// constant-score prefix query.
    case prefix(field: Int, bytes: [UInt8])
    /// Terms in query order with their relative positions; `slop` as in `Query.phrase`.
    case phrase(field: Int, [(bytes: [UInt8], position: Int)], slop: Int)

    /// A conjunction's range clause on an integer or timestamp field, inclusive at both ends
    /// (exclusive bounds are moved in by one): documents with a value in it pass, and passing
    /// adds 1 to the score, as the set-based path's constant-score clauses do.
    struct NumericFilter: Hashable {
        var field: Int
        var lower: Int64
        var upper: Int64
        var isEmpty: Bool { lower > upper }
    }

    /// A conjunction's phrase clause: its tokens with their positions, checked on the documents
    /// the conjunction's cursors agree on.
    struct PhraseCheck {
        var field: Int
        var tokens: [(bytes: [UInt8], position: Int)]
        var slop: Int
        /// The phrase's distinct terms, in the order its matcher takes their cursors.
        var terms: [Term] {
            var out: [Term] = []
            for t in tokens where !out.contains(where: { $0.bytes == t.bytes }) { out.append(Term(field: field, bytes: t.bytes, occurrences: 1)) }
            return out
        }
    }
}

/// How one segment applies a conjunction's numeric filters: the run of documents the cursors
/// are bounded to (filters on a field the segment's documents are sorted by, and a restricted
/// view's run) and the columns left to check for each candidate.
struct SegmentFilter {
    /// A range checked per candidate, with its column's zone map (the segment is not sorted by
    /// the field).
    struct Check {
        var column: DocValues.NumericColumn
        var lower: Int64
        var upper: Int64
        var zones: ZoneMap.View
    }

    var range: Range<UInt32>?
    var checks: [Check] = []

    /// The first document at or after `d` whose zones may pass every check (a leapfrog
    /// target: documents in zones that miss a range are never looked at).
    @inline(__always) func nextCandidate(_ d: UInt32) -> UInt32 {
        var d = d
        var moved = true
        while moved && d != PostingsCursor.exhausted {
            moved = false
            for c in checks {
                let n = c.zones.next(d, lower: c.lower, upper: c.upper)
                if n != d { d = n; moved = true }
            }
        }
        return d
    }

    @inline(__always) func passes(_ d: UInt32) -> Bool {
        for c in checks {
            guard c.column.has(Int(d)) else { return false }
            let v = c.column.bits(Int(d))
            if v < c.lower || v > c.upper { return false }
        }
        return true
    }
}

/// BM25 of one term with global statistics: weight · tf · (k1 + 1) / (tf + k1 · (1 − b + b · len / avgdl)),
/// with the length part precomputed as two constants. Both execution paths score with it.
struct TermScorer {
    let weight: Float
    let k1: Float
    private let lengthBase: Float   // k1 · (1 − b)
    private let lengthScale: Float  // k1 · b / avgdl
    private let numerator: Float    // weight · (k1 + 1)

    init(weight: Float, k1: Float, b: Float, avgdl: Float) {
        self.weight = weight
        self.k1 = k1
        lengthBase = k1 * (1 - b)
        lengthScale = k1 * b / avgdl
        numerator = weight * (k1 + 1)
    }

    @inline(__always) func score(_ freq: UInt32, _ norm: UInt32) -> Float {
        let tf = Float(freq)
        return numerator * tf / (tf + (lengthBase + lengthScale * Float(norm)))
    }

    /// Bound over any frequency and length.
    var ceiling: Float { numerator }

    /// Scores 0 (a term that does not score, in loops that add every term).
    static let zero = TermScorer(weight: 0, k1: 1.2, b: 0.75, avgdl: 1)
}

/// Block-max pruning of a conjunction's (or phrase's) top k, as Lucene's block-max
/// conjunction: the documents up to the nearest block end of every cursor form a region whose
/// score is at most the sum of those blocks' bounds (largest frequency, shortest length); a
/// region whose bound is below the k-th score is skipped whole — no block of it is decoded, no
/// norm read. A cursor in its tail (no stored bounds) counts at its ceiling until the end.
struct ConjunctionBound {
    /// Per cursor, in the cursors' order (nil: the term does not score).
    var scorers: [TermScorer?]
    /// Added to every match (a conjunction's range filters).
    var constant: Float
    /// The k-th score so far (−∞ until the top k is full), kept current by the caller.
    var bar: UnsafeMutablePointer<Bar>?

    /// The score a hit must beat, and whether a hit scoring exactly it may still enter (by its
    /// tie-break; `TopHits.cannotEnter`).
    struct Bar {
        var score = -Float.infinity
        var tiesEnter = true

    }

    /// The region last computed: documents ≤ `end` score at most `maximum`.
    struct Region {
        var start: UInt32 = 1
        var end: UInt32 = 0
        var maximum: Float = 0
    }

    /// `target`, or the document after the region holding it when that region cannot enter
    /// the top k.
    @inline(__always) func skip(_ target: UInt32, _ c: UnsafeBufferPointer<Unmanaged<PostingsCursor>>, _ region: inout Region) -> UInt32 {
        let bar = bar!.pointee
        if bar.score == -Float.infinity { return target }
        if target < region.start || target > region.end {
            var end = PostingsCursor.exhausted - 1
            var maximum = constant
            for i in 0 ..< c.count {
                guard let sc = scorers[i] else { continue }
                if let b = c[i]._withUnsafeGuaranteedRef({ $0.shallowBlock(for: target) }) {
                    end = min(end, b.lastDoc)
                    maximum += sc.score(b.maxFreq, b.minNorm)
                } else {
                    maximum += sc.ceiling
                }
            }
            region = Region(start: target, end: end, maximum: maximum)
        }
        let below = region.maximum < bar.score || (region.maximum == bar.score && !bar.tiesEnter)
        return below ? region.end &+ 1 : target
    }
}

/// A conjunction's matches awaiting their scores: documents and each term's frequency, taken
/// while the cursors are on them, scored together by `score()` (BM25 summed in the terms'
/// order, then the filters' constant, as one candidate at a time would be).
struct ConjunctionBatch {
    static let capacity = 64
    /// Raw copies of the terms' cursors (unmanaged: the caller keeps them alive), scorers and
    /// norms arrays, so adding a match reads no array header and takes no reference.
    private let terms: Int
    private let cursors: UnsafeMutablePointer<Unmanaged<PostingsCursor>>
    private let scorers: UnsafeMutablePointer<TermScorer>
    private let norms: UnsafeMutablePointer<UnsafeRawPointer>
    private let normBytes: UnsafeMutablePointer<Int>
    /// The norms to prefetch: the first term's, and how many of the others differ from it
    /// (usually none: a conjunction's terms share one field).
    private let otherNorms: Int
    private let constant: Float
    let docs: UnsafeMutablePointer<UInt32>
    private let freqs: UnsafeMutablePointer<UInt32>   // [k · terms + j]
    let scores: UnsafeMutablePointer<Float>
    /// Matches in the batch. Kept behind a pointer, so the batch is a constant the leapfrog's
    /// closure captures without a dynamic exclusivity check per match.
    private let counter: UnsafeMutablePointer<Int>
    var count: Int {
        @inline(__always) get { counter.pointee }
        @inline(__always) nonmutating set { counter.pointee = newValue }
    }

    /// `terms`: the cursors (kept alive by the caller) and their scorers.
    init(_ terms: [(PostingsCursor, TermScorer)], constant: Float) {
        self.terms = terms.count
        cursors = .allocate(capacity: terms.count)
        scorers = .allocate(capacity: terms.count)
        norms = .allocate(capacity: terms.count)
        normBytes = .allocate(capacity: terms.count)
        for (j, t) in terms.enumerated() {
            (cursors + j).initialize(to: Unmanaged.passUnretained(t.0))
            (scorers + j).initialize(to: t.1)
            (norms + j).initialize(to: t.0.segment.norms)
            (normBytes + j).initialize(to: t.0.segment.normBytes)
        }
        otherNorms = terms.filter { $0.0.segment.norms != terms[0].0.segment.norms }.count
        self.constant = constant
        docs = .allocate(capacity: Self.capacity)
        freqs = .allocate(capacity: Self.capacity * terms.count)
        scores = .allocate(capacity: Self.capacity)
        counter = .allocate(capacity: 1)
        counter.initialize(to: 0)
    }

    func release() {
        cursors.deallocate()
        scorers.deallocate()
        norms.deallocate()
        normBytes.deallocate()
        docs.deallocate()
        freqs.deallocate()
        scores.deallocate()
        counter.deallocate()
    }

    /// Adds the document every cursor is on; true when the batch is full.
    @inline(__always) func add(_ d: UInt32) -> Bool {
        let k = count, n = terms, at = k &* n
        docs[k] = d
        // The norms are read by `score()` a batch later: fetched now, their misses overlap
        // with the leapfrog's work instead of stalling the scoring loop.
        strata_prefetch_line(norms[0] + normBytes[0] &* Int(d))
        if otherNorms > 0 { for j in 1 ..< n { strata_prefetch_line(norms[j] + normBytes[j] &* Int(d)) } }
        for j in 0 ..< n { freqs[at &+ j] = cursors[j]._withUnsafeGuaranteedRef { $0.frequency } }
        count = k &+ 1
        return k &+ 1 == Self.capacity
    }

    /// Fills `scores[0 ..< count]`.
    func score() {
        guard otherNorms == 0 else {
            // Terms of several fields: each term's own norms.
            let n = terms
            for k in 0 ..< count {
                let d = Int(docs[k])
                var s: Float = 0
                for j in 0 ..< n { s += scorers[j].score(freqs[k * n + j], SegmentFormat.norm(norms[j], width: normBytes[j], d)) }
                scores[k] = s + constant
            }
            return
        }
        // One field (the usual case): one norm per match, its width chosen once per batch.
        switch normBytes[0] {
        case 1: score(sharing: UInt8.self)
        case 2: score(sharing: UInt16.self)
        default: score(sharing: UInt32.self)
        }
    }

    @inline(__always) private func score<Width: FixedWidthInteger & UnsignedInteger>(sharing _: Width.Type) {
        let n = terms, section = norms[0]
        for k in 0 ..< count {
            let d = Int(docs[k])
            let norm = SegmentFormat.norm(section, d, as: Width.self)
            var s: Float = 0
            for j in 0 ..< n { s += scorers[j].score(freqs[k * n + j], norm) }
            scores[k] = s + constant
        }
    }
}

extension TopHits {
    /// The bar a hit of segment `segment` must pass now (`ConjunctionBound.Bar`).
    func bar(segment: Int) -> ConjunctionBound.Bar {
        guard let t = threshold?.score else { return .init() }
        return .init(score: t, tiesEnter: !cannotEnter(t, t, segment: segment))
    }
}

extension IndexSearcher {
    /// Compiles the shapes `QueryPlan` handles; nil for anything else.
    func plan(_ query: Query) throws -> QueryPlan? {
        switch query {
        case let .term(f, text):
            guard let field = try singleInvertedField(f) else { return nil }
            let tokens = analyzed(field, text)
            if tokens.isEmpty { return .empty }
            if tokens.count == 1 { return .term(QueryPlan.Term(field: field, bytes: tokens[0].bytes, occurrences: 1)) }
            return .phrase(field: field, tokens, slop: 0)
        case let .phrase(f, text, slop, false):
            guard let field = try singleInvertedField(f) else { return nil }
            let tokens = analyzed(field, text)
            if tokens.isEmpty { return .empty }
            if tokens.count == 1 { return .term(QueryPlan.Term(field: field, bytes: tokens[0].bytes, occurrences: 1)) }
            return .phrase(field: field, tokens, slop: slop)
        case let .prefix(f, text):
            guard let field = try singleInvertedField(f) else { return nil }
            let bytes = analyzer(field).rawQueryTerm(text)
            return bytes.isEmpty ? nil : .prefix(field: field, bytes: bytes)
        case let .boolean(must, should, mustNot, minimumShouldMatch):
            func terms(_ qs: [Query]) throws -> [QueryPlan.Term?]? {
                var out: [QueryPlan.Term?] = []
                for q in qs {
                    guard case let .term(f, text) = q, let field = try singleInvertedField(f) else { return nil }
                    let tokens = analyzed(field, text)
                    if tokens.count > 1 { return nil }
                    out.append(tokens.first.map { QueryPlan.Term(field: field, bytes: $0.bytes, occurrences: 1) })
                }
                return out
            }
            guard let excludedTerms = try terms(mustNot) else { return nil }
            let excluded = merge(excludedTerms.compactMap { $0 })
            if !must.isEmpty && should.isEmpty {
                var filters: [QueryPlan.NumericFilter] = []
                var required: [QueryPlan.Term] = []
                var phrases: [QueryPlan.PhraseCheck] = []
                var matchesNothing = false
                for q in must {
                    switch q {
                    case .range:
                        guard let f = try numericFilter(q) else { return nil }
                        filters.append(f)
                    case let .term(f, text), let .phrase(f, text, _, false):
                        guard let field = try singleInvertedField(f) else { return nil }
                        let tokens = analyzed(field, text)
                        if tokens.isEmpty { matchesNothing = true } else if tokens.count == 1 {
                            required.append(QueryPlan.Term(field: field, bytes: tokens[0].bytes, occurrences: 1))
                        } else {
                            var slop = 0
                            if case let .phrase(_, _, s, _) = q { slop = s }
                            phrases.append(QueryPlan.PhraseCheck(field: field, tokens: tokens, slop: slop))
                        }
                    default:
                        return nil
                    }
                }
                if required.isEmpty && phrases.isEmpty { return nil }
                if matchesNothing || filters.contains(where: \.isEmpty) { return .empty }
                // Each phrase reads its terms' positions from the conjunction's cursors: two
                // phrases sharing a term would read one cursor's positions twice (the match
                // tree runs those).
                let phraseTerms = phrases.flatMap(\.terms)
                if Set(phraseTerms).count < phraseTerms.count { return nil }
                // A phrase's tokens score as terms (repeats counted), as a phrase plan's do.
                let scored = phrases.flatMap { p in p.tokens.map { QueryPlan.Term(field: p.field, bytes: $0.bytes, occurrences: 1) } }
                return .conjunction(merge(required + scored), excluded: excluded, filters: filters, phrases: phrases)
            }
            if must.isEmpty && !should.isEmpty && minimumShouldMatch == 1 {
                guard let optional = try terms(should) else { return nil }
                let present = merge(optional.compactMap { $0 })
                return present.isEmpty ? .empty : .disjunction(present, excluded: excluded)
            }
            return nil
        default:
            return nil
        }
    }

    /// A range clause as a conjunction filter: integer bounds on an integer or timestamp field
    /// (nil for anything else, which the set-based path runs or rejects with its message).
    private func numericFilter(_ q: Query) throws -> QueryPlan.NumericFilter? {
        guard case let .range(f, lower, upper, includeLower, includeUpper) = q, let n = schema.number(of: f) else { return nil }
        let def = schema.fields[n]
        guard def.type == .i64 || def.type == .timestamp else { return nil }
        func bound(_ text: String) -> Int64? {
            if case let .integer(v)? = try? NumericBound.parse(text, def) { return v }
            return nil
        }
        var filter = QueryPlan.NumericFilter(field: n, lower: .min, upper: .max)
        if let lower {
            guard let v = bound(lower) else { return nil }
            if includeLower { filter.lower = v } else if v == .max { return .init(field: n, lower: 1, upper: 0) } else { filter.lower = v + 1 }
        }
        if let upper {
            guard let v = bound(upper) else { return nil }
            if includeUpper { filter.upper = v } else if v == .min { return .init(field: n, lower: 1, upper: 0) } else { filter.upper = v - 1 }
        }
        return filter
    }

    /// How segment `si` applies `filters`; nil when none of its documents can pass them.
    func segmentFilter(_ filters: [QueryPlan.NumericFilter], _ si: Int) -> SegmentFilter? {
        let s = segments[si]
        var out = SegmentFilter(range: s.docRange)
        for f in filters {
            guard let column = s.reader.docValues.numericColumn(f.field), column.mayContain(lower: f.lower, upper: f.upper) else { return nil }
            if column.allWithin(lower: f.lower, upper: f.upper) { continue }
            if s.reader.isSorted(by: [f.field]) {
                // Documents in order of the field: the range is a run of them, found by binary
                // search, and the cursors skip straight to it.
                let run = column.sortedRun(lower: f.lower, upper: f.upper)
                let lo = max(UInt32(run.lowerBound), out.range?.lowerBound ?? 0), hi = min(UInt32(run.upperBound), out.range?.upperBound ?? .max)
                if lo >= hi { return nil }
                out.range = lo ..< hi
            } else {
                guard let zones = s.reader.zoneMap(f.field) else { return nil }
                out.checks.append(.init(column: column, lower: f.lower, upper: f.upper, zones: zones.view))
            }
        }
        return out
    }

    /// The dictionary entries of segment `si`'s `field` that start with `prefix`, in byte order.
    private func expansions(_ field: Int, _ prefix: [UInt8], _ si: Int) throws -> [IndexSegment.TermInfo] {
        guard let inv = segments[si].reader.invertedField(field) else { return [] }
        var out: [IndexSegment.TermInfo] = []
        try prefix.withUnsafeBytes { p in
            try inv.forEachTerm(from: prefix) { t, info in
                switch SegmentFormat.prefixVerdict(t, p) {
                case .take: out.append(info); return true
                case .skip: return true
                case .stop: return false
                }
            }
        }
        return out
    }

    /// Cursors on the expansions of a prefix in segment `si`.
    private func prefixCursors(_ field: Int, _ prefix: [UInt8], _ si: Int) throws -> [PostingsCursor] {
        guard let inv = segments[si].reader.invertedField(field) else { return [] }
        return try expansions(field, prefix, si).map { info in
            try QueryDeadline.check()
            return try open(inv, info, si)
        }
    }

    /// Repeated terms become one with summed occurrences (first-occurrence order kept).
    func merge(_ terms: [QueryPlan.Term]) -> [QueryPlan.Term] {
        var out: [QueryPlan.Term] = []
        out.reserveCapacity(terms.count)
        for t in terms {
            if let i = out.firstIndex(where: { $0.field == t.field && $0.bytes == t.bytes }) { out[i].occurrences += 1 } else { out.append(t) }
        }
        return out
    }

    private func singleInvertedField(_ name: String?) throws -> Int? {
        let fields = try fieldNumbers(name)
        guard fields.count == 1, schema.fields[fields[0]].type.isInverted else { return nil }
        return fields[0]
    }

    func analyzed(_ field: Int, _ text: String) -> [(bytes: [UInt8], position: Int)] {
        var out: [(bytes: [UInt8], position: Int)] = []
        out.reserveCapacity(8)
        var copy = text
        copy.withUTF8 { u in analyzer(field).analyze(UnsafeRawBufferPointer(u)) { out.append((Array($0.bytes), $0.position)) } }
        return out
    }

    /// Each term looked up once per segment, with BM25 scorers from whole-index statistics
    /// (nil scorer: the term is nowhere, or scoring is off).
    struct Resolved {
        /// Segment-major: the info of term t in segment s is at s · termCount + t.
        /// The plan's looked-up terms (`lookupTerms`).
        var terms: [QueryPlan.Term]
        var infos: [IndexSegment.TermInfo?]
        var termCount: Int
        var scorers: [TermScorer?]

        func info(_ segment: Int, _ term: Int) -> IndexSegment.TermInfo? { infos[segment * termCount + term] }
    }

    func resolve(_ terms: [QueryPlan.Term], scoring: Bool, _ bm25: BM25) throws -> Resolved {
        var infos: [IndexSegment.TermInfo?] = []
        infos.reserveCapacity(segments.count * terms.count)
        for s in segments {
            for t in terms {
                // Excluded segments are looked up only for the scoring statistics.
                if s.excluded && !scoring { infos.append(nil); continue }
                infos.append(try s.reader.invertedField(t.field).flatMap { inv in try t.bytes.withUnsafeBytes { try inv.lookup($0) } })
            }
        }
        var scorers = [TermScorer?](repeating: nil, count: scoring ? terms.count : 0)
        if scoring {
            for (k, t) in terms.enumerated() {
                var df = 0
                for si in segments.indices { df += infos[si * terms.count + k]?.docFreq ?? 0 }
                if df == 0 { continue }
                let st = fieldStatistics(t.field)
                scorers[k] = bm25.scorer(documents: df, total: st.docs, occurrences: t.occurrences, averageLength: Float(Double(st.tokens) / Double(max(1, st.docs))))
            }
        }
        return Resolved(terms: terms, infos: infos, termCount: terms.count, scorers: scorers)
    }

    /// A cursor on term `term` of `r` in `segment`, bounded to `within` (nil: the segment's
    /// view, `docRange`).
    func cursor(_ r: Resolved, _ segment: Int, _ term: Int, _ field: Int, positions: Bool = false, within: Range<UInt32>? = nil) throws -> PostingsCursor? {
        try QueryDeadline.check()
        guard let info = r.info(segment, term), let inv = segments[segment].reader.invertedField(field) else { return nil }
        return try open(inv, info, segment, positions: positions, within: within)
    }

    /// Opens a cursor on `info` in `segment`'s `inv`, bounded to `within` or the segment's view.
    private func open(_ inv: IndexSegment, _ info: IndexSegment.TermInfo, _ segment: Int, positions: Bool = false, within: Range<UInt32>? = nil) throws -> PostingsCursor {
        let c = try PostingsCursor.open(inv, info, positions: positions)
        if let range = within ?? segments[segment].docRange { try c.restrict(to: range) }
        return c
    }

    /// The terms a plan looks up, in the order `run` and `matchSet` index them.
    private func lookupTerms(_ plan: QueryPlan) -> [QueryPlan.Term] {
        switch plan {
        case .empty, .prefix: return []
        case let .term(t): return [t]
        case let .conjunction(terms, excluded, _, _), let .disjunction(terms, excluded): return terms + excluded
        // One cursor per distinct term (they are also the scoring terms, repeats counted).
        case let .phrase(field, tokens, _): return merge(tokens.map { QueryPlan.Term(field: field, bytes: $0.bytes, occurrences: 1) })
        }
    }

    /// Exact number of live documents a plan matches: a term's document frequency when its
    /// segment has no deletes, else the matches counted as the cursors stream them — no
    /// document set, so the cost follows the postings read, not the segment's size.
    func count(_ plan: QueryPlan) throws -> Int {
        let r = try resolve(lookupTerms(plan), scoring: false, BM25())
        var total = 0
        for (si, s) in segments.enumerated() where !s.excluded {
            if case .term = plan, s.deletes == nil, s.docRange == nil {
                total += r.info(si, 0)?.docFreq ?? 0
                continue
            }
            total += try count(plan, si, r)
        }
        return total
    }

    /// The live documents of segment `si` a plan matches, counted.
    private func count(_ plan: QueryPlan, _ si: Int, _ r: Resolved) throws -> Int {
        let deletes = segments[si].deletes
        var n = 0
        switch plan {
        case .empty:
            break
        case let .term(t):
            guard let c = try cursor(r, si, 0, t.field) else { break }
            while c.doc != PostingsCursor.exhausted {
                if !(deletes?.contains(c.doc) ?? false) { n += 1 }
                try c.next()
            }
        case let .conjunction(terms, excluded, filters, phrases):
            guard let filter = segmentFilter(filters, si),
                  let (opened, matchers) = try conjunctionCursors(terms, phrases, r, si, within: filter.range) else { return 0 }
            let cs = opened.sorted { $0.docFreq < $1.docFreq }
            let ex = try excluded.enumerated().compactMap { try cursor(r, si, terms.count + $0.offset, $0.element.field) }
            let checks = !filter.checks.isEmpty
            try intersect(cs, gate: filter) { d in
                if let deletes, deletes.contains(d) { return }
                if checks && !filter.passes(d) { return }
                if try !isExcluded(d, ex), try matchers.hold() { n += 1 }
            }
        case let .disjunction(terms, excluded):
            var cs: [PostingsCursor] = []
            for (i, t) in terms.enumerated() { if let c = try cursor(r, si, i, t.field) { cs.append(c) } }
            let ex = try excluded.enumerated().compactMap { try cursor(r, si, terms.count + $0.offset, $0.element.field) }
            return try unionCount(cs, excluded: ex, si)
        case let .prefix(field, bytes):
            let cs = try prefixCursors(field, bytes, si)
            if cs.count == 1 && deletes == nil && segments[si].docRange == nil { return cs[0].docFreq }
            return try unionCount(cs, excluded: [], si)
        case let .phrase(_, tokens, slop):
            guard let matcher = try phraseMatcher(r.terms, tokens, slop, r, si) else { break }
            try intersect(matcher.leapfrogCursors) { d in
                if !(deletes?.contains(d) ?? false), try matcher.matches() { n += 1 }
            }
        }
        return n
    }

    /// The live documents of segment `si` in any of `cs` and none of `excluded`: a k-way merge
    /// when the lists are few and sparse, else marks in a document set (cheaper per posting
    /// than merging many or dense lists).
    private func unionCount(_ cs: [PostingsCursor], excluded ex: [PostingsCursor], _ si: Int) throws -> Int {
        let deletes = segments[si].deletes
        let documents = segments[si].reader.documentCount
        let postings = cs.reduce(0) { $0 + $1.docFreq }
        if cs.count > 1 && (cs.count > 8 || postings >= documents / 16) {
            var set = DocSet(capacity: documents)
            for c in cs { try mark(c, into: &set) }
            for c in ex { try unmark(c, from: &set) }
            if let deletes { deletes.subtract(from: &set) }
            return set.count
        }
        var n = 0
        try union(cs) { d in
            if !(deletes?.contains(d) ?? false), try !isExcluded(d, ex) { n += 1 }
            return true
        }
        return n
    }

    /// Marks every remaining posting of `c` in `set`, a block at a time.
    private func mark(_ c: PostingsCursor, into set: inout DocSet) throws {
        while c.doc != PostingsCursor.exhausted {
            let (docs, _, n) = c.remainingInBlock(frequencies: false)
            for k in 0 ..< n { set.insert(docs[k]) }
            try c.nextBlock()
        }
    }

    /// Removes every remaining posting of `c` from `set`, a block at a time.
    private func unmark(_ c: PostingsCursor, from set: inout DocSet) throws {
        while c.doc != PostingsCursor.exhausted {
            let (docs, _, n) = c.remainingInBlock(frequencies: false)
            for k in 0 ..< n { set.remove(docs[k]) }
            try c.nextBlock()
        }
    }

    /// Runs a plan's top-k into `top`.
    func run(_ plan: QueryPlan, top: inout TopHits, bm25: BM25) throws {
        let r = try resolve(lookupTerms(plan), scoring: true, bm25)
        // The k-th score for block-max pruning of conjunctions and phrases (see ConjunctionBound).
        let bar = UnsafeMutablePointer<ConjunctionBound.Bar>.allocate(capacity: 1)
        defer { bar.deallocate() }
        switch plan {
        case .empty:
            return
        case let .term(t):
            guard let scorer = r.scorers[0] else { return }
            for (si, s) in segments.enumerated() where !s.excluded {
                guard let c = try cursor(r, si, 0, t.field) else { continue }
                // One loop per norm width: the block loop reads each norm without a switch.
                switch c.segment.normBytes {
                case 1: try topOfTerm(c, scorer, s.deletes, si, &top, norms: UInt8.self)
                case 2: try topOfTerm(c, scorer, s.deletes, si, &top, norms: UInt16.self)
                default: try topOfTerm(c, scorer, s.deletes, si, &top, norms: UInt32.self)
                }
            }
        case let .conjunction(terms, excluded, filters, phrases):
            let constant = Float(filters.count)
            for (si, s) in segments.enumerated() where !s.excluded {
                guard let filter = segmentFilter(filters, si),
                      let (opened, matchers) = try conjunctionCursors(terms, phrases, r, si, within: filter.range) else { continue }
                let cs = opened.enumerated().map { ($0.element, r.scorers[$0.offset]) }.sorted { $0.0.docFreq < $1.0.docFreq }
                let ex = try excluded.enumerated().compactMap { try cursor(r, si, terms.count + $0.offset, $0.element.field) }
                bar.pointee = top.bar(segment: si)
                let bound = ConjunctionBound(scorers: cs.map(\.1), constant: constant, bar: bar)
                // Matches are scored in batches: the batch's norm reads (random accesses into
                // large arrays, the leapfrog's costliest loads) are independent of each other,
                // so their cache misses overlap instead of stalling one candidate at a time.
                let batch = ConjunctionBatch(cs.map { ($0.0, $0.1 ?? .zero) }, constant: constant)
                defer { batch.release() }
                func flush() throws {
                    batch.score()
                    for k in 0 ..< batch.count {
                        let d = batch.docs[k], score = batch.scores[k]
                        if let bar = top.threshold?.score, top.cannotEnter(score, bar, segment: si) { continue }
                        if try isExcluded(d, ex) { continue }
                        top.offer(SearchHit(segment: si, document: d, score: score, sortValue: nil))
                    }
                    batch.count = 0
                    bar.pointee = top.bar(segment: si)
                }
                // Unwrapped once: the closure tests plain values per match.
                let deletes = s.deletes, checks = !filter.checks.isEmpty
                try intersect(cs.map(\.0), gate: filter, bound: bound) { d in
                    if let deletes, deletes.contains(d) { return }
                    if checks && !filter.passes(d) { return }
                    if try !matchers.hold() { return }
                    if batch.add(d) { try flush() }
                }
                try flush()
            }
        case let .prefix(field, bytes):
            for (si, s) in segments.enumerated() where !s.excluded {
                // Every match scores 1: once the top k is full of them, only tie-breaks
                // (`tiesMayEnter`) can let a later document in.
                if let bar = top.threshold?.score, top.cannotEnter(1, bar, segment: si) { break }
                let cs = try prefixCursors(field, bytes, si)
                if cs.isEmpty { continue }
                if top.tiesMayEnter && cs.count > 8 {
                    var set = DocSet(capacity: s.reader.documentCount)
                    for c in cs { try mark(c, into: &set) }
                    if let deletes = s.deletes { deletes.subtract(from: &set) }
                    set.forEach { top.offer(SearchHit(segment: si, document: $0, score: 1, sortValue: nil)) }
                    continue
                }
                try union(cs) { d in
                    if !(s.deletes?.contains(d) ?? false) { top.offer(SearchHit(segment: si, document: d, score: 1, sortValue: nil)) }
                    guard let bar = top.threshold?.score else { return true }
                    return !top.cannotEnter(1, bar, segment: si)
                }
            }
        case let .disjunction(terms, excluded):
            for (si, s) in segments.enumerated() where !s.excluded {
                var cs: [(PostingsCursor, TermScorer)] = []
                for (i, t) in terms.enumerated() {
                    if let sc = r.scorers[i], let c = try cursor(r, si, i, t.field) { cs.append((c, sc)) }
                }
                let ex = try excluded.enumerated().compactMap { try cursor(r, si, terms.count + $0.offset, $0.element.field) }
                try maxScore(cs, excluded: ex, s, si, &top)
            }
        case let .phrase(_, tokens, slop):
            for (si, s) in segments.enumerated() where !s.excluded {
                guard let matcher = try phraseMatcher(r.terms, tokens, slop, r, si) else { continue }
                bar.pointee = top.bar(segment: si)
                let bound = ConjunctionBound(scorers: matcher.leapfrogOrder.map { r.scorers[$0] }, constant: 0, bar: bar)
                try intersect(matcher.leapfrogCursors, bound: bound) { d in
                    if s.deletes?.contains(d) ?? false { return }
                    // The score comes from the terms' frequencies, known before positions are
                    // read: a candidate below the k-th score is turned away unchecked.
                    if let bar = top.threshold?.score {
                        var bound: Float = 0
                        for (j, c) in matcher.cursors.enumerated() { if let sc = r.scorers[j] { bound += sc.score(c.frequency, c.blockMinNorm) } }
                        if top.cannotEnter(bound, bar, segment: si) { return }
                    }
                    var score: Float = 0
                    for (j, c) in matcher.cursors.enumerated() { if let sc = r.scorers[j] { score += sc.score(c.frequency, c.segment.norm(Int(d))) } }
                    if let bar = top.threshold?.score, top.cannotEnter(score, bar, segment: si) { return }
                    guard try matcher.matches() else { return }
                    top.offer(SearchHit(segment: si, document: d, score: score, sortValue: nil))
                    bar.pointee = top.bar(segment: si)
                }
            }
        }
    }

    /// One term's top k in segment `si`, from its cursor: blocks whose best score cannot enter are
    /// skipped by their block-max, the rest scored in one tight loop over the block.
    private func topOfTerm<Width: FixedWidthInteger & UnsignedInteger>(_ c: PostingsCursor, _ scorer: TermScorer, _ deletes: DeletedDocuments?, _ si: Int,
                                                                      _ top: inout TopHits, norms _: Width.Type) throws {
        let norms = c.segment.norms
        // The score a hit must beat once the top k is full (ties go to earlier hits).
        var bar = top.threshold?.score ?? -Float.infinity
        while c.doc != PostingsCursor.exhausted {
            // Block-max: skip a whole block whose best possible score cannot enter.
            if bar > -Float.infinity, c.block < c.fullBlocks, c.isAtBlockStart {
                let m = c.blockMax(c.block)
                if top.cannotEnter(scorer.score(m.maxFreq, m.minNorm), bar, segment: si) {
                    try c.nextBlock()
                    continue
                }
            }
            let (docs, freqs, n) = c.remainingInBlock()
            for k in 0 ..< n {
                let d = docs[k]
                let score = scorer.score(freqs[k], SegmentFormat.norm(norms, Int(d), as: Width.self))
                if !top.cannotEnter(score, bar, segment: si), !(deletes?.contains(d) ?? false) {
                    top.offer(SearchHit(segment: si, document: d, score: score, sortValue: nil))
                    if let t = top.threshold { bar = t.score }
                }
            }
            try c.nextBlock()
        }
    }

    /// The documents of segment `si` a plan matches (deleted ones included), through cursors:
    /// what counts and boolean queries combine. `r`: the plan's looked-up terms (resolved here
    /// when nil).
    func matchSet(_ plan: QueryPlan, _ si: Int, _ resolved: Resolved? = nil) throws -> DocSet {
        let r = try resolved ?? resolve(lookupTerms(plan), scoring: false, BM25())
        var set = DocSet(capacity: segments[si].reader.documentCount)
        switch plan {
        case .empty:
            break
        case let .term(t):
            if let c = try cursor(r, si, 0, t.field) { try mark(c, into: &set) }
        case let .conjunction(terms, excluded, filters, phrases):
            guard let filter = segmentFilter(filters, si),
                  let (opened, matchers) = try conjunctionCursors(terms, phrases, r, si, within: filter.range) else { return set }
            let cs = opened.sorted { $0.docFreq < $1.docFreq }
            let ex = try excluded.enumerated().compactMap { try cursor(r, si, terms.count + $0.offset, $0.element.field) }
            try intersect(cs, gate: filter) { d in if filter.passes(d), try !isExcluded(d, ex), try matchers.hold() { set.insert(d) } }
        case let .prefix(field, bytes):
            for c in try prefixCursors(field, bytes, si) { try mark(c, into: &set) }
        case let .disjunction(terms, excluded):
            for (i, t) in terms.enumerated() {
                guard let c = try cursor(r, si, i, t.field) else { continue }
                try mark(c, into: &set)
            }
            for (i, t) in excluded.enumerated() {
                guard let c = try cursor(r, si, terms.count + i, t.field) else { continue }
                try unmark(c, from: &set)
            }
        case let .phrase(_, tokens, slop):
            guard let matcher = try phraseMatcher(r.terms, tokens, slop, r, si) else { return set }
            try intersect(matcher.leapfrogCursors) { d in if try matcher.matches() { set.insert(d) } }
        }
        return set
    }

    /// Cursors (with positions) for a phrase's distinct terms in segment `si`; nil when a term
    /// is missing there.
    func phraseMatcher(_ unique: [QueryPlan.Term], _ tokens: [(bytes: [UInt8], position: Int)], _ slop: Int, _ r: Resolved, _ si: Int) throws -> PhraseMatcher? {
        var cursors: [PostingsCursor] = []
        for (k, t) in unique.enumerated() {
            guard let c = try cursor(r, si, k, t.field, positions: true) else { return nil }
            cursors.append(c)
        }
        return PhraseMatcher(cursors: cursors, terms: unique, tokens: tokens, slop: slop)
    }

    /// A conjunction's cursors in segment `si`, in term order (the phrases' terms read
    /// positions), and its phrases' matchers over them; nil when a term is missing there.
    private func conjunctionCursors(_ terms: [QueryPlan.Term], _ phrases: [QueryPlan.PhraseCheck], _ r: Resolved, _ si: Int,
                                    within: Range<UInt32>?) throws -> ([PostingsCursor], PhraseChecks)? {
        let positioned = Set(phrases.flatMap(\.terms))
        var cs: [PostingsCursor] = []
        for (i, t) in terms.enumerated() {
            let positions = !positioned.isEmpty && positioned.contains(QueryPlan.Term(field: t.field, bytes: t.bytes, occurrences: 1))
            guard let c = try cursor(r, si, i, t.field, positions: positions, within: within) else { return nil }
            cs.append(c)
        }
        let matchers = phrases.map { p in
            let unique = p.terms
            let cursors = unique.map { u in cs[terms.firstIndex { $0.field == u.field && $0.bytes == u.bytes }!] }
            return PhraseMatcher(cursors: cursors, terms: unique, tokens: p.tokens, slop: p.slop)
        }
        return (cs, PhraseChecks(matchers))
    }

    /// A conjunction's phrase matchers, for the leapfrog's body: the first (usually the only
    /// one) unmanaged, so checking a candidate takes no reference (`matchers` keeps them alive).
    struct PhraseChecks {
        let matchers: [PhraseMatcher]
        private let first: Unmanaged<PhraseMatcher>?

        init(_ matchers: [PhraseMatcher]) {
            self.matchers = matchers
            first = matchers.first.map { Unmanaged.passUnretained($0) }
        }

        /// Whether every phrase occurs in the document the cursors are on.
        @inline(__always) func hold() throws -> Bool {
            guard let first else { return true }
            if try !first._withUnsafeGuaranteedRef({ try $0.matches() }) { return false }
            if matchers.count > 1 { for m in matchers.dropFirst() where try !m.matches() { return false } }
            return true
        }
    }

    /// Calls `body` for each document every cursor holds, in order, with every cursor on it:
    /// by windows (`intersectInWindows`) when the two rarest lists are of similar length, else
    /// by leapfrogging with `advance`. The loop reaches the cursors through unmanaged
    /// references (`cs` keeps them alive), so it does no reference counting. `gate`: a
    /// conjunction's filters, whose zone maps move each target past documents no range can
    /// match (`body` still checks them). `bound`: top-k pruning by block maxima; runs of
    /// documents whose blocks cannot together reach the k-th score are skipped without
    /// decoding them.
    private func intersect(_ cs: [PostingsCursor], gate: SegmentFilter? = nil, bound: ConjunctionBound? = nil, _ body: (UInt32) throws -> Void) throws {
        guard !cs.isEmpty else { return }
        // Unwrapped once: the loop reads plain values.
        let filter = gate ?? SegmentFilter()
        let gated = !filter.checks.isEmpty
        if windowedIntersections, cs.count >= 2 {
            let byLength = cs.indices.sorted { (cs[$0].docFreq, $0) < (cs[$1].docFreq, $1) }
            if cs[byLength[1]].docFreq <= Self.windowedRatio * cs[byLength[0]].docFreq {
                return try intersectInWindows(cs, pair: (byLength[0], byLength[1]), filter: filter, gated: gated, bound: bound, body)
            }
        }
        let refs = cs.map { Unmanaged.passUnretained($0) }
        let pruned = bound != nil
        let prune = bound ?? ConjunctionBound(scorers: [], constant: 0, bar: nil)
        var region = ConjunctionBound.Region()
        try withExtendedLifetime(cs) {
            try refs.withUnsafeBufferPointer { c in
                var target = c[0]._withUnsafeGuaranteedRef { $0.doc }
                while target != PostingsCursor.exhausted {
                    if gated {
                        target = filter.nextCandidate(target)
                        if target == PostingsCursor.exhausted { return }
                    }
                    if pruned {
                        let next = prune.skip(target, c, &region)
                        if next != target { target = next; continue }
                    }
                    var agreed = true
                    var i = 0
                    while i < c.count {
                        let doc = try c[i]._withUnsafeGuaranteedRef { try $0.advance(to: target); return $0.doc }
                        if doc != target { target = doc; agreed = false; break }
                        i += 1
                    }
                    if agreed {
                        try body(target)
                        target = try c[0]._withUnsafeGuaranteedRef { try $0.next(); return $0.doc }
                    }
                }
            }
        }
    }

    /// The two rarest lists are intersected a window at a time (`intersectInWindows`) when the
    /// second is at most this many times longer than the first; else the leapfrog, whose cost
    /// follows the rarest list alone, skips more.
    static let windowedRatio = 8
    /// The longest window, in documents: the byte map's size.
    static let windowSpan = 8192

    /// `intersect` for two rarest lists of similar length, a window at a time. Both are
    /// aligned on a target; the window runs from it to the first end of their buffered blocks
    /// (at most `windowSpan` documents). The first list's documents in the window mark a byte
    /// map, the second's read it, so a candidate costs a load and an add, with no compare to
    /// mispredict and no chain from one posting to the next (a merge's steps wait on each
    /// other's loads). Each candidate moves both cursors onto it and probes the other cursors
    /// with `advance(to:)`, as the leapfrog does. Filters and block-max pruning act at each
    /// window's start; `body` checks the filters.
    private func intersectInWindows(_ cs: [PostingsCursor], pair: (Int, Int), filter: SegmentFilter, gated: Bool, bound: ConjunctionBound?,
                                    _ body: (UInt32) throws -> Void) throws {
        let all = cs.map { Unmanaged.passUnretained($0) }
        let first = Unmanaged.passUnretained(cs[pair.0]), second = Unmanaged.passUnretained(cs[pair.1])
        let probed = cs.indices.filter { $0 != pair.0 && $0 != pair.1 }.map { Unmanaged.passUnretained(cs[$0]) }
        let span = UInt32(Self.windowSpan)
        // Zeroed as far as windows have reached (a short query's windows are short: zeroing
        // the whole map would cost more than its intersection).
        let marks = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.windowSpan)
        var zeroed = 0
        // A window's candidates: their indices in the two blocks (one spare write past them).
        let inFirst = UnsafeMutablePointer<UInt8>.allocate(capacity: BitPacking.blockSize + 1)
        let inSecond = UnsafeMutablePointer<UInt8>.allocate(capacity: BitPacking.blockSize + 1)
        defer { marks.deallocate(); inFirst.deallocate(); inSecond.deallocate() }
        let exhausted = PostingsCursor.exhausted
        var region = ConjunctionBound.Region()
        try withExtendedLifetime(cs) {
            try all.withUnsafeBufferPointer { c in
                try probed.withUnsafeBufferPointer { o in
                    var target: UInt32 = 0
                    while target != exhausted {
                        if gated {
                            target = filter.nextCandidate(target)
                            if target == exhausted { return }
                        }
                        if let bound {
                            let next = bound.skip(target, c, &region)
                            if next != target { target = next; continue }
                        }
                        let (d0, last0) = try first._withUnsafeGuaranteedRef { try $0.advance(to: target); return ($0.doc, $0.blockLastDoc) }
                        if d0 == exhausted { return }
                        let (d1, last1) = try second._withUnsafeGuaranteedRef { try $0.advance(to: max(target, d0)); return ($0.doc, $0.blockLastDoc) }
                        if d1 == exhausted { return }
                        if d1 > last0 { target = d1; continue }   // the first list's block ends before the second's next document
                        let start = max(d0, d1)
                        let end = min(last0, last1, start &+ (span &- 1))
                        let reach = Int(end &- start) &+ 1
                        if reach > zeroed {
                            (marks + zeroed).initialize(repeating: 0, count: reach &- zeroed)
                            zeroed = reach
                        }
                        // Mark the first list's documents in [start, end], read the marks at the
                        // second's, clear them.
                        let (a, aFrom, _) = first._withUnsafeGuaranteedRef { $0.bufferedDocs }
                        let (b, bFrom, _) = second._withUnsafeGuaranteedRef { $0.bufferedDocs }
                        // A mark is the posting's index in the first block plus one (blocks
                        // hold 128), so a candidate knows where both cursors go.
                        var i = aFrom
                        while a[i] < start { i &+= 1 }
                        let aStart = i
                        while a[i] <= end { marks[Int(a[i] &- start)] = UInt8(truncatingIfNeeded: i &+ 1); i &+= 1 }
                        let aEnd = i
                        var j = bFrom, n = 0
                        while b[j] < start { j &+= 1 }
                        while b[j] <= end {
                            let mark = marks[Int(b[j] &- start)]
                            inFirst[n] = mark
                            inSecond[n] = UInt8(truncatingIfNeeded: j)
                            n &+= mark != 0 ? 1 : 0
                            j &+= 1
                        }
                        for k in aStart ..< aEnd { marks[Int(a[k] &- start)] = 0 }
                        for q in 0 ..< n {
                            first._withUnsafeGuaranteedRef { $0.move(toBuffered: Int(inFirst[q]) &- 1) }
                            second._withUnsafeGuaranteedRef { $0.move(toBuffered: Int(inSecond[q])) }
                            let m = b[Int(inSecond[q])]
                            var agreed = true
                            for l in 0 ..< o.count {
                                let d = try o[l]._withUnsafeGuaranteedRef { try $0.advance(to: m); return $0.doc }
                                if d == exhausted { return }
                                if d != m { agreed = false; break }
                            }
                            if agreed { try body(m) }
                        }
                        target = end &+ 1
                    }
                }
            }
        }
    }

    /// Calls `body` once for each document any cursor holds, in order, until it returns false
    /// (a k-way merge through unmanaged references, as `intersect`).
    private func union(_ cs: [PostingsCursor], _ body: (UInt32) throws -> Bool) throws {
        let refs = cs.map { Unmanaged.passUnretained($0) }
        try withExtendedLifetime(cs) {
            try refs.withUnsafeBufferPointer { c in
                while true {
                    var d = PostingsCursor.exhausted
                    for i in 0 ..< c.count { d = min(d, c[i]._withUnsafeGuaranteedRef { $0.doc }) }
                    if d == PostingsCursor.exhausted { return }
                    for i in 0 ..< c.count { try c[i]._withUnsafeGuaranteedRef { if $0.doc == d { try $0.next() } } }
                    if try !body(d) { return }
                }
            }
        }
    }

    /// Whether an excluded term's cursor holds `d` (no call when nothing is excluded).
    @inline(__always) private func isExcluded(_ d: UInt32, _ ex: [PostingsCursor]) throws -> Bool {
        ex.isEmpty ? false : try anyHolds(d, ex)
    }

    private func anyHolds(_ d: UInt32, _ ex: [PostingsCursor]) throws -> Bool {
        for c in ex {
            try c.advance(to: d)
            if c.doc == d { return true }
        }
        return false
    }

    /// MaxScore top-k over a disjunction: terms sorted by their score bound; the low-bound
    /// prefix whose bounds sum below the current k-th score only scores documents the others
    /// found, and is probed only while the document can still enter the top k.
    private func maxScore(_ input: [(PostingsCursor, TermScorer)], excluded: [PostingsCursor], _ s: Segment, _ si: Int, _ top: inout TopHits) throws {
        if input.isEmpty { return }
        var cs = input.map { c, sc -> (PostingsCursor, TermScorer, Float) in
            // Bound: the best block bound; a list with a varint tail (no stored bounds) can
            // reach the ceiling.
            var bound: Float = c.fullBlocks * BitPacking.blockSize < c.docFreq ? sc.ceiling : 0
            for b in 0 ..< c.fullBlocks { let m = c.blockMax(b); bound = max(bound, sc.score(m.maxFreq, m.minNorm)) }
            return (c, sc, bound)
        }
        cs.sort { $0.2 < $1.2 }
        var prefix = [Float](repeating: 0, count: cs.count)
        var acc: Float = 0
        for i in cs.indices { acc += cs[i].2; prefix[i] = acc }
        var essential = 0
        func updateEssential() {
            guard let bar = top.threshold?.score else { return }
            while essential < cs.count && top.cannotEnter(prefix[essential], bar, segment: si) { essential += 1 }
        }
        updateEssential()
        while essential < cs.count {
            var d = PostingsCursor.exhausted
            for i in essential ..< cs.count where cs[i].0.doc < d { d = cs[i].0.doc }
            if d == PostingsCursor.exhausted { break }
            var score: Float = 0
            for i in essential ..< cs.count where cs[i].0.doc == d {
                score += cs[i].1.score(cs[i].0.frequency, cs[i].0.segment.norm(Int(d)))
                try cs[i].0.next()
            }
            let bar = top.threshold?.score
            var i = essential - 1
            while i >= 0 {
                if let bar, top.cannotEnter(score + prefix[i], bar, segment: si) { break }
                try cs[i].0.advance(to: d)
                if cs[i].0.doc == d { score += cs[i].1.score(cs[i].0.frequency, cs[i].0.segment.norm(Int(d))) }
                i -= 1
            }
            if i >= 0 { continue } // cannot enter the top k
            if let bar, top.cannotEnter(score, bar, segment: si) { continue }
            if s.deletes?.contains(d) ?? false { continue }
            if try isExcluded(d, excluded) { continue }
            top.offer(SearchHit(segment: si, document: d, score: score, sortValue: nil))
            updateEssential()
        }
    }
}
