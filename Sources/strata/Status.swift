import ArgumentParser
import Foundation
import Strata

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Topics (partitions, sizes, offsets) and indexes (documents, segments, lag per partition) of a store. Read-only: runs beside a writer.")
    @Option(name: .shortAndLong, help: "The data directory.") var dir: String = "strata-data"
    @Flag(help: "Machine-readable JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let store = try Store(directory: dir, options: StoreOptions(readOnly: true))
            var topicsJSON: [String] = [], indexesJSON: [String] = []
            if !json { print("store \(dir)") }
            for name in try store.topicNames() {
                let t = try store.describeTopic(name)
                let records = t.partitions.reduce(Int64(0)) { $0 + $1.highWatermark - $1.logStartOffset }
                let bytes = t.partitions.reduce(0) { $0 + $1.sizeBytes }
                if json {
                    let parts = t.partitions.map { "{\"partition\":\($0.partition),\"log_start\":\($0.logStartOffset),\"high_watermark\":\($0.highWatermark),\"bytes\":\($0.sizeBytes),\"segments\":\($0.segments)}" }
                    topicsJSON.append("{\"name\":\(jsonQuoted(name)),\"partitions\":[\(parts.joined(separator: ","))],\"indexes\":[\(t.indexes.map(jsonQuoted).joined(separator: ","))]}")
                } else {
                    print(String(format: "  topic %@: %d partitions, %lld records, %.1f MB, %@", name, t.partitions.count, records, Double(bytes) / 1e6, t.config.log.compression.description))
                    for p in t.partitions {
                        print(String(format: "    %@-%d  offsets %lld..<%lld  %.1f MB in %d segments", name, p.partition, p.logStartOffset, p.highWatermark, Double(p.sizeBytes) / 1e6, p.segments))
                    }
                }
            }
            for name in try store.indexNames() {
                let s = try store.indexStatus(name)
                if json {
                    let parts = s.partitions.map { "{\"partition\":\($0.partition),\"log_end\":\($0.logEndOffset),\"searchable\":\($0.searchableOffset),\"lag\":\($0.lag)}" }
                    indexesJSON.append("{\"name\":\(jsonQuoted(name)),\"topic\":\(jsonQuoted(s.definition.topic)),\"generation\":\(s.definition.generation),\"documents\":\(s.documents),\"segments\":\(s.segments),\"fallback_documents\":\(s.fallbackDocuments),\"lag\":\(s.totalLag),\"partitions\":[\(parts.joined(separator: ","))]}")
                } else {
                    print("  index \(name) (topic \(s.definition.topic), generation \(s.definition.generation)): \(s.documents) documents, \(s.segments) segments, \(s.fallbackDocuments) fallback documents, lag \(s.totalLag)")
                    for p in s.partitions {
                        print("    partition \(p.partition): searchable to \(p.searchableOffset) of \(p.logEndOffset) (lag \(p.lag))")
                    }
                }
            }
            if json { print("{\"topics\":[\(topicsJSON.joined(separator: ","))],\"indexes\":[\(indexesJSON.joined(separator: ","))]}") }
            try store.close()
        }
    }
}

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Create, rebuild or drop a topic's search index (the store keeps it up to date while it is open).",
        subcommands: [Create.self, Rebuild.self, Drop.self])

    struct Target: ParsableArguments {
        @Option(name: .shortAndLong, help: "The data directory.") var dir: String = "strata-data"
        @Option(name: .shortAndLong, help: "The topic.") var topic: String
        @Option(help: "The index name (default: the topic's).") var name: String?
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an index on a topic (or add fields to an existing one) and index the topic.")
        @OptionGroup var target: Target
        @Option(help: "Mapping JSON, or @FILE: {\"fields\":[{\"name\":\"msg\",\"type\":\"text\",\"analyzer\":\"english\"}],\"dynamic\":\"add\"}.") var mapping: String?
        @Option(help: "JSON field holding each record's time (default: the record timestamp).") var timestampField: String?

        func run() throws {
            try reportingErrors {
                let store = try Store(directory: target.dir)
                let m = try mapping.map { try IndexMapping(json: try readArgument($0)) } ?? IndexMapping()
                let name = target.name ?? target.topic
                let t0 = DispatchTime.now()
                try store.createIndex(name, topic: target.topic, mapping: m, timestampField: timestampField)
                try store.refresh(name, timeoutMs: 3_600_000)
                let s = try store.indexStatus(name)
                try store.close()
                print(String(format: "index %@ on topic %@: %d documents, %d segments, searchable after %.2f s", name, target.topic, s.documents, s.segments, seconds(since: t0)))
            }
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-derive an index from its topic into a new generation and switch to it atomically (works whatever state the old data is in).")
        @OptionGroup var target: Target
        @Option(help: "A new mapping (JSON or @FILE).") var mapping: String?

        func run() throws {
            try reportingErrors {
                let store = try Store(directory: target.dir, options: { var o = StoreOptions(); o.indexing = false; return o }())
                let name = try store.resolveIndexName(target.name ?? target.topic)
                let t0 = DispatchTime.now()
                try store.rebuildIndex(name, mapping: try mapping.map { try IndexMapping(json: try readArgument($0)) })
                let s = try store.indexStatus(name)
                try store.close()
                print(String(format: "rebuilt index %@ (generation %llu): %d documents, %d segments in %.2f s", name, s.definition.generation, s.documents, s.segments, seconds(since: t0)))
            }
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an index (the topic stays).")
        @OptionGroup var target: Target

        func run() throws {
            try reportingErrors {
                let store = try Store(directory: target.dir, options: { var o = StoreOptions(); o.indexing = false; return o }())
                let name = try store.resolveIndexName(target.name ?? target.topic)
                try store.dropIndex(name)
                try store.close()
                print("dropped index \(name)")
            }
        }
    }
}

/// An argument's text, or the content of a file for `@PATH`.
func readArgument(_ s: String) throws -> String {
    guard s.hasPrefix("@") else { return s }
    return String(decoding: try FileSystem.readFile(String(s.dropFirst())), as: UTF8.self)
}
