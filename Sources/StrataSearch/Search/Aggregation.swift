import StrataIO

/// An aggregation over the documents a query matches (Elasticsearch's bucket and metric
/// aggregations), computed from doc-value columns.
public enum Aggregation: Sendable, Equatable {
    /// The `size` most frequent values of a keyword field (ties: value order), with the count
    /// of documents having each; a document counts once per distinct value.
    case terms(field: String, size: Int = 10)
    /// Buckets of width `interval` over a numeric field: key = ⌊value / interval⌋ × interval;
    /// empty buckets between the first and last are included (min_doc_count 0).
    case histogram(field: String, interval: Double)
    /// Buckets over a timestamp field, fixed (milliseconds) or calendar (UTC) intervals.
    case dateHistogram(field: String, interval: CalendarInterval)
    /// count, min, max, sum, avg of a numeric or timestamp field.
    case stats(field: String)
}

public enum CalendarInterval: Sendable, Equatable {
    case fixed(milliseconds: Int64)
    case minute, hour, day
    /// ISO weeks, starting Monday.
    case week
    case month, year
}

public struct Bucket: Sendable, Equatable {
    /// The value (terms) or the bucket's lower bound as text (histograms: the number; date
    /// histograms: ISO 8601 UTC).
    public var key: String
    /// Histograms: the bucket's lower bound (date histograms: epoch milliseconds).
    public var numericKey: Double?
    public var count: Int
}

public struct Stats: Sendable, Equatable {
    public var count: Int
    public var min: Double?
    public var max: Double?
    public var sum: Double
    public var avg: Double? { count > 0 ? sum / Double(count) : nil }
}

public enum AggregationResult: Sendable, Equatable {
    /// `otherCount`: for terms, documents in values beyond the top `size`.
    case buckets([Bucket], otherCount: Int)
    case stats(Stats)
}

extension IndexSearcher {
    /// Runs aggregations over the live documents matching `query`.
    public func aggregate(_ query: Query, _ aggregations: [String: Aggregation]) throws -> [String: AggregationResult] {
        let limits = QueryLimits.current
        try limits.check(query)
        return try limits.withDeadline {
            var matched: [DocSet] = []
            for s in segments { matched.append(try matches(query, in: s)) }
            var out: [String: AggregationResult] = [:]
            for (name, agg) in aggregations { out[name] = try run(agg, matched) }
            return out
        }
    }

    private func field(_ name: String, numeric: Bool) throws -> Int {
        guard let n = schema.number(of: name) else { throw QueryError.unknownField(name, known: schema.fields.map(\.name)) }
        let t = schema.fields[n].type
        if numeric ? !t.isNumeric : t != .keyword {
            throw QueryError.unsupported("this aggregation needs a \(numeric ? "numeric or timestamp" : "keyword") field; '\(name)' is \(t.typeName)")
        }
        return n
    }

    private func run(_ agg: Aggregation, _ matched: [DocSet]) throws -> AggregationResult {
        switch agg {
        case let .terms(name, size):
            let f = try field(name, numeric: false)
            var counts: [[UInt8]: Int] = [:]
            for (i, s) in segments.enumerated() where !s.excluded {
                guard let c = s.reader.docValues.keywordColumn(f) else { continue }
                var perOrd = [Int](repeating: 0, count: c.valueCount)
                matched[i].forEach { d in for k in c.ordinals(Int(d)) { perOrd[c.ordinal(at: k)] += 1 } }
                for (o, n) in perOrd.enumerated() where n > 0 { counts[Array(c.value(o)), default: 0] += n }
            }
            var buckets = counts.map { Bucket(key: String(decoding: $0.key, as: UTF8.self), numericKey: nil, count: $0.value) }
            buckets.sort { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }
            let top = Array(buckets.prefix(max(0, size)))
            return .buckets(top, otherCount: buckets.dropFirst(max(0, size)).reduce(0) { $0 + $1.count })
        case let .stats(name):
            let f = try field(name, numeric: true)
            var st = Stats(count: 0, min: nil, max: nil, sum: 0)
            forEachValue(f, matched) { v in
                st.count += 1
                st.sum += v
                st.min = Swift.min(st.min ?? v, v)
                st.max = Swift.max(st.max ?? v, v)
            }
            return .stats(st)
        case let .histogram(name, interval):
            guard interval > 0, interval.isFinite else { throw QueryError.unsupported("histogram interval must be positive, not \(interval)") }
            let f = try field(name, numeric: true)
            var counts: [Int64: Int] = [:]
            var outOfRange = false
            forEachValue(f, matched) { v in
                let q = (v / interval).rounded(.down)
                guard q.isFinite, abs(q) < 4e18 else { outOfRange = true; return }
                counts[Int64(q), default: 0] += 1
            }
            if outOfRange { throw QueryError.unsupported("histogram of '\(name)': a value / \(interval) is out of range; use a wider interval") }
            guard let lo = counts.keys.min(), let hi = counts.keys.max() else { return .buckets([], otherCount: 0) }
            guard hi.subtractingReportingOverflow(lo).partialValue < 1_000_000, !hi.subtractingReportingOverflow(lo).overflow else { throw QueryError.unsupported("histogram would have \(hi - lo + 1) buckets; use a wider interval") }
            let buckets = (lo ... hi).map { k in
                let key = Double(k) * interval
                return Bucket(key: Self.formatNumber(key), numericKey: key, count: counts[k] ?? 0)
            }
            return .buckets(buckets, otherCount: 0)
        case let .dateHistogram(name, interval):
            let f = try field(name, numeric: true)
            if case let .fixed(ms) = interval, ms <= 0 { throw QueryError.unsupported("date histogram interval must be positive") }
            var counts: [Int64: Int] = [:]
            var outOfRange = false
            for (i, s) in segments.enumerated() where !s.excluded {
                guard let c = s.reader.docValues.numericColumn(f) else { continue }
                matched[i].forEach { d in
                    guard c.has(Int(d)) else { return }
                    // Exact integers (i64 / timestamp); dates within years 1–9999.
                    let ms = c.type == .f64 ? Int64(exactly: (Double(bitPattern: UInt64(bitPattern: c.bits(Int(d))))).rounded(.down)) : c.bits(Int(d))
                    guard let ms, ms >= Self.minDate, ms <= Self.maxDate else { outOfRange = true; return }
                    counts[Self.bucketStart(ms, interval), default: 0] += 1
                }
            }
            if outOfRange { throw QueryError.unsupported("date histogram of '\(name)': a value is outside years 1–9999") }
            guard let lo = counts.keys.min(), let hi = counts.keys.max() else { return .buckets([], otherCount: 0) }
            var buckets: [Bucket] = []
            var k = lo
            while k <= hi {
                buckets.append(Bucket(key: Self.iso(k), numericKey: Double(k), count: counts[k] ?? 0))
                if buckets.count > 1_000_000 { throw QueryError.unsupported("date histogram would have over a million buckets; use a wider interval") }
                k = Self.nextBucket(k, interval)
            }
            return .buckets(buckets, otherCount: 0)
        }
    }

    private func forEachValue(_ f: Int, _ matched: [DocSet], _ body: (Double) -> Void) {
        for (i, s) in segments.enumerated() where !s.excluded {
            guard let c = s.reader.docValues.numericColumn(f) else { continue }
            matched[i].forEach { d in if let v = c.double(Int(d)) { body(v) } }
        }
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in epoch milliseconds.
    static let minDate: Int64 = -62_135_596_800_000
    static let maxDate: Int64 = 253_402_300_799_999

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func bucketStart(_ ms: Int64, _ interval: CalendarInterval) -> Int64 {
        let day: Int64 = 86_400_000
        switch interval {
        case let .fixed(w): return floorDiv(ms, w) * w
        case .minute: return floorDiv(ms, 60000) * 60000
        case .hour: return floorDiv(ms, 3_600_000) * 3_600_000
        case .day: return floorDiv(ms, day) * day
        case .week:
            // 1970-01-01 was a Thursday; Monday 1969-12-29 is day −3.
            let d = floorDiv(ms, day)
            return (floorDiv(d + 3, 7) * 7 - 3) * day
        case .month, .year:
            let c = Timestamp.civil(days: Int(floorDiv(ms, day)))
            return Int64(Timestamp.days(year: c.year, month: interval == .year ? 1 : c.month, day: 1)) * day
        }
    }

    static func nextBucket(_ start: Int64, _ interval: CalendarInterval) -> Int64 {
        let day: Int64 = 86_400_000
        switch interval {
        case let .fixed(w):
            let (next, overflow) = start.addingReportingOverflow(w)
            return overflow ? Int64.max : next
        case .minute: return start + 60000
        case .hour: return start + 3_600_000
        case .day: return start + day
        case .week: return start + 7 * day
        case .month, .year:
            let c = Timestamp.civil(days: Int(floorDiv(start, day)))
            let (y, m) = interval == .year ? (c.year + 1, 1) : (c.month == 12 ? (c.year + 1, 1) : (c.year, c.month + 1))
            return Int64(Timestamp.days(year: y, month: m, day: 1)) * day
        }
    }

    /// ISO 8601 UTC text of epoch milliseconds (`2026-11-22T06:00:00.000Z`).
    static func iso(_ ms: Int64) -> String {
        let day: Int64 = 86_400_000
        let d = floorDiv(ms, day)
        let c = Timestamp.civil(days: Int(d))
        let r = Int(ms - d * day)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = r % 1000
        return "\(c.year)-\(two(c.month))-\(two(c.day))T\(two(r / 3_600_000)):\(two(r / 60000 % 60)):\(two(r / 1000 % 60)).\(millis < 10 ? "00" : millis < 100 ? "0" : "")\(millis)Z"
    }

    static func formatNumber(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
