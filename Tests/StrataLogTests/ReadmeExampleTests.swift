import Testing
import StrataIO
import StrataLog

/// The lower-level `LogStore` usage (the README's Swift example before the Store led it),
/// kept compiling and correct; `Tests/StrataTests/ReadmeExampleTests` checks today's.
@Suite struct ReadmeExampleTests {
    @Test func swiftUsageExample() async throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path + "/strata")
        var config = TopicConfig(partitions: 4)
        config.log.compression = .lz4
        let events = try store.topic("events", create: config)

        try events.append([Record(key: Array("user-42".utf8), value: Array("logged in".utf8))])
        let result = try events.log(0).append([Record(text: "hello")])

        let cursor = try events.log(0).cursor(from: .earliest)
        var seen: [String] = []
        while let r = try cursor.next() {
            seen.append(r.value.map { String(decoding: $0, as: UTF8.self) } ?? "null")
        }
        #expect(seen.last == "hello" && result.count == 1)
        let first = try events.log(0).offset(forTimestamp: 1_763_000_000_000)
        #expect(first == 0)

        try store.groups.commit(group: "billing", topic: "events", partition: 0, offset: 1)
        let resumed = try store.cursor(topic: "events", partition: 0, from: .committed(group: "billing", otherwise: .earliest))
        #expect(try resumed.next()?.offset == 1)

        var tailed: [Int64] = []
        for try await r in try events.log(0).records(from: .earliest, idleTimeout: .milliseconds(50)) { tailed.append(r.offset) }
        #expect(tailed == (0 ..< (try events.log(0).highWatermark)).map { $0 })

        try store.close()
        #expect(FileSystem.exists(dir.path + "/strata/topics/.kafka_cleanshutdown"))
    }
}
