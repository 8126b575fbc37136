import ArgumentParser
import Foundation
import Strata

struct Retention: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or change a topic's retention and cleanup settings; --apply runs retention (and compaction for compacted topics) now.")

    @Option(name: .shortAndLong, help: "The data directory.") var dir: String = "strata-data"
    @Option(name: .shortAndLong, help: "The topic.") var topic: String
    @Option(help: "Keep at most this many bytes per partition (0 = no limit).") var bytes: Int?
    @Option(help: "Delete segments whose newest record is older than this many ms (0 = no limit).") var ms: Int64?
    @Option(help: "Cleanup policy: delete or compact.") var policy: String?
    @Option(help: "Tombstones survive compaction this many ms after the first cleaning.") var deleteRetentionMs: Int64?
    @Flag(help: "Apply retention/compaction now.") var apply = false

    func run() throws {
        try reportingErrors {
            let store = try LogStore(root: dir, logger: printingLogger(prefix: "  "), backgroundIntervalMs: 0)
            defer { try? store.close() }
            var config = try store.topic(topic).config
            try store.close()
            let reopened = try LogStore(root: dir, logger: printingLogger(prefix: "  "), backgroundIntervalMs: 0)
            defer { try? reopened.close() }
            var changed = false
            if let bytes { config.log.retentionBytes = bytes == 0 ? nil : bytes; changed = true }
            if let ms { config.log.retentionMs = ms == 0 ? nil : ms; changed = true }
            if let policy {
                guard let p = CleanupPolicy(rawValue: policy) else { throw StrataError.invalidArgument("policy must be delete or compact") }
                config.log.cleanupPolicy = p
                changed = true
            }
            if let deleteRetentionMs { config.log.deleteRetentionMs = deleteRetentionMs; changed = true }
            if changed { try reopened.setTopicConfig(topic, config) }
            let c = config.log
            print("\(topic): policy \(c.cleanupPolicy.rawValue), retention.bytes \(c.retentionBytes.map(String.init) ?? "unlimited"), retention.ms \(c.retentionMs.map(String.init) ?? "unlimited"), delete.retention.ms \(c.deleteRetentionMs)")
            if apply {
                let t = try reopened.topic(topic)
                for (p, log) in t.partitions.enumerated() {
                    let r = try log.applyRetention()
                    print("\(topic)-\(p): deleted \(r.deletedSegments.count) segment(s), \(r.deletedBytes) bytes; log start offset \(r.logStartOffset)")
                    if c.cleanupPolicy == .compact {
                        let k = try log.compact()
                        print("\(topic)-\(p): compacted \(k.cleanedSegments.count) segment(s), \(k.bytesBefore) → \(k.bytesAfter) bytes, kept \(k.recordsKept) of \(k.recordsRead) records")
                    }
                }
            }
        }
    }
}
