import Foundation
import Testing
import Strata   // not @testable: the README's example uses only the public API

/// The README's Swift usage, line for line (with a temporary directory), checked: if the
/// public API changes under it, this stops compiling.
@Suite struct ReadmeExampleTests {
    struct Event: Codable { var level: String; var service: String; var msg: String }

    @Test func readmeSwiftUsageRuns() throws {
        let dir = storeDirectory("readme")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let store = try Store(directory: dir)
        try store.createTopic("app-logs", config: TopicConfig(partitions: 4))
        try store.createIndex("app-logs")

        try store.append("app-logs", json: Event(level: "error", service: "billing", msg: "payment gateway timeout"), key: "billing")
        try store.append("app-logs", [Record(key: Array("search".utf8), value: Array(#"{"level":"info","msg":"served"}"#.utf8))])
        try store.refresh("app-logs")

        let results = try store.search("app-logs", "level:error AND timeout", limit: 10,
                                       timeRange: .last(milliseconds: 15 * 60_000), highlight: HighlightOptions())
        var messages: [String] = []
        for hit in results.hits {
            let event = try results.decode(Event.self, hit)
            messages.append(event.msg)
            #expect(hit.highlights["msg"] == ["payment gateway <em>timeout</em>"])
        }
        #expect(messages == ["payment gateway timeout"])
        let errors = try store.count("app-logs", "level:error")
        #expect(errors == 1)
        let byService = try store.aggregate("app-logs", "*", ["services": .terms(field: "service.keyword", size: 10)])
        #expect(byService["services"] != nil)
        let newest = try store.search("app-logs", "*", limit: 1, order: .newest)
        let older = try store.search("app-logs", "*", limit: 1, order: .newest, searchAfter: newest.hits.last?.searchAfter)
        #expect(newest.hits.count == 1 && older.hits.count == 1)
        #expect(older.hits[0].searchAfter != newest.hits[0].searchAfter && older.hits[0].timestamp <= newest.hits[0].timestamp)

        let cursor = try store.cursor(topic: "app-logs", partition: 0, from: .position(.earliest))
        var read: Int64 = 0
        while try cursor.next() != nil { read += 1 }
        #expect(read == (try store.describeTopic("app-logs").partitions[0].highWatermark))
        try store.commitGroupOffset(group: "billing", topic: "app-logs", partition: 0, offset: 0)
        #expect(try store.indexLag("app-logs").allSatisfy { $0.searchableOffset == $0.logEndOffset })
        try store.close()
    }
}
