import Foundation
import Testing
import StrataIO
@testable import StrataLog

/// Copies a partition directory (to damage a copy and keep the original).
func copyPartition(_ from: String, _ to: String) throws {
    try FileSystem.createDirectory(to)
    for name in try FileSystem.list(from) {
        try FileSystem.writeAtomically(try FileSystem.readFile(from + "/" + name), to: to + "/" + name)
    }
}

@Suite struct RecoveryTests {
    /// Cutting the last batch at every byte position: recovery keeps exactly the batches
    /// before it, reports the cut, and the log accepts appends again.
    @Test func truncationOfTheLastBatchAtEveryByte() throws {
        let dir = TempDir()
        let original = dir.path + "/orig-0"
        let config = smallConfig { $0.segmentBytes = 1 << 20; $0.targetBatchBytes = 400 }
        let records = makeRecords(60)
        do {
            let log = try Log.open(directory: original, config: config)
            for r in records.chunked(6) { try log.append(r) }
            try log.close()
        }
        let logBytes = try FileSystem.readFile(original + "/00000000000000000000.log")
        // Find the last batch's start.
        var lastStart = 0, keptRecords = 0, pos = 0
        try logBytes.withUnsafeBytes { buf in
            while pos < buf.count, case .batch(let b) = try RecordBatchView.probe(buf, at: pos) {
                lastStart = pos
                keptRecords = Int(b.header.baseOffset)
                pos += b.header.sizeInBytes
            }
        }
        for cut in lastStart ..< logBytes.count {
            let path = dir.path + "/cut-\(cut)-0"
            try copyPartition(original, path)
            let f = try DataFile(path: path + "/00000000000000000000.log", flags: O_RDWR)
            try f.truncate(to: Int64(cut))
            f.close()
            let log = try Log.open(directory: path, config: config, logger: .silent)
            #expect(log.highWatermark == Int64(keptRecords), "cut at \(cut)")
            #expect(log.recoveryReport.truncatedBytes == cut - lastStart)
            #expect(log.recoveryReport.truncatedAtOffset == (cut > lastStart ? Int64(keptRecords) : nil))
            #expect(try readAll(log).map(\.1) == Array(records.prefix(keptRecords)))
            try log.append(Record(value: [7], timestamp: 1))
            #expect(log.highWatermark == Int64(keptRecords + 1))
            try log.close()
            try FileSystem.removeTree(path)
        }
    }

    /// Random bit flips in the last segment: the CRC catches every flip in the bytes it
    /// covers, and recovery keeps exactly the batches before the damaged one.
    @Test func bitFlipsAreCaughtAndRecoveryKeepsTheLongestValidPrefix() throws {
        let dir = TempDir()
        let original = dir.path + "/orig-0"
        let config = smallConfig { $0.segmentBytes = 1 << 20; $0.targetBatchBytes = 500; $0.compression = .lz4 }
        let records = makeRecords(300)
        do {
            let log = try Log.open(directory: original, config: config)
            for r in records.chunked(10) { try log.append(r) }
            try log.close()
        }
        let logBytes = try FileSystem.readFile(original + "/00000000000000000000.log")
        var batches: [(start: Int, size: Int, base: Int64)] = []
        try logBytes.withUnsafeBytes { buf in
            var pos = 0
            while pos < buf.count, case .batch(let b) = try RecordBatchView.probe(buf, at: pos) {
                batches.append((pos, b.header.sizeInBytes, b.header.baseOffset))
                pos += b.header.sizeInBytes
            }
        }
        var rng = SystemRandomNumberGenerator()
        for round in 0 ..< 150 {
            // A byte the CRC covers ([21, end) of a batch) or the length/magic/crc fields;
            // baseOffset and partitionLeaderEpoch are outside the CRC by Kafka's design.
            let victim = batches[Int.random(in: 0 ..< batches.count, using: &rng)]
            var rel = Int.random(in: 8 ..< victim.size, using: &rng)
            if (12 ..< 16).contains(rel) { rel = 21 }
            let position = victim.start + rel
            var damaged = logBytes
            damaged[position] ^= UInt8(1 << Int.random(in: 0 ..< 8, using: &rng))
            if rel >= 21 {
                damaged.withUnsafeBytes { buf in
                    guard case .batch(let b)? = try? RecordBatchView.probe(buf, at: victim.start) else { return }
                    #expect(!b.isChecksumValid, "round \(round): flip at batch byte \(rel) not caught")
                }
            }
            let path = dir.path + "/flip-\(round)-0"
            try copyPartition(original, path)
            try FileSystem.writeAtomically(damaged, to: path + "/00000000000000000000.log")
            let log = try Log.open(directory: path, config: config, logger: .silent)
            #expect(log.highWatermark == victim.base, "round \(round): flip at byte \(position)")
            #expect(log.recoveryReport.truncatedBytes == logBytes.count - victim.start)
            #expect(try readAll(log).map(\.1) == Array(records.prefix(Int(victim.base))))
            try log.close()
            try FileSystem.removeTree(path)
        }
    }

    /// Appends `records` records, `perAppend` at a time, to a log at `path` and closes it;
    /// returns its segments' base offsets.
    private func writeSegments(_ path: String, _ config: LogConfig, records: Int, perAppend: Int) throws -> [Int64] {
        let log = try Log.open(directory: path, config: config)
        for r in makeRecords(records).chunked(perAppend) { try log.append(r) }
        try log.close()
        return try FileSystem.list(path).compactMap(LogSegment.baseOffset(ofLogFile:)).sorted()
    }

    /// Damage in an older segment (with a recovery point before it): that segment is cut
    /// and every later segment taken out of the log, as Kafka's recovery does — but into
    /// quarantine files, with the cut bytes, not deleted.
    @Test func damageBeforeTheRecoveryPointMovesLaterSegmentsAside() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let config = smallConfig { $0.segmentBytes = 4096; $0.targetBatchBytes = 600 }
        let bases = try writeSegments(path, config, records: 400, perAppend: 20)
        #expect(bases.count >= 4)
        let victim = bases[1]
        let victimPath = path + "/" + LogSegment.fileName(victim, ".log")
        var bytes = try FileSystem.readFile(victimPath)
        bytes[bytes.count / 2] ^= 0x40
        try FileSystem.writeAtomically(bytes, to: victimPath)
        let collector = MessageCollector()
        let log = try Log.open(directory: path, config: config, recovery: .unclean(recoveryPoint: victim), logger: collector.logger)
        let report = log.recoveryReport
        #expect(report.recoveredSegments == [victim])
        #expect(Set(report.deletedSegments.keys) == Set(bases[2...]))
        #expect(report.truncatedBytes > 0 && report.truncatedAtOffset == log.highWatermark)
        #expect(log.segmentBaseOffsets == Array(bases[0 ... 1]))
        #expect(collector.messages.count == 1 && collector.messages[0].contains("moved segments"))
        // The cut tail of the victim and each later segment, byte for byte.
        #expect(report.quarantined.count == 1 + bases.count - 2, "\(report.quarantined)")
        let cut = try FileSystem.readFile(report.quarantined[0])
        #expect(cut.count == report.truncatedBytes && Array(bytes.suffix(cut.count)) == cut)
        for (base, aside) in zip(bases[2...], report.quarantined.dropFirst()) {
            #expect(aside.hasPrefix(path + "/" + LogSegment.fileName(base, ".log") + ".quarantine-0-"))
            #expect(FileSystem.fileSize(aside) == Int64(report.deletedSegments[base]!))
        }
        let read = try readAll(log)
        #expect(read.map(\.0) == (0 ..< log.highWatermark).map { $0 })
        try log.append(makeRecords(5))
        try log.close()
    }

    /// One flipped bit in flushed data (a closed segment below the recovery point, whose
    /// batches no index entry covers, reopened cleanly) costs only its batch (issue 12: it
    /// used to cut that segment to 0 bytes and delete every later one). The damaged batch is
    /// kept in place and reported; reading it fails with the position; everything after it —
    /// in that segment and in every later one — stays readable, and appends go on.
    @Test func damageInFlushedDataCostsOnlyItsBatch() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let config = smallConfig { $0.segmentBytes = 4096; $0.targetBatchBytes = 600; $0.indexIntervalBytes = 1 << 20 }
        let bases = try writeSegments(path, config, records: 300, perAppend: 10)
        #expect(bases.count >= 5)
        let victimPath = path + "/" + LogSegment.fileName(bases[0], ".log")
        var bytes = try FileSystem.readFile(victimPath)
        bytes[200] ^= 0x10 // inside the first batch's records
        try FileSystem.writeAtomically(bytes, to: victimPath)
        for recovery in [RecoveryMode.clean, .unclean(recoveryPoint: bases.last!)] {
            let log = try Log.open(directory: path, config: config, recovery: recovery, logger: .silent)
            let report = log.recoveryReport
            #expect(report.deletedSegments.isEmpty && report.truncatedBytes == 0, "\(report)")
            #expect(report.damagedBatches[bases[0]] == [0], "\(report)")
            #expect(log.segmentBaseOffsets == bases)
            #expect(log.highWatermark == 300)
            #expect(FileSystem.fileSize(victimPath) == Int64(bytes.count), "the damaged bytes are kept")
            // Reading the damaged batch fails with its position; after it everything reads.
            let c = try log.cursor()
            #expect { _ = try c.next() } throws: { e in
                guard case let StrataError.corrupt(file, position, reason) = e else { return false }
                return file == victimPath && position < 61 && reason.contains("batch at offset 0") // in the first batch's header
            }
            let firstLast: Int64 = try bytes.withUnsafeBytes { b in
                guard case .batch(let v) = try RecordBatchView.probe(b, at: 0) else { return -1 }
                return v.header.lastOffset
            }
            #expect(firstLast >= 0 && firstLast < 299)
            let after = try log.cursor(from: .offset(firstLast + 1))
            var offsets: [Int64] = []
            while let r = try after.next() { offsets.append(r.offset) }
            #expect(offsets == Array(firstLast + 1 ..< 300))
            try log.close()
        }
    }

    /// The store writes Kafka's clean-shutdown marker and recovery-point checkpoint on close;
    /// a store dropped without close (a crash) is recovered from the checkpoint.
    @Test func cleanShutdownMarkerAndCheckpoint() throws {
        let dir = TempDir()
        do {
            let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
            #expect(!store.openedAfterCleanShutdown)
            let t = try store.topic("events", create: TopicConfig(partitions: 2))
            try t.append(makeRecords(100))
            try store.close()
        }
        #expect(FileSystem.exists(dir.path + "/topics/.kafka_cleanshutdown"))
        let points = try RecoveryCheckpoint.read(dir.path + "/topics/recovery-point-offset-checkpoint")
        #expect(points.count == 2 && points.values.reduce(0, +) == 100)
        do {
            let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
            #expect(store.openedAfterCleanShutdown)
            #expect(!FileSystem.exists(dir.path + "/topics/.kafka_cleanshutdown"), "removed while the store is open")
            let t = try store.topic("events")
            #expect(t.partitions.allSatisfy { $0.recoveryReport.recoveredSegments.isEmpty })
            try t.append(makeRecords(10))
            try store.checkpointRecoveryPoints()
            // No close: as if the process died.
        }
        let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
        #expect(!store.openedAfterCleanShutdown)
        let t = try store.topic("events")
        #expect(t.partitions.allSatisfy { !$0.recoveryReport.recoveredSegments.isEmpty }, "unclean: segments validated")
        #expect(t.partitions.map(\.highWatermark).reduce(0, +) == 110)
        try store.close()
    }

    @Test func checkpointFormatRoundTripsAndRejectsGarbage() throws {
        let points: [RecoveryCheckpoint.Key: Int64] = [.init(topic: "a", partition: 0): 5, .init(topic: "b.c", partition: 12): 1 << 40]
        let bytes = RecoveryCheckpoint.encode(points)
        #expect(String(decoding: bytes, as: UTF8.self) == "0\n2\na 0 5\nb.c 12 1099511627776\n")
        #expect(try RecoveryCheckpoint.decode(bytes) == points)
        #expect(try RecoveryCheckpoint.decode([]) == [:], "Kafka creates empty checkpoint files")
        for bad in ["1\n0\n", "0\nx\n", "0\n2\na 0 5\n", "0\n1\na 0\n", "0\n1\na -1 5\n", "0\n1\nbad/name 0 5\n", "0\n1\na 0 5\nb 0 6\n"] {
            #expect(throws: StrataError.self, "\(bad)") { try RecoveryCheckpoint.decode(Array(bad.utf8)) }
        }
    }

    /// Concurrent appenders with `everyBatch` share fdatasyncs (group commit), and every
    /// acknowledged append is covered by the recovery point.
    @Test func groupCommitSharesSyncs() throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig { $0.segmentBytes = 8 << 20 }, flushPolicy: .everyBatch)
        let threads = 8, perThread = 40
        let failures = MessageCollector()
        let done = DispatchGroup()
        for t in 0 ..< threads {
            done.enter()
            let thread = Thread {
                for i in 0 ..< perThread {
                    do {
                        let r = try log.append(Record(value: Array("t\(t) i\(i)".utf8), timestamp: 1))
                        if log.recoveryPoint <= r { failures.append("offset \(r) acknowledged before it was durable") }
                    } catch { failures.append("\(error)") }
                }
                done.leave()
            }
            thread.start()
        }
        done.wait()
        #expect(failures.messages.isEmpty, "\(failures.messages.prefix(3))")
        #expect(log.highWatermark == Int64(threads * perThread))
        #expect(log.syncCount < threads * perThread, "\(log.syncCount) fdatasyncs for \(threads * perThread) appends")
        print("group commit: \(threads * perThread) appends from \(threads) threads, \(log.syncCount) fdatasyncs")
        try log.close()
    }

    @Test func intervalPolicyFlushesByCountAndTime() throws {
        let dir = TempDir()
        let log = try Log.open(directory: dir.path + "/p-0", config: smallConfig(), flushPolicy: .interval(records: 100, ms: 60_000))
        try log.append(makeRecords(99))
        #expect(log.recoveryPoint == 0)
        try log.append(makeRecords(1))
        #expect(log.recoveryPoint == 100)
        let timed = try Log.open(directory: dir.path + "/q-0", config: smallConfig(), flushPolicy: .interval(records: 1_000_000, ms: 50))
        try timed.append(makeRecords(10))
        #expect(timed.recoveryPoint == 0)
        try timed.flushIfDue(now: currentTimeMillis() + 100)
        #expect(timed.recoveryPoint == 10)
    }

    /// Issue 12: verify reported CRC-valid garbage, recover said "validated every batch" and
    /// cut nothing, and from then on a full consume failed. Now both use `BatchValidator`:
    /// full recovery takes the bad batch out into a quarantine file holding exactly its bytes,
    /// every other record keeps its offset, and appends go on after the old end.
    @Test func fullRecoveryTakesOutWhatVerifyCallsDamage() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let forged = try writeLogWithForgedMiddleRecord(path)
        let before = try FileSystem.readFile(path + "/" + LogSegment.fileName(0, ".log"))
        let found = try LogVerifier.verify(partition: path)
        #expect(found.isDamaged && found.findings.contains { $0.severity == .damage && $0.message.contains("record 1 has offset delta 50") })
        // An open-time (CRC-level) recovery does not see it; the cursor stops there.
        do {
            let log = try Log.open(directory: path, config: smallConfig(), logger: .silent)
            #expect(throws: StrataError.self) { _ = try readAll(log) }
            try log.close()
        }
        let log = try Log.open(directory: path, config: smallConfig(), recovery: .full, logger: .silent)
        let report = log.recoveryReport
        #expect(report.removedBatches[0]?.map { [$0.baseOffset, $0.lastOffset, Int64($0.position)] } == [[3, 5, Int64(forged.lowerBound)]])
        #expect(report.truncatedBytes == 0 && report.quarantined.count == 1)
        #expect(try FileSystem.readFile(report.quarantined[0]) == Array(before[forged]))
        #expect("\(report)".contains("took 1 invalid batch out of segment 0") && "\(report)".contains(report.quarantined[0]))
        #expect(try readAll(log).map(\.0) == [0, 1, 2, 6, 7, 8])
        #expect(try log.append(makeRecords(1)).firstOffset == 9)
        try log.close()
        let again = try LogVerifier.verify(partition: path)
        #expect(!again.isDamaged && again.records == 7, "\(again.findings)")
        #expect(again.findings.contains { $0.message.contains("quarantine file") })
    }

    /// Writes a log of 3 records at `path`; returns its segment file.
    private func threeRecordLog(_ path: String) throws -> String {
        let log = try Log.open(directory: path, config: smallConfig())
        _ = try log.append(makeRecords(3))
        try log.close()
        return path + "/" + LogSegment.fileName(0, ".log")
    }

    /// A batch past what the segment's 32-bit relative offsets can address passed `verify`,
    /// and recovery then deleted it: now verify calls it damage and recovery keeps its bytes.
    @Test func aBatchBeyondTheSegmentsReachIsDamageAndKept() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let file = try threeRecordLog(path)
        let far = try buildBatch(makeRecords(2), baseOffset: Int64(Int32.max) + 10)
        try FileSystem.writeAtomically(try FileSystem.readFile(file) + far, to: file)
        let found = try LogVerifier.verify(partition: path)
        #expect(found.findings.contains { $0.severity == .damage && $0.message.contains("32-bit relative offsets") }, "\(found.findings)")
        let log = try Log.open(directory: path, config: smallConfig(), recovery: .full, logger: .silent)
        #expect(log.recoveryReport.removedBatches[0]?.first?.baseOffset == Int64(Int32.max) + 10)
        #expect(try FileSystem.readFile(log.recoveryReport.quarantined[0]) == far)
        #expect(log.highWatermark == 3)
        try log.close()
    }

    /// A torn write (a batch whose bytes run past the end) is cut without a quarantine file:
    /// it never was a whole batch.
    @Test func aTornTailIsCutWithoutQuarantine() throws {
        let dir = TempDir()
        let path = dir.path + "/p-0"
        let file = try threeRecordLog(path)
        let torn = try buildBatch(makeRecords(2), baseOffset: 3)
        let whole = try FileSystem.readFile(file)
        // Both the clean open's tail scan and full recovery cut exactly at the last whole batch.
        for recovery in [RecoveryMode.clean, .full] {
            try FileSystem.writeAtomically(whole + torn.prefix(torn.count - 7), to: file)
            let log = try Log.open(directory: path, config: smallConfig(), recovery: recovery, logger: .silent)
            #expect(log.recoveryReport.truncatedBytes == torn.count - 7 && log.recoveryReport.quarantined.isEmpty)
            #expect(try FileSystem.readFile(file) == whole, "\(recovery): cut elsewhere than the batch boundary")
            #expect(try FileSystem.list(path).allSatisfy { !$0.contains("quarantine") })
            #expect(try readAll(log).count == 3 && log.highWatermark == 3)
            try log.close()
        }
    }
}
