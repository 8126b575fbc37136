import Foundation
@_spi(Internals) import StrataSearch
import StrataIO

/// `--only search-segments`: what many small segments cost a query. The corpus is indexed with a
/// commit every 1/N of it (`--search-segments N`, default 40: what near-real-time refreshes
/// leave), first with merging off, then with the default merge policy, then force-merged to one
/// segment; each index answers every query (top 10 and count, `--search-repeat` times) and the
/// p50/p99 of each type are compared with the merged index's, in the same run.
func benchManySegments() {
    guard let docsPath = options.searchDocs, let queriesPath = options.searchQueries,
          let corpus = FileManager.default.contents(atPath: docsPath) else {
        FileHandle.standardError.write(Data("search-segments: give --search-docs and --search-queries (Benchmarks/corpus); skipped\n".utf8))
        return
    }
    let lines = corpus.split(separator: UInt8(ascii: "\n")).map { Array($0) }
    let queries = loadBenchQueries(queriesPath)
    let types = benchQueryTypes.filter { t in queries.contains { $0.type == t } }
    let schema = try! Schema(fields: [FieldDefinition("body", .text(.alphanumeric), maxTokenLength: 39), FieldDefinition("ts", .i64)], dynamic: .ignore)
    let parts = max(1, options.searchSegments)

    /// Indexes the corpus with `parts` commits under `policy`; returns the directory.
    func build(_ name: String, _ policy: TieredMergePolicy) -> (String, Double) {
        let dir = freshDir("segments-" + name)
        let index = try! SearchIndex(directory: dir, schema: schema, options: .init(mergePolicy: policy))
        let t0 = now()
        let step = (lines.count + parts - 1) / parts
        for (i, l) in lines.enumerated() {
            try! l.withUnsafeBytes { try index.add(json: $0) }
            if (i + 1) % step == 0 || i + 1 == lines.count { try! index.commit() }
        }
        let seconds = Double(now() - t0) / 1e9
        index.close()
        return (dir, seconds)
    }

    /// p50/p99 (µs) per type and mode over every query, `searchRepeat` runs each; and the counts.
    func measure(_ dir: String) -> (segments: Int, figures: [String: [String: (p50: Double, p99: Double)]], counts: [Int]) {
        let index = try! SearchIndex(directory: dir)
        defer { index.close() }
        let searcher = index.searcher()
        let parsed = queries.map { try! QueryParser.parse($0.text) }
        let counts = parsed.map { try! searcher.count($0) }
        for q in parsed { _ = try! searcher.search(q, limit: 10) }
        var out: [String: [String: (p50: Double, p99: Double)]] = [:]
        for t in types {
            var top: [UInt64] = [], cnt: [UInt64] = []
            for (k, q) in queries.enumerated() where q.type == t {
                for _ in 0 ..< options.searchRepeat {
                    var t0 = now()
                    _ = try! searcher.search(parsed[k], limit: 10)
                    top.append(now() - t0)
                    t0 = now()
                    _ = try! searcher.count(parsed[k])
                    cnt.append(now() - t0)
                }
            }
            out[t] = ["top10": (percentileMicros(top, 0.5), percentileMicros(top, 0.99)), "count": (percentileMicros(cnt, 0.5), percentileMicros(cnt, 0.99))]
        }
        return (searcher.segmentCount, out, counts)
    }

    let (unmergedDir, unmergedSeconds) = build("none", TieredMergePolicy(mergeFactor: 1 << 20))
    let (defaultDir, defaultSeconds) = build("default", TieredMergePolicy())
    let merged = freshDir("segments-merged")
    try! FileSystem.createDirectory(merged)
    for name in try! FileSystem.list(unmergedDir) where !name.hasSuffix(".lock") {
        try! FileSystem.writeAtomically(FileSystem.readFile(unmergedDir + "/" + name), to: merged + "/" + name, durable: false)
    }
    do {
        let index = try! SearchIndex(directory: merged)
        try! index.forceMerge(maxSegments: 1)
        try! index.commit()
        index.close()
    }
    let many = measure(unmergedDir), tuned = measure(defaultDir), one = measure(merged)
    precondition(many.counts == one.counts && tuned.counts == one.counts, "hit counts differ between the segment layouts")
    FileHandle.standardError.write(Data(String(format: "search-segments: %d docs in %d commits: no merging %.1f s (%d segments), default policy %.1f s (%d segments), force-merged: %d segment\n",
                                                  lines.count, parts, unmergedSeconds, many.segments, defaultSeconds, tuned.segments, one.segments).utf8))
    print("| query (µs), p50 / p99 | \(many.segments) segments | default policy (\(tuned.segments) segments) | 1 segment | \(many.segments) ÷ 1 | default ÷ 1 |")
    print("|---|---|---|---|---|---|")
    for t in types {
        for mode in ["top10", "count"] {
            guard let a = many.figures[t]?[mode], let b = tuned.figures[t]?[mode], let c = one.figures[t]?[mode] else { continue }
            print(String(format: "| %@ %@ | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.2f×, %.2f× | %.2f×, %.2f× |", t, mode, a.p50, a.p99, b.p50, b.p99, c.p50, c.p99,
                         a.p50 / c.p50, a.p99 / c.p99, b.p50 / c.p50, b.p99 / c.p99))
        }
    }
}
