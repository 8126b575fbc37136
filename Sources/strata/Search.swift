import ArgumentParser
import Foundation
import StrataIO
import StrataLog
import StrataSearch
import StrataStore

/// The index directory of a partition in a store.
func indexDirectory(_ dir: String, _ topic: String, _ partition: Int32) -> String { "\(dir)/index/\(topic)-\(partition)" }

/// The store, topic and partition whose search index a command works on.
struct PartitionIndexOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @Option(name: .shortAndLong, help: "The partition.") var partition: Int32 = 0

    /// The index directory.
    var directory: String { indexDirectory(store.dir, store.topic, partition) }
}

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Bring a partition's search index up to date with its log (from the offset the index last committed).")
    @OptionGroup var target: PartitionIndexOptions
    @Option(help: "At most this many records per run.") var limit: Int = Int.max
    @Flag(help: "Merge the index down to one segment afterwards.") var merge = false
    @Flag(help: "Empty the index and index the partition again from its log start.") var rebuild = false

    func run() throws {
        try reportingErrors {
            let store = target.store, partition = target.partition
            let s = try LogStore(root: store.dir, backgroundIntervalMs: 0)
            let log = try s.topic(store.topic).log(partition)
            let index = try SearchIndex(directory: target.directory, schema: LogIndexer.schema())
            let t0 = Date()
            let range = rebuild ? try LogIndexer.rebuild(log, topic: store.topic, partition: partition, index: index)
                : try LogIndexer.catchUp(log, topic: store.topic, partition: partition, index: index, limit: limit)
            if merge { try index.forceMerge() }
            let seconds = Date().timeIntervalSince(t0)
            print(String(format: "indexed offsets %lld..<%lld (%d records) in %.2f s; index: %d documents, %d segments, %.1f MB",
                         range.lowerBound, range.upperBound, range.count, seconds, index.searcher().documentCount, index.segmentCount,
                         Double(index.sizeOnDisk()) / 1e6))
            index.close()
            try s.close()
        }
    }
}

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a partition's index (Lucene query syntax; fields: message or the JSON values' fields, _offset, _timestamp, _key); prints offsets and records.")
    @OptionGroup var target: PartitionIndexOptions
    @Option(name: .shortAndLong, help: "Hits to print.") var limit: Int = 10
    @Option(help: "Sort by a numeric field instead of score, e.g. _offset or _timestamp.") var sort: String?
    @Flag(help: "With --sort: largest first.") var descending = false
    @Option(help: "Aggregation: terms:FIELD, stats:FIELD, histogram:FIELD:INTERVAL, date_histogram:FIELD:(minute|hour|day|week|month|year).")
    var agg: [String] = []
    @Argument(help: "The query.") var query: String

    func run() throws {
        try reportingErrors {
            let store = target.store, partition = target.partition
            let searcher = try SearchIndex.openSearcher(directory: target.directory)
            let parsed: Query
            do { parsed = try QueryParser.parse(query) } catch let e as QueryParseError {
                FileHandle.standardError.write(Data("error: \(e)\n".utf8))
                throw ExitCode(1)
            }
            do {
                var order = SearchSort.score
                if let sort { order = .field(sort, descending: descending) }
                let hits = try searcher.search(parsed, limit: limit, sort: order)
                let total = try searcher.count(parsed)
                print("\(total) hits")
                // Records are read back from the log by offset (read-only: beside a writer).
                let logStore = try LogStore(root: store.dir, readOnly: true, backgroundIntervalMs: 0)
                let cursor = try logStore.topic(store.topic).log(partition).cursor()
                for h in hits {
                    guard let offset = searcher.integerValue(LogIndexer.offsetField, of: h) else { continue }
                    try cursor.seek(to: offset)
                    let text = try cursor.next().flatMap { r in r.value.map { String(decoding: $0, as: UTF8.self) } } ?? "(no longer in the log)"
                    print(String(format: "%12lld  %8.3f  %@", offset, h.score, text))
                }
                for spec in agg {
                    let parts = spec.split(separator: ":").map(String.init)
                    guard parts.count >= 2 else { throw StrataError.invalidArgument("aggregation '\(spec)': use KIND:FIELD[:ARG]") }
                    let a: Aggregation
                    switch parts[0] {
                    case "terms": a = .terms(field: parts[1], size: parts.count > 2 ? Int(parts[2]) ?? 10 : 10)
                    case "stats": a = .stats(field: parts[1])
                    case "histogram": a = .histogram(field: parts[1], interval: parts.count > 2 ? Double(parts[2]) ?? 1 : 1)
                    case "date_histogram":
                        let unit: [String: CalendarInterval] = ["minute": .minute, "hour": .hour, "day": .day, "week": .week, "month": .month, "year": .year]
                        guard parts.count > 2, let i = unit[parts[2]] else { throw StrataError.invalidArgument("date_histogram needs minute, hour, day, week, month or year") }
                        a = .dateHistogram(field: parts[1], interval: i)
                    default: throw StrataError.invalidArgument("unknown aggregation '\(parts[0])' (terms, stats, histogram, date_histogram)")
                    }
                    switch try searcher.aggregate(parsed, ["a": a])["a"]! {
                    case let .stats(st):
                        print("\(spec): count \(st.count) min \(st.min.map { "\($0)" } ?? "-") max \(st.max.map { "\($0)" } ?? "-") sum \(st.sum) avg \(st.avg.map { "\($0)" } ?? "-")")
                    case let .buckets(buckets, other):
                        print("\(spec):")
                        for b in buckets { print("  \(b.key)  \(b.count)") }
                        if other > 0 { print("  (other)  \(other)") }
                    }
                }
            } catch let e as QueryError {
                FileHandle.standardError.write(Data("error: \(e)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
