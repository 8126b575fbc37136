import Foundation
import Testing
import StrataIO
@testable import StrataLog

func keyed(_ i: Int, keys: Int, ts: Int64 = 1_700_000_000_000) -> Record {
    Record(key: Array("key-\(i % keys)".utf8), value: Array("value \(i) of key \(i % keys)".utf8), timestamp: ts + Int64(i))
}

@Suite struct CompactionTests {
    /// Only the latest record per key survives in closed segments; offsets never change; the
    /// active segment, unkeyed records and readers are unaffected.
    @Test(arguments: [CompressionCodec.none, .lz4])
    func keepsTheLatestRecordPerKey(codec: CompressionCodec) throws {
        let dir = TempDir()
        let config = smallConfig { $0.segmentBytes = 4096; $0.targetBatchBytes = 500; $0.compression = codec; $0.cleanupPolicy = .compact }
        let log = try Log.open(directory: dir.path + "/c-0", config: config, logger: .silent)
        var records = (0 ..< 800).map { keyed($0, keys: 25) }
        records[401] = Record(key: nil, value: Array("no key".utf8), timestamp: 5)
        for r in records.chunked(16) { try log.append(r) }
        let activeBase = log.segmentBaseOffsets.last!
        let before = try readAll(log)
        let result = try log.compact()
        #expect(result.cleanedUpTo == activeBase && !result.cleanedSegments.isEmpty && result.bytesAfter < result.bytesBefore)
        let after = try readAll(log)
        // Expected survivors: in closed segments, the last offset per key among closed segments.
        var lastInClosed: [[UInt8]: Int64] = [:]
        for (o, r) in before where o < activeBase { if let k = r.key { lastInClosed[k] = o } }
        let expected = before.filter { o, r in o >= activeBase || r.key == nil || lastInClosed[r.key!] == o }
        #expect(after.map(\.0) == expected.map(\.0))
        #expect(after.map(\.1) == expected.map(\.1), "values, keys, headers and timestamps survive unchanged")
        #expect(log.highWatermark == 800)
        // Seeking to a removed offset lands on the next surviving record.
        let removed = before.map(\.0).first { o in !expected.contains { $0.0 == o } }!
        let c = try log.cursor(from: .offset(removed))
        #expect(try c.next()!.offset == expected.first { $0.0 > removed }!.0)
        // A second pass has nothing left to drop in those segments.
        #expect(try log.compact().cleanedSegments.isEmpty)
        try log.close()
        let reopened = try Log.open(directory: dir.path + "/c-0", config: config, logger: .silent)
        #expect(try readAll(reopened).map(\.0) == expected.map(\.0))
    }

    /// Tombstones survive the first cleaning, which stamps the batch's delete horizon
    /// (attribute bit 6); once it passes they are removed.
    @Test func tombstonesAreRemovedAfterTheDeleteHorizon() throws {
        let dir = TempDir()
        let config = smallConfig { $0.segmentBytes = 1 << 20; $0.cleanupPolicy = .compact; $0.deleteRetentionMs = 1000 }
        let log = try Log.open(directory: dir.path + "/t-0", config: config, logger: .silent)
        try log.append([Record(key: Array("a".utf8), value: Array("1".utf8), timestamp: 10),
                        Record(key: Array("b".utf8), value: Array("2".utf8), timestamp: 11)])
        try log.append([Record(key: Array("a".utf8), value: nil, timestamp: 12)]) // tombstone for a
        try log.roll()
        try log.append([Record(key: Array("c".utf8), value: Array("3".utf8), timestamp: 13)])
        let now: Int64 = 1_800_000_000_000
        var r = try log.compact(now: now)
        #expect(r.tombstonesRemoved == 0)
        var all = try readAll(log)
        #expect(all.map(\.0) == [1, 2, 3])
        #expect(all[1].1.value == nil && all[1].1.key == Array("a".utf8) && all[1].1.timestamp == 12, "tombstone kept, timestamp intact")
        let c = try log.cursor(from: .offset(2))
        let batch = try #require(try c.nextBatch())
        #expect(batch.header.hasDeleteHorizon && batch.header.baseTimestamp == now + 1000)
        r = try log.compact(now: now + 999)
        #expect(r.tombstonesRemoved == 0)
        r = try log.compact(now: now + 1000)
        #expect(r.tombstonesRemoved == 1)
        all = try readAll(log)
        #expect(all.map(\.0) == [1, 3])
    }

    /// kafka-python reads compacted segments (sparse batches, delete horizons) with valid CRCs.
    @Test func kafkaPythonReadsCompactedSegments() throws {
        guard kafkaPythonAvailable else { return }
        let dir = TempDir()
        let path = dir.path + "/k-0"
        let config = smallConfig { $0.segmentBytes = 4096; $0.targetBatchBytes = 500; $0.compression = .gzip; $0.cleanupPolicy = .compact }
        let log = try Log.open(directory: path, config: config, logger: .silent)
        var records = (0 ..< 400).map { keyed($0, keys: 10) }
        records[399] = Record(key: Array("key-3".utf8), value: nil, timestamp: 9) // a tombstone, the last record of key-3
        for r in records.chunked(12) { try log.append(r) }
        try log.roll()
        try log.compact()
        try log.close()
        let mine = try strataBatches(path)
        #expect(mine.contains { $0.header.lastOffsetDelta != $0.header.recordCount - 1 }, "compaction left sparse batches")
        #expect(mine.contains { $0.header.hasDeleteHorizon })
        expectSameView(try kafkaPythonDump(path), mine)
    }

    /// A crash in the middle of a swap: a `.swap` file is completed on open, a `.cleaned` file
    /// is discarded.
    @Test func interruptedSwapIsCompletedOnOpen() throws {
        let dir = TempDir()
        let config = smallConfig { $0.segmentBytes = 4096; $0.targetBatchBytes = 500; $0.cleanupPolicy = .compact }
        let a = dir.path + "/a-0", b = dir.path + "/b-0"
        do {
            let log = try Log.open(directory: a, config: config, logger: .silent)
            for r in (0 ..< 600).map({ keyed($0, keys: 7) }).chunked(10) { try log.append(r) }
            try log.close()
        }
        try copyPartition(a, b)
        let compacted = try Log.open(directory: a, config: config, logger: .silent)
        let result = try compacted.compact()
        let expected = try readAll(compacted).map(\.0)
        try compacted.close()
        let victim = result.cleanedSegments[0]
        let name = LogSegment.fileName(victim, ".log")
        // In b: the cleaned bytes of one segment left as a swap file, junk as a .cleaned file.
        try FileSystem.writeAtomically(try FileSystem.readFile(a + "/" + name), to: b + "/" + name + ".swap")
        try FileSystem.writeAtomically([1, 2, 3], to: b + "/" + LogSegment.fileName(result.cleanedSegments.last!, ".log") + ".cleaned")
        let log = try Log.open(directory: b, config: config, logger: .silent)
        #expect(try FileSystem.list(b).allSatisfy { !$0.hasSuffix(".swap") && !$0.hasSuffix(".cleaned") })
        #expect(try FileSystem.readFile(b + "/" + name) == FileSystem.readFile(a + "/" + name))
        let offsets = try readAll(log).map(\.0)
        #expect(Set(expected).isSubset(of: Set(offsets)) && offsets == offsets.sorted())
    }

    /// Appends and reads go on while compaction runs.
    @Test func appendsContinueDuringCompaction() async throws {
        let dir = TempDir()
        let config = smallConfig { $0.segmentBytes = 8192; $0.targetBatchBytes = 500; $0.cleanupPolicy = .compact }
        let log = try Log.open(directory: dir.path + "/x-0", config: config, logger: .silent)
        for r in (0 ..< 3000).map({ keyed($0, keys: 50) }).chunked(20) { try log.append(r) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for _ in 0 ..< 3 { try log.compact() } }
            group.addTask { for r in (3000 ..< 5000).map({ keyed($0, keys: 50) }).chunked(20) { try log.append(r) } }
            try await group.waitForAll()
        }
        let all = try readAll(log)
        #expect(all.map(\.0) == all.map(\.0).sorted() && all.last!.0 == 4999)
        // Every key still has its latest value.
        var latest: [[UInt8]: [UInt8]] = [:]
        for (_, r) in all { latest[r.key!] = r.value! }
        for k in 0 ..< 50 { #expect(latest[Array("key-\(k)".utf8)] == Array("value \(4950 + k) of key \(k)".utf8)) }
    }

    @Test func storeCompactsOnScheduleWhenDirty() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, logger: .silent, backgroundIntervalMs: 0)
        var config = TopicConfig()
        config.log = smallConfig { $0.segmentBytes = 4096; $0.cleanupPolicy = .compact }
        let t = try store.topic("kv", create: config)
        for r in (0 ..< 1000).map({ keyed($0, keys: 5) }).chunked(20) { try t.append(r, partition: 0) }
        let log = try t.log(0)
        #expect(log.dirtyRatio == 1)
        let before = log.sizeInBytes
        try store.runBackgroundWork(maintenance: true, checkpoint: false)
        #expect(log.sizeInBytes < before && log.dirtyRatio == 0)
        try store.close()
        let again = try LogStore(root: dir.path, logger: .silent, backgroundIntervalMs: 0)
        #expect(try again.topic("kv").log(0).cleanerCheckpoint == log.cleanerCheckpoint)
    }
}
