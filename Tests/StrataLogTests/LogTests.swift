import Foundation
import Testing
import StrataIO
@testable import StrataLog

@Suite struct LogTests {
    @Test(arguments: [CompressionCodec.none, .gzip, .lz4])
    func appendReadAndReopen(codec: CompressionCodec) throws {
        let dir = TempDir()
        let config = smallConfig { $0.compression = codec; $0.targetBatchBytes = 2048 }
        let records = makeRecords(3000)
        do {
            let log = try Log.open(directory: dir.path + "/t-0", config: config)
            var expectedFirst: Int64 = 0
            for chunk in stride(from: 0, to: records.count, by: 700) {
                let part = Array(records[chunk ..< min(chunk + 700, records.count)])
                let r = try log.append(part)
                #expect(r.firstOffset == expectedFirst && r.count == part.count)
                expectedFirst += Int64(part.count)
            }
            #expect(log.highWatermark == 3000)
            #expect(log.segmentCount > 1, "64 KiB segments must roll")
            let read = try readAll(log)
            #expect(read.map(\.0) == (0 ..< 3000).map(Int64.init))
            #expect(read.map(\.1) == records)
            try log.close()
        }
        let reopened = try Log.open(directory: dir.path + "/t-0", config: config)
        #expect(reopened.openReports.isEmpty, "a clean reopen repairs nothing: \(reopened.openReports)")
        #expect(reopened.highWatermark == 3000)
        #expect(try readAll(reopened).map(\.1) == records)
        let next = try reopened.append(Record(value: [1], timestamp: 1))
        #expect(next == 3000)
        try reopened.close()
    }

    /// Every offset is found by seek, whichever index entry or segment it falls under.
    @Test func everyOffsetIsReachableBySeek() throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig { $0.targetBatchBytes = 700 })
        let records = makeRecords(2500)
        for r in records.chunked(37) { try log.append(r) }
        let c = try log.cursor()
        for o in stride(from: Int64(0), to: 2500, by: 1) {
            try c.seek(to: o)
            let r = try #require(try c.next())
            #expect(r.offset == o)
            #expect(r.owned() == records[Int(o)])
        }
        #expect(throws: StrataError.offsetOutOfRange(requested: 2501, logStart: 0, logEnd: 2500)) { try c.seek(to: 2501) }
        #expect(throws: StrataError.self) { try log.cursor(from: .offset(-1)) }
        try c.seek(to: 2500)
        #expect(try c.next() == nil)
        try log.append(Record(value: [9], timestamp: 1))
        #expect(try c.next()?.offset == 2500, "a cursor at the end sees later appends")
    }

    /// The offset index follows Kafka's rule: an entry when more than indexIntervalBytes were
    /// appended since the last one, pointing at the batch's last offset and position.
    @Test func indexEntriesFollowKafkasRule() throws {
        let dir = TempDir()
        var config = LogConfig()
        config.indexIntervalBytes = 4096
        config.targetBatchBytes = 1000
        let log = try Log.open(directory: dir.path + "/p-0", config: config)
        for r in makeRecords(2000).chunked(10) { try log.append(r) }
        try log.close()
        // Recompute the expected entries from the .log alone.
        let path = dir.path + "/p-0/00000000000000000000"
        let bytes = try DataFile(path: path + ".log", flags: O_RDONLY).readAll()
        var expected: [(Int64, Int)] = []
        var expectedTime: [(Int64, Int64)] = []
        var since = 0, pos = 0, maxTs: Int64 = -1, maxTsOffset: Int64 = -1
        try bytes.withUnsafeBytes { buf in
            while pos < buf.count {
                guard case .batch(let b) = try RecordBatchView.probe(buf, at: pos) else { break }
                if b.header.maxTimestamp > maxTs { maxTs = b.header.maxTimestamp; maxTsOffset = b.header.lastOffset }
                if since > 4096 {
                    expected.append((b.header.lastOffset, pos))
                    if expectedTime.last.map({ maxTs > $0.0 }) ?? true { expectedTime.append((maxTs, maxTsOffset)) }
                    since = 0
                }
                since += b.header.sizeInBytes
                pos += b.header.sizeInBytes
            }
        }
        if expectedTime.last.map({ maxTs > $0.0 }) ?? true { expectedTime.append((maxTs, maxTsOffset)) }
        let index = try DataFile(path: path + ".index", flags: O_RDONLY).readAll()
        #expect(index.count == expected.count * 8, "trimmed to its entries on close")
        let time = try DataFile(path: path + ".timeindex", flags: O_RDONLY).readAll()
        #expect(time.count == expectedTime.count * 12)
        index.withUnsafeBytes { buf in
            for (i, e) in expected.enumerated() {
                #expect(Int64(buf.baseAddress!.loadBE(at: i * 8, as: Int32.self)) == e.0)
                #expect(Int(buf.baseAddress!.loadBE(at: i * 8 + 4, as: Int32.self)) == e.1)
            }
        }
        time.withUnsafeBytes { buf in
            for (i, e) in expectedTime.enumerated() {
                #expect(buf.baseAddress!.loadBE(at: i * 12, as: Int64.self) == e.0)
                #expect(Int64(buf.baseAddress!.loadBE(at: i * 12 + 8, as: Int32.self)) == e.1)
            }
        }
        #expect(expected.count > 10)
    }

    @Test func timestampLookupFindsTheFirstRecordAtOrAfter() throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig { $0.targetBatchBytes = 900 })
        let records = makeRecords(3000)
        for r in records.chunked(50) { try log.append(r) }
        for t in stride(from: Int64(1_699_999_999_990), to: 1_700_000_030_100, by: 977) {
            let expected = records.firstIndex { $0.timestamp! >= t }.map(Int64.init)
            #expect(try log.offset(forTimestamp: t) == expected, "timestamp \(t)")
        }
        let c = try log.cursor(from: .timestamp(1_700_000_000_500))
        #expect(try c.next()?.offset == Int64(records.firstIndex { $0.timestamp! >= 1_700_000_000_500 }!))
    }

    @Test func rollsOnSizeIndexFullAndOnDemand() throws {
        let dir = TempDir()
        // A 48-byte index holds 6 entries: the segment rolls when it fills.
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig {
            $0.segmentBytes = 1 << 20; $0.maxIndexBytes = 48; $0.indexIntervalBytes = 0; $0.targetBatchBytes = 200 })
        for r in makeRecords(400).chunked(20) { try log.append(r) }
        #expect(log.segmentCount > 3)
        let bases = log.segmentBaseOffsets
        #expect(bases == bases.sorted() && bases.first == 0)
        let before = log.segmentCount
        try log.roll()
        #expect(log.segmentCount == before + 1)
        try log.roll() // empty active segment: no new one
        #expect(log.segmentCount == before + 1)
        #expect(try readAll(log).count == 400)
        let names = try FileSystem.list(dir.path + "/p-0")
        #expect(names.filter { $0.hasSuffix(".log") }.count == before + 1)
        #expect(names.contains(LogSegment.fileName(log.segmentBaseOffsets.last!, ".timeindex")))
    }

    /// The allocation-free path: records encoded from borrowed bytes by a closure.
    @Test func appendFromBorrowedBytes() throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig { $0.compression = .lz4 })
        let lines = (0 ..< 1000).map { Array("borrowed line \($0)".utf8) }
        let r = try log.append(count: lines.count) { i, builder in
            lines[i].withUnsafeBytes { builder.add(key: nil, value: $0, timestamp: Int64(i)) }
        }
        #expect(r == AppendResult(firstOffset: 0, lastOffset: 999))
        let read = try readAll(log)
        #expect(read.map { $0.1.value! } == lines && read.map { $0.1.timestamp! } == (0 ..< 1000).map(Int64.init))
        #expect(throws: StrataError.self) { try log.append(count: 0) { _, _ in } }
    }

    @Test func oversizedBatchesAreRefusedAndNothingIsWritten() throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig { $0.maxBatchBytes = 10_000 })
        try log.append(makeRecords(5))
        #expect(throws: StrataError.recordTooLarge(size: 20_000 + 61 + 11, limit: 10_000)) {
            try log.append(Record(value: [UInt8](repeating: 1, count: 20_000), timestamp: 1))
        }
        #expect(log.highWatermark == 5)
        try log.append(makeRecords(5))
        #expect(try readAll(log).count == 10)
    }

    @Test func missingOrCorruptIndexesAreRebuilt() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let config = smallConfig { $0.segmentBytes = 1 << 20; $0.targetBatchBytes = 500 }
        let records = makeRecords(2000)
        do {
            let log = try Log.open(directory: path, config: config, recovery: .clean)
            for r in records.chunked(25) { try log.append(r) }
            try log.close()
        }
        let indexPath = path + "/00000000000000000000.index"
        let good = try DataFile(path: indexPath, flags: O_RDONLY).readAll()
        // 1: index deleted.
        try FileSystem.remove(indexPath)
        var log = try Log.open(directory: path, config: config, recovery: .clean)
        #expect(log.openReports[0]?.rebuiltIndexReason != nil)
        #expect(try readAll(log).map(\.1) == records)
        try log.close()
        #expect(try DataFile(path: indexPath, flags: O_RDONLY).readAll() == good, "the rebuilt index equals the original")
        // 2: last entry points at the wrong position.
        var bad = good
        bad[bad.count - 1] ^= 0x10
        try FileSystem.writeAtomically(bad, to: indexPath)
        log = try Log.open(directory: path, config: config, recovery: .clean)
        #expect(log.openReports[0]?.rebuiltIndexReason != nil)
        try log.close()
        #expect(try DataFile(path: indexPath, flags: O_RDONLY).readAll() == good)
        // 3: a size that is not a multiple of 8 and garbage.
        try FileSystem.writeAtomically(good + [1, 2, 3], to: indexPath)
        log = try Log.open(directory: path, config: config, recovery: .clean)
        #expect(try readAll(log).map(\.1) == records)
        try log.close()
        // 4: the time index out of order.
        let tpath = path + "/00000000000000000000.timeindex"
        var t = try DataFile(path: tpath, flags: O_RDONLY).readAll()
        t[0] = 0x7f
        try FileSystem.writeAtomically(t, to: tpath)
        log = try Log.open(directory: path, config: config, recovery: .clean)
        #expect(log.openReports[0]?.rebuiltIndexReason?.contains("time index") == true)
        #expect(try log.offset(forTimestamp: records[777].timestamp!) == 777)
        try log.close()
    }

    /// A torn batch at the end (a crash mid-write) is cut off on open; whole batches stay.
    @Test func tornTailIsTruncatedOnOpen() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let config = smallConfig { $0.segmentBytes = 1 << 20 }
        let log = try Log.open(directory: path, config: config)
        try log.append(makeRecords(100))
        try log.close()
        let file = try DataFile(path: path + "/00000000000000000000.log", flags: O_RDWR)
        let size = try file.size()
        let extra = try buildBatch(makeRecords(10), baseOffset: 100)
        try Array(extra.prefix(50)).withUnsafeBytes { try file.write($0, at: size) }
        file.close()
        let reopened = try Log.open(directory: path, config: config)
        #expect(reopened.openReports[0]?.truncatedBytes == 50)
        #expect(reopened.highWatermark == 100)
        try reopened.append(makeRecords(3))
        #expect(try readAll(reopened).count == 103)
    }

    /// A zero-filled tail (preallocation, or a crash on some file systems) is cut off; a
    /// legacy magic v1 batch is refused and the file is left alone.
    @Test func zeroTailIsCutButLegacyDataIsRefused() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let config = smallConfig { $0.segmentBytes = 1 << 20 }
        var log = try Log.open(directory: path, config: config)
        try log.append(makeRecords(50))
        try log.close()
        let logPath = path + "/00000000000000000000.log"
        let file = try DataFile(path: logPath, flags: O_RDWR)
        let size = try file.size()
        try [UInt8](repeating: 0, count: 4096).withUnsafeBytes { try file.write($0, at: size) }
        log = try Log.open(directory: path, config: config)
        #expect(log.openReports[0]?.truncatedBytes == 4096)
        #expect(try readAll(log).count == 50)
        try log.close()
        // A v2 batch whose magic byte was damaged into 1 (its v1 CRC cannot match): cut.
        var damaged = try buildBatch(makeRecords(3), baseOffset: 50)
        damaged[16] = 1
        try damaged.withUnsafeBytes { try file.write($0, at: size) }
        log = try Log.open(directory: path, config: config)
        #expect(log.recoveryReport.truncatedBytes == damaged.count)
        try log.close()
        // An intact v1 message (magic 1, valid CRC-32) after the v2 data: refuse, do not cut.
        let legacy = legacyV1Message(offset: 50, key: Array("k".utf8), value: Array("legacy value".utf8), timestamp: 1_500_000_000_000)
        try legacy.withUnsafeBytes { try file.write($0, at: size) }
        #expect {
            _ = try Log.open(directory: path, config: config)
        } throws: { e in
            guard case let StrataError.unsupported(f, position, reason) = e else { return false }
            return f == logPath && position == size && reason.contains("v1")
        }
        #expect(try file.size() == size + Int64(legacy.count), "legacy bytes left untouched")
        file.close()
    }

    /// Segments roll by age measured on record timestamps, like Kafka's segment.ms.
    @Test func rollsByTimestampAge() throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig { $0.segmentBytes = 1 << 20; $0.segmentMs = 1000 })
        for t in stride(from: Int64(0), to: 5000, by: 100) {
            try log.append(Record(value: Array("at \(t)".utf8), timestamp: 1_000_000 + t))
        }
        #expect(log.segmentCount == 5, "one segment per 1000 ms of record time: \(log.segmentBaseOffsets)")
        #expect(log.segmentBaseOffsets == [0, 11, 22, 33, 44])
    }

    /// A read-only open sees only whole batches while a writer is mid-batch, and `refresh`
    /// picks up what the writer adds, including new segments.
    @Test func readOnlyOpenSeesWholeBatchesAndRefreshes() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let config = smallConfig { $0.segmentBytes = 8192 }
        let writer = try Log.open(directory: path, config: config)
        try writer.append(makeRecords(20))
        let reader = try Log.open(directory: path, config: config, readOnly: true)
        #expect(reader.highWatermark == 20)
        // Simulate a torn write in progress.
        let file = try DataFile(path: path + "/00000000000000000000.log", flags: O_RDWR)
        let size = try file.size()
        let extra = try buildBatch(makeRecords(5), baseOffset: 20)
        try Array(extra.prefix(70)).withUnsafeBytes { try file.write($0, at: size) }
        #expect(try reader.refresh() == false)
        #expect(try readAll(reader).count == 20)
        try file.truncate(to: size)
        file.close()
        for r in makeRecords(300, start: 20).chunked(30) { try writer.append(r) }
        #expect(try reader.refresh())
        #expect(reader.highWatermark == 320)
        #expect(try readAll(reader).map(\.0) == (0 ..< 320).map(Int64.init))
        #expect(throws: StrataError.self) { try reader.append(Record(value: [1], timestamp: 1)) }
    }

    /// Read-only opens beside a writer that appends all the while: each open succeeds (index
    /// entries the writer adds during the open point past the log size read first; they are
    /// not damage) and sees a prefix of the log.
    @Test func readOnlyOpensBesideALiveWriterNeverFail() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let config = smallConfig { $0.segmentBytes = 4 << 20; $0.maxIndexBytes = 1 << 20; $0.indexIntervalBytes = 1 }
        let writer = try Log.open(directory: path, config: config)
        try writer.append(makeRecords(10))
        let done = DispatchGroup()
        done.enter()
        Thread {
            for n in stride(from: 10, to: 40_000, by: 2) { _ = try? writer.append(makeRecords(2, start: n)) }
            done.leave()
        }.start()
        var failures: [String] = []
        var first: Int64? = nil
        var last: Int64 = 0
        for _ in 0 ..< 300 {
            do {
                let reader = try Log.open(directory: path, config: config, readOnly: true)
                first = first ?? reader.highWatermark
                if reader.highWatermark < last { failures.append("high watermark went back: \(reader.highWatermark) < \(last)") }
                last = reader.highWatermark
            } catch {
                failures.append("\(error)")
            }
        }
        done.wait()
        #expect((first ?? 40_000) < 40_000, "the opens began while the writer appended")
        #expect(failures.count == 0, "\(failures.count) of 300 read-only opens failed, first: \(failures.first ?? "")")
    }

    @Test func concurrentReadersSeeOnlyWholeBatches() async throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig { $0.segmentBytes = 32 << 10; $0.targetBatchBytes = 600 })
        let total = 6000
        let records = makeRecords(total)
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for r in records.chunked(40) { try log.append(r) }
                return 0
            }
            for _ in 0 ..< 3 {
                group.addTask {
                    let c = try log.cursor()
                    var expected: Int64 = 0
                    while expected < Int64(total) {
                        if let r = try c.next() {
                            #expect(r.offset == expected)
                            if r.owned() != records[Int(expected)] { Issue.record("record \(expected) differs") }
                            expected += 1
                        } else {
                            await Task.yield()
                        }
                    }
                    return Int(expected)
                }
            }
            for try await n in group where n != 0 { #expect(n == total) }
        }
    }

    @Test func writeErrorsCutBackAndTheLogStaysUsable() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let log = try Log.open(directory: path, config: smallConfig { $0.segmentBytes = 1 << 20 })
        try log.append(makeRecords(10))
        // Make the next pwrite fail: swap the segment's descriptor for a read-only one.
        let segment = log.snapshot().segments.last!
        let fd = segment.logFile.fd
        let ro = open(segment.logPath, O_RDONLY)
        dup2(ro, fd)
        #expect(throws: StrataError.self) { try log.append(makeRecords(10)) }
        #expect(log.highWatermark == 10)
        let rw = open(segment.logPath, O_RDWR)
        dup2(rw, fd)
        close(ro); close(rw)
        try log.append(makeRecords(10, start: 10))
        #expect(try readAll(log).map(\.0) == (0 ..< 20).map(Int64.init))
    }
}

extension Array {
    func chunked(_ n: Int) -> [[Element]] {
        stride(from: 0, to: count, by: n).map { Array(self[$0 ..< Swift.min($0 + n, count)]) }
    }
}

/// CRC-32 (IEEE 802.3, reflected 0xEDB88320), bit by bit: an independent check for legacy messages.
func crc32IEEE(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0 ..< 8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
    }
    return ~c
}

/// A Kafka magic v1 message set entry (offset, size, crc, magic 1, attributes, timestamp, key, value).
func legacyV1Message(offset: Int64, key: [UInt8], value: [UInt8], timestamp: Int64) -> [UInt8] {
    func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    let body: [UInt8] = [1, 0] + be(timestamp) + be(Int32(key.count)) + key + be(Int32(value.count)) + value
    let message = be(crc32IEEE(body)) + body
    return be(offset) + be(Int32(message.count)) + message
}

@Suite struct CursorFailureTests {
    /// Issue 12's misleading messages: a `.log` that is a directory said "No such device"
    /// (from mmap), and `dump` of a FIFO hung in open. Both now say what the path is.
    @Test func aSegmentThatIsNotAFileSaysWhatItIs() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        try FileSystem.createDirectory(path)
        try FileSystem.createDirectory(path + "/" + LogSegment.fileName(0, ".log"))
        #expect { _ = try Log.open(directory: path, config: smallConfig(), logger: .silent) } throws: { e in
            "\(e)".lowercased().contains("is a directory")
        }
        // Read-only, the open itself succeeds on a directory: the check after it speaks.
        #expect { _ = try Log.open(directory: path, config: smallConfig(), readOnly: true, logger: .silent) } throws: { e in
            "\(e)".contains("is a directory, not a file")
        }
        let fifo = dir.path + "/q.log"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect { _ = try DataFile(path: fifo, flags: O_RDONLY) } throws: { e in "\(e)".contains("is a FIFO") }
        #expect(throws: Never.self) { _ = try DataFile(path: "/dev/null", flags: O_RDONLY) }
    }

    private func logWithForgedMiddleRecord(_ dir: TempDir) throws -> Log {
        let path = dir.path + "/p-0"
        _ = try writeLogWithForgedMiddleRecord(path)
        return try Log.open(directory: path, config: smallConfig())
    }

    /// A record that fails to decode stops the cursor there for good (every call throws the
    /// same position) until a seek: before, the call after the error read on from the middle
    /// of the bad record.
    @Test func aCursorNeverReadsPastARecordItCouldNotDecode() throws {
        let dir = TempDir()
        let log = try logWithForgedMiddleRecord(dir)
        let c = try log.cursor()
        var offsets: [Int64] = []
        for _ in 0 ..< 4 { offsets.append(try #require(try c.next()).offset) }
        #expect(offsets == [0, 1, 2, 3])
        var reasons: [String] = []
        for _ in 0 ..< 3 {
            do { _ = try c.next(); Issue.record("read past the forged record") } catch let StrataError.corrupt(_, _, reason) { reasons.append(reason) }
        }
        #expect(reasons.count == 3 && Set(reasons).count == 1 && reasons[0].contains("record 1 has offset delta 50"), "\(reasons)")
        try c.seek(to: 6)
        #expect(try c.next()?.offset == 6)
        try log.close()
    }

    /// A batch that fails its CRC stops the cursor there too: before, the next call went on
    /// with the batch after it, as if the damaged records never existed.
    @Test func aCursorNeverSkipsABatchThatFailsItsChecksum() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        // Damage under an open log (through the file, which its mapping shares): reopening
        // would cut the unflushed tail at the bad batch before any cursor saw it.
        let log = try Log.open(directory: path, config: smallConfig())
        for b in 0 ..< 3 { _ = try log.append((0 ..< 3).map { Record(value: Array("b\(b) r\($0)".utf8), timestamp: 1) }) }
        let file = path + "/" + String(repeating: "0", count: 20) + ".log"
        let bytes = try FileSystem.readFile(file)
        let first = Int(bytes[8 ..< 12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) + 12
        let at = first + RecordBatchHeader.size + 8 // a value byte of the middle batch
        var flipped = bytes[at] ^ 0x20
        let fd = open(file, O_WRONLY)
        #expect(fd >= 0 && pwrite(fd, &flipped, 1, off_t(at)) == 1)
        close(fd)
        let c = try log.cursor()
        for expected in Int64(0) ..< 3 { #expect(try c.next()?.offset == expected) }
        for _ in 0 ..< 3 { #expect(throws: StrataError.self) { _ = try c.next() } }
        try c.seek(to: 6)
        #expect(try c.next()?.offset == 6)
        try log.close()
    }

    /// `read(into:)` fills from one batch at a time and defers a failure behind the records
    /// read before it.
    @Test func readIntoStopsAtBatchEndsAndDefersFailures() throws {
        let dir = TempDir()
        let log = try logWithForgedMiddleRecord(dir)
        let c = try log.cursor()
        let buffer = UnsafeMutableBufferPointer<RecordView>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        #expect(try c.read(into: buffer) == 3)
        #expect(buffer[0 ..< 3].map(\.offset) == [0, 1, 2])
        #expect(buffer[2].value.map { String(decoding: $0, as: UTF8.self) } == "b0 r2")
        #expect(try c.read(into: buffer) == 1)
        #expect(buffer[0].offset == 3)
        #expect(throws: StrataError.self) { _ = try c.read(into: buffer) }
        try c.seek(to: 7)
        #expect(try c.read(into: UnsafeMutableBufferPointer(rebasing: buffer[0 ..< 1])) == 1)
        #expect(buffer[0].offset == 7)
        #expect(try c.read(into: buffer) == 1)
        #expect(buffer[0].offset == 8)
        #expect(try c.read(into: buffer) == 0)
        try log.close()
    }
}

@Suite struct OffsetLimitTests {
    /// Issue 12: a segment named near Int64.max made the next append trap in offset
    /// arithmetic. An append that would pass the largest offset is a typed error; a segment
    /// file named beyond it is corrupt, said on open.
    @Test func appendsNearTheLargestOffsetFailTyped() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        try FileSystem.createDirectory(path)
        let base = Log.maxOffset - 5
        try FileSystem.writeAtomically([], to: path + "/" + LogSegment.fileName(base, ".log"))
        do {
            let log = try Log.open(directory: path, config: smallConfig(), logger: .silent)
            #expect(try log.append(makeRecords(3)).firstOffset == base)
            #expect { _ = try log.append(makeRecords(10)) } throws: { e in
                guard case StrataError.invalidArgument(let why) = e else { return false }
                return why.contains("largest offset")
            }
            #expect(try log.append(makeRecords(3)).lastOffset == Log.maxOffset)
            #expect(throws: StrataError.self) { _ = try log.append(makeRecords(1)) }
            #expect(try readAll(log).map(\.0) == (0 ..< 6).map { base + $0 })
            try log.close()
        }
        try FileSystem.writeAtomically([], to: path + "/" + LogSegment.fileName(Int64.max, ".log"))
        #expect { _ = try Log.open(directory: path, config: smallConfig(), logger: .silent) } throws: { e in
            guard case StrataError.corrupt(_, _, let why) = e else { return false }
            return why.contains("beyond the largest offset")
        }
    }
}
