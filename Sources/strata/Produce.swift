import ArgumentParser
import Foundation
import Strata

struct Produce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append records read from stdin, one per line (like kafka-console-producer).")

    @OptionGroup var store: StoreArguments

    @Option(help: "Partitions when the topic is created.")
    var partitions: Int32 = 1

    @Option(help: "Codec for new batches when the topic is created: none, gzip, snappy, lz4, zstd.")
    var compression: String = "none"

    @Option(help: "Write every record to this partition (default: by key, round-robin when unkeyed).")
    var partition: Int32?

    @Option(help: "Split each line at the first occurrence of this separator into key and value.")
    var keySeparator: String?

    @Flag(help: "fdatasync every append before acknowledging it.")
    var sync = false

    @Option(help: "Lines per append call.")
    var batch: Int = 1000

    func run() throws {
        try reportingErrors {
            guard let codec = CompressionCodec(name: compression) else {
                throw StrataError.invalidArgument("unknown compression \(compression); use none, gzip, snappy, lz4 or zstd")
            }
            var config = TopicConfig(partitions: partitions)
            config.log.compression = codec
            config.flushPolicy = sync ? .everyBatch : .os
            let s = try LogStore(root: store.dir)
            // An existing topic keeps its settings (the options only shape a new one).
            let topic = try (try? s.topic(store.topic)) ?? s.topic(store.topic, create: config)
            var pending: [Record] = []
            var total = 0
            var ranges: [Int32: (Int64, Int64)] = [:]
            func flush() throws {
                guard !pending.isEmpty else { return }
                let results: [Int32: AppendResult]
                if let partition { results = [partition: try topic.append(pending, partition: partition)] } else { results = try topic.append(pending) }
                for (p, r) in results { ranges[p] = (ranges[p]?.0 ?? r.firstOffset, r.lastOffset) }
                total += pending.count
                pending.removeAll(keepingCapacity: true)
            }
            // Lines are bytes, stored as given (no UTF-8 decoding: binary input is not rewritten).
            let separator = keySeparator.map { Array($0.utf8) } ?? []
            var reader = LineReader(fd: 0)
            while try reader.next({ line in
                if !separator.isEmpty, let at = Self.find(separator, in: line) {
                    pending.append(Record(key: Array(line[..<at]), value: Array(line[(at + separator.count)...])))
                } else {
                    pending.append(Record(value: Array(line)))
                }
            }) {
                if pending.count >= batch { try flush() }
            }
            try flush()
            try s.close()
            for (p, r) in ranges.sorted(by: { $0.key < $1.key }) {
                print("\(store.topic)-\(p): offsets \(r.0)...\(r.1)")
            }
            print("appended \(total) records")
        }
    }

    /// The first position of `needle` in `hay`.
    static func find(_ needle: [UInt8], in hay: UnsafeRawBufferPointer) -> Int? {
        guard needle.count <= hay.count else { return nil }
        for i in 0 ... hay.count - needle.count where hay[i] == needle[0] {
            var match = true
            for j in 1 ..< needle.count where hay[i + j] != needle[j] { match = false; break }
            if match { return i }
        }
        return nil
    }
}
