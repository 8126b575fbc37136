// The store's benchmarks (`--only store`): ingest with indexing against log-only appends,
// append-to-searchable latency at a sustained and at the highest sustainable rate, topic-wide
// search over 4 partitions against one index of the same records, and time-range pruning as
// the topic grows. Every ratio is against a baseline measured in the same run.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Strata

private func storeOptions() -> StoreOptions {
    var o = StoreOptions()
    o.logger = .silent
    return o
}

private func percentile(_ xs: [Double], _ q: Double) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * q))]
}

/// Records for the store benchmarks: the 100-byte log lines, keyed by one of 16 hosts, with
/// timestamps one millisecond apart ending now.
private func storeRecords(_ n: Int) -> [Record] {
    let base = currentTimeMillis() - Int64(n)
    let keys = (0 ..< 16).map { Array("host-\($0)".utf8) }
    return makeLines(n).enumerated().map { i, r in Record(key: keys[i % 16], value: r.value, timestamp: base + Int64(i)) }
}

private func appendAll(_ store: Store, _ topic: String, _ records: [Record]) throws {
    var i = 0
    while i < records.count {
        let end = min(i + 10_000, records.count)
        try store.append(topic, Array(records[i ..< end]))
        i = end
    }
}

/// Appends `records` at `ratePerSecond` in small batches for `seconds`, and measures each batch's
/// append-to-searchable time by watching the index's searchable offsets (polled every 0.2 ms).
private func latencyAtRate(_ store: Store, _ topic: String, ratePerSecond: Double, seconds: Double, lines: [Record]) throws -> [Double] {
    let batch = max(1, Int(ratePerSecond / 200)) // 200 appends per second
    let interval = Double(batch) / ratePerSecond
    struct Pending { var partition: Int32; var offset: Int64; var at: UInt64 }
    let state = Lock()
    nonisolated(unsafe) var pending: [Pending] = []
    nonisolated(unsafe) var latencies: [Double] = []
    nonisolated(unsafe) var stop = false
    let watcher = Thread {
        while true {
            let (waiting, done) = state.withLock { (pending, stop) }
            if done && waiting.isEmpty { break }
            if let lag = try? store.indexLag(topic), !waiting.isEmpty {
                let t = now()
                var still: [Pending] = []
                var measured: [Double] = []
                for w in waiting {
                    if lag[Int(w.partition)].searchableOffset > w.offset { measured.append(Double(t - w.at) / 1e6) } else { still.append(w) }
                }
                state.withLock {
                    // Keep entries added meanwhile.
                    let added = pending.count - waiting.count
                    pending = still + pending.suffix(added)
                    latencies += measured
                }
            }
            usleep(200)
        }
    }
    watcher.start()
    let start = now()
    var next = 0.0
    var i = 0
    while Double(now() - start) / 1e9 < seconds {
        let target = start + UInt64(next * 1e9)
        let t = now()
        if t < target { usleep(UInt32((target - t) / 1000)) }
        var records: [Record] = []
        records.reserveCapacity(batch)
        for _ in 0 ..< batch {
            var r = lines[i % lines.count]
            r.timestamp = nil
            records.append(r)
            i += 1
        }
        let ranges = try store.append(topic, records)
        let at = now()
        state.withLock { for r in ranges { pending.append(Pending(partition: r.partition, offset: r.lastOffset, at: at)) } }
        next += interval
    }
    state.withLock { stop = true }
    while state.withLock({ !pending.isEmpty || stop }) && !watcher.isFinished { usleep(1000) }
    return state.withLock { latencies }
}

func benchStore() {
    let n = options.storeRecords
    let lines = storeRecords(n)
    FileHandle.standardError.write(Data("store: \(n) records (100-byte log lines, 4 partitions, lz4)\n".utf8))
    var config = TopicConfig(partitions: 4)
    config.log.compression = .lz4

    // Ingest: log-only appends, then the same with an index following.
    let logOnlyDir = freshDir("store-log-only")
    let logOnly = try! Store(directory: logOnlyDir, options: storeOptions())
    try! logOnly.createTopic("logs", config: config)
    var t0 = now()
    try! appendAll(logOnly, "logs", lines)
    let logOnlyRate = Double(n) / (Double(now() - t0) / 1e9)
    try! logOnly.close()
    try? FileSystem.removeTree(logOnlyDir)

    let dir = freshDir("store-indexed")
    let store = try! Store(directory: dir, options: storeOptions())
    try! store.createTopic("logs", config: config)
    try! store.createIndex("logs")
    t0 = now()
    try! appendAll(store, "logs", lines)
    let appendRate = Double(n) / (Double(now() - t0) / 1e9)
    try! store.refresh("logs", timeoutMs: 3_600_000)
    let searchableRate = Double(n) / (Double(now() - t0) / 1e9)
    report("store ingest, appends with an index following (\(n / 1000) k records)", strata: appendRate / 1e6, baseline: logOnlyRate / 1e6,
           unit: "M rec/s", baselineName: "log-only appends to the same topic")
    report("store ingest, appended and searchable (\(n / 1000) k records)", strata: searchableRate / 1e6, baseline: logOnlyRate / 1e6,
           unit: "M rec/s", baselineName: "log-only appends to the same topic")

    // Topic-wide search over 4 partitions against one plain index of the same records (the
    // store's fields, added in one go, committed), before the latency runs add records.
    let plainDir = freshDir("store-plain-index")
    let schema = try! Schema(fields: [FieldDefinition("_partition", .i64), FieldDefinition("_offset", .i64), FieldDefinition("_timestamp", .timestamp),
                                      FieldDefinition("message", .text(.standard))], dynamic: .strict)
    let plain = try! SearchIndex(directory: plainDir, schema: schema)
    for (i, r) in lines.enumerated() {
        try! plain.add(Document([("_partition", .integer(Int64(i % 4))), ("_offset", .integer(Int64(i / 4))), ("_timestamp", .integer(r.timestamp ?? 0)),
                                 ("message", .string(String(decoding: r.value!, as: UTF8.self)))]))
    }
    try! plain.commit()
    let queries = ["error", "kernel", "sshd AND took", "\"request 1\"", "warn OR debug", "zk.nioservercnxn", "took AND from AND request"]
    var storeSamples: [Double] = [], plainSamples: [Double] = []
    for round in 0 ..< 5 {
        for q in queries {
            let parsed = try! QueryParser.parse(q)
            for k in 0 ..< 20 {
                // Alternate the sides each round and query.
                func runStore() { let t = now(); _ = try! store.search("logs", q, limit: 10); if k > 0 { storeSamples.append(Double(now() - t) / 1e3) } }
                func runPlain() {
                    let t = now()
                    let s = plain.searcher()
                    _ = try! s.search(parsed, limit: 10)
                    _ = try! s.count(parsed)
                    if k > 0 { plainSamples.append(Double(now() - t) / 1e3) }
                }
                if (round + k) % 2 == 0 { runStore(); runPlain() } else { runPlain(); runStore() }
            }
        }
    }
    if let q = ProcessInfo.processInfo.environment["STRATA_BENCH_STORE_QUERY_LOOP"] {
        // Diagnostic: one store query in a loop (for perf / callgrind), then on the plain index.
        var t = now()
        for _ in 0 ..< 500 { _ = try! store.search("logs", q, limit: 10) }
        FileHandle.standardError.write(Data("store query loop \(q): \(Double(now() - t) / 500 / 1e3) µs each\n".utf8))
        let parsed = try! QueryParser.parse(q)
        let storeSearcher = try! store.indexSearcher("logs")
        t = now()
        for _ in 0 ..< 500 { _ = try! storeSearcher.search(parsed, limit: 10) }
        FileHandle.standardError.write(Data("store searcher, no tie-break \(q): \(Double(now() - t) / 500 / 1e3) µs each\n".utf8))
        t = now()
        for _ in 0 ..< 500 { _ = try! storeSearcher.count(parsed) }
        FileHandle.standardError.write(Data("store searcher count \(q): \(Double(now() - t) / 500 / 1e3) µs each\n".utf8))
        t = now()
        let opts = SearchOptions(tieBreak: ["_timestamp", "_partition", "_offset"], tieBreakDescending: false)
        for _ in 0 ..< 500 { _ = try! storeSearcher.search(parsed, limit: 10, options: opts) }
        FileHandle.standardError.write(Data("store searcher, tie-break \(q): \(Double(now() - t) / 500 / 1e3) µs each\n".utf8))
        t = now()
        for _ in 0 ..< 500 { let s = plain.searcher(); _ = try! s.search(parsed, limit: 10); _ = try! s.count(parsed) }
        FileHandle.standardError.write(Data("plain index loop \(q): \(Double(now() - t) / 500 / 1e3) µs each\n".utf8))
    }
    let seg = try! store.indexStatus("logs").segments
    report("topic-wide search p50, 4 partitions (\(seg) segments) vs one index (\(plain.segmentCount))", strata: percentile(storeSamples, 0.5), baseline: percentile(plainSamples, 0.5),
           unit: "µs", baselineName: "the same records in one SearchIndex, top 10 + count", higherIsBetter: false)
    report("topic-wide search p99, 4 partitions vs one index", strata: percentile(storeSamples, 0.99), baseline: percentile(plainSamples, 0.99),
           unit: "µs", baselineName: "the same records in one SearchIndex, top 10 + count", higherIsBetter: false)
    plain.close()
    try? FileSystem.removeTree(plainDir)
    if ProcessInfo.processInfo.environment["STRATA_BENCH_STORE_QUICK"] != nil { try! store.close(); return }

    // Append-to-searchable latency at a quarter, half and three quarters of the bulk indexing
    // rate just measured (appends then compete with indexing for the two cores; above the
    // sustainable rate the lag grows without bound).
    for (label, rate) in [("25% of the bulk rate,", searchableRate * 0.25), ("50% of the bulk rate,", searchableRate * 0.5), ("75% of the bulk rate,", searchableRate * 0.75)] {
        let ms = try! latencyAtRate(store, "logs", ratePerSecond: rate, seconds: 8, lines: lines)
        let p50 = percentile(ms, 0.5), p99 = percentile(ms, 0.99)
        report(String(format: "append-to-searchable p50 at %@ %.0f k rec/s", label, rate / 1000), strata: p50, baseline: 100, unit: "ms",
               baselineName: "the 100 ms target", higherIsBetter: false)
        report(String(format: "append-to-searchable p99 at %@ %.0f k rec/s", label, rate / 1000), strata: p99, baseline: 100, unit: "ms",
               baselineName: "the 100 ms target", higherIsBetter: false)
    }
    try! store.refresh("logs", timeoutMs: 3_600_000)

    try! store.close()
    try? FileSystem.removeTree(dir)

    // Time-range pruning: the last 10 seconds of topics of growing size (one record per
    // millisecond), against the whole topic.
    var sizes = [n / 4, n, 4 * n]
    if options.storeRecords < 100_000 { sizes = [n, 2 * n] }
    var previous: (Double, Double)?
    for size in sizes {
        let d = freshDir("store-range")
        let s = try! Store(directory: d, options: storeOptions())
        try! s.createTopic("logs", config: config)
        try! s.createIndex("logs")
        let records = storeRecords(size)
        try! appendAll(s, "logs", records)
        try! s.refresh("logs", timeoutMs: 3_600_000)
        var last: [Double] = [], all: [Double] = []
        let window = TimeRange(from: records.last!.timestamp! - 10_000)
        for k in 0 ..< 60 {
            var t = now()
            let r = try! s.search("logs", SearchRequest(query: "error", limit: 10, timeRange: window))
            if k > 0 { last.append(Double(now() - t) / 1e3) }
            t = now()
            _ = try! s.search("logs", SearchRequest(query: "error", limit: 10))
            if k > 0 { all.append(Double(now() - t) / 1e3) }
            if k == 0 { FileHandle.standardError.write(Data("  \(size) records: last 10 s holds \(r.totalHits ?? 0) error hits\n".utf8)) }
        }
        let p = (percentile(last, 0.5), percentile(all, 0.5))
        report("last 10 s of a \(size / 1000) k-record topic, \"error\" p50", strata: p.0, baseline: p.1, unit: "µs",
               baselineName: "the same query over the whole topic", higherIsBetter: false)
        if let previous { FileHandle.standardError.write(Data(String(format: "  growth from the previous size: last-10 s ×%.2f, whole topic ×%.2f\n", p.0 / previous.0, p.1 / previous.1).utf8)) }
        previous = p
        try! s.close()
        try? FileSystem.removeTree(d)
    }
}
