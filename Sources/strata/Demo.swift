import ArgumentParser
import Foundation
import StrataIO
import StrataLog
import StrataSearch
import StrataStore

/// Realistic system-log lines (HDFS/Spark/sshd/kernel shapes) from a fixed-seed generator.
struct LogLineGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }

    mutating func pick<T>(_ xs: [T]) -> T { xs[Int(next() % UInt64(xs.count))] }

    static let hosts = ["node-01", "node-02", "node-03", "node-07", "edge-a", "edge-b", "db-main", "cache-3"]
    static let levels = ["INFO", "INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"]

    mutating func ip() -> String { "10.\(next() % 256).\(next() % 256).\(next() % 256)" }

    /// One line (~80–140 bytes) and the host it came from (used as the record key).
    mutating func line(time: Int64) -> (host: String, text: String) {
        let host = pick(Self.hosts)
        let level = pick(Self.levels)
        let secs = time / 1000
        let stamp = "\(secs / 3600 % 24):\(secs / 60 % 60):\(secs % 60).\(time % 1000)"
        let body: String
        switch next() % 6 {
        case 0: body = "dfs.DataNode$PacketResponder: Received block blk_\(Int64(bitPattern: next()) % 10_000_000_000) of size \(next() % 67_108_864) from /\(ip())"
        case 1: body = "sshd[\(next() % 30000)]: Failed password for invalid user \(pick(["admin", "test", "oracle", "guest"])) from \(ip()) port \(next() % 65535) ssh2"
        case 2: body = "spark.executor.Executor: Finished task \(next() % 200).0 in stage \(next() % 50).0 (TID \(next() % 100_000)). \(next() % 4096) bytes result sent to driver"
        case 3: body = "kernel: [\(next() % 100_000).\(next() % 1_000_000)] eth0: link \(pick(["up", "down"])), \(pick(["100Mbps", "1000Mbps", "10Gbps"])), full-duplex"
        case 4: body = "zookeeper.server.NIOServerCnxn: Closed socket connection for client /\(ip()):\(next() % 65535) which had sessionid 0x\(String(next() % 0xFFFF_FFFF_FFFF, radix: 16))"
        default: body = "http: \(pick(["GET", "POST", "PUT"])) /api/v1/\(pick(["users", "orders", "search", "health"]))/\(next() % 100_000) \(pick([200, 200, 200, 201, 404, 500])) \(next() % 900)ms"
        }
        return (host, "\(stamp) \(host) \(level) \(body)")
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The main job: ingest realistic log records into an embedded data directory, read them back, and report throughput.")

    @Option(name: .shortAndLong, help: "The data directory.")
    var dir: String = "strata-data"

    @Option(help: "Records to produce.")
    var records: Int = 1_000_000

    @Option(help: "Codec: none, gzip, lz4.")
    var compression: String = "lz4"

    @Option(help: "Partitions of the demo topic (records are keyed by host).")
    var partitions: Int32 = 4

    @Option(help: "At most this many records of partition 0 to add to its search index per run.")
    var searchRecords: Int = 200_000

    func run() throws {
        try reportingErrors {
            guard let codec = CompressionCodec(name: compression), codec.isSupported else {
                throw StrataError.invalidArgument("unknown compression \(compression); use none, gzip or lz4")
            }
            let topicName = "demo-logs-\(codec)"
            var config = TopicConfig(partitions: partitions)
            config.log.compression = codec
            let store = try LogStore(root: dir)
            let topic = try store.topic(topicName, create: config)
            let starts = topic.partitions.map(\.highWatermark)

            // Generate first so the timing covers only the engine.
            var gen = LogLineGenerator(seed: 2026)
            var batch: [Record] = []
            var all: [[Record]] = []
            let t0Gen = currentTimeMillis()
            var payloadBytes = 0
            for i in 0 ..< records {
                let ts = t0Gen + Int64(i / 10)
                let (host, text) = gen.line(time: ts)
                let r = Record(key: Array(host.utf8), value: Array(text.utf8), timestamp: ts)
                payloadBytes += r.value!.count + r.key!.count
                batch.append(r)
                if batch.count == 10_000 { all.append(batch); batch.removeAll(keepingCapacity: true) }
            }
            if !batch.isEmpty { all.append(batch) }

            let produceStart = DispatchTime.now()
            for chunk in all { try topic.append(chunk) }
            try topic.flush()
            let produceSeconds = seconds(since: produceStart)

            let readStart = DispatchTime.now()
            var read = 0
            var checksum: UInt64 = 0
            for (p, log) in topic.partitions.enumerated() {
                let cursor = try log.cursor(from: .offset(starts[p]))
                while let r = try cursor.next() {
                    read += 1
                    checksum &+= UInt64(r.value?.count ?? 0) &+ UInt64(r.offset)
                }
            }
            let readSeconds = seconds(since: readStart)
            guard read == records else {
                throw StrataError.corrupt(file: dir, position: 0, reason: "read back \(read) records, produced \(records)")
            }

            // Random reads by offset.
            var rng = LogLineGenerator(seed: 7)
            let lookups = 100_000
            let lookupStart = DispatchTime.now()
            let cursors = try topic.partitions.map { try $0.cursor() }
            for _ in 0 ..< lookups {
                let p = Int(rng.next() % UInt64(cursors.count))
                let log = topic.partitions[p]
                let o = starts[p] + Int64(rng.next() % UInt64(max(1, log.highWatermark - starts[p])))
                try cursors[p].seek(to: o)
                guard let r = try cursors[p].next(), r.offset == o else { throw StrataError.corrupt(file: dir, position: o, reason: "lookup of offset \(o) failed") }
            }
            let lookupSeconds = seconds(since: lookupStart)

            // Search: partition 0's on-disk index catches up with the log from the offset its last
            // commit recorded (each record indexed once, across runs and crashes), then queries.
            let indexStart = DispatchTime.now()
            let indexDir = dir + "/index/\(topicName)-0"
            let index = try SearchIndex(directory: indexDir, schema: LogIndexer.schema())
            let indexed = try LogIndexer.catchUp(topic.partitions[0], topic: topicName, partition: 0, index: index, limit: searchRecords)
            let indexSeconds = seconds(since: indexStart)
            let searcher = index.searcher()
            var searchLines: [String] = []
            for q in ["error", "\"failed password\" AND admin", "spark.executor* AND stage", "(sshd OR kernel) -warn", "\"link down\"~1"] {
                let t0 = DispatchTime.now()
                let result: String
                do {
                    let parsed = try QueryParser.parse(q)
                    let hits = try searcher.search(parsed, limit: 10)
                    let total = try searcher.count(parsed)
                    let us = seconds(since: t0) * 1e6
                    result = String(format: "%7d hits, top offset %@, %.0f µs", total, hits.first.flatMap { searcher.integerValue(LogIndexer.offsetField, of: $0) }.map { String($0) } ?? "-", us)
                } catch {
                    result = "error: \(error)"
                }
                searchLines.append("    \(q.padding(toLength: 34, withPad: " ", startingAt: 0)) \(result)")
            }
            let indexedDocs = searcher.documentCount
            let indexSegments = index.segmentCount
            let indexBytes = index.sizeOnDisk()
            index.close()

            let diskBytes = topic.partitions.reduce(0) { $0 + $1.sizeInBytes }
            let segments = topic.partitions.reduce(0) { $0 + $1.segmentCount }
            try store.close()
            print("Strata demo — topic \(topicName) in \(dir)/ (\(partitions) partitions, \(codec), keyed by host)")
            print(String(format: "  produced  %9d records (%.1f MB of payload) in %.2f s: %.2f M records/s, %.0f MB/s",
                         records, Double(payloadBytes) / 1e6, produceSeconds, Double(records) / produceSeconds / 1e6, Double(payloadBytes) / produceSeconds / 1e6))
            print(String(format: "  consumed  %9d records in %.2f s: %.2f M records/s (checksum %llu)",
                         read, readSeconds, Double(read) / readSeconds / 1e6, checksum))
            print(String(format: "  random reads by offset: %d in %.2f s: %.2f µs each",
                         lookups, lookupSeconds, lookupSeconds / Double(lookups) * 1e6))
            print(String(format: "  on disk: %.1f MB in %d segments (all runs so far); inspect with: strata dump %@/topics/%@-0",
                         Double(diskBytes) / 1e6, segments, dir, topicName))
            print(String(format: "  indexed   %9d records of partition 0 (offsets %lld..<%lld) in %.2f s (%.0f k records/s); index %@: %d docs, %d segments, %.1f MB; searches:",
                         indexed.count, indexed.lowerBound, indexed.upperBound, indexSeconds, Double(indexed.count) / max(indexSeconds, 1e-9) / 1e3,
                         indexDir, indexedDocs, indexSegments, Double(indexBytes) / 1e6))
            for line in searchLines { print(line) }
        }
    }
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
