import Foundation
@_spi(Store) import StrataSearch
import StrataIO
import StrataLog

/// A closed interval of record times in epoch milliseconds (nil bounds are open).
public struct TimeRange: Sendable, Equatable {
    public var from: Int64?
    public var to: Int64?
    public init(from: Int64? = nil, to: Int64? = nil) {
        self.from = from
        self.to = to
    }

    /// The last `milliseconds` up to now.
    public static func last(milliseconds: Int64) -> TimeRange { TimeRange(from: currentTimeMillis() - milliseconds, to: nil) }

    /// Both ranges at once (nil when they do not overlap... represented by an empty range).
    func intersection(_ o: TimeRange) -> TimeRange {
        TimeRange(from: [from, o.from].compactMap { $0 }.max(), to: [to, o.to].compactMap { $0 }.min())
    }
}

/// The order of search hits.
public enum SearchOrder: Sendable, Equatable {
    /// By relevance when the query scores text, else newest first — the log-search default.
    case automatic
    /// BM25 score, best first.
    case relevance
    /// Record time, newest first.
    case newest
    /// Record time, oldest first.
    case oldest
    /// A numeric or timestamp field.
    case field(String, descending: Bool)
}

/// Where the previous page ended: the last hit's sort value and identity. Pass a hit's
/// `searchAfter` in the next request (with the same query and order) to get the hits after it.
public struct SearchAfter: Sendable, Equatable, CustomStringConvertible {
    /// The score (relevance) or sort value of the hit.
    public var value: Double?
    public var timestamp: Int64
    public var partition: Int32
    public var offset: Int64

    public init(value: Double?, timestamp: Int64, partition: Int32, offset: Int64) {
        self.value = value
        self.timestamp = timestamp
        self.partition = partition
        self.offset = offset
    }

    /// A compact text form (`v1:<value bits hex or ->:<timestamp>:<partition>:<offset>`),
    /// exact for any value — for the C API and command line.
    public var description: String {
        "v1:\(value.map { String($0.bitPattern, radix: 16) } ?? "-"):\(timestamp):\(partition):\(offset)"
    }

    /// Parses `description`'s form; throws `invalidArgument` for anything else.
    public init(token: String) throws {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "v1", let ts = Int64(parts[2]), let p = Int32(parts[3]), let o = Int64(parts[4]) else {
            throw StrataError.invalidArgument("search-after token '\(token)': expected v1:<value>:<timestamp>:<partition>:<offset>")
        }
        if parts[1] == "-" { value = nil } else {
            guard let bits = UInt64(parts[1], radix: 16) else { throw StrataError.invalidArgument("search-after token '\(token)': bad value") }
            value = Double(bitPattern: bits)
        }
        timestamp = ts
        partition = p
        offset = o
    }
}

/// A search of one index (all partitions of its topic).
public struct SearchRequest: Sendable {
    /// Lucene query syntax; empty or `*` matches everything. `_timestamp:[a TO b]` clauses at
    /// the top level act as time filters and prune segments like `timeRange`.
    public var query: String
    public var limit: Int
    public var timeRange: TimeRange?
    public var order: SearchOrder
    public var searchAfter: SearchAfter?
    /// Count every match (`SearchResults.totalHits`).
    public var countTotal: Bool
    /// Fragments of matched text fields, with the matches marked (nil: none).
    public var highlight: HighlightOptions?
    /// Aggregations over every match (terms exact over the whole topic).
    public var aggregations: [String: Aggregation]
    /// What the query may cost (clauses, fuzzy expansions); past it the search throws
    /// `QueryError.tooComplex`.
    public var limits: QueryLimits

    public init(query: String, limit: Int = 10, timeRange: TimeRange? = nil, order: SearchOrder = .automatic,
                searchAfter: SearchAfter? = nil, countTotal: Bool = true, highlight: HighlightOptions? = nil,
                aggregations: [String: Aggregation] = [:], limits: QueryLimits = QueryLimits()) {
        self.limits = limits
        self.query = query
        self.limit = limit
        self.timeRange = timeRange
        self.order = order
        self.searchAfter = searchAfter
        self.countTotal = countTotal
        self.highlight = highlight
        self.aggregations = aggregations
    }
}

/// One search hit: where the record is in the log, its time, score and highlights.
public struct Hit: Sendable, Equatable {
    public var partition: Int32
    public var offset: Int64
    /// The document time (`_timestamp`: the record's, or the mapping's timestamp field).
    public var timestamp: Int64
    /// BM25 score (0 when not ordered by relevance).
    public var score: Float
    /// The sort value when ordered by time or a field.
    public var sortValue: Double?
    /// Field → fragments with the matches marked (with `SearchRequest.highlight`).
    public var highlights: [String: [String]]
    /// Pass as `SearchRequest.searchAfter` to get the hits after this one.
    public var searchAfter: SearchAfter
}

/// The result of `Store.search`: hits, the total, aggregations — and the records, read from
/// the log on demand (the log is the document store). Use from one thread at a time.
public final class SearchResults {
    public let hits: [Hit]
    /// Every match, when counted.
    public let totalHits: Int?
    public let aggregations: [String: AggregationResult]
    let logs: [Log]
    private var cursors: [LogCursor?]
    private let readOnly: Bool

    init(hits: [Hit], totalHits: Int?, aggregations: [String: AggregationResult], logs: [Log], readOnly: Bool) {
        self.hits = hits
        self.totalHits = totalHits
        self.aggregations = aggregations
        self.logs = logs
        self.readOnly = readOnly
        cursors = Array(repeating: nil, count: logs.count)
    }

    /// Calls `body` with the record of `hit` borrowed from the log's mapping (no copy; valid
    /// during the call). Returns nil when the record is no longer in the log (retention).
    public func withRecord<R>(_ hit: Hit, _ body: (RecordView) throws -> R) throws -> R? {
        try withRecord(partition: hit.partition, offset: hit.offset, body)
    }

    func withRecord<R>(partition: Int32, offset: Int64, _ body: (RecordView) throws -> R) throws -> R? {
        guard partition >= 0, Int(partition) < logs.count else { return nil }
        let log = logs[Int(partition)]
        if readOnly, offset >= log.highWatermark { _ = try log.refresh() }
        guard offset >= log.logStartOffset, offset < log.highWatermark else { return nil }
        if cursors[Int(partition)] == nil { cursors[Int(partition)] = try log.cursor(from: .offset(offset)) }
        let c = cursors[Int(partition)]!
        do { try c.seek(to: offset) } catch StrataError.offsetOutOfRange { return nil }
        guard let r = try c.next(), r.offset == offset else { return nil }
        return try body(r)
    }

    /// An owned copy of the record of `hit` (nil when retention removed it).
    public func record(_ hit: Hit) throws -> Record? { try withRecord(hit) { $0.owned() } }

    /// The record's value decoded from JSON as `T` (`JSONDecoder`, ISO 8601 dates).
    public func decode<T: Decodable>(_ type: T.Type, _ hit: Hit) throws -> T {
        guard let data = try withRecord(hit, { r in r.value.map { Data($0) } }), let data else {
            throw StrataError.notFound("record \(hit.offset) of partition \(hit.partition) (no value, or removed by retention)")
        }
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        do { return try d.decode(T.self, from: data) } catch {
            throw StrataError.invalidArgument("record \(hit.offset) of partition \(hit.partition) does not decode as \(T.self): \(error)")
        }
    }
}

extension Store {
    /// Runs `request` over index `name` (an index, or a topic with one index): one ranked list
    /// over every partition, scored with topic-wide statistics, so the same records get the
    /// same scores and order however many partitions the topic has. Ties are ordered by time,
    /// partition and offset (oldest first for relevance; in the sort's direction for time and
    /// field orders), which `searchAfter` pages through exactly.
    public func search(_ name: String, _ request: SearchRequest) throws -> SearchResults {
        // One deadline for the whole request (top hits, count, aggregations).
        try QueryLimits.$current.withValue(request.limits) { try request.limits.withDeadline { try run(name, request) } }
    }

    private func run(_ name: String, _ request: SearchRequest) throws -> SearchResults {
        let (searcher, _, topic) = try searchContext(name)
        let (query, filter) = try Self.parse(request.query)
        let range = request.timeRange.map { filter?.intersection($0) ?? $0 } ?? filter
        let view = try range.map { try searcher.restricted(field: RecordDocument.timestampField, lower: $0.from, upper: $0.to) } ?? searcher
        let order = request.order == .automatic ? (query.scoresText ? .relevance : .newest) : request.order
        let sort: SearchSort
        let descending: Bool
        switch order {
        // Equal scores go oldest first (time, partition, offset ascending): documents sit in
        // about that order in segments, so ties are settled with one doc-value read each.
        case .automatic, .relevance: sort = .score; descending = false
        case .newest: sort = .field(RecordDocument.timestampField, descending: true); descending = true
        case .oldest: sort = .field(RecordDocument.timestampField, descending: false); descending = false
        case let .field(f, d): sort = .field(f, descending: d); descending = d
        }
        var after: StrataSearch.SearchHit?
        if let a = request.searchAfter {
            after = StrataSearch.SearchHit(segment: 0, document: 0, score: sort == .score ? Float(a.value ?? 0) : 0, sortValue: sort == .score ? nil : a.value,
                                           tieBreak: TieKey(a.timestamp, Int64(a.partition), a.offset))
        }
        let options = SearchOptions(tieBreak: [RecordDocument.timestampField, RecordDocument.partitionField, RecordDocument.offsetField],
                                    tieBreakDescending: descending, after: after)
        let found = try view.search(query, limit: max(0, request.limit), sort: sort, options: options)
        let total = request.countTotal ? try view.count(query) : nil
        let aggs = request.aggregations.isEmpty ? [:] : try view.aggregate(query, request.aggregations)
        var hits: [Hit] = []
        hits.reserveCapacity(found.count)
        for h in found {
            let p = Int32(truncatingIfNeeded: h.tieBreak.b), o = h.tieBreak.c, ts = h.tieBreak.a
            hits.append(Hit(partition: p, offset: o, timestamp: ts, score: sort == .score ? h.score : 0, sortValue: h.sortValue, highlights: [:],
                            searchAfter: SearchAfter(value: sort == .score ? Double(h.score) : h.sortValue, timestamp: ts, partition: p, offset: o)))
        }
        let results = SearchResults(hits: hits, totalHits: total, aggregations: aggs, logs: topic.partitions, readOnly: options_readOnly)
        if let hl = request.highlight, !hits.isEmpty {
            let highlighter = QueryHighlighter(query: query, schema: view.schema)
            var marked = hits
            for (i, h) in found.enumerated() {
                let fallback = !view.keywordValues(RecordDocument.fallbackField, of: h).isEmpty
                marked[i].highlights = try results.withRecord(hits[i]) { r -> [String: [String]] in
                    guard let v = r.value else { return [:] }
                    if !fallback, RecordDocument.looksLikeObject(v) { return highlighter.fragments(json: v, options: hl) }
                    let f = highlighter.fragments(field: RecordDocument.messageField, utf8: v, options: hl)
                    return f.isEmpty ? [:] : [RecordDocument.messageField: f]
                } ?? [:]
            }
            return SearchResults(hits: marked, totalHits: total, aggregations: aggs, logs: topic.partitions, readOnly: options_readOnly)
        }
        return results
    }

    private var options_readOnly: Bool { options.readOnly }

    /// `search` with the common parameters.
    public func search(_ name: String, _ query: String, limit: Int = 10, timeRange: TimeRange? = nil, order: SearchOrder = .automatic,
                       searchAfter: SearchAfter? = nil, highlight: HighlightOptions? = nil) throws -> SearchResults {
        try search(name, SearchRequest(query: query, limit: limit, timeRange: timeRange, order: order, searchAfter: searchAfter, highlight: highlight))
    }

    /// The number of documents matching `query` (in `timeRange`) over every partition.
    public func count(_ name: String, _ query: String, timeRange: TimeRange? = nil) throws -> Int {
        try search(name, SearchRequest(query: query, limit: 0, timeRange: timeRange)).totalHits ?? 0
    }

    /// Aggregations over the documents matching `query` (in `timeRange`), merged over every
    /// partition (terms counts exact).
    public func aggregate(_ name: String, _ query: String, timeRange: TimeRange? = nil, _ aggregations: [String: Aggregation]) throws -> [String: AggregationResult] {
        try search(name, SearchRequest(query: query, limit: 0, timeRange: timeRange, countTotal: false, aggregations: aggregations)).aggregations
    }

    /// Parses a query; top-level `_timestamp` ranges become a time filter.
    static func parse(_ text: String) throws -> (Query, TimeRange?) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "*" { return (.matchAll, nil) }
        let q = try QueryParser.parse(text)
        func bound(_ s: String?, inclusive: Bool, lower: Bool) throws -> Int64? {
            guard let s, s != "*" else { return nil }
            guard let v = Int64(s) ?? Timestamp.parse(s) else {
                throw QueryError.unsupported("'\(s)' is not a time (epoch milliseconds or ISO 8601) for _timestamp")
            }
            if inclusive { return v }
            return lower ? (v == .max ? v : v + 1) : (v == .min ? v : v - 1)
        }
        func filter(_ q: Query) throws -> TimeRange? {
            guard case let .range(f, lo, hi, il, iu) = q, f == RecordDocument.timestampField else { return nil }
            return TimeRange(from: try bound(lo, inclusive: il, lower: true), to: try bound(hi, inclusive: iu, lower: false))
        }
        if let r = try filter(q) { return (.matchAll, r) }
        if case let .boolean(must, should, mustNot, msm) = q {
            var range: TimeRange?
            var rest: [Query] = []
            for m in must {
                if let r = try filter(m) { range = range.map { $0.intersection(r) } ?? r } else { rest.append(m) }
            }
            if let range {
                if rest.isEmpty && should.isEmpty {
                    return (mustNot.isEmpty ? .matchAll : .boolean(must: [.matchAll], should: [], mustNot: mustNot, minimumShouldMatch: 0), range)
                }
                return (.boolean(must: rest, should: should, mustNot: mustNot, minimumShouldMatch: msm), range)
            }
        }
        return (q, nil)
    }
}

extension Query {
    /// Whether some positive clause scores by term statistics (a term or phrase).
    var scoresText: Bool {
        switch self {
        case .term, .phrase: return true
        case let .boolean(must, should, _, _): return (must + should).contains { $0.scoresText }
        default: return false
        }
    }
}
