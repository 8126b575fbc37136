import Foundation
import Testing
@testable import Strata

private func json(_ level: String, _ service: String, _ msg: String, status: Int = 200) -> Record {
    Record(key: Array(service.utf8), value: Array(#"{"level":"\#(level)","service":"\#(service)","msg":"\#(msg)","status":\#(status)}"#.utf8))
}

@Suite struct StoreTests {
    /// The front door end to end: a topic with four partitions, an index following it, JSON and
    /// text records searchable together moments after the append, hits leading back to their
    /// records, counts and aggregations over the whole topic.
    @Test func appendThenSearchAcrossPartitions() throws {
        let store = try Store(directory: storeDirectory("basic"), options: testOptions())
        try store.createTopic("app", config: TopicConfig(partitions: 4))
        try store.createIndex("app")
        var records: [Record] = []
        for i in 0 ..< 400 {
            records.append(json(i % 10 == 0 ? "error" : "info", ["billing", "search", "auth"][i % 3], "request \(i) took \(i % 50) ms\(i % 10 == 0 ? " disk full" : "")", status: i % 10 == 0 ? 503 : 200))
        }
        records.append(Record(key: Array("host-9".utf8), value: Array("kernel: disk full on /dev/sda1".utf8)))
        let ranges = try store.append("app", records)
        #expect(ranges.map(\.partition) == [0, 1, 2, 3].filter { p in ranges.contains { $0.partition == p } })
        #expect(ranges.reduce(0) { $0 + $1.count } == 401)
        try store.refresh("app")

        let r = try store.search("app", "\"disk full\"", limit: 100)
        #expect(r.totalHits == 41)
        #expect(Set(r.hits.map(\.partition)).count > 1, "hits come from several partitions")
        for h in r.hits {
            let text = try #require(try r.withRecord(h) { String(decoding: $0.value!, as: UTF8.self) })
            #expect(text.contains("disk full"))
            #expect(h.timestamp > 0 && h.score > 0)
        }
        #expect(try store.count("app", "level:error AND status:>=500") == 40)
        #expect(try store.count("app", "service.keyword:billing") == 134)
        let aggs = try store.aggregate("app", "*", ["services": .terms(field: "service.keyword", size: 5), "status": .stats(field: "status")])
        guard case let .buckets(b, _)? = aggs["services"], case let .stats(st)? = aggs["status"] else { Issue.record("aggregations missing"); return }
        #expect(b.map(\.key) == ["billing", "auth", "search"] && b.map(\.count) == [134, 133, 133])
        #expect(st.count == 400 && st.max == 503)
        // A query without text scores is ordered newest first by default.
        let newest = try store.search("app", "status:>=500", limit: 3)
        #expect(newest.hits.map(\.score) == [0, 0, 0])
        #expect(zip(newest.hits, newest.hits.dropFirst()).allSatisfy { $0.timestamp >= $1.timestamp })
        let status = try store.indexStatus("app")
        #expect(status.documents == 401 && status.totalLag == 0 && status.failure == nil)
        try store.close()
    }

    /// The same records give the same scores and the same order whether their topic has one
    /// partition or eight: statistics are the topic's, ties go by time, partition, offset.
    @Test func scoresDoNotDependOnThePartitionCount() throws {
        var results: [[(Float, String)]] = []
        let queries = ["disk", "error OR timeout", "\"connection reset\"", "+service:billing +failed", "retry*"]
        for partitions: Int32 in [1, 8] {
            let store = try Store(directory: storeDirectory("partitions-\(partitions)"), options: testOptions())
            try store.createTopic("t", config: TopicConfig(partitions: partitions))
            try store.createIndex("t")
            var rng: UInt64 = 42
            func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
            let words = ["disk", "error", "timeout", "connection", "reset", "failed", "retry", "retrying", "ok", "billing", "slow"]
            var records: [Record] = []
            for i in 0 ..< 600 {
                let msg = (0 ..< 3 + Int(next() % 9)).map { _ in words[Int(next() % UInt64(words.count))] }.joined(separator: " ")
                let service = ["billing", "search"][Int(next() % 2)]
                records.append(Record(key: Array("k\(i)".utf8), value: Array(#"{"service":"\#(service)","msg":"\#(msg)","id":\#(i)}"#.utf8), timestamp: 1_790_000_000_000 + Int64(i)))
            }
            try store.append("t", records)
            try store.refresh("t")
            var all: [(Float, String)] = []
            for q in queries {
                let r = try store.search("t", SearchRequest(query: q, limit: 50, order: .relevance))
                for h in r.hits {
                    let id = try #require(try r.withRecord(h) { String(decoding: $0.key!, as: UTF8.self) })
                    all.append((h.score, "\(q) \(id)"))
                }
            }
            results.append(all)
            try store.close()
        }
        #expect(results[0].count == results[1].count && results[0].count > 100)
        #expect(results[0].map(\.1) == results[1].map(\.1), "same order")
        #expect(results[0].map(\.0) == results[1].map(\.0), "same scores")
    }

    /// A time range (or `_timestamp:[a TO b]` in the query) returns exactly the records of the
    /// interval and skips segments wholly outside it.
    @Test func timeRangesFilterAndPrune() throws {
        let store = try Store(directory: storeDirectory("time"), options: testOptions())
        try store.createTopic("t", config: TopicConfig(partitions: 2))
        try store.createIndex("t")
        let base: Int64 = 1_790_000_000_000
        for chunk in 0 ..< 10 {
            try store.append("t", (0 ..< 100).map { i in Record(text: "event \(chunk * 100 + i) status ok", timestamp: base + Int64(chunk * 100 + i) * 1000) })
            try store.refresh("t") // one segment per chunk: segments have disjoint time ranges
        }
        let from = base + 250_000, to = base + 449_000
        #expect(try store.count("t", "status", timeRange: TimeRange(from: from, to: to)) == 200)
        #expect(try store.count("t", "status AND _timestamp:[\(from) TO \(to)]") == 200)
        #expect(try store.count("t", "_timestamp:[\(Timestamp.format(from)) TO \(Timestamp.format(to))}") == 199)
        #expect(try store.count("t", "*", timeRange: TimeRange(from: base + 2_000_000)) == 0)
        let (searcher, _, _) = try store.searchContext("t")
        let view = try searcher.restricted(field: "_timestamp", lower: from, upper: to)
        #expect(view.searchedSegmentCount <= 4, "segments outside the range are skipped")
        let r = try store.search("t", SearchRequest(query: "*", limit: 500, timeRange: TimeRange(from: from, to: to), order: .oldest))
        #expect(r.hits.map(\.timestamp) == (250 ..< 450).map { base + Int64($0) * 1000 })
        try store.close()
    }

    /// `searchAfter` pages through every hit once, for relevance and for time order, with ties.
    @Test func deepPagingVisitsEveryHitOnce() throws {
        let store = try Store(directory: storeDirectory("paging"), options: testOptions())
        try store.createTopic("t", config: TopicConfig(partitions: 3))
        try store.createIndex("t")
        // Equal timestamps and equal texts: ties everywhere.
        try store.append("t", (0 ..< 300).map { i in Record(key: Array("k\(i % 17)".utf8), value: Array("alpha beta \(i % 4 == 0 ? "gamma" : "delta")".utf8), timestamp: 1_790_000_000_000 + Int64(i / 10)) })
        try store.refresh("t")
        for (q, order) in [("alpha", SearchOrder.relevance), ("gamma OR delta", .relevance), ("*", .newest), ("*", .oldest)] {
            var seen: [String] = []
            var after: SearchAfter?
            while true {
                let page = try store.search("t", SearchRequest(query: q, limit: 23, order: order, searchAfter: after))
                if page.hits.isEmpty { break }
                seen += page.hits.map { "\($0.partition):\($0.offset)" }
                after = try SearchAfter(token: page.hits.last!.searchAfter.description) // the text form round-trips
            }
            #expect(seen.count == 300 && Set(seen).count == 300, "\(q) \(order)")
            let one = try store.search("t", SearchRequest(query: q, limit: 300, order: order)).hits.map { "\($0.partition):\($0.offset)" }
            #expect(seen == one)
        }
        try store.close()
    }

    /// Highlights mark the matched words in JSON fields and plain text, CJK included.
    @Test func highlights() throws {
        let store = try Store(directory: storeDirectory("highlight"), options: testOptions())
        try store.createTopic("t")
        try store.createIndex("t", mapping: IndexMapping(fields: [FieldDefinition("body", .text(.cjk))]))
        try store.append("t", [Record(value: Array(#"{"title":"Disk alert","body":"東京都の倉庫でディスクが故障しました"}"#.utf8)),
                               Record(value: Array("plain line: the disk on node-7 failed".utf8))])
        try store.refresh("t")
        let r = try store.search("t", SearchRequest(query: "body:東京 OR disk", limit: 10, highlight: HighlightOptions()))
        let byOffset = Dictionary(uniqueKeysWithValues: r.hits.map { ($0.offset, $0.highlights) })
        #expect(byOffset[0]?["body"] == ["<em>東京</em>都の倉庫でディスクが故障しました"])
        #expect(byOffset[0]?["title"] == ["<em>Disk</em> alert"])
        #expect(byOffset[1]?["message"] == ["plain line: the <em>disk</em> on node-7 failed"])
        try store.close()
    }

    /// Bad input gets a typed error each and damages nothing; a JSON value that does not fit
    /// the mapping is indexed as text, counted, and stays in the log.
    @Test func badInput() throws {
        let dir = storeDirectory("bad")
        let store = try Store(directory: dir, options: testOptions())
        try store.createTopic("t", config: TopicConfig(partitions: 2))
        try store.createIndex("t", mapping: IndexMapping(fields: [FieldDefinition("status", .i64)]))
        #expect(throws: StrataError.self) { try store.search("nope", "x") }
        #expect(throws: StrataError.self) { try store.append("nope", [Record(text: "x")]) }
        #expect(throws: StrataError.self) { try store.createIndex("i2", topic: "nope") }
        try store.append("t", [Record(text: #"{"status":"not a number","msg":"weird status"}"#), Record(text: #"{"status":500,"msg":"fine"}"#),
                               Record(text: #"{"_offset":3,"msg":"reserved name"}"#), Record(text: "{broken json")], partition: 0)
        try store.refresh("t")
        let status = try store.indexStatus("t")
        #expect(status.documents == 4 && status.fallbackDocuments == 3)
        #expect(try store.count("t", "_fallback:true") == 3)
        #expect(try store.count("t", "message:weird") == 1, "the fallback text is searchable")
        #expect(try store.count("t", "status:500") == 1)
        do {
            _ = try store.search("t", "status:(500")
            Issue.record("an invalid query must throw")
        } catch let e as QueryParseError {
            #expect(e.position > 0)
        }
        #expect(throws: (any Error).self) { try store.search("t", "nosuchfield:1 AND status:[a TO b]") }
        // A mapping change that alters a type is refused; adding a field is fine.
        #expect(throws: StrataError.self) { try store.createIndex("t", mapping: IndexMapping(fields: [FieldDefinition("status", .keyword)])) }
        try store.createIndex("t", mapping: IndexMapping(fields: [FieldDefinition("status", .i64), FieldDefinition("region", .keyword)]))
        #expect(try store.indexDefinition("t").mapping.fields.map(\.name) == ["status", "region"])
        // Nothing of the log was damaged.
        let c = try store.cursor(topic: "t", partition: 0, from: .position(.earliest))
        var n = 0
        while try c.next() != nil { n += 1 }
        #expect(n == 4)
        try store.close()
        // Every call on a closed store says so.
        #expect(throws: StrataError.closed("store at \(dir)")) { try store.append("t", [Record(text: "late")]) }
        #expect(throws: StrataError.closed("store at \(dir)")) { try store.search("t", "x") }
        #expect(throws: StrataError.closed("store at \(dir)")) { try store.topicNames() }
        try store.close()
    }

    /// Reopening resumes from the committed offsets: nothing indexed twice, nothing missing;
    /// a rebuild gives the same documents and scores; an interrupted rebuild leaves the index
    /// as it was.
    @Test func reopenAndRebuildKeepTheIndexEqualToTheLog() throws {
        let dir = storeDirectory("reopen")
        var store = try Store(directory: dir, options: testOptions())
        try store.createTopic("t", config: TopicConfig(partitions: 3))
        try store.createIndex("t")
        try store.append("t", (0 ..< 500).map { Record(key: Array("k\($0 % 7)".utf8), value: Array("line \($0) word\($0 % 13)".utf8)) })
        try store.refresh("t")
        try store.close()
        store = try Store(directory: dir, options: testOptions())
        try store.append("t", (500 ..< 800).map { Record(key: Array("k\($0 % 7)".utf8), value: Array("line \($0) word\($0 % 13)".utf8)) })
        try store.refresh("t")
        #expect(try store.count("t", "*") == 800)
        func snapshot() throws -> [String] {
            try ["word3", "line OR word5", "*"].flatMap { q in try store.search("t", SearchRequest(query: q, limit: 1000)).hits.map { "\(q) \($0.partition):\($0.offset) \($0.score)" } }
        }
        let before = try snapshot()
        // A rebuild killed half way leaves a stray generation: removed at the next open.
        try FileSystem.createDirectory(dir + "/indexes/t/g0000000009")
        try store.rebuildIndex("t")
        #expect(try store.indexDefinition("t").generation == 2)
        #expect(try snapshot() == before)
        try store.close()
        store = try Store(directory: dir, options: testOptions())
        #expect(try FileSystem.list(dir + "/indexes/t").sorted() == ["g0000000002", "index.json"])
        #expect(try snapshot() == before)
        try store.close()
    }

    /// An index whose segments are in a format this build does not read (an older version) is
    /// rebuilt from the log on open, with the same hits as before.
    @Test func indexInAnOlderFormatIsRebuiltFromTheLog() throws {
        let dir = storeDirectory("old-format")
        var store = try Store(directory: dir, options: testOptions())
        try store.createTopic("t", config: TopicConfig(partitions: 2))
        try store.createIndex("t")
        try store.append("t", (0 ..< 300).map { Record(key: nil, value: Array("line \($0) word\($0 % 13)".utf8)) })
        try store.refresh("t")
        let before = try store.search("t", SearchRequest(query: "word3 OR line", limit: 500)).hits.map { "\($0.partition):\($0.offset) \($0.score)" }
        try store.close()
        var downgraded = 0
        for g in try FileSystem.list(dir + "/indexes/t") where g.hasPrefix("g") {
            for f in try FileSystem.list(dir + "/indexes/t/" + g) where f.hasSuffix(".inv") {
                let path = dir + "/indexes/t/" + g + "/" + f
                var b = try FileSystem.readFile(path)
                b[7] = UInt8(ascii: "3")
                b[b.count - 1] = UInt8(ascii: "3")
                try FileSystem.writeAtomically(b, to: path)
                downgraded += 1
            }
        }
        #expect(downgraded > 0)
        store = try Store(directory: dir, options: testOptions())
        try store.refresh("t")
        #expect(try store.search("t", SearchRequest(query: "word3 OR line", limit: 500)).hits.map { "\($0.partition):\($0.offset) \($0.score)" } == before)
        try store.close()
    }

    /// A read-only store (another process would do the same) sees what the writer refreshed,
    /// without the writer's lock, and follows its rebuilds.
    @Test func readOnlyStoreSeesRefreshes() throws {
        let dir = storeDirectory("readonly")
        let writer = try Store(directory: dir, options: testOptions())
        try writer.createTopic("t", config: TopicConfig(partitions: 2))
        try writer.createIndex("t")
        try writer.append("t", (0 ..< 100).map { Record(text: "first \($0)") })
        try writer.refresh("t")
        let reader = try Store(directory: dir, options: testOptions(readOnly: true))
        #expect(try reader.count("t", "first") == 100)
        try writer.append("t", (0 ..< 50).map { Record(text: "second \($0)") })
        try writer.refresh("t")
        #expect(try reader.count("t", "second") == 50, "no commit needed: the refresh point is enough")
        let r = try reader.search("t", "second", limit: 1)
        #expect(try r.withRecord(r.hits[0]) { String(decoding: $0.value!, as: UTF8.self) }?.hasPrefix("second") == true)
        #expect(throws: StrataError.self) { try reader.append("t", [Record(text: "x")]) }
        try writer.rebuildIndex("t")
        #expect(try reader.count("t", "*") == 150)
        #expect(try reader.indexStatus("t").definition.generation == 2)
        try reader.close()
        try writer.close()
    }

    /// Retention's deletes reach the index; a compacted topic's index holds the latest record
    /// per key, and a tombstone removes its key.
    @Test func retentionAndCompactionFlowIntoTheIndex() throws {
        let store = try Store(directory: storeDirectory("retention"), options: testOptions())
        var config = TopicConfig(partitions: 1)
        config.log.segmentBytes = 16 << 10
        config.log.retentionBytes = 20_000
        try store.createTopic("logs", config: config)
        try store.createIndex("logs")
        try store.append("logs", (0 ..< 2000).map { Record(text: "entry \($0) " + String(repeating: "x", count: 40)) })
        try store.refresh("logs")
        #expect(try store.count("logs", "entry") == 2000)
        let log = try store.topic("logs").log(0)
        _ = try log.applyRetention()
        let start = log.logStartOffset
        #expect(start > 0)
        try store.refresh("logs")
        // The follower notices the moved log start within its next round.
        var n = try store.count("logs", "entry")
        for _ in 0 ..< 200 where n != Int(2000 - start) { usleep(10_000); n = try store.count("logs", "entry") }
        #expect(n == Int(2000 - start))

        var compact = TopicConfig(partitions: 2)
        compact.log.cleanupPolicy = .compact
        try store.createTopic("users", config: compact)
        try store.createIndex("users")
        try store.append("users", [Record(key: Array("u1".utf8), value: Array(#"{"name":"ann","plan":"free"}"#.utf8)),
                                   Record(key: Array("u2".utf8), value: Array(#"{"name":"bob","plan":"free"}"#.utf8)),
                                   Record(key: Array("u1".utf8), value: Array(#"{"name":"ann","plan":"pro"}"#.utf8)),
                                   Record(key: Array("u2".utf8), value: nil)])
        try store.refresh("users")
        #expect(try store.count("users", "*") == 1)
        #expect(try store.count("users", "plan:pro AND name:ann") == 1)
        try store.close()
    }
}
