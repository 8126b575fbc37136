import Foundation
import Testing
@testable import Strata

/// The strata-torture binary beside the test bundle.
func tortureBinary() -> String? {
    var dir = FileSystem.parent(of: CommandLine.arguments[0])
    for _ in 0 ..< 3 {
        if FileSystem.exists(dir + "/strata-torture") { return dir + "/strata-torture" }
        dir = FileSystem.parent(of: dir)
    }
    return nil
}

/// Runs a child, kills it with SIGKILL after `killAfterMicroseconds`; returns its output.
func runKilledChild(_ binary: String, _ args: [String], killAfterMicroseconds: UInt32) throws -> String {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: binary)
    child.arguments = args
    let out = Pipe()
    child.standardOutput = out
    try child.run()
    usleep(killAfterMicroseconds)
    kill(child.processIdentifier, SIGKILL)
    child.waitUntilExit()
    return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
}

/// The same value the child wrote for record number `seq` (Tests/StrataTorture/main.swift).
private func storeValue(_ seq: Int64) -> String {
    let words = ["disk", "error", "timeout", "retry", "node", "kernel", "link", "down", "up", "ok", "slow", "queue"]
    var x = UInt64(bitPattern: seq) &* 0x9E37_79B9_7F4A_7C15 | 1
    var text: [String] = []
    for _ in 0 ..< 3 + Int(seq % 9) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        text.append(words[Int(x % UInt64(words.count))])
    }
    if seq % 5 == 0 { return "seq \(seq) " + text.joined(separator: " ") }
    return #"{"seq":\#(seq),"level":"\#(seq % 7 == 0 ? "error" : "info")","msg":"\#(text.joined(separator: " "))"}"#
}

/// A flag set by one thread, read by another.
final class Flag: @unchecked Sendable {
    private let lock = Lock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

@Suite(.serialized) struct StoreCrashTests {
    /// A child ingests through the store with its index following (refreshes, commits and
    /// merges all the time); the test kills it with SIGKILL at random moments, reopens, and
    /// checks: every acknowledged record is in the log byte for byte, and per partition the
    /// index holds every record of the log exactly once — after catching up from its last
    /// commit — with the same hits and scores as a rebuild from the log.
    /// `STRATA_KILL_ROUNDS` sets the rounds (default 30; the issue's 100+ locally).
    @Test func killNineWhileIngestingLeavesTheIndexEqualToTheLog() throws {
        let binary = try #require(tortureBinary(), "build strata-torture first: swift build --build-tests")
        let rounds = Int(ProcessInfo.processInfo.environment["STRATA_KILL_ROUNDS"] ?? "") ?? 30
        let dir = storeDirectory("crash")
        var acked: [(partition: Int32, first: Int64, last: Int64, seq: Int64)] = []
        var rng = SystemRandomNumberGenerator()
        let queries = ["disk", "error OR timeout", "\"link down\"", "+retry +node", "level:error", "seq"]
        for round in 0 ..< rounds {
            let out = try runKilledChild(binary, ["store", dir], killAfterMicroseconds: UInt32.random(in: 30_000 ... 250_000, using: &rng))
            for line in out.split(separator: "\n") where line.hasPrefix("ack ") {
                let f = line.split(separator: " ").dropFirst().map { Int64($0)! }
                acked.append((Int32(f[0]), f[1], f[2], f[3]))
            }
            var options = testOptions()
            options.logger = .silent
            let store = try Store(directory: dir, options: options)
            defer { try? store.close() }
            // Nothing acknowledged is missing from the log.
            for a in acked.suffix(400) {
                let c = try store.cursor(topic: "events", partition: a.partition, from: .position(.offset(a.first)))
                for i in 0 ... (a.last - a.first) {
                    let r = try #require(try c.next(), "round \(round): acknowledged offset \(a.first + i) of partition \(a.partition) is gone")
                    #expect(r.offset == a.first + i && String(decoding: r.value!, as: UTF8.self) == storeValue(a.seq + i))
                }
            }
            // The index catches up from its commit; then it holds each record once.
            try store.refresh("events")
            let topic = try store.topic("events")
            for p in 0 ..< 3 {
                let log = topic.partitions[p]
                let count = Int(log.highWatermark - log.logStartOffset)
                let r = try store.search("events", SearchRequest(query: "_partition:\(p)", limit: count + 5, order: .oldest))
                #expect(r.totalHits == count, "round \(round) partition \(p): \(r.totalHits ?? -1) documents for \(count) records")
                #expect(r.hits.map(\.offset) == Array(log.logStartOffset ..< log.highWatermark), "round \(round) partition \(p): offsets differ")
            }
            // Every few rounds and at the end: the same hits and scores as a rebuild.
            if round % 10 == 9 || round == rounds - 1 {
                func hits() throws -> [String] {
                    try queries.flatMap { q in try store.search("events", SearchRequest(query: q, limit: 40, order: .relevance)).hits.map { "\(q) \($0.partition):\($0.offset) \($0.score)" } }
                }
                let before = try hits()
                try store.rebuildIndex("events")
                #expect(try hits() == before, "round \(round): the index differs from a rebuild")
            }
        }
        #expect(acked.count > rounds, "the child acknowledged appends (\(acked.count))")
    }

    /// A read-only store searching while the writer ingests never sees a torn state: every
    /// hit's record is in the log and carries the words it was found by, counts only grow,
    /// and each partition's documents are a prefix of its log.
    @Test func readOnlySearchesBesideAnIngestingWriter() throws {
        let dir = storeDirectory("beside")
        let writer = try Store(directory: dir, options: testOptions())
        try writer.createTopic("t", config: TopicConfig(partitions: 2))
        try writer.createIndex("t")
        try writer.append("t", [Record(text: "warm up")])
        try writer.refresh("t")
        let reader = try Store(directory: dir, options: testOptions(readOnly: true))
        let done = Flag()
        let t = Thread {
            for i in 0 ..< 3000 {
                _ = try? writer.append("t", [Record(key: Array("k\(i % 5)".utf8), value: Array("entry \(i) \(i % 2 == 0 ? "even" : "odd") marker".utf8))])
                usleep(300)
            }
            done.set()
        }
        t.start()
        var lastCount = 0
        var checks = 0
        while !done.isSet || checks < 5 {
            let r = try reader.search("t", SearchRequest(query: "even", limit: 20, order: .newest))
            let total = try #require(r.totalHits)
            #expect(total >= lastCount, "counts never go back")
            lastCount = total
            for h in r.hits {
                let text = try #require(try r.withRecord(h) { String(decoding: $0.value!, as: UTF8.self) }, "a hit's record is in the log")
                #expect(text.contains("even"))
            }
            for p in 0 ..< 2 {
                let all = try reader.search("t", SearchRequest(query: "_partition:\(p)", limit: 5000, order: .oldest, countTotal: false))
                #expect(all.hits.map(\.offset) == Array(0 ..< Int64(all.hits.count)), "partition \(p): a prefix of the log")
            }
            checks += 1
            usleep(3000)
        }
        try writer.refresh("t")
        try reader.refresh("t")
        #expect(try reader.count("t", "even") == 1500)
        try reader.close()
        try writer.close()
    }
}
