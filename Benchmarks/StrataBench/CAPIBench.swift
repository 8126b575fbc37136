import Foundation
import Strata
import StrataIO
import StrataLog

/// `--only capi`: the same work through the C API (Benchmarks/c/capi_bench.c, a C program
/// linked against libstrata.so, run as a child process) and through the Swift API (here), in
/// alternating rounds of the same run; each side's best round is reported, C as a ratio of
/// Swift. Build the C side with `scripts/bench-c.sh`, which then runs this.
func benchCAPI() {
    let n = options.capiRecords
    let binary = options.capiBinary
    guard FileSystem.exists(binary) else {
        FileHandle.standardError.write(Data("capi: \(binary) not found; run scripts/bench-c.sh (it builds the C side, then runs this)\n".utf8))
        return
    }
    let values = capiValues(n)
    var swift = CAPIRound(append: .infinity, scan: .infinity, queries: Array(repeating: .infinity, count: capiQueries.count))
    var c = swift
    for round in 0 ..< options.capiRounds {
        // Alternate which side runs first, so neither always follows the other's writeback.
        for side in (round % 2 == 0 ? [0, 1] : [1, 0]) {
            let dir = freshDir("capi-\(side)")
            let r = side == 0 ? capiSwiftRound(dir: dir, values: values) : capiCRound(binary: binary, dir: dir, records: n)
            if side == 0 { swift.keepBest(r) } else { c.keepBest(r) }
            try? FileSystem.removeTree(dir)
            sync()
        }
    }
    let k = Double(n) / 1e6
    report("C API append, 1,000-record batches (\(n / 1000) k records)", strata: k / c.append, baseline: k / swift.append,
           unit: "M rec/s", baselineName: "Swift Store.append, same records")
    report("C API cursor scan, every record (\(n / 1000) k records)", strata: k / c.scan, baseline: k / swift.scan,
           unit: "M rec/s", baselineName: "Swift Store.cursor, same log")
    for (i, q) in capiQueries.enumerated() {
        report("C API search `\(q)` top 10 + count, p50", strata: c.queries[i], baseline: swift.queries[i],
               unit: "µs", baselineName: "Swift Store.search, same index", higherIsBetter: false)
    }
}

/// Must match `queries` in Benchmarks/c/capi_bench.c.
let capiQueries = ["error", "svc3 AND debug", "\"svc2 error\"", "u42", "svc1 OR svc2"]

struct CAPIRound: Decodable {
    var append: Double
    var scan: Double
    var queries: [Double]

    enum CodingKeys: String, CodingKey { case append = "append_s", scan = "scan_s", queries = "query_p50_us" }

    init(append: Double, scan: Double, queries: [Double]) {
        self.append = append
        self.scan = scan
        self.queries = queries
    }

    mutating func keepBest(_ r: CAPIRound) {
        append = min(append, r.append)
        scan = min(scan, r.scan)
        for i in queries.indices where i < r.queries.count { queries[i] = min(queries[i], r.queries[i]) }
    }
}

/// The generator of capi_bench.c, value for value.
func capiValues(_ n: Int) -> [[UInt8]] {
    let levels = ["info", "warn", "error", "debug"]
    return (0 ..< n).map { i in
        let padded = String(i).count < 6 ? String(repeating: "0", count: 6 - String(i).count) + String(i) : String(i)
        let s = "\(padded) svc\(i % 16) \(levels[i % 4]) request for user u\(i * 7919 % 10000) took \(i * 31 % 1000) ms path /api/v\(i % 3)/items/\(i * 104729 % 100000)"
        return Array(s.utf8.prefix(127))
    }
}

func capiSwiftRound(dir: String, values: [[UInt8]], scanOnly: Bool = false) -> CAPIRound {
    let store = try! Store(directory: dir)
    try! store.createTopic("bench")
    var t0 = now()
    var i = 0
    while i < values.count {
        let end = min(i + 1000, values.count)
        try! store.append("bench", values[i ..< end].map { Record(value: $0) }, partition: 0)
        i = end
    }
    let append = Double(now() - t0) / 1e9
    let cursor = try! store.cursor(topic: "bench", partition: 0, from: .position(.earliest))
    t0 = now()
    var count = 0, bytes = 0
    while let r = try! cursor.next() {
        count += 1
        if let v = r.value { bytes += v.count + (v.isEmpty ? 0 : Int(v[0])) }
    }
    let scan = Double(now() - t0) / 1e9
    precondition(count == values.count, "scan read \(count) of \(values.count)")
    if scanOnly {
        try! store.close()
        return CAPIRound(append: append, scan: scan, queries: [Double(bytes)])
    }
    try! store.createIndex("bench")
    try! store.refresh("bench", timeoutMs: 600_000)
    // Background merges change the segments under the queries: wait until the count holds
    // still for a second (capi_bench.c does the same), so both sides search alike layouts.
    var segments = try! store.indexStatus("bench").segments, still = 0
    while still < 5 {
        usleep(200_000)
        let now = try! store.indexStatus("bench").segments
        still = now == segments ? still + 1 : 0
        segments = now
    }
    var p50s: [Double] = []
    for q in capiQueries {
        var times: [Double] = []
        for k in -1 ..< 50 {
            let s = now()
            let results = try! store.search("bench", SearchRequest(query: q))
            for h in results.hits { bytes += (try! results.withRecord(h) { $0.value?.count ?? 0 }) ?? 0 }
            if k >= 0 { times.append(Double(now() - s) / 1e3) }
        }
        times.sort()
        p50s.append(times[times.count / 2])
    }
    try! store.close()
    if bytes == 42 { print("") } // keep the reads
    return CAPIRound(append: append, scan: scan, queries: p50s)
}

func capiCRound(binary: String, dir: String, records: Int) -> CAPIRound {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = [dir, String(records)]
    let out = Pipe()
    p.standardOutput = out
    try! p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let r = try? JSONDecoder().decode(CAPIRound.self, from: data) else {
        fatalError("capi_bench failed (status \(p.terminationStatus)): \(String(decoding: data, as: UTF8.self))")
    }
    return r
}
