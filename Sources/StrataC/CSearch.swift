#if canImport(Glibc)
import Glibc
#endif
import CStrata
import Foundation
import Strata

/// `strata_hits`: the results of a search and the hit the iterator stands on.
final class CHits {
    let owner: CStore
    let results: SearchResults
    let errors = ErrorState()
    // One thread at a time uses a hits iterator (strata.h): no dynamic exclusivity checks.
    @exclusivity(unchecked) var next = 0
    @exclusivity(unchecked) var current: RecordHeaders?
    @exclusivity(unchecked) var currentHit: Hit?
    @exclusivity(unchecked) var headers: [(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?)] = []
    @exclusivity(unchecked) var headersParsed = false
    /// NUL-terminated text handed out for the current hit (highlights, search-after token),
    /// kept until the next call replaces it.
    private var highlightText: UnsafeMutablePointer<CChar>?
    private var afterText: UnsafeMutablePointer<CChar>?

    init(owner: CStore, results: SearchResults) {
        self.owner = owner
        self.results = results
    }

    deinit {
        free(highlightText)
        free(afterText)
    }

    func setHighlight(_ s: String) -> UnsafePointer<CChar> {
        free(highlightText)
        highlightText = mallocString(s)
        return UnsafePointer(highlightText!)
    }

    func setAfter(_ s: String) -> UnsafePointer<CChar> {
        free(afterText)
        afterText = mallocString(s)
        return UnsafePointer(afterText!)
    }
}

// MARK: indexes

@c @implementation
public func strata_index_create(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?, _ topic: UnsafePointer<CChar>?, _ mapping: UnsafePointer<CChar>?,
                                _ timestampField: UnsafePointer<CChar>?) -> Int32 {
    withStore(db) { s in
        let name = try string(index, "strata_index_create: index")
        var m = IndexMapping()
        if let json = try optionalString(mapping, "strata_index_create: mapping") {
            do { m = try IndexMapping(json: json) } catch let e as StrataError {
                guard case let .invalidArgument(why) = e else { throw e }
                throw CArgumentError.json("strata_index_create: \(why)")
            }
        }
        try s.store.createIndex(name, topic: try optionalString(topic, "strata_index_create: topic"), mapping: m,
                                timestampField: try optionalString(timestampField, "strata_index_create: timestamp_field"))
        return STRATA_OK
    }
}

@c @implementation
public func strata_index_drop(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?) -> Int32 {
    withStore(db) { s in
        try s.store.dropIndex(try string(index, "strata_index_drop: index"))
        return STRATA_OK
    }
}

@c @implementation
public func strata_index_refresh(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?, _ timeoutMs: Int32) -> Int32 {
    withStore(db) { s in
        try s.store.refresh(try string(index, "strata_index_refresh: index"), timeoutMs: timeoutMs < 0 ? 30_000 : Int(timeoutMs))
        return STRATA_OK
    }
}

@c @implementation
public func strata_index_rebuild(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?) -> Int32 {
    withStore(db) { s in
        try s.store.rebuildIndex(try s.store.resolveIndexName(try string(index, "strata_index_rebuild: index")))
        return STRATA_OK
    }
}

@c @implementation
public func strata_index_lag(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?, _ lag: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStore(db) { s in
        guard let lag else { throw CArgumentError.null("strata_index_lag: lag") }
        lag.pointee = try s.store.indexLag(try string(index, "strata_index_lag: index")).reduce(0) { $0 + $1.lag }
        return STRATA_OK
    }
}

@c @implementation
public func strata_index_status(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    withJSONOutput(db, json, "strata_index_status") { s in
        let st = try s.store.indexStatus(try string(index, "strata_index_status: index"))
        let parts = st.partitions.map { p in
            JSONWriter.object([("partition", "\(p.partition)"), ("log_end", "\(p.logEndOffset)"), ("indexed", "\(p.indexedOffset)"),
                               ("searchable", "\(p.searchableOffset)"), ("committed", "\(p.committedOffset)"), ("lag", "\(p.lag)")])
        }
        return JSONWriter.object([
            ("name", JSONWriter.string(st.definition.name)), ("topic", JSONWriter.string(st.definition.topic)),
            ("generation", "\(st.definition.generation)"), ("documents", "\(st.documents)"), ("segments", "\(st.segments)"),
            ("bytes", "\(st.sizeBytes)"), ("fallback_documents", "\(st.fallbackDocuments)"), ("lag", "\(st.totalLag)"),
            ("failure", st.failure.map(JSONWriter.string) ?? "null"), ("partitions", JSONWriter.array(parts)),
        ])
    }
}

// MARK: searching

/// The search request a C call describes.
func searchRequest(_ query: UnsafePointer<CChar>?, _ opt: OpaquePointer?, call: String, limitAllowed: Bool) throws -> SearchRequest {
    let q = try optionalString(query, "\(call): query") ?? ""
    var r = OptionReader(try options(opt), call: call)
    var request = SearchRequest(query: q)
    if limitAllowed {
        if let v = try r.int("limit", 0 ... 1_000_000) { request.limit = Int(v) }
        if let sort = r.string("sort") {
            switch sort {
            case "relevance": request.order = .relevance
            case "newest": request.order = .newest
            case "oldest": request.order = .oldest
            default:
                let parts = sort.split(separator: ":").map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, parts[1] == "asc" || parts[1] == "desc" else {
                    throw CArgumentError.option("\(call): sort '\(sort)' (relevance, newest, oldest, FIELD:asc, FIELD:desc)")
                }
                request.order = .field(parts[0], descending: parts[1] == "desc")
            }
        }
        if let token = r.string("after") {
            do { request.searchAfter = try SearchAfter(token: token) } catch { throw CArgumentError.option("\(call): \(error)") }
        }
        if let c = try r.bool("count") { request.countTotal = c }
        if try r.bool("highlight") == true {
            var h = HighlightOptions()
            if let v = try r.int("fragment_size", 0 ... 100_000) { h.fragmentSize = Int(v) }
            if let v = try r.int("fragments", 0 ... 1000) { h.numberOfFragments = Int(v) }
            if let v = r.string("pre_tag") { h.preTag = v }
            if let v = r.string("post_tag") { h.postTag = v }
            request.highlight = h
        } else {
            for k in ["fragment_size", "fragments", "pre_tag", "post_tag"] { _ = r.string(k) }
        }
    }
    let from = try r.int("from_ms"), to = try r.int("to_ms")
    if from != nil || to != nil { request.timeRange = TimeRange(from: from, to: to) }
    if let v = try r.int("timeout_ms", 0 ... 86_400_000) { request.limits.timeoutMs = Int(v) }
    if let v = try r.int("max_clauses", 1 ... 1_000_000) { request.limits.maxClauses = Int(v) }
    try r.finish()
    return request
}

@c @implementation
public func strata_search(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?, _ query: UnsafePointer<CChar>?, _ opt: OpaquePointer?,
                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return withStore(db) { s in
        guard let out else { throw CArgumentError.null("strata_search: out") }
        let name = try string(index, "strata_search: index")
        let results = try s.store.search(name, try searchRequest(query, opt, call: "strata_search", limitAllowed: true))
        guard let h = HandleTable.shared.insert(CHits(owner: s, results: results), kind: .hits) else {
            throw CArgumentError(code: STRATA_ERROR, message: "too many open handles")
        }
        out.pointee = h
        return STRATA_OK
    }
}

@c @implementation
public func strata_count(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?, _ query: UnsafePointer<CChar>?, _ opt: OpaquePointer?,
                         _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStore(db) { s in
        guard let count else { throw CArgumentError.null("strata_count: count") }
        var request = try searchRequest(query, opt, call: "strata_count", limitAllowed: false)
        request.limit = 0
        count.pointee = Int64(try s.store.search(try string(index, "strata_count: index"), request).totalHits ?? 0)
        return STRATA_OK
    }
}

/// `{"name": {"terms": {"field": "f", "size": 10}}, ...}` → aggregations.
func aggregations(json text: String) throws -> [String: Aggregation] {
    guard let top = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw CArgumentError.json("aggregations: not a JSON object of named aggregations")
    }
    var out: [String: Aggregation] = [:]
    for (name, spec) in top {
        guard let spec = spec as? [String: Any], spec.count == 1, let (kind, body) = spec.first, let params = body as? [String: Any],
              let field = params["field"] as? String else {
            throw CArgumentError.json("aggregation '\(name)': expected {\"<kind>\": {\"field\": ...}}")
        }
        switch kind {
        case "terms": out[name] = .terms(field: field, size: (params["size"] as? Int) ?? 10)
        case "stats": out[name] = .stats(field: field)
        case "histogram":
            guard let interval = params["interval"] as? Double, interval > 0 else { throw CArgumentError.json("histogram '\(name)': a positive \"interval\"") }
            out[name] = .histogram(field: field, interval: interval)
        case "date_histogram":
            let calendar: [String: CalendarInterval] = ["minute": .minute, "hour": .hour, "day": .day, "week": .week, "month": .month, "year": .year]
            if let i = params["interval"] as? String, let c = calendar[i] { out[name] = .dateHistogram(field: field, interval: c) } else if let ms = params["interval"] as? Int, ms > 0 {
                out[name] = .dateHistogram(field: field, interval: .fixed(milliseconds: Int64(ms)))
            } else {
                throw CArgumentError.json("date_histogram '\(name)': \"interval\" minute/hour/day/week/month/year or milliseconds")
            }
        default:
            throw CArgumentError.json("aggregation '\(name)': unknown kind '\(kind)' (terms, stats, histogram, date_histogram)")
        }
    }
    return out
}

/// Aggregation results as JSON.
func json(_ results: [String: AggregationResult]) -> String {
    JSONWriter.object(results.sorted { $0.key < $1.key }.map { name, r in
        switch r {
        case let .stats(st):
            return (name, JSONWriter.object([("count", "\(st.count)"), ("min", JSONWriter.number(st.min)), ("max", JSONWriter.number(st.max)),
                                             ("sum", JSONWriter.number(st.sum)), ("avg", JSONWriter.number(st.avg))]))
        case let .buckets(buckets, other):
            let items = buckets.map { b in
                JSONWriter.object([("key", JSONWriter.string(b.key))] + (b.numericKey.map { [("numeric_key", JSONWriter.number($0))] } ?? []) + [("count", "\(b.count)")])
            }
            return (name, JSONWriter.object([("buckets", JSONWriter.array(items)), ("other", "\(other)")]))
        }
    })
}

@c @implementation
public func strata_aggregate(_ db: OpaquePointer?, _ index: UnsafePointer<CChar>?, _ query: UnsafePointer<CChar>?, _ aggs: UnsafePointer<CChar>?,
                             _ opt: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    withJSONOutput(db, out, "strata_aggregate") { s in
        var request = try searchRequest(query, opt, call: "strata_aggregate", limitAllowed: false)
        request.limit = 0
        request.countTotal = false
        request.aggregations = try aggregations(json: try string(aggs, "strata_aggregate: aggregations"))
        return json(try s.store.search(try string(index, "strata_aggregate: index"), request).aggregations)
    }
}

// MARK: hits

@inline(__always)
private func withHits(_ h: OpaquePointer?, _ body: (CHits) throws -> Int32) -> Int32 {
    withHandle(h, .hits, as: CHits.self, { hits in
        if hits.owner.closed { return hits.errors.fail(STRATA_MISUSE_CLOSED, "the store of these hits was closed; close the hits") }
        do { return try body(hits) } catch { return hits.errors.fail(error) }
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_hits_total(_ h: OpaquePointer?, _ total: UnsafeMutablePointer<Int64>?) -> Int32 {
    withHits(h) { hits in
        guard let total else { throw CArgumentError.null("strata_hits_total: total") }
        total.pointee = hits.results.totalHits.map(Int64.init) ?? -1
        return STRATA_OK
    }
}

@c @implementation
public func strata_hits_next(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<strata_record>?, _ score: UnsafeMutablePointer<Double>?) -> Int32 {
    withHits(h) { hits in
        guard let out else { throw CArgumentError.null("strata_hits_next: out") }
        hits.current = nil
        hits.currentHit = nil
        hits.headersParsed = false
        while hits.next < hits.results.hits.count {
            let hit = hits.results.hits[hits.next]
            hits.next += 1
            // The view stays valid until the results' cursor for that partition moves (the next call).
            guard let r = try hits.results.withRecord(hit, { $0 }) else { continue } // retention removed it
            hits.current = RecordHeaders(bytes: r.headerBytes, count: r.headerCount)
            hits.currentHit = hit
            fill(out, r, partition: hit.partition)
            score?.pointee = Double(hit.score)
            return STRATA_ROW
        }
        return STRATA_DONE
    }
}

@c @implementation
public func strata_hits_header(_ h: OpaquePointer?, _ i: Int, _ key: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ keyLength: UnsafeMutablePointer<Int>?,
                               _ value: UnsafeMutablePointer<UnsafeRawPointer?>?, _ valueLength: UnsafeMutablePointer<Int>?) -> Int32 {
    withHits(h) { hits in
        guard let r = hits.current else { throw CArgumentError(code: STRATA_MISUSE, message: "strata_hits_header: no current hit (call strata_hits_next first)") }
        return header(r, i, &hits.headers, &hits.headersParsed, key, keyLength, value, valueLength)
    }
}

@c @implementation
public func strata_hits_highlight(_ h: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    withHits(h) { hits in
        guard let json else { throw CArgumentError.null("strata_hits_highlight: json") }
        guard let hit = hits.currentHit else { throw CArgumentError(code: STRATA_MISUSE, message: "strata_hits_highlight: no current hit") }
        json.pointee = hits.setHighlight(JSONWriter.object(hit.highlights.sorted { $0.key < $1.key }.map { ($0.key, JSONWriter.array($0.value.map(JSONWriter.string))) }))
        return STRATA_OK
    }
}

@c @implementation
public func strata_hits_after(_ h: OpaquePointer?, _ token: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    withHits(h) { hits in
        guard let token else { throw CArgumentError.null("strata_hits_after: token") }
        guard let hit = hits.currentHit else { throw CArgumentError(code: STRATA_MISUSE, message: "strata_hits_after: no current hit") }
        token.pointee = hits.setAfter(hit.searchAfter.description)
        return STRATA_OK
    }
}

@c @implementation
public func strata_hits_errmsg(_ h: OpaquePointer?) -> UnsafePointer<CChar>? {
    withHandle(h, .hits, as: CHits.self, { $0.errors.message }, invalid: { StaticMessage.badHandle })
}

@c @implementation
public func strata_hits_close(_ h: OpaquePointer?) -> Int32 {
    releaseHandle(h, .hits)
}
