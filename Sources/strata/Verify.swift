import ArgumentParser
import Foundation
import Strata

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan every segment: batch structure and CRCs, record encoding, offset order and gaps, index entries. Read-only; exits 1 on damage.")

    @Option(name: .shortAndLong, help: "The data directory.")
    var dir: String = "strata-data"

    @Option(name: .shortAndLong, help: "Only this topic.")
    var topic: String?

    @Flag(help: "Skip decoding records (structure, CRC and indexes only).")
    var batchesOnly = false

    @Flag(help: "Also print notices (gaps, missing indexes).")
    var verbose = false

    func run() throws {
        var damaged = false
        try reportingErrors {
            let topicsDir = dir + "/topics"
            guard try FileSystem.isDirectoryChecked(topicsDir) else { throw StrataError.notFound("a Strata store at \(dir) (no topics/ directory)") }
            let partitions = try FileSystem.list(topicsDir).filter { name in
                guard let parsed = TopicName.parseDirectoryName(name) else { return false }
                return topic == nil || parsed.topic == topic
            }
            if let topic, partitions.isEmpty { throw StrataError.notFound("topic \(topic) in \(dir)") }
            for p in partitions {
                let report = try LogVerifier.verify(partition: topicsDir + "/" + p, records: !batchesOnly)
                let status = report.isDamaged ? "DAMAGED" : "ok"
                print("\(p): \(status) — \(report.segments) segments, \(report.batches) batches, \(batchesOnly ? "" : "\(report.records) records, ")\(report.bytes) bytes")
                for f in report.findings where f.severity == .damage || verbose { print("  \(f)") }
                damaged = damaged || report.isDamaged
            }
        }
        if damaged {
            print("damage found: run `strata recover --dir \(dir)` to take the damaged data out of the log (its bytes are kept in quarantine files)")
            throw ExitCode(1)
        }
    }
}

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open the store for writing and validate every batch and record of every partition (or one topic) as `verify` does: invalid batches are taken out and a broken tail is cut, their bytes kept in quarantine files beside the segment; indexes are rebuilt. Prints what was repaired.")

    @Option(name: .shortAndLong, help: "The data directory.")
    var dir: String = "strata-data"

    @Option(name: .shortAndLong, help: "Only this topic.")
    var topic: String?

    func run() throws {
        try reportingErrors {
            let store = try LogStore(root: dir, logger: .silent, backgroundIntervalMs: 0, forceFullRecovery: true)
            let names = try topic.map { [$0] } ?? store.topicNames()
            for name in names {
                let t = try store.topic(name)
                var lost = false
                for (p, log) in t.partitions.enumerated() {
                    print("\(name)-\(p): \(log.recoveryReport); log \(log.logStartOffset)..<\(log.highWatermark)")
                    lost = lost || log.recoveryReport.truncatedBytes > 0 || !log.recoveryReport.removedBatches.isEmpty
                }
                if lost {
                    print("\(name): records were taken out of the log; an index over this topic may still hold their documents: rebuild it (`strata index rebuild --dir \(dir) --topic \(name)`)")
                }
            }
            try store.close()
        }
    }
}
