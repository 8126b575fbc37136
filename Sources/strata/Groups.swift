import ArgumentParser
import Foundation
import Strata

struct Groups: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Consumer groups: list them, describe committed offsets and lag, reset offsets.",
        subcommands: [List.self, Describe.self, Reset.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups with committed offsets.")
        @Option(name: .shortAndLong, help: "The data directory.") var dir: String = "strata-data"
        func run() throws {
            try reportingErrors {
                for g in try LogStore(root: dir, readOnly: true).groups.list() { print(g) }
            }
        }
    }

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Committed offset, log end offset and lag per partition.")
        @Option(name: .shortAndLong, help: "The data directory.") var dir: String = "strata-data"
        @Argument(help: "The group.") var group: String
        @Flag(help: "One JSON object per line.") var json = false
        func run() throws {
            try reportingErrors {
                let store = try LogStore(root: dir, readOnly: true)
                let offsets = try store.groups.describe(group: group)
                if offsets.isEmpty { throw StrataError.notFound("committed offsets of group \(group)") }
                if !json { print("TOPIC PARTITION COMMITTED LOG-END LAG COMMITTED-AT METADATA") }
                for (tp, c) in offsets.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
                    let end = (try? store.topic(tp.topic).log(tp.partition).highWatermark) ?? -1
                    let lag = end >= 0 ? max(0, end - c.offset) : -1
                    if json {
                        print("{\"topic\":\(jsonQuoted(tp.topic)),\"partition\":\(tp.partition),\"committed\":\(c.offset),\"logEnd\":\(end),\"lag\":\(lag),\"commitTimestamp\":\(c.commitTimestamp),\"metadata\":\(jsonQuoted(c.metadata))}")
                    } else {
                        print("\(tp.topic) \(tp.partition) \(c.offset) \(end) \(lag) \(c.commitTimestamp) \(c.metadata.isEmpty ? "-" : c.metadata)")
                    }
                }
            }
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a group's committed offsets for a topic (all partitions, or one).")
        @Option(name: .shortAndLong, help: "The data directory.") var dir: String = "strata-data"
        @Argument(help: "The group.") var group: String
        @Option(name: .shortAndLong, help: "The topic.") var topic: String
        @Option(help: "Only this partition.") var partition: Int32?
        @Flag(help: "To the log start offset.") var toEarliest = false
        @Flag(help: "To the log end offset.") var toLatest = false
        @Option(help: "To this offset (clamped to the log).") var toOffset: Int64?
        @Option(help: "To the first record with timestamp ≥ this (ms).") var toTimestamp: Int64?

        func run() throws {
            try reportingErrors {
                let chosen = [toEarliest, toLatest, toOffset != nil, toTimestamp != nil].filter { $0 }.count
                guard chosen == 1 else { throw StrataError.invalidArgument("give exactly one of --to-earliest, --to-latest, --to-offset, --to-timestamp") }
                let store = try LogStore(root: dir, logger: .silent, backgroundIntervalMs: 0)
                defer { try? store.close() }
                let t = try store.topic(topic)
                let parts = partition.map { [$0] } ?? (0 ..< Int32(t.partitions.count)).map { $0 }
                var commit: [TopicPartition: CommittedOffset] = [:]
                for p in parts {
                    let log = try t.log(p)
                    let target: Int64
                    if toEarliest { target = log.logStartOffset }
                    else if toLatest { target = log.highWatermark }
                    else if let o = toOffset { target = min(max(o, log.logStartOffset), log.highWatermark) }
                    else { target = try log.offset(forTimestamp: toTimestamp!) ?? log.highWatermark }
                    commit[TopicPartition(topic: topic, partition: p)] = CommittedOffset(offset: target, metadata: "reset by strata groups reset")
                    print("\(topic) \(p) → \(target)")
                }
                try store.groups.commit(group: group, commit)
            }
        }
    }
}
