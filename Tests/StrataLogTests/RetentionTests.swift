import Foundation
import Testing
import StrataIO
@testable import StrataLog

@Suite struct RetentionTests {
    @Test func retentionBySizeDeletesOldestSegmentsAndMovesTheStart() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let config = smallConfig { $0.segmentBytes = 4096; $0.targetBatchBytes = 600; $0.retentionBytes = 10_000 }
        let log = try Log.open(directory: path, config: config, logger: .silent)
        for r in makeRecords(600).chunked(10) { try log.append(r) }
        let before = log.segmentBaseOffsets
        let sizeBefore = log.sizeInBytes
        let reader = try log.cursor() // reading the oldest segment while it is deleted
        _ = try reader.next()
        let result = try log.applyRetention()
        #expect(!result.deletedSegments.isEmpty && result.deletedSegments == Array(before.prefix(result.deletedSegments.count)))
        #expect(log.logStartOffset == result.logStartOffset && log.logStartOffset == log.segmentBaseOffsets.first)
        #expect(log.sizeInBytes >= 10_000 && log.sizeInBytes - (sizeBefore - result.deletedBytes) == 0)
        // Deleting one more segment would go below the limit.
        let oldestLeft = log.snapshot().segments.first!.size
        #expect(log.sizeInBytes - oldestLeft < 10_000)
        for base in result.deletedSegments { #expect(!FileSystem.exists(path + "/" + LogSegment.fileName(base, ".log"))) }
        // Reads below the start name the earliest offset.
        #expect(throws: StrataError.offsetOutOfRange(requested: 0, logStart: log.logStartOffset, logEnd: 600)) { try log.cursor(from: .offset(0)) }
        #expect(try readAll(log).first?.0 == log.logStartOffset)
        #expect(try readAll(log, from: .earliest).count == Int(600 - log.logStartOffset))
        // The cursor that was inside a deleted segment finishes reading it.
        var n = 1
        while try reader.next() != nil { n += 1 }
        #expect(n == 600)
        try log.close()
        let reopened = try Log.open(directory: path, config: config, logger: .silent)
        #expect(reopened.logStartOffset == result.logStartOffset)
    }

    @Test func retentionByTimeUsesTheNewestTimestampOfEachSegment() throws {
        let dir = TempDir()
        let now = currentTimeMillis()
        let day: Int64 = 24 * 3600 * 1000
        let log = try Log.open(directory: dir.path + "/p-0",
                               config: smallConfig { $0.segmentBytes = 4096; $0.targetBatchBytes = 600; $0.retentionMs = day }, logger: .silent)
        // 300 records three days old, then 300 records from now.
        for r in makeRecords(300, ts: now - 3 * day).chunked(10) { try log.append(r) }
        try log.roll()
        let firstRecent = log.highWatermark
        for r in makeRecords(300, start: 300, ts: now).chunked(10) { try log.append(r) }
        let result = try log.applyRetention(now: now)
        #expect(log.logStartOffset == firstRecent, "every old segment and no recent one deleted")
        #expect(result.deletedSegments.count > 1)
        #expect(try log.applyRetention(now: now).deletedSegments.isEmpty)
        // Much later: everything but the active segment goes.
        let later = try log.applyRetention(now: now + 3 * day)
        #expect(log.segmentCount == 1 && later.logStartOffset == log.segmentBaseOffsets[0])
    }

    /// The boundary, as Kafka has it: a segment goes once its newest record is *more* than
    /// `retentionMs` old; exactly that old, it stays.
    @Test func retentionByTimeKeepsASegmentExactlyAtTheLimit() throws {
        let dir = TempDir()
        let day: Int64 = 24 * 3600 * 1000, t: Int64 = 1_700_000_000_000
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig { $0.retentionMs = day }, logger: .silent)
        try log.append((0 ..< 5).map { Record(value: [UInt8($0)], timestamp: t - Int64($0)) }) // newest: t
        try log.roll()
        try log.append(makeRecords(5, start: 5, ts: t + 10 * day))
        #expect(try log.applyRetention(now: t + day).deletedSegments.isEmpty && log.logStartOffset == 0)
        #expect(try log.applyRetention(now: t + day + 1).deletedSegments.count == 1 && log.logStartOffset == 5)
        try log.close()
    }

    @Test func storeAppliesRetentionInTheBackground() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, logger: .silent, backgroundIntervalMs: 0)
        var config = TopicConfig()
        config.log = smallConfig { $0.segmentBytes = 4096; $0.retentionBytes = 8192 }
        let t = try store.topic("r", create: config)
        for r in makeRecords(500).chunked(20) { try t.append(r, partition: 0) }
        try store.runBackgroundWork(maintenance: true, checkpoint: false)
        #expect(try t.log(0).logStartOffset > 0)
        try store.close()
        // The setting survives in the topic config.
        let again = try LogStore(root: dir.path, logger: .silent, backgroundIntervalMs: 0)
        #expect(try again.topic("r").config.log.retentionBytes == 8192)
    }
}
