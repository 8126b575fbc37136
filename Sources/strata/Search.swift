import ArgumentParser
import Foundation
import Strata

/// Parses `15m`, `2h`, `7d`, `30s`, `500ms` (ago from now), epoch milliseconds, or ISO 8601.
func parseTime(_ text: String, now: Int64 = currentTimeMillis()) throws -> Int64 {
    let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let n = Int64(text.dropLast(suffix.count)), n >= 0 { return now - n * scale }
    }
    if let ms = Int64(text) { return ms }
    var copy = text
    if let t = copy.withUTF8({ Timestamp.parse(UnsafeRawBufferPointer($0)) }) { return t }
    throw StrataError.invalidArgument("'\(text)' is not a time: use 15m / 2h / 7d (ago), epoch milliseconds or ISO 8601")
}

/// `terms:F[:SIZE]`, `stats:F`, `histogram:F:WIDTH`, `date_histogram:F:minute|hour|day|week|month|year`.
func parseAggregation(_ spec: String) throws -> Aggregation {
    let parts = spec.split(separator: ":").map(String.init)
    guard parts.count >= 2 else { throw StrataError.invalidArgument("aggregation '\(spec)': use KIND:FIELD[:ARG]") }
    switch parts[0] {
    case "terms": return .terms(field: parts[1], size: parts.count > 2 ? Int(parts[2]) ?? 10 : 10)
    case "stats": return .stats(field: parts[1])
    case "histogram":
        guard parts.count > 2, let w = Double(parts[2]) else { throw StrataError.invalidArgument("histogram needs a width: histogram:FIELD:WIDTH") }
        return .histogram(field: parts[1], interval: w)
    case "date_histogram":
        let unit: [String: CalendarInterval] = ["minute": .minute, "hour": .hour, "day": .day, "week": .week, "month": .month, "year": .year]
        guard parts.count > 2, let i = unit[parts[2]] else { throw StrataError.invalidArgument("date_histogram needs minute, hour, day, week, month or year") }
        return .dateHistogram(field: parts[1], interval: i)
    default:
        throw StrataError.invalidArgument("unknown aggregation '\(parts[0])' (terms, stats, histogram, date_histogram)")
    }
}

func printAggregation(_ name: String, _ result: AggregationResult) {
    switch result {
    case let .stats(st):
        print("\(name): count \(st.count) min \(st.min.map { "\($0)" } ?? "-") max \(st.max.map { "\($0)" } ?? "-") sum \(st.sum) avg \(st.avg.map { String(format: "%.3f", $0) } ?? "-")")
    case let .buckets(buckets, other):
        print("\(name):")
        let indent = String(name.prefix { $0 == " " }) + "  "
        for b in buckets { print(indent + "\(displayText(b.key).padding(toLength: max(20, b.key.count), withPad: " ", startingAt: 0))  \(b.count)") }
        if other > 0 { print(indent + "(other)  \(other)") }
    }
}

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a topic's index over all its partitions (Lucene query syntax); prints hits with their records read from the log. Opens the store read-only, beside a writer.")
    @Option(name: .shortAndLong, help: "The data directory.") var dir: String = "strata-data"
    @Option(name: .shortAndLong, help: "The topic (or index) to search.") var topic: String
    @Option(help: "Only records at or after this time: 15m, 2h, 7d (ago), epoch ms or ISO 8601.") var since: String?
    @Option(help: "Only records at or before this time (same forms).") var until: String?
    @Option(name: .shortAndLong, help: "Hits to print.") var limit: Int = 10
    @Option(help: "relevance, newest, oldest, or FIELD[:asc|:desc] (default: relevance for text queries, else newest).") var sort: String?
    @Option(help: "Continue after this hit (the token printed with --json or --page-token).") var after: String?
    @Flag(help: "Mark the matched words in fragments of the text.") var highlight = false
    @Flag(help: "One JSON object per hit, then a summary object.") var json = false
    @Option(help: "Aggregation: terms:FIELD[:SIZE], stats:FIELD, histogram:FIELD:WIDTH, date_histogram:FIELD:(minute|hour|day|week|month|year).")
    var agg: [String] = []
    @Argument(help: "The query (Lucene syntax; * for everything).") var query: String = "*"

    func order() throws -> SearchOrder {
        guard let sort else { return .automatic }
        switch sort {
        case "relevance", "score": return .relevance
        case "newest": return .newest
        case "oldest": return .oldest
        default:
            let parts = sort.split(separator: ":").map(String.init)
            guard parts.count <= 2, !parts[0].isEmpty else { throw StrataError.invalidArgument("--sort \(sort): use relevance, newest, oldest or FIELD[:asc|:desc]") }
            return .field(parts[0], descending: parts.count == 2 ? parts[1] == "desc" : true)
        }
    }

    func run() throws {
        try reportingErrors {
            var range: TimeRange?
            if since != nil || until != nil { range = TimeRange(from: try since.map { try parseTime($0) }, to: try until.map { try parseTime($0) }) }
            var aggs: [String: Aggregation] = [:]
            for spec in agg { aggs[spec] = try parseAggregation(spec) }
            let store = try Store(directory: dir, options: StoreOptions(readOnly: true))
            let request = SearchRequest(query: query, limit: limit, timeRange: range, order: try order(), searchAfter: try after.map { try SearchAfter(token: $0) },
                                        highlight: highlight ? HighlightOptions(preTag: json ? "<em>" : markStart, postTag: json ? "</em>" : markEnd) : nil,
                                        aggregations: aggs)
            let t0 = DispatchTime.now()
            let results: SearchResults
            do { results = try store.search(topic, request) } catch let e as QueryParseError {
                writeStandardError("error: \(e)\n")
                throw ExitCode(1)
            } catch let e as QueryError {
                writeStandardError("error: \(e)\n")
                throw ExitCode(1)
            }
            let micros = seconds(since: t0) * 1e6
            if json {
                for h in results.hits {
                    var fields = ["\"partition\":\(h.partition)", "\"offset\":\(h.offset)", "\"timestamp\":\(h.timestamp)",
                                  "\"time\":\(jsonQuoted(Timestamp.format(h.timestamp)))", "\"score\":\(h.score)"]
                    try results.withRecord(h) { r in
                        fields.append("\"key\":\(jsonBytes(r.key))")
                        fields.append("\"value\":\(jsonBytes(r.value))")
                    }
                    if !h.highlights.isEmpty {
                        fields.append("\"highlight\":{" + h.highlights.sorted { $0.key < $1.key }.map { "\(jsonQuoted($0.key)):[\($0.value.map(jsonQuoted).joined(separator: ","))]" }.joined(separator: ",") + "}")
                    }
                    fields.append("\"search_after\":\(jsonQuoted(h.searchAfter.description))")
                    print("{" + fields.joined(separator: ",") + "}")
                }
                print("{\"total\":\(results.totalHits ?? 0),\"took_us\":\(Int(micros))}")
            } else {
                print("\(results.totalHits ?? 0) hits (\(String(format: "%.0f", micros)) µs)")
                for h in results.hits {
                    let text: String
                    if !h.highlights.isEmpty {
                        text = h.highlights.sorted { $0.key < $1.key }.map { "\($0.key): " + $0.value.map(displayText(keepingEscapes:)).joined(separator: " … ") }.joined(separator: "  ")
                    } else {
                        text = try results.withRecord(h) { r in r.value.map { displayText(String(decoding: $0, as: UTF8.self)) } ?? "null" } ?? "(no longer in the log)"
                    }
                    print("\(Timestamp.format(h.timestamp))  \(h.partition):\(h.offset)  \(String(format: "%.3f", h.score))  \(text)")
                }
                if let last = results.hits.last, results.hits.count == limit { print("next page: --after \(last.searchAfter)") }
            }
            for (name, result) in results.aggregations.sorted(by: { $0.key < $1.key }) { printAggregation(name, result) }
            try store.close()
        }
    }
}

/// Text for a terminal: control characters escaped so a record cannot forge output lines or
/// send escape sequences.
func displayText(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for u in s.unicodeScalars {
        if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) {
            switch u {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out += String(format: "\\x%02x", u.value)
            }
        } else {
            out.unicodeScalars.append(u)
        }
    }
    return out
}

/// Highlight marks for the terminal: private-use characters no record text is escaped into,
/// turned into bold red after the text is escaped (so a record cannot inject escapes).
let markStart = "\u{E000}", markEnd = "\u{E001}"

/// `displayText` with the highlight marks shown as bold red (on a terminal) or `[…]`.
func displayText(keepingEscapes s: String) -> String {
    let tty = isatty(1) == 1
    return displayText(s).replacingOccurrences(of: markStart, with: tty ? "\u{1B}[1;31m" : "[")
        .replacingOccurrences(of: markEnd, with: tty ? "\u{1B}[0m" : "]")
}
