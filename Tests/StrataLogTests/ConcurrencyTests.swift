import Foundation
import Testing
import StrataIO
@testable import StrataLog

/// Run under the thread sanitizer in CI (scripts/tsan.sh): one writer, several readers, a
/// tailer, retention and compaction, all at once for a while. Readers must never see a torn
/// or out-of-order batch. STRATA_STRESS_SECONDS sets the duration (default 3).
@Suite struct ConcurrencyTests {
    @Test func writerReadersTailerRetentionAndCompactionTogether() async throws {
        let seconds = Double(ProcessInfo.processInfo.environment["STRATA_STRESS_SECONDS"] ?? "") ?? 3
        let dir = TempDir()
        let config = smallConfig {
            $0.segmentBytes = 16 << 10; $0.targetBatchBytes = 1200; $0.compression = .lz4
            $0.retentionBytes = 256 << 10; $0.cleanupPolicy = .compact
        }
        let log = try Log.open(directory: dir.path + "/s-0", config: config, flushPolicy: .interval(records: 500, ms: 20), logger: .silent)
        let deadline = Date().addingTimeInterval(seconds)
        let failures = MessageCollector()
        func value(_ o: Int64) -> [UInt8] { Array("record \(o) ".utf8) + [UInt8](repeating: UInt8(o % 251), count: Int(o % 90)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { // writer
                var next: Int64 = 0
                while Date() < deadline {
                    let n = Int64.random(in: 1 ... 30)
                    let records = (next ..< next + n).map { Record(key: Array("k\($0 % 40)".utf8), value: value($0), timestamp: $0) }
                    let r = try log.append(records)
                    if r.firstOffset != next { failures.append("append got offset \(r.firstOffset), expected \(next)") }
                    next += n
                }
            }
            for _ in 0 ..< 3 { // readers: repeated scans and seeks
                group.addTask {
                    while Date() < deadline {
                        let c: LogCursor
                        do { c = try log.cursor(from: .earliest) } catch StrataError.offsetOutOfRange { continue }
                        var last: Int64 = -1
                        do {
                            while let r = try c.next() {
                                if r.offset <= last { failures.append("offsets went backwards: \(last) then \(r.offset)") }
                                if r.value.map(Array.init) != value(r.offset) { failures.append("record \(r.offset) is damaged") }
                                last = r.offset
                            }
                        } catch StrataError.offsetOutOfRange {
                            // retention overtook this reader: a valid outcome
                        }
                        let hw = log.highWatermark, start = log.logStartOffset
                        if hw > start {
                            let target = Int64.random(in: start ..< hw)
                            if let c2 = try? log.cursor(from: .offset(target)), let r = try c2.next(), r.offset < target {
                                failures.append("seek to \(target) returned \(r.offset)")
                            }
                        }
                    }
                }
            }
            group.addTask { // tailer
                var last: Int64 = -1
                do {
                    for try await r in try log.records(from: .latest, idleTimeout: .milliseconds(300)) {
                        if r.offset <= last { failures.append("tailer went backwards") }
                        last = r.offset
                        if Date() >= deadline { break }
                    }
                } catch StrataError.offsetOutOfRange {}
            }
            group.addTask { // maintenance
                while Date() < deadline {
                    try log.applyRetention()
                    try log.compact()
                    try log.flushIfDue()
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await group.waitForAll()
        }
        #expect(failures.messages.isEmpty, "\(failures.messages.prefix(5))")
        try log.close()
        let reopened = try Log.open(directory: dir.path + "/s-0", config: config, recovery: .clean, logger: .silent)
        #expect(reopened.recoveryReport.truncatedBytes == 0)
        let verify = try LogVerifier.verify(partition: dir.path + "/s-0")
        #expect(verify.isDamaged == false, "\(verify.findings.filter { $0.severity == .damage }.prefix(3))")
    }
}
