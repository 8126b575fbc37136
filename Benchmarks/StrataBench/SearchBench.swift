// Search benchmark: Strata's index beside tantivy (Python binding) and SQLite FTS5
// (Benchmarks/peers/search_peers.py, run in the same process tree, same corpus and queries).
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataIO
import StrataSearch

/// One sbg query: its type, raw text and the words the peers build their queries from.
struct BenchQuery {
    var type: String
    var raw: String
    var words: [String]
    /// `time` queries: the `ts` range, inclusive (milliseconds).
    var tsFrom: Int64 = 0, tsTo: Int64 = 0
    /// The key of this query in the peers' `counts` (a time query's names its range too).
    var key: String { type == "time" ? "time\t\(raw)\t\(tsFrom)\t\(tsTo)" : type + "\t" + raw }

    /// The query in Lucene syntax, as tantivy's parser is given it.
    var text: String {
        switch type {
        case "intersection": return words.map { "+" + $0 }.joined(separator: " ")
        case "phrase": return "\"" + words.joined(separator: " ") + "\""
        case "prefix": return words[0] + "*"
        case "time": return "+" + words[0] + " +ts:[\(tsFrom) TO \(tsTo)]"
        case "mixed": return "+\"" + words[0] + " " + words[1] + "\" +" + words[2]
        default: return words.joined(separator: " ")
        }
    }
}

/// The query types of the search benchmark, in report order.
let benchQueryTypes = ["term", "phrase", "intersection", "union", "prefix", "time", "mixed"]

func loadBenchQueries(_ path: String) -> [BenchQuery] {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    // tantivy's default tokenizer drops tokens of 40 bytes or more (RemoveLongFilter(40)).
    let tokenizer = Analyzer(.alphanumeric, maxTokenLength: 39)
    var out: [BenchQuery] = []
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let raw = obj["query"] as? String, let tags = obj["tags"] as? [String],
              let type = tags.first(where: { benchQueryTypes.contains($0) }) else { continue }
        let words = tokenizer.tokens(raw)
        if words.isEmpty { continue }
        var q = BenchQuery(type: type, raw: raw, words: words)
        if type == "time" {
            guard let a = (obj["ts_from"] as? NSNumber)?.int64Value, let b = (obj["ts_to"] as? NSNumber)?.int64Value else { continue }
            q.tsFrom = a; q.tsTo = b
        }
        out.append(q)
    }
    return out
}

func percentileMicros(_ ns: [UInt64], _ p: Double) -> Double {
    if ns.isEmpty { return .nan }
    let s = ns.sorted()
    return Double(s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]) / 1000
}

func benchSearch() {
    let data = sharedDataDirectory()
    guard data != nil || (options.searchDocs != nil && options.searchQueries != nil) else {
        FileHandle.standardError.write(Data("search: ../shared/data is absent (or give --search-docs and --search-queries); skipped\n".utf8))
        return
    }
    let docsPath = options.searchDocs ?? data! + "/tantivy-benches/wiki.json"
    let queriesPath = options.searchQueries ?? data! + "/sbg-queries/queries.txt"
    let corpusName = URL(fileURLWithPath: docsPath).lastPathComponent
    guard FileManager.default.isReadableFile(atPath: docsPath) else {
        FileHandle.standardError.write(Data("search: cannot read \(docsPath); skipped\n".utf8))
        return
    }
    // Read when an index is built (a kept index is opened without it: profiling runs start fast).
    var linesRead: [[UInt8]]?
    func lines() -> [[UInt8]] {
        if let linesRead { return linesRead }
        let read = (FileManager.default.contents(atPath: docsPath) ?? Data()).split(separator: UInt8(ascii: "\n")).map { Array($0) }
        linesRead = read
        return read
    }
    // `ts` (log corpora): an i64 for time-bounded queries; absent from wiki.json.
    let schema = try! Schema(fields: [FieldDefinition("body", .text(.alphanumeric), maxTokenLength: 39), FieldDefinition("ts", .i64)], dynamic: .ignore)

    // Indexing, JSON parsing included (as for the peers): best of 3 here and one more run in
    // every round below (the peers report their best too). Merges run on the background thread
    // and are waited for, as the peers' timing waits for tantivy's merge threads.
    var best = Double.infinity, size: Int64 = 0, rssGrowth = 0, segmentsAfterCommit = 0
    func indexOnce(_ dir: String) {
        let index = try! SearchIndex(directory: dir, schema: schema, options: .init(backgroundMerges: true))
        let run = timedIndexing(lines(), index)
        let seconds = run.total, growth = run.heapGrowth
        if seconds < best {
            best = seconds
            size = index.sizeOnDisk() + ((try? FileSystem.list(dir)) ?? []).filter { $0.hasPrefix("manifest-") }.reduce(Int64(0)) { $0 + Int64(FileSystem.fileSize(dir + "/" + $1) ?? 0) }
            rssGrowth = growth
            segmentsAfterCommit = index.segmentCount
        }
        index.close()
    }
    var dir = ""
    if let kept = options.searchIndex, ((try? FileSystem.list(kept)) ?? []).contains(where: { $0.hasPrefix("manifest-") }) {
        // A kept index (`--search-index`): opened, not rebuilt (profiling the queries alone).
        dir = kept
    } else if let kept = options.searchIndex {
        try! FileSystem.createDirectory(kept)
        dir = kept
        indexOnce(dir)
    } else {
        for run in 0 ..< max(1, options.searchIndexRuns) {
            dir = freshDir("search-\(run)")
            indexOnce(dir)
        }
    }
    // Open time of the committed index: open, a searcher, a first count (best of 5).
    var openBest = Double.infinity
    for _ in 0 ..< 5 {
        let t0 = now()
        let opened = try! SearchIndex(directory: dir)
        _ = try! opened.searcher().count(QueryParser.parse("zzqxjvnohit"))
        openBest = min(openBest, Double(now() - t0) / 1e6)
        opened.close()
    }
    let index = try! SearchIndex(directory: dir)
    let searcher = index.searcher()
    let queries = loadBenchQueries(queriesPath)
    let presentTypes = benchQueryTypes.filter { t in queries.contains { $0.type == t } }
    let repeatCount = options.searchRepeat

    if let loop = ProcessInfo.processInfo.environment["STRATA_BENCH_QUERY_LOOP"] {
        // Diagnostic (callgrind): one query in a loop, nothing else timed. `type:` and
        // `counttype:` make STRATA_BENCH_QUERY_PASSES passes (default 20) over a type's queries.
        let passes = Int(ProcessInfo.processInfo.environment["STRATA_BENCH_QUERY_PASSES"] ?? "") ?? 20
        if loop.hasPrefix("type:") {
            let texts = queries.filter { $0.type == loop.dropFirst(5) }.map(\.text)
            var sink = 0
            for _ in 0 ..< passes { for t in texts { sink &+= profileOne(searcher, t) } }
            FileHandle.standardError.write(Data("loop: \(sink)\n".utf8))
        } else if loop.hasPrefix("counttype:") {
            let texts = queries.filter { $0.type == loop.dropFirst(10) }.map(\.text)
            var sink = 0
            for _ in 0 ..< passes { for t in texts { sink &+= profileCount(searcher, t) } }
            FileHandle.standardError.write(Data("loop: \(sink)\n".utf8))
        } else if loop.hasPrefix("each:") {
            // Every query of a type: median µs of 5 top-10 searches and of 5 counts, and the count.
            for t in queries.filter({ $0.type == loop.dropFirst(5) }).map(\.text) {
                let q = try! QueryParser.parse(t)
                var top: [UInt64] = [], cnt: [UInt64] = [], n = 0
                for _ in 0 ..< 5 {
                    var t0 = now(); _ = try! searcher.search(q, limit: 10); top.append(now() - t0)
                    t0 = now(); n = try! searcher.count(q); cnt.append(now() - t0)
                }
                print(String(format: "%10.1f %10.1f %9d  %@", percentileMicros(top, 0.5), percentileMicros(cnt, 0.5), n, t))
            }
        } else if loop.hasPrefix("count:") {
            profileCountLoop(searcher, String(loop.dropFirst(6)))
        } else if loop.hasPrefix("dist:") {
            var ts: [UInt64] = []
            // 2,000 top-10 searches of one query (STRATA_BENCH_QUERY_PASSES sets another number).
            let runs = ProcessInfo.processInfo.environment["STRATA_BENCH_QUERY_PASSES"].flatMap { Int($0) } ?? 2000
            for _ in 0 ..< runs { let t0 = now(); _ = try! searcher.search(QueryParser.parse(String(loop.dropFirst(5))), limit: 10); ts.append(now() - t0) }
            FileHandle.standardError.write(Data("dist: p50 \(percentileMicros(ts, 0.5)) p90 \(percentileMicros(ts, 0.9)) p99 \(percentileMicros(ts, 0.99)) max \(percentileMicros(ts, 1))\n".utf8))
        } else {
            profileQueryLoop(searcher, loop)
        }
        return
    }
    // Warm-up (untimed, like the peers': every query counted and searched once), then counts.
    var counts: [String: Int] = [:]
    for q in queries {
        counts[q.key] = try! searcher.count(QueryParser.parse(q.text))
        _ = try! searcher.search(QueryParser.parse(q.text), limit: 10)
    }
    /// One round of Strata's timed queries of one type: every query `repeatCount` times per
    /// mode, each followed by as many runs of the no-hit floor query (modes "floor-top10" and
    /// "floor-count"), timed in the same seconds as the peers' floors are. Samples go to arrays
    /// reserved up front, so nothing between two timed calls allocates or frees large buffers
    /// (which showed up as a slow 1% of the next calls).
    func timeQueries(_ only: String) -> [String: [String: [UInt64]]] {
        let queries = queries.filter { $0.type == only }
        let floorQuery = "zzqxjvnohit"
        var top: [UInt64] = [], cnt: [UInt64] = [], floorTop: [UInt64] = [], floorCount: [UInt64] = []
        let n = queries.count * repeatCount
        top.reserveCapacity(n); cnt.reserveCapacity(n); floorTop.reserveCapacity(n); floorCount.reserveCapacity(n)
        for q in queries {
            let expected = min(10, counts[q.key]!)
            for _ in 0 ..< repeatCount {
                var t0 = now()
                let hits = try! searcher.search(QueryParser.parse(q.text), limit: 10)
                top.append(now() - t0)
                precondition(hits.count == expected, "\(q.text): top 10 holds \(hits.count) hits, count says \(counts[q.key]!)")
                t0 = now()
                _ = try! searcher.count(QueryParser.parse(q.text))
                cnt.append(now() - t0)
            }
            for _ in 0 ..< repeatCount {
                var t0 = now()
                _ = try! searcher.search(QueryParser.parse(floorQuery), limit: 10)
                floorTop.append(now() - t0)
                t0 = now()
                _ = try! searcher.count(QueryParser.parse(floorQuery))
                floorCount.append(now() - t0)
            }
        }
        let samples: [String: [String: [UInt64]]] = [only: ["top10": top, "count": cnt, "floor-top10": floorTop, "floor-count": floorCount]]
        return samples
    }
    if ProcessInfo.processInfo.environment["STRATA_BENCH_SLOWEST"] != nil {
        // Diagnostic: the slowest queries of each type (median of 5 runs, top 10).
        var timed: [(String, String, UInt64)] = []
        for q in queries {
            var ts: [UInt64] = []
            for _ in 0 ..< 5 { let t0 = now(); _ = try! searcher.search(QueryParser.parse(q.text), limit: 10); ts.append(now() - t0) }
            timed.append((q.type, q.text, ts.sorted()[2]))
        }
        for (type, text, ns) in timed.sorted(by: { $0.2 > $1.2 }).filter({ ProcessInfo.processInfo.environment["STRATA_BENCH_SLOWEST"] == "all" || $0.0 == ProcessInfo.processInfo.environment["STRATA_BENCH_SLOWEST"] }).prefix(12) {
            FileHandle.standardError.write(Data("slow: \(type) \(text) \(Double(ns) / 1000) µs, \(counts[type + "\t" + (queries.first { $0.text == text }?.raw ?? "")] ?? -1) hits\n".utf8))
        }
    }

    // Rounds alternate Strata and the peers query type by query type (Strata times a type, then
    // the peers time the same type), so a slow spell of the machine lands on both engines' figures
    // for it; each engine's p50 / p99 is the best (lowest) of its rounds' figures.
    var strataRounds: [[String: [String: [UInt64]]]] = []
    var peerRounds: [[String: Any]] = []
    for round in 0 ..< max(1, options.searchRounds) {
        var mine: [String: [String: [UInt64]]] = [:]
        var theirs: [[String: Any]] = []
        for type in presentTypes {
            // Untimed pass first, as each peer run warms up in its own process.
            for q in queries where q.type == type { _ = try! searcher.search(QueryParser.parse(q.text), limit: 10) }
            mine.merge(timeQueries(type)) { a, _ in a }
            if options.peers, let p = runPeers(docsPath, queriesPath, repeatCount, types: [type]) { theirs.append(p) }
        }
        strataRounds.append(mine)
        if !theirs.isEmpty { peerRounds.append(combinePeerTypeRuns(theirs)) }
        if options.searchIndexRuns > 1 { indexOnce(freshDir("search-round")) }
        let figures = SearchLatency(rounds: [mine]).figures
        FileHandle.standardError.write(Data(("search: round \(round + 1): " + presentTypes.map { t in
            String(format: "%@ top10 p50 %.2f p99 %.2f", t, figures[t]?["top10"]?.p50 ?? .nan, figures[t]?["top10"]?.p99 ?? .nan)
        }.joined(separator: "; ") + "\n").utf8))
    }
    let latency = SearchLatency(rounds: strataRounds)
    let peers = peerRounds.isEmpty ? nil : mergePeerRounds(peerRounds)
    var floor: [UInt64] = []
    for _ in 0 ..< max(1000, 50 * repeatCount) {
        let t0 = now()
        _ = try! searcher.search(QueryParser.parse("zzqxjvnohit"), limit: 10)
        floor.append(now() - t0)
    }
    index.close()
    let docCount = linesRead?.count ?? 0, corpusBytes = linesRead?.reduce(0) { $0 + $1.count + 1 } ?? 0
    let docsPerSecond = Double(docCount) / best
    FileHandle.standardError.write(Data(String(format: "search: indexed %d docs in %.4f s (%.0f docs/s, %.1f MB/s), %lld bytes, %d segments, RSS growth %.0f MiB; open %.2f ms; floor p50 %.2f µs\n",
                                                  docCount, best, docsPerSecond, Double(corpusBytes) / 1e6 / best, size, segmentsAfterCommit,
                                                  Double(rssGrowth) / 1048576, openBest, percentileMicros(floor, 0.5)).utf8))
    printSearchSummary(latency, peers, docsPerSecond: docsPerSecond, size: size, types: presentTypes)
    let tantivyIndex = (peers?["tantivy"] as? [String: Any])?["index"] as? [String: Any]
    report("open the committed index (\(corpusName))", strata: openBest, baseline: (tantivyIndex?["open_seconds"] as? Double).map { $0 * 1000 } ?? .nan,
           unit: "ms", baselineName: "tantivy", higherIsBetter: false)
    report("indexing RSS growth (\(corpusName))", strata: Double(rssGrowth) / 1048576,
           baseline: ((tantivyIndex?["rss_growth_bytes"] as? NSNumber)?.doubleValue).map { $0 / 1048576 } ?? .nan,
           unit: "MiB", baselineName: "tantivy 1 thread", higherIsBetter: false)
    for peer in ["tantivy", "fts5"] {
        guard let p = peers?[peer] as? [String: Any], let idx = p["index"] as? [String: Any] else { continue }
        let peerRate = idx["docs_per_s"] as? Double ?? .nan
        report("index \(corpusName) vs \(peer) (docs/s)", strata: docsPerSecond, baseline: peerRate, unit: "docs/s", baselineName: "\(peer) 1 thread")
        if let all = p["index_default_threads"] as? [String: Any], let rate = all["docs_per_s"] as? Double {
            report("index \(corpusName) vs \(peer) default threads (docs/s)", strata: docsPerSecond, baseline: rate, unit: "docs/s",
                   baselineName: "\(peer) \((all["writer_threads_expected"] as? Int).map(String.init) ?? "default") threads")
        }
        let peerSize = Double((idx["size_bytes_without_content"] as? Int) ?? (idx["size_bytes"] as? Int) ?? 0)
        report("index size vs \(peer)", strata: Double(size) / 1e3, baseline: peerSize / 1e3, unit: "kB", baselineName: peer, higherIsBetter: false)
        let floorPeer = ((p["floor_us"] as? [String: Any])?["p50"] as? Double) ?? 0
        if let peerCounts = p["counts"] as? [String: Int] {
            let differ = queries.filter { peerCounts[$0.key] != nil && peerCounts[$0.key] != counts[$0.key] }
            FileHandle.standardError.write(Data("search: hit counts differ from \(peer) on \(differ.count) of \(queries.count) queries\(differ.prefix(3).map { " [\($0.raw): \(counts[$0.key]!) vs \(peerCounts[$0.key]!)]" }.joined())\n".utf8))
        }
        let lat = p["latency"] as? [String: [String: [String: Any]]] ?? [:]
        for type in presentTypes {
            for mode in ["top10", "count"] {
                guard let s = latency.figures[type]?[mode], let l = lat[type]?[mode], let p50 = l["p50_us"] as? Double, let p99 = l["p99_us"] as? Double else { continue }
                report("\(type) \(mode) p50 vs \(peer)", strata: s.p50, baseline: p50, unit: "µs", baselineName: "\(peer) (floor \(String(format: "%.1f", floorPeer)) µs incl.)", higherIsBetter: false)
                report("\(type) \(mode) p99 vs \(peer)", strata: s.p99, baseline: p99, unit: "µs", baselineName: peer, higherIsBetter: false)
                if peer == "tantivy", let m50 = l["p50_minus_floor_us"] as? Double, let m99 = l["p99_minus_floor_us"] as? Double {
                    report("\(type) \(mode) p50 vs tantivy − floor", strata: s.p50, baseline: m50, unit: "µs", baselineName: "tantivy minus its Python floor", higherIsBetter: false)
                    report("\(type) \(mode) p99 vs tantivy − floor", strata: s.p99, baseline: m99, unit: "µs", baselineName: "tantivy minus its Python floor", higherIsBetter: false)
                }
            }
        }
    }
}

/// Runs Benchmarks/peers/search_peers.py; nil (with a message) when Python or tantivy is absent.
func runPeers(_ docs: String, _ queries: String, _ repeatCount: Int, types: [String]) -> [String: Any]? {
    let script = packageDirectory() + "/Benchmarks/peers/search_peers.py"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script, "--docs", docs, "--queries", queries, "--repeat", String(repeatCount), "--workdir", options.dir + "/peers",
                   "--types", types.joined(separator: ","), "--index-runs", "1", "--engines", options.searchEngines]
        + (options.tantivyThreadsBoth ? ["--tantivy-threads-both"] : [])
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch {
        FileHandle.standardError.write(Data("search: cannot run the peers (\(error)); install with pip install -r Benchmarks/peers/requirements.txt\n".utf8))
        return nil
    }
    let bytes = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard let obj = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] else { return nil }
    if let why = obj["skipped"] { FileHandle.standardError.write(Data("search: peers skipped: \(why)\n".utf8)); return nil }
    return obj["engines"] as? [String: Any]
}

/// The package root (this file is Benchmarks/StrataBench/SearchBench.swift).
func packageDirectory() -> String {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}

/// `../shared/data` beside the package, or nil.
func sharedDataDirectory() -> String? {
    let p = FileSystem.parent(of: packageDirectory()) + "/shared/data"
    return FileSystem.isDirectory(p) ? p : nil
}

@inline(never)
func profileQueryLoop(_ searcher: IndexSearcher, _ text: String) {
    var sink = 0
    for _ in 0 ..< 20000 { sink &+= try! searcher.search(QueryParser.parse(text), limit: 10).count }
    FileHandle.standardError.write(Data("loop: \(sink)\n".utf8))
}

@inline(never)
func profileCountLoop(_ searcher: IndexSearcher, _ text: String) {
    var sink = 0
    for _ in 0 ..< 2000 { sink &+= try! searcher.count(QueryParser.parse(text)) }
    FileHandle.standardError.write(Data("count loop: \(sink)\n".utf8))
}

@inline(never)
func profileCount(_ searcher: IndexSearcher, _ text: String) -> Int {
    try! searcher.count(QueryParser.parse(text))
}

@inline(never)
func profileOne(_ searcher: IndexSearcher, _ text: String) -> Int {
    try! searcher.search(QueryParser.parse(text), limit: 10).count
}

/// Anonymous (heap) resident bytes now: /proc/self/statm resident − shared pages (the shared
/// part is file-backed: mmap'd segments and the page cache, which the kernel can drop).
func anonymousRSS() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let f = text.split(separator: " ").compactMap { Int($0) }
    return f.count >= 3 ? (f[1] - f[2]) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Samples `anonymousRSS()` every 5 ms on a background thread, keeping the peak.
final class AnonymousPeak: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private var thread: Thread?

    func start() {
        thread = Thread { [self] in
            while lock.withLock({ running }) {
                let now = anonymousRSS()
                lock.withLock { peak = max(peak, now) }
                usleep(5000)
            }
        }
        thread!.start()
    }

    func stop() -> Int {
        lock.withLock { running = false }
        usleep(20000)
        return lock.withLock { max(peak, anonymousRSS()) }
    }
}

/// Peak resident memory of this process in bytes (getrusage).
func peakRSS() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return u.ru_maxrss * 1024
}

/// Indexing memory: wiki.json repeated to ~`options.memoryCorpusMB` MB through one writer with
/// the default 64 MiB buffer; reports the peak RSS growth over the process before indexing.
/// Run alone (`--only search-memory`) so the peak is this work's.
func benchSearchMemory() {
    guard let data = sharedDataDirectory(), let corpus = FileManager.default.contents(atPath: data + "/tantivy-benches/wiki.json") else {
        FileHandle.standardError.write(Data("search-memory: ../shared/data is absent; skipped\n".utf8))
        return
    }
    let lines = corpus.split(separator: UInt8(ascii: "\n")).map { Array($0) }
    let dir = freshDir("search-memory")
    let schema = try! Schema(fields: [FieldDefinition("body", .text(.alphanumeric), maxTokenLength: 39)], dynamic: .ignore)
    let index = try! SearchIndex(directory: dir, schema: schema)
    let before = peakRSS()
    let anonymousBefore = anonymousRSS()
    let sampler = AnonymousPeak()
    sampler.start()
    let rounds = max(1, options.memoryCorpusMB * 1_000_000 / corpus.count)
    let t0 = now()
    for _ in 0 ..< rounds { for l in lines { try! l.withUnsafeBytes { try index.add(json: $0) } } }
    try! index.commit()
    let seconds = Double(now() - t0) / 1e9
    let growth = peakRSS() - before
    let anonymousGrowth = sampler.stop() - anonymousBefore
    let mb = Double(rounds * corpus.count) / 1e6
    FileHandle.standardError.write(Data(String(format: "search-memory: %d docs (%.0f MB) in %.1f s (%.0f docs/s, %.1f MB/s), %d segments, %.0f MB on disk; peak heap (anonymous RSS) growth %.1f MiB, peak RSS growth incl. mapped files %.1f MiB (buffer %d MiB)\n",
                                               rounds * lines.count, mb, seconds, Double(rounds * lines.count) / seconds, mb / seconds, index.segmentCount,
                                               Double(index.sizeOnDisk()) / 1e6, Double(anonymousGrowth) / 1048576, Double(growth) / 1048576, index.options.bufferBytes >> 20).utf8))
    report("indexing heap, \(Int(mb)) MB of wiki.json", strata: Double(anonymousGrowth) / 1048576, baseline: Double(index.options.bufferBytes >> 20) + 64,
           unit: "MiB", baselineName: "target: buffer + 64 MiB", higherIsBetter: false)
    index.close()
}

/// One Markdown table of the search run (the README's): per query type and mode, Strata's
/// p50 / p99 beside tantivy's (raw and minus its Python floor) and FTS5's, with ratios.
func printSearchSummary(_ latency: SearchLatency, _ peers: [String: Any]?, docsPerSecond: Double, size: Int64, types: [String]) {
    func peer(_ name: String, _ type: String, _ mode: String, _ key: String) -> Double? {
        (((peers?[name] as? [String: Any])?["latency"] as? [String: [String: [String: Any]]])?[type]?[mode]?[key]) as? Double
    }
    func f(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "–" }
    func ratio(_ peerValue: Double?, _ mine: Double) -> String { peerValue.map { String(format: "%.1f×", $0 / mine) } ?? "–" }
    var out = "\n| query (µs) | Strata p50 / p99 | tantivy p50 / p99 | tantivy − floor p50 / p99 | FTS5 p50 / p99 | vs tantivy − floor (p50, p99) | vs FTS5 (p50, p99) | both − own floor, p50 |\n|---|---|---|---|---|---|---|---|\n"
    for type in types {
        for mode in ["top10", "count"] {
            guard let s = latency.figures[type]?[mode] else { continue }
            let p50 = s.p50, p99 = s.p99
            out += "| \(type) \(mode) | \(f(p50)) / \(f(p99)) | \(f(peer("tantivy", type, mode, "p50_us"))) / \(f(peer("tantivy", type, mode, "p99_us"))) | "
            out += "\(f(peer("tantivy", type, mode, "p50_minus_floor_us"))) / \(f(peer("tantivy", type, mode, "p99_minus_floor_us"))) | "
            out += "\(f(peer("fts5", type, mode, "p50_us"))) / \(f(peer("fts5", type, mode, "p99_us"))) | "
            out += "\(ratio(peer("tantivy", type, mode, "p50_minus_floor_us"), p50)), \(ratio(peer("tantivy", type, mode, "p99_minus_floor_us"), p99)) | "
            let ownFloor = latency.figures[type]?["floor-" + mode]?.p50 ?? .nan
            out += "\(ratio(peer("fts5", type, mode, "p50_us"), p50)), \(ratio(peer("fts5", type, mode, "p99_us"), p99)) | "
            out += "\(f(p50 - ownFloor)) vs \(f(peer("tantivy", type, mode, "p50_minus_floor_us"))): \(ratio(peer("tantivy", type, mode, "p50_minus_floor_us"), p50 - ownFloor)) |\n"
        }
    }
    print(out)
}

/// Strata's latency per query type and mode: the best (lowest) over rounds of each round's p50
/// and p99 (µs) — the peers' figures are taken the same way.
struct SearchLatency {
    var figures: [String: [String: (p50: Double, p99: Double)]] = [:]

    init(rounds: [[String: [String: [UInt64]]]]) {
        guard let first = rounds.first else { return }
        for (type, modes) in first {
            for mode in modes.keys {
                let per = rounds.compactMap { $0[type]?[mode] }
                figures[type, default: [:]][mode] = (best(per.map { percentileMicros($0, 0.5) }), best(per.map { percentileMicros($0, 0.99) }))
            }
        }
    }
}

/// The lowest value (NaN when there is none): the best round, least disturbed by the machine.
func best(_ values: [Double]) -> Double {
    values.filter { !$0.isNaN }.min() ?? .nan
}

func median(_ values: [Double]) -> Double {
    let s = values.filter { !$0.isNaN }.sorted()
    if s.isEmpty { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The peers' runs of one round (one query type each) as one report: each type's latency from
/// the run that timed it, hit counts from all, the best indexing run, the median floor.
func combinePeerTypeRuns(_ runs: [[String: Any]]) -> [String: Any] {
    guard var combined = runs.first else { return [:] }
    for (engine, value) in combined {
        guard var e = value as? [String: Any] else { continue }
        let all = runs.compactMap { $0[engine] as? [String: Any] }
        var lat = e["latency"] as? [String: [String: [String: Any]]] ?? [:]
        for run in all {
            for (type, modes) in run["latency"] as? [String: [String: [String: Any]]] ?? [:] where modes["top10"]?["p50_us"] is Double {
                lat[type] = modes
            }
        }
        e["latency"] = lat
        var counts: [String: Int] = [:]
        for run in all { counts.merge(run["counts"] as? [String: Int] ?? [:]) { a, _ in a } }
        e["counts"] = counts
        mergeFloorAndIndexing(&e, all)
        combined[engine] = e
    }
    return combined
}

/// One engine's report from several: the median floor and the best indexing throughput.
func mergeFloorAndIndexing(_ e: inout [String: Any], _ all: [[String: Any]]) {
    if var floor = e["floor_us"] as? [String: Any] {
        for key in ["p50", "p99"] {
            let vs = all.compactMap { ($0["floor_us"] as? [String: Any])?[key] as? Double }
            if !vs.isEmpty { floor[key] = median(vs) }
        }
        e["floor_us"] = floor
    }
    for key in ["index", "index_default_threads"] {
        if var idx = e[key] as? [String: Any] {
            if let rate = all.compactMap({ ($0[key] as? [String: Any])?["docs_per_s"] as? Double }).max() { idx["docs_per_s"] = rate }
            e[key] = idx
        }
    }
}

/// The peers' reports of several rounds as one: every latency figure is the best (lowest) of
/// the rounds', as for Strata; the floor the median; indexing throughput the best round's;
/// everything else from the first round.
func mergePeerRounds(_ rounds: [[String: Any]]) -> [String: Any] {
    guard var merged = rounds.first, rounds.count > 1 else { return rounds.first ?? [:] }
    for (engine, value) in merged {
        guard var e = value as? [String: Any] else { continue }
        let all = rounds.compactMap { $0[engine] as? [String: Any] }
        if var lat = e["latency"] as? [String: [String: [String: Any]]] {
            for (type, modes) in lat {
                for (mode, fields) in modes {
                    var f = fields
                    for key in ["p50_us", "p99_us", "p50_minus_floor_us", "p99_minus_floor_us"] {
                        let vs = all.compactMap { (($0["latency"] as? [String: [String: [String: Any]]])?[type]?[mode]?[key]) as? Double }
                        if !vs.isEmpty { f[key] = best(vs) }
                    }
                    lat[type]?[mode] = f
                }
            }
            e["latency"] = lat
        }
        mergeFloorAndIndexing(&e, all)
        merged[engine] = e
    }
    return merged
}

/// One timed indexing of `lines` (JSON) into `index`: seconds adding, in the first commit, and
/// waiting for background merges plus the commit of their result (none without
/// `backgroundMerges`), their total, and the peak heap growth.
func timedIndexing(_ lines: [[UInt8]], _ index: SearchIndex) -> (adding: Double, commit: Double, waiting: Double, total: Double, heapGrowth: Int) {
    let before = anonymousRSS()
    let peak = AnonymousPeak()
    peak.start()
    let t0 = now()
    for l in lines { try! l.withUnsafeBytes { try index.add(json: $0) } }
    let t1 = now()
    try! index.commit()
    let t2 = now()
    if index.options.backgroundMerges {
        index.waitForMerges()
        try! index.commit()
    }
    let t3 = now()
    let growth = peak.stop() - before
    return (Double(t1 - t0) / 1e9, Double(t2 - t1) / 1e9, Double(t3 - t2) / 1e9, Double(t3 - t0) / 1e9, growth)
}

/// Indexing alone (`--only search-indexing`), the corpus of `--search-docs` (default
/// wiki.json) through one writer with the default 64 MiB buffer, in two modes: merges run by
/// `commit()` on the indexing thread (the default options), and merges on the background
/// thread while documents are added (`Options.backgroundMerges`), timed until `commit()`,
/// `waitForMerges()` and the commit of the merged segments return — what the peers' timing
/// includes (tantivy's `commit` + `wait_merging_threads`). Best of `--search-index-runs`.
func benchSearchIndexing() {
    guard let docsPath = options.searchDocs ?? sharedDataDirectory().map({ $0 + "/tantivy-benches/wiki.json" }),
          let corpus = FileManager.default.contents(atPath: docsPath) else {
        FileHandle.standardError.write(Data("search-indexing: no corpus (give --search-docs, or ../shared/data); skipped\n".utf8))
        return
    }
    let lines = corpus.split(separator: UInt8(ascii: "\n")).map { Array($0) }
    let schema = try! Schema(fields: [FieldDefinition("body", .text(.alphanumeric), maxTokenLength: 39), FieldDefinition("ts", .i64)], dynamic: .ignore)
    var rates: [Double] = []
    for background in [false, true] {
        var best = (total: Double.infinity, add: 0.0, commit: 0.0, wait: 0.0, rss: 0, segments: 0, size: Int64(0))
        for run in 0 ..< max(1, options.searchIndexRuns) {
            let dir = freshDir("search-indexing-\(run)")
            let index = try! SearchIndex(directory: dir, schema: schema, options: .init(backgroundMerges: background))
            let r = timedIndexing(lines, index)
            if r.total < best.total {
                best = (r.total, r.adding, r.commit, r.waiting, r.heapGrowth, index.segmentCount, index.sizeOnDisk())
            }
            index.close()
        }
        let mode = background ? "background merges" : "merges in commit"
        FileHandle.standardError.write(Data(String(format: "search-indexing (%@, %@): %d docs in %.2f s (%.0f docs/s, %.1f MB/s): adding %.2f s, commit %.2f s, waiting for merges %.2f s; %d segments, %.1f MB; peak heap growth %.0f MiB\n",
                                                   mode, URL(fileURLWithPath: docsPath).lastPathComponent, lines.count, best.total, Double(lines.count) / best.total,
                                                   Double(corpus.count) / 1e6 / best.total, best.add, best.commit, best.wait, best.segments, Double(best.size) / 1e6,
                                                   Double(best.rss) / 1048576).utf8))
        rates.append(Double(lines.count) / best.total)
    }
    report("indexing docs/s, background merges", strata: rates[1], baseline: rates[0], unit: "docs/s", baselineName: "merges in commit", higherIsBetter: true)
}
