import Foundation
import Testing
import StrataIO
@testable import StrataLog

@Suite struct ConsumerGroupTests {
    @Test func commitFetchDescribeAndSurviveReopen() throws {
        let dir = TempDir()
        do {
            let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
            var two = TopicConfig(partitions: 2)
            two.log = smallConfig { _ in }
            let events = try store.topic("events", create: two)
            try events.append(makeRecords(50), partition: 0)
            try events.append(makeRecords(10), partition: 1)
            _ = try store.topic("audit", create: TopicConfig())
            let g = store.groups
            #expect(try g.committed(group: "billing", topic: "events", partition: 0) == nil)
            try g.commit(group: "billing", topic: "events", partition: 0, offset: 42, metadata: "host a, run 7")
            try g.commit(group: "billing", [TopicPartition(topic: "events", partition: 1): CommittedOffset(offset: 7, commitTimestamp: 5),
                                            TopicPartition(topic: "audit", partition: 0): CommittedOffset(offset: 0, commitTimestamp: 6)])
            try g.commit(group: "odd group/ü", topic: "events", partition: 0, offset: 1)
            #expect(try g.describe(group: "billing").count == 3)
            #expect(throws: StrataError.self) { try g.commit(group: "", topic: "events", partition: 0, offset: 1) }
            // Long ids: refused with a typed error before the file system says "name too long".
            #expect(throws: StrataError.self) { try g.commit(group: String(repeating: "ü", count: 41), topic: "events", partition: 0, offset: 1) }
            try g.commit(group: String(repeating: "g", count: 240), topic: "events", partition: 0, offset: 1)
            #expect(throws: StrataError.self) { try g.commit(group: "x", topic: "bad topic", partition: 0, offset: 1) }
            #expect(throws: StrataError.self) { try g.commit(group: "x", topic: "t", partition: 0, offset: -1) }
            try store.close()
        }
        let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
        let g = store.groups
        #expect(try g.list() == ["billing", String(repeating: "g", count: 240), "odd group/ü"])
        let c = try #require(try g.committed(group: "billing", topic: "events", partition: 0))
        #expect(c.offset == 42 && c.metadata == "host a, run 7")
        #expect(try g.committed(group: "billing", topic: "events", partition: 1) == CommittedOffset(offset: 7, commitTimestamp: 5))
        try g.delete(group: "odd group/ü")
        try g.delete(group: String(repeating: "g", count: 240))
        #expect(try g.list() == ["billing"])
    }

    /// A commit replaces the group's file atomically (temporary file, fsync, rename): a hard
    /// link to the old file keeps the old bytes, which an in-place write would change (the
    /// mutation pass's survivor), and the name then points at a new inode.
    @Test func commitsReplaceTheFileAtomically() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
        try store.topic("t", create: TopicConfig()).append(makeRecords(5), partition: 0)
        try store.groups.commit(group: "g", topic: "t", partition: 0, offset: 1)
        let groups = store.groups.directory
        let file = try #require(try FileSystem.list(groups).first.map { groups + "/" + $0 })
        let before = try FileSystem.readFile(file)
        #expect(link(file, file + ".old") == 0)
        try store.groups.commit(group: "g", topic: "t", partition: 0, offset: 2)
        #expect(try FileSystem.readFile(file + ".old") == before, "the old inode was written in place")
        #expect(try FileSystem.readFile(file) != before)
        var a = stat(), b = stat()
        #expect(stat(file, &a) == 0 && stat(file + ".old", &b) == 0 && a.st_ino != b.st_ino)
        #expect(try store.groups.committed(group: "g", topic: "t", partition: 0)?.offset == 2)
        try store.close()
    }

    @Test func damagedGroupFilesAreTypedErrors() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
        try store.topic("t", create: TopicConfig()).append(makeRecords(10), partition: 0)
        try store.groups.commit(group: "g", topic: "t", partition: 0, offset: 9)
        let path = dir.path + "/groups/g.offsets"
        var bytes = try FileSystem.readFile(path)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("strata-group-offsets 1\n1\nt 0 9 ") && text.contains("\ncrc32c "))
        bytes[30] ^= 0x01
        try FileSystem.writeAtomically(bytes, to: path)
        let again = try LogStore(root: dir.path + "", readOnly: true)
        #expect(throws: StrataError.self) { _ = try again.groups.committed(group: "g", topic: "t", partition: 0) }
        for cut in [0, 10, bytes.count - 3] {
            try FileSystem.writeAtomically(Array(bytes.prefix(cut)), to: path)
            let s = try LogStore(root: dir.path, readOnly: true)
            #expect(throws: StrataError.self) { _ = try s.groups.describe(group: "g") }
        }
    }

    /// A commit naming a topic or partition that does not exist, or an offset outside the
    /// log, is refused at the log store (not only by the Store and the C API), and nothing
    /// of it is written: a commit is all or none.
    @Test func commitsMustNameWhatExists() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
        try store.topic("t", create: TopicConfig()).append(makeRecords(10), partition: 0)
        let g = store.groups
        func refused(_ offsets: [TopicPartition: CommittedOffset], _ expected: (StrataError) -> Bool, _ what: String) {
            do {
                try g.commit(group: "g", offsets)
                Issue.record("\(what): accepted")
            } catch let e as StrataError { #expect(expected(e), "\(what): \(e)") } catch { Issue.record("\(what): \(error)") }
        }
        func notFound(_ e: StrataError) -> Bool { if case .notFound = e { true } else { false } }
        func outOfRange(_ e: StrataError) -> Bool { if case .offsetOutOfRange(_, 0, 10) = e { true } else { false } }
        let ok = TopicPartition(topic: "t", partition: 0)
        refused([TopicPartition(topic: "missing", partition: 0): CommittedOffset(offset: 0)], notFound, "unknown topic")
        refused([TopicPartition(topic: "t", partition: 1): CommittedOffset(offset: 0)], notFound, "unknown partition")
        refused([ok: CommittedOffset(offset: 11)], outOfRange, "past the end")
        refused([ok: CommittedOffset(offset: 5), TopicPartition(topic: "missing", partition: 0): CommittedOffset(offset: 0)], notFound, "one bad among good")
        #expect(try g.describe(group: "g").isEmpty, "nothing of a refused commit was written")
        try g.commit(group: "g", topic: "t", partition: 0, offset: 10)
        #expect(try g.committed(group: "g", topic: "t", partition: 0)?.offset == 10, "the log end itself is a valid position")
        try store.close()
    }

    @Test func cursorsStartAtTheCommittedOffsetOrTheFallback() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, logger: .silent, backgroundIntervalMs: 0)
        var config = TopicConfig()
        config.log = smallConfig { $0.segmentBytes = 4096; $0.retentionBytes = 4096 }
        let t = try store.topic("e", create: config)
        try t.append(makeRecords(300), partition: 0)
        try store.groups.commit(group: "g", topic: "e", partition: 0, offset: 120)
        #expect(try store.cursor(topic: "e", partition: 0, from: .committed(group: "g", otherwise: .earliest)).next()?.offset == 120)
        #expect(try store.cursor(topic: "e", partition: 0, from: .committed(group: "none", otherwise: .latest)).next() == nil)
        #expect(try store.cursor(topic: "e", partition: 0, from: .committed(group: "none", otherwise: .earliest)).next()?.offset == 0)
        // Retention deletes the committed position: the fallback applies.
        try t.log(0).applyRetention()
        let start = try t.log(0).logStartOffset
        #expect(start > 120)
        #expect(try store.cursor(topic: "e", partition: 0, from: .committed(group: "g", otherwise: .earliest)).next()?.offset == start)
        #expect(try store.cursor(topic: "e", partition: 0, from: .position(.timestamp(0))).next()?.offset == start)
        try store.close()
    }
}

@Suite struct TailingTests {
    /// Several tasks tail one log while another appends; each sees every record in order.
    @Test func tailersSeeAppendsAsTheyHappen() async throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/t-0", config: smallConfig(), logger: .silent)
        try log.append(makeRecords(10))
        let total = 300
        try await withThrowingTaskGroup(of: [Int64].self) { group in
            for _ in 0 ..< 3 {
                group.addTask {
                    var seen: [Int64] = []
                    for try await r in try log.records(from: .earliest) {
                        seen.append(r.offset)
                        if seen.count == total { break }
                    }
                    return seen
                }
            }
            group.addTask {
                for r in makeRecords(total - 10, start: 10).chunked(7) {
                    try log.append(r)
                    try await Task.sleep(for: .milliseconds(1))
                }
                return []
            }
            for try await seen in group where !seen.isEmpty {
                #expect(seen == (0 ..< Int64(total)).map { $0 })
            }
        }
    }

    // The upper bound is the time limit, not a measured elapsed time: when the parallel suite
    // keeps both cooperative threads busy, this task may wait its turn for a minute.
    @Test(.timeLimit(.minutes(3))) func idleTimeoutEndsTheSequence() async throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/t-0", config: smallConfig(), logger: .silent)
        try log.append(makeRecords(5))
        let clock = ContinuousClock()
        let start = clock.now
        var n = 0
        for try await _ in try log.records(from: .earliest, idleTimeout: .milliseconds(150)) { n += 1 }
        let elapsed = clock.now - start
        #expect(n == 5)
        #expect(elapsed >= .milliseconds(140))
    }

    @Test func cancellationStopsAWaitingTailer() async throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/t-0", config: smallConfig(), logger: .silent)
        let task = Task { () -> Int in
            var n = 0
            for try await _ in try log.records(from: .latest) { n += 1 }
            return n
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("expected CancellationError")
        } catch is CancellationError {}
    }

    @Test func closingTheLogEndsTailers() async throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/t-0", config: smallConfig(), logger: .silent)
        let task = Task { () -> Int in
            var n = 0
            for try await _ in try log.records(from: .earliest) { n += 1 }
            return n
        }
        try await Task.sleep(for: .milliseconds(50))
        try log.append(makeRecords(3))
        try await Task.sleep(for: .milliseconds(50))
        try log.close()
        #expect(try await task.value == 3)
    }
}
