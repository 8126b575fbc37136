import Testing
import StrataIO
@testable import StrataSearch

/// The search example of README.md ("Swift usage"), kept compiling and correct.
@Suite struct ReadmeSearchExampleTests {
    @Test func searchUsageExample() throws {
        let dir = tempDirectory("readme")
        let schema = try Schema(fields: [FieldDefinition("message", .text(.english)), FieldDefinition("host", .keyword),
                                         FieldDefinition("status", .i64), FieldDefinition("at", .timestamp)], dynamic: .add)
        let index = try SearchIndex(directory: dir + "/index", schema: schema)   // 64 MiB buffer by default

        try index.add(json: #"{"message":"disk failure on sda","host":"db-1","status":500,"at":"2026-11-22T06:11:28Z"}"#)
        try index.add(["message": "login failed for admin", "host": "web-2", "status": 401])
        try index.commit(userData: ["log.events-0.next-offset": "2"])   // durable, atomically with the offset

        let searcher = index.searcher()                                    // a point-in-time snapshot
        let query = try QueryParser.parse("fail* AND status:[400 TO 599] -host:cache-1")
        let hits = try searcher.search(query, limit: 10)                  // BM25, top 10
        let total = try searcher.count(query)                             // exact
        let newest = try searcher.search(.matchAll, limit: 1, sort: .field("at", descending: true))
        let facets = try searcher.aggregate(query, ["hosts": .terms(field: "host", size: 5), "status": .stats(field: "status")])
        try index.delete(.term(field: "host", text: "web-2"))             // visible to new searchers
        try index.update(field: "host", value: "db-1", with: ["host": "db-1", "status": 200])   // by term, no flush
        try index.forceMerge()                                            // merges and commits

        #expect(hits.count == 2 && total == 2)
        #expect(searcher.keywordValues("host", of: newest[0]) == ["db-1"])
        #expect(facets["hosts"] == .buckets([Bucket(key: "db-1", numericKey: nil, count: 1), Bucket(key: "web-2", numericKey: nil, count: 1)], otherCount: 0))
        #expect(index.searcher().documentCount == 1 && index.committedUserData["log.events-0.next-offset"] == "2")
        #expect(try index.searcher().search(.matchAll, limit: 1).first.flatMap { index.searcher().integerValue("status", of: $0) } == 200)
        index.close()
    }
}
