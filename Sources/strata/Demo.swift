import ArgumentParser
import Foundation
import Strata

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

    /// One record as JSON: host (the key), level, service, message, status and latency.
    mutating func json(time: Int64) -> (host: String, json: String) {
        let (host, text) = line(time: time)
        let parts = text.split(separator: " ", maxSplits: 3).map(String.init)
        let level = parts.count > 2 ? parts[2] : "INFO"
        let message = parts.count > 3 ? parts[3] : text
        let service = String(message.prefix { $0 != ":" && $0 != "[" && $0 != " " })
        return (host, #"{"host":"\#(host)","level":"\#(level)","service":"\#(service)","msg":\#(jsonQuoted(message)),"latency_ms":\#(next() % 900)}"#)
    }

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
        abstract: "The main job: ingest log records through the store into an embedded data directory, then search them across partitions (hits with highlights, counts, an aggregation) and measure append-to-searchable latency.")

    @Option(name: .shortAndLong, help: "The data directory.")
    var dir: String = "strata-data"

    @Option(help: "Generated records to ingest (besides the real loghub lines when ../shared/data is there).")
    var records: Int = 1_000_000

    @Option(help: "Codec: none, gzip, snappy, lz4, zstd.")
    var compression: String = "lz4"

    @Option(help: "Partitions of the demo topic (records are keyed by host).")
    var partitions: Int32 = 4

    @Option(help: "Append-to-searchable probes.")
    var probes: Int = 200

    func run() throws {
        try reportingErrors {
            guard let codec = CompressionCodec(name: compression) else {
                throw StrataError.invalidArgument("unknown compression \(compression); use none, gzip, snappy, lz4 or zstd")
            }
            let topicName = "demo-logs"
            var config = TopicConfig(partitions: partitions)
            config.log.compression = codec
            let store = try Store(directory: dir)
            if let existing = try? store.topic(topicName), existing.config != config {
                throw StrataError.alreadyExists("topic \(topicName) in \(dir) with another configuration; use another --dir or the same options")
            }
            try store.createTopic(topicName, config: config)
            try store.createIndex(topicName, mapping: IndexMapping(fields: [
                FieldDefinition("msg", .text(.standard)), FieldDefinition("host", .keyword), FieldDefinition("level", .keyword),
                FieldDefinition("service", .keyword), FieldDefinition("latency_ms", .i64), FieldDefinition("source", .keyword),
            ]))
            let before = try store.describeTopic(topicName).partitions.reduce(Int64(0)) { $0 + $1.highWatermark }

            // Records: real system-log lines (loghub) when available, then generated JSON lines.
            var batches: [[Record]] = []
            var payload = 0
            let now = currentTimeMillis()
            var real = 0
            let loghub = "../shared/data/loghub"
            if FileSystem.isDirectory(loghub) {
                var batch: [Record] = []
                for file in try FileSystem.list(loghub).sorted() where file.hasSuffix("_2k.log") {
                    let source = String(file.dropLast("_2k.log".count))
                    // Bytes split at LF, CR dropped (some loghub files end lines with CRLF).
                    for raw in try FileSystem.readFile(loghub + "/" + file).split(separator: 0x0A) {
                        let line = String(decoding: raw.last == 0x0D ? raw.dropLast() : raw, as: UTF8.self)
                        if line.isEmpty { continue }
                        let json = #"{"source":"\#(source)","msg":\#(jsonQuoted(line))}"#
                        batch.append(Record(key: Array(source.utf8), value: Array(json.utf8), timestamp: now - 3_600_000 + Int64(real)))
                        payload += json.utf8.count
                        real += 1
                    }
                }
                batches.append(batch)
            }
            var gen = LogLineGenerator(seed: UInt64(2026 + before))
            var batch: [Record] = []
            for i in 0 ..< records {
                let ts = now - Int64(records - i) / 10 // ten records per millisecond, ending now
                let (host, json) = gen.json(time: ts)
                batch.append(Record(key: Array(host.utf8), value: Array(json.utf8), timestamp: ts))
                payload += json.utf8.count
                if batch.count == 10_000 { batches.append(batch); batch.removeAll(keepingCapacity: true) }
            }
            if !batch.isEmpty { batches.append(batch) }
            let total = records + real

            // Ingest: appends return as soon as the log has the records; the index follows them on
            // its own thread (woken by the appends) and refreshes at least every 100 ms.
            let ingestStart = DispatchTime.now()
            for b in batches { try store.append(topicName, b) }
            let appendSeconds = seconds(since: ingestStart)
            try store.refresh(topicName, timeoutMs: 3_600_000)
            let searchableSeconds = seconds(since: ingestStart)

            // Append-to-searchable latency: append one record, poll a search until it is found.
            var latencies: [Double] = []
            var probeGen = LogLineGenerator(seed: 99)
            let runTag = String(UInt32.random(in: 0 ... .max), radix: 36)
            for i in 0 ..< probes {
                let token = "probe\(runTag)x\(i)"
                let (host, json) = probeGen.json(time: currentTimeMillis())
                let value = json.replacingOccurrences(of: #""msg":""#, with: #""msg":"\#(token) "#)
                let t0 = DispatchTime.now()
                try store.append(topicName, Record(key: Array(host.utf8), value: Array(value.utf8)))
                while try store.count(topicName, "msg:\(token)") == 0 { usleep(200) }
                latencies.append(seconds(since: t0) * 1000)
                usleep(UInt32(2000 + i % 7 * 1000)) // a steady trickle, not a burst
            }
            latencies.sort()
            func pct(_ q: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] }

            let status = try store.indexStatus(topicName)
            print("Strata demo — \(dir)/ topic \(topicName) (\(partitions) partitions, \(codec), keyed by host), index \(topicName)")
            print(String(format: "  ingested %d records (%d real loghub lines, %.1f MB) in %.2f s: %.2f M records/s appended; all searchable after %.2f s (%.0f k records/s indexed)",
                         total, real, Double(payload) / 1e6, appendSeconds, Double(total) / appendSeconds / 1e6, searchableSeconds, Double(total) / searchableSeconds / 1e3))
            print(String(format: "  append-to-searchable latency over %d single appends: p50 %.1f ms, p99 %.1f ms, max %.1f ms", latencies.count, pct(0.5), pct(0.99), latencies.last ?? 0))
            print(String(format: "  index: %d documents, %d segments, %.1f MB (log: %.1f MB)", status.documents, status.segments, Double(status.sizeBytes) / 1e6,
                         Double(try store.describeTopic(topicName).partitions.reduce(0) { $0 + $1.sizeBytes }) / 1e6))

            let hl = HighlightOptions(fragmentSize: 90, numberOfFragments: 1, preTag: markStart, postTag: markEnd)
            for (q, range) in [("\"failed password\" AND admin", nil), ("level:ERROR AND (timeout OR refused OR \"link down\")", nil),
                               ("source:HDFS AND \"received block\"", nil), ("spark.executor* AND stage", nil), ("level:ERROR AND \"link down\"", TimeRange.last(milliseconds: 60_000))] as [(String, TimeRange?)] {
                let t0 = DispatchTime.now()
                let r = try store.search(topicName, SearchRequest(query: q, limit: 3, timeRange: range, highlight: hl))
                let us = seconds(since: t0) * 1e6
                print(String(format: "  search %@%@: %d hits in %.0f µs", q, range == nil ? "" : " (last minute)", r.totalHits ?? 0, us))
                for h in r.hits {
                    let raw = try r.withRecord(h) { v in v.value.map { String(decoding: $0, as: UTF8.self) } } ?? nil
                    let text = h.highlights["msg"]?.first ?? raw ?? ""
                    print("      \(h.partition):\(h.offset)  \(String(format: "%.2f", h.score))  \(displayText(keepingEscapes: String(text.prefix(120))))")
                }
            }
            let t0 = DispatchTime.now()
            let aggs = try store.aggregate(topicName, "*", ["level": .terms(field: "level", size: 5), "latency": .stats(field: "latency_ms")])
            print(String(format: "  aggregations over all %d documents in %.1f ms:", status.documents, seconds(since: t0) * 1000))
            for (name, result) in aggs.sorted(by: { $0.key < $1.key }) { printAggregation("    " + name, result) }
            try store.close()
        }
    }
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
