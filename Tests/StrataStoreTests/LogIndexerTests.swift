import Foundation
import Testing
import StrataIO
import StrataLog
@testable import StrataSearch
@testable import StrataStore

private func tempDirectory(_ tag: String) -> String {
    let dir = NSTemporaryDirectory() + "strata-store-\(tag)-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func line(_ i: Int) -> String { "record \(i) host-\(i % 5) \(i % 3 == 0 ? "error" : "ok") code\(i % 7)" }

/// Offsets of every document in the index, sorted.
private func indexedOffsets(_ index: SearchIndex) throws -> [Int64] {
    let s = index.searcher()
    return try s.search(.matchAll, limit: 1_000_000, sort: .field("_offset", descending: false)).map { s.integerValue("_offset", of: $0)! }
}

@Suite struct LogIndexerTests {
    /// The index equals a replay of the log: every record once, across catch-ups, an
    /// interrupted run (documents added but never committed) and a rebuild; hits lead back to
    /// their records.
    @Test func indexEqualsAReplayOfTheLogExactlyOnce() throws {
        let dir = tempDirectory("replay")
        let log = try Log.open(directory: dir + "/log")
        _ = try log.append((0 ..< 500).map { Record(value: Array(line($0).utf8)) })
        var index = try SearchIndex(directory: dir + "/index", schema: LogIndexer.schema())
        #expect(try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index, limit: 200) == 0 ..< 200)
        #expect(try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index) == 200 ..< 500)
        #expect(try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index) == 500 ..< 500)
        // An interrupted run: documents added, no commit, the process gone.
        _ = try log.append((500 ..< 600).map { Record(value: Array(line($0).utf8)) })
        for i in 500 ..< 550 { try index.add(["_offset": .integer(Int64(i)), "message": .string(line(i))]) }
        try index.refresh()
        index.close()
        index = try SearchIndex(directory: dir + "/index")
        #expect(try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index) == 500 ..< 600)
        #expect(try indexedOffsets(index) == Array(0 ..< 600))
        // Hits resolve to their records.
        let s = index.searcher()
        let hits = try s.search(QueryParser.parse("error AND host-2"), limit: 1000)
        #expect(hits.count == (0 ..< 600).filter { $0 % 3 == 0 && $0 % 5 == 2 }.count)
        let cursor = try log.cursor()
        for h in hits {
            try cursor.seek(to: s.integerValue("_offset", of: h)!)
            let text = String(decoding: try #require(try cursor.next()?.value), as: UTF8.self)
            #expect(text.contains("error") && text.contains("host-2"))
        }
        // A rebuild gives the same index.
        let before = try indexedOffsets(index)
        #expect(try LogIndexer.rebuild(log, topic: "t", partition: 0, index: index) == 0 ..< 600)
        #expect(try indexedOffsets(index) == before && index.segmentCount >= 1)
        index.close()
        try log.close()
    }

    /// Records whose value is a JSON object are documents of its fields; keys are `_key`;
    /// other values are text, and a JSON value that does not fit the mapped types falls back
    /// to text instead of stopping the indexer.
    @Test func jsonValuesBecomeFieldsAndKeysAreSearchable() throws {
        let dir = tempDirectory("json")
        let log = try Log.open(directory: dir + "/log")
        _ = try log.append([
            Record(key: Array("order-1".utf8), value: Array(#"{"level":"error","status":503,"host":{"name":"db-1"},"msg":"upstream timeout"}"#.utf8)),
            Record(key: Array("order-2".utf8), value: Array(#"{"level":"info","status":200,"host":{"name":"web-2"},"msg":"ok"}"#.utf8)),
            Record(value: Array("plain text line about a timeout".utf8)),
            Record(value: Array(#"{"status":"not a number"}"#.utf8)),
            Record(value: Array("{broken json".utf8)),
        ])
        let index = try SearchIndex(directory: dir + "/index", schema: LogIndexer.schema())
        #expect(try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index) == 0 ..< 5)
        let s = index.searcher()
        func offsets(_ q: String) throws -> [Int64] {
            try s.search(QueryParser.parse(q), limit: 10, sort: .field("_offset", descending: false)).map { s.integerValue("_offset", of: $0)! }
        }
        #expect(try offsets("status:>=500 AND host.name:db") == [0])
        #expect(try offsets("_key:order-2") == [1])
        #expect(try offsets("msg:timeout OR message:timeout") == [0, 2])
        #expect(try offsets("message:number OR message:broken") == [3, 4], "values that do not fit fall back to text")
        #expect(index.schema.field("status")?.type == .i64 && index.schema.field("host.name")?.type == .text(.standard))
        index.close()
        try log.close()
    }

    /// A compacted topic's index holds the latest record per key: updates replace, tombstones
    /// delete, within one buffer and across commits; compaction of the log then agrees.
    @Test func compactedTopicsKeepTheLatestRecordPerKey() throws {
        let dir = tempDirectory("compact")
        var config = LogConfig()
        config.cleanupPolicy = .compact
        config.segmentBytes = 2048
        let log = try Log.open(directory: dir + "/log", config: config)
        func put(_ k: String, _ v: String?) throws { _ = try log.append([Record(key: Array(k.utf8), value: v.map { Array($0.utf8) })]) }
        for i in 0 ..< 300 { try put("k\(i % 30)", "version \(i) of k\(i % 30)") }
        let index = try SearchIndex(directory: dir + "/index", schema: LogIndexer.schema())
        try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index)
        try put("k3", nil)                  // tombstone
        try put("k4", "final k4")
        try put("k4", "really final k4")
        try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index)
        let s = index.searcher()
        #expect(s.documentCount == 29, "one document per live key")
        #expect(try s.count(QueryParser.parse("_key:k3")) == 0)
        let k4 = try s.search(QueryParser.parse("_key:k4"), limit: 5)
        #expect(k4.count == 1 && s.integerValue("_offset", of: k4[0]) == 302)
        #expect(try s.count(QueryParser.parse("message:version AND _key:k7")) == 1)
        // The compacted log keeps the same latest record per key.
        _ = try log.compact()
        var latest: [String: Int64] = [:]
        let c = try log.cursor()
        while let r = try c.next() { if let k = r.key { latest[String(decoding: k, as: UTF8.self)] = r.value == nil ? nil : r.offset } }
        for (k, o) in latest {
            let hits = try s.search(.term(field: "_key", text: k), limit: 5)
            #expect(hits.map { s.integerValue("_offset", of: $0)! } == [o], "key \(k)")
        }
        index.close()
        try log.close()
    }

    /// Records that retention removed from the log leave the index at the next catch-up.
    @Test func retentionRemovesDocumentsToo() throws {
        let dir = tempDirectory("retention")
        var config = LogConfig()
        config.segmentBytes = 4096
        config.retentionBytes = 8192
        let log = try Log.open(directory: dir + "/log", config: config)
        for i in stride(from: 0, to: 2000, by: 20) { _ = try log.append((i ..< i + 20).map { Record(value: Array(line($0).utf8)) }) }
        let index = try SearchIndex(directory: dir + "/index", schema: LogIndexer.schema())
        try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index)
        #expect(try indexedOffsets(index).count == 2000)
        _ = try log.applyRetention()
        let start = log.logStartOffset
        #expect(start > 0, "retention removed old segments")
        try LogIndexer.catchUp(log, topic: "t", partition: 0, index: index)
        #expect(try indexedOffsets(index) == Array(start ..< 2000))
        index.close()
        try log.close()
    }
}
