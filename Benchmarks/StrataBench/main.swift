// strata-bench: Strata's log against plain-syscall baselines, measured in the same run on the
// same bytes. Prints a Markdown table (and JSON lines with --json). See Benchmarks/README.md.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataIO
import StrataLog

struct Options {
    var records = 2_000_000
    var randomLogRecords = 10_000_000
    var fsyncBatches = 2000
    var lookups = 1_000_000
    var dir = "/tmp/strata-bench"
    var json = false
    var only: Set<String> = []
    var codecs: [CompressionCodec] = [.none, .lz4, .gzip]
    var batchBytes = LogConfig().targetBatchBytes
    var recoveryMB = 1024
    var compactionRecords = 2_000_000
    var searchRepeat = 10
    var searchRounds = 7
    /// Search: the corpus (JSON lines with `body`, optionally `ts`) and its queries; nil is
    /// wiki.json and the sbg queries from ../shared/data.
    var searchDocs: String?
    var searchQueries: String?
    /// Search: indexing runs before the queries (best counts); more than 1 also reindexes
    /// once per round.
    var searchIndexRuns = 3
    /// Search: an index directory to keep: built there on the first run, opened on later ones.
    var searchIndex: String?
    /// Search: the peers to run (search_peers.py `--engines`); FTS5 is slow at millions of documents.
    var searchEngines = "tantivy,fts5"
    /// Search: also index with tantivy's default writer thread count (search_peers.py
    /// `--tantivy-threads-both`), reported beside the 1-thread figure.
    var tantivyThreadsBoth = false
    /// `--only search-segments`: commits (segments before merging) of the corpus.
    var searchSegments = 40
    var peers = true
    var memoryCorpusMB = 400
    var storeRecords = 400_000
    var capiRecords = 1_000_000
    var capiRounds = 3
    var capiBinary = ".build-c/capi_bench"
    /// `--capi-scan-only DIR`: only the Swift side's append and scan into DIR, for
    /// scripts/bench-c.sh's instruction counts under callgrind.
    var capiScanOnlyDir: String?

    init() {
        var args = CommandLine.arguments.dropFirst()
        while let a = args.popFirst() {
            switch a {
            case "--records": records = Int(args.popFirst()!)!
            case "--random-records": randomLogRecords = Int(args.popFirst()!)!
            case "--fsync-batches": fsyncBatches = Int(args.popFirst()!)!
            case "--lookups": lookups = Int(args.popFirst()!)!
            case "--dir": dir = args.popFirst()!
            case "--json": json = true
            case "--search-repeat": searchRepeat = Int(args.popFirst()!)!
            case "--search-rounds": searchRounds = Int(args.popFirst()!)!
            case "--search-docs": searchDocs = args.popFirst()!
            case "--search-queries": searchQueries = args.popFirst()!
            case "--search-index-runs": searchIndexRuns = Int(args.popFirst()!)!
            case "--search-index": searchIndex = args.popFirst()!
            case "--search-engines": searchEngines = args.popFirst()!
            case "--search-tantivy-threads-both": tantivyThreadsBoth = true
            case "--search-segments": searchSegments = Int(args.popFirst()!)!
            case "--no-peers": peers = false
            case "--memory-mb": memoryCorpusMB = Int(args.popFirst()!)!
            case "--store-records": storeRecords = Int(args.popFirst()!)!
            case "--capi-records": capiRecords = Int(args.popFirst()!)!
            case "--capi-rounds": capiRounds = Int(args.popFirst()!)!
            case "--capi-bench": capiBinary = args.popFirst()!
            case "--capi-scan-only": capiScanOnlyDir = args.popFirst()!
            case "--batch-bytes": batchBytes = Int(args.popFirst()!)!
            case "--recovery-mb": recoveryMB = Int(args.popFirst()!)!
            case "--compaction-records": compactionRecords = Int(args.popFirst()!)!
            case "--codecs": codecs = args.popFirst()!.split(separator: ",").map { CompressionCodec(name: String($0))! }
            case "--only": only = Set(args.popFirst()!.split(separator: ",").map(String.init))
            case "--quick": records = 200_000; randomLogRecords = 1_000_000; fsyncBatches = 200; lookups = 100_000; recoveryMB = 128; compactionRecords = 300_000
            default: fatalError("unknown option \(a); options: --records N --random-records N --fsync-batches N --lookups N --dir D --json --only append,fsync,consume,random,recovery,compaction,search,search-indexing,search-memory,search-segments,store,capi --store-records N --capi-records N --capi-rounds N --capi-bench PATH --capi-scan-only DIR --search-repeat N --search-rounds N --search-docs FILE --search-queries FILE --search-index-runs N --search-index DIR --search-engines tantivy,fts5 --search-tantivy-threads-both --search-segments N --quick --recovery-mb N --compaction-records N --batch-bytes N --codecs none,lz4,gzip")
            }
        }
    }
    func wants(_ s: String) -> Bool { only.isEmpty || only.contains(s) }
}

let options = Options()

@inline(never)
func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// ~100-byte log lines with realistic variety.
func makeLines(_ n: Int) -> [Record] {
    var x: UInt64 = 0x1234_5678_9abc_def1
    func r() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
    let levels = ["INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"]
    let comps = ["dfs.DataNode", "spark.Executor", "sshd", "kernel", "zk.NIOServerCnxn", "http.Server"]
    var out: [Record] = []
    out.reserveCapacity(n)
    let base: Int64 = 1_763_000_000_000
    for i in 0 ..< n {
        var s = "2026-11-22T03:\(10 + r() % 50):\(10 + r() % 50).\(100 + r() % 900) \(levels[Int(r() % 6)]) \(comps[Int(r() % 6)]): "
        s += "request \(r() % 1_000_000) from 10.\(r() % 256).\(r() % 256).\(r() % 256) took \(r() % 1000)ms"
        while s.utf8.count < 100 { s += " ." }
        out.append(Record(key: nil, value: Array(s.utf8.prefix(100)), timestamp: base + Int64(i)))
    }
    return out
}

struct Row { let name: String; let strata: Double; let baseline: Double; let unit: String; let baselineName: String; let higherIsBetter: Bool }
nonisolated(unsafe) var rows: [Row] = []

func report(_ name: String, strata: Double, baseline: Double, unit: String, baselineName: String, higherIsBetter: Bool = true) {
    rows.append(Row(name: name, strata: strata, baseline: baseline, unit: unit, baselineName: baselineName, higherIsBetter: higherIsBetter))
    let ratio = higherIsBetter ? strata / baseline : baseline / strata
    FileHandle.standardError.write(Data(String(format: "%@: strata %.3f %@, %@ %.3f %@ → %.2f×\n", name, strata, unit, baselineName, baseline, unit, ratio).utf8))
}

func freshDir(_ name: String) -> String {
    let d = options.dir + "/" + name
    try? FileSystem.removeTree(d)
    try! FileSystem.createDirectory(d)
    return d
}

/// Encodes `records` into batches exactly as the log would (same target size), returning each
/// batch's bytes and each batch's uncompressed records section.
func encodeBatches(_ records: [Record], codec: CompressionCodec, target: Int) -> (batches: [[UInt8]], sections: [[UInt8]]) {
    let b = RecordBatchBuilder()
    var batches: [[UInt8]] = []
    var sections: [[UInt8]] = []
    var i = 0
    var offset: Int64 = 0
    while i < records.count {
        b.reset()
        b.begin(baseOffset: offset, codec: .none)
        while i < records.count && (b.recordCount == 0 || b.openBatchSize + 124 <= target) {
            b.add(records[i], defaultTimestamp: 0)
            i += 1
        }
        let built = try! b.finish()
        let raw = Array(b.output.bytes)
        sections.append(Array(raw[RecordBatchHeader.size...]))
        offset += Int64(built.recordCount)
        if codec == .none { batches.append(raw) } else {
            let c = RecordBatchBuilder(codecs: Codecs())
            _ = c
            batches.append(raw)
        }
    }
    return (batches, sections)
}

/// The plain-syscall way to read a segment and check it: read(2) in 1 MiB chunks, walk the
/// batch headers in the buffer, CRC-32C each batch. Returns the number of batches.
func readAndCheckBatches(_ path: String) -> Int {
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    let big = UnsafeMutableRawPointer.allocate(byteCount: 2 << 20, alignment: 64)
    defer { big.deallocate() }
    var carry = 0 // bytes of a batch split across reads, kept at the start of the buffer
    var batches = 0
    while true {
        let r = read(fd, big + carry, 1 << 20)
        if r <= 0 { break }
        let avail = carry + r
        var p = 0
        while avail - p >= 61 {
            let len = Int((big + p).loadUnaligned(fromByteOffset: 8, as: UInt32.self).bigEndian) + 12
            if avail - p < len { break }
            let crc = (big + p).loadUnaligned(fromByteOffset: 17, as: UInt32.self).bigEndian
            precondition(CRC32C.checksum(UnsafeRawBufferPointer(start: big + p + 21, count: len - 21)) == crc)
            batches += 1
            p += len
        }
        carry = avail - p
        if carry > 0 { big.copyMemory(from: big + p, byteCount: carry) }
    }
    return batches
}

func writeAll(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) {
    var done = 0
    while done < n { let w = write(fd, p + done, n - done); precondition(w > 0, "write failed"); done += w }
}

// MARK: - Append throughput

func benchAppend(_ codec: CompressionCodec, records: [Record]) {
    var config = LogConfig()
    config.targetBatchBytes = options.batchBytes
    config.compression = codec
    config.targetBatchBytes = options.batchBytes
    let target = config.targetBatchBytes
    let (_, sections) = encodeBatches(records, codec: .none, target: target)
    let (plainBatches, _) = encodeBatches(records, codec: .none, target: target)
    let chunk = 10_000
    var best = (strata: Double.infinity, base: Double.infinity)
    func runBaseline() -> Double {
        // Baseline: write(2) each batch (none), or compress each records section then write (lz4/gzip).
        let dir = freshDir("append-base")
        let fd = open(dir + "/plain.log", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let codecs = Codecs()
        let out = ByteWriter(capacity: 1 << 20)
        let t0 = now()
        if codec == .none {
            for b in plainBatches { b.withUnsafeBytes { writeAll(fd, $0.baseAddress!, $0.count) } }
        } else {
            for s in sections {
                out.removeAll()
                _ = out.appendZeros(RecordBatchHeader.size)
                try! s.withUnsafeBytes { try codecs.compress(codec, $0, into: out) }
                writeAll(fd, out.base, out.count)
            }
        }
        let t = Double(now() - t0) / 1e9
        close(fd)
        return t
    }
    func runStrata() -> Double {
        // Strata: append the records through the public API, 10,000 per call.
        let ldir = freshDir("append-strata")
        let log = try! Log.open(directory: ldir + "/p-0", config: config)
        let t1 = now()
        var i = 0
        while i < records.count {
            try! log.append(records[i ..< min(i + chunk, records.count)])
            i += chunk
        }
        let t = Double(now() - t1) / 1e9
        try! log.close()
        return t
    }
    // Alternate the order so neither side always runs while the other's dirty pages are flushed.
    for round in 0 ..< 4 {
        if round % 2 == 0 {
            best.base = min(best.base, runBaseline())
            best.strata = min(best.strata, runStrata())
        } else {
            best.strata = min(best.strata, runStrata())
            best.base = min(best.base, runBaseline())
        }
        sync()
    }
    let n = Double(records.count)
    report("append 100-byte records, \(codec)", strata: n / best.strata / 1e6, baseline: n / best.base / 1e6, unit: "M rec/s",
           baselineName: codec == .none ? "write(2) of the same batches" : "\(codec)-then-write(2)")
}

// MARK: - Append with fdatasync

func benchFsync(records: [Record]) {
    var config = LogConfig()
    config.targetBatchBytes = options.batchBytes
    let target = config.targetBatchBytes
    config.compression = .none
    let (batches, _) = encodeBatches(records, codec: .none, target: target)
    let n = min(options.fsyncBatches, batches.count)
    let perBatch = records.count / batches.count
    // Baseline: write + fdatasync per batch.
    let dir = freshDir("fsync-base")
    let fd = open(dir + "/plain.log", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let t0 = now()
    for b in batches.prefix(n) { b.withUnsafeBytes { writeAll(fd, $0.baseAddress!, $0.count) }; fdatasync(fd) }
    let baseT = Double(now() - t0) / 1e9
    close(fd)
    let ldir = freshDir("fsync-strata")
    let log = try! Log.open(directory: ldir + "/p-0", config: config, flushPolicy: .everyBatch)
    let t1 = now()
    var i = 0
    for _ in 0 ..< n {
        try! log.append(records[i ..< i + perBatch])
        i += perBatch
    }
    let strataT = Double(now() - t1) / 1e9
    try! log.close()
    report("append + fdatasync per batch (\(perBatch) records)", strata: Double(n) / strataT, baseline: Double(n) / baseT, unit: "batches/s",
           baselineName: "write(2)+fdatasync loop")
}

// MARK: - Sequential consume

func benchConsume(records: [Record]) {
    var config = LogConfig()
    config.targetBatchBytes = options.batchBytes
    config.compression = .none
    let ldir = freshDir("consume")
    let log = try! Log.open(directory: ldir + "/p-0", config: config)
    var i = 0
    while i < records.count { try! log.append(records[i ..< min(i + 10_000, records.count)]); i += 10_000 }
    try! log.flush()
    let path = ldir + "/p-0/00000000000000000000.log"
    let size = Int(FileSystem.fileSize(path)!)
    var best = (strata: Double.infinity, base: Double.infinity)
    let buf = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
    var sink: UInt64 = 0
    for _ in 0 ..< 5 {
        // Baseline: read(2) the whole file sequentially in 1 MiB chunks and touch every byte word.
        let fd = open(path, O_RDONLY)
        let t0 = now()
        var total = 0
        while true {
            let r = read(fd, buf, 1 << 20)
            if r <= 0 { break }
            total += r
            sink &+= UInt64(buf.load(fromByteOffset: 0, as: UInt8.self))
        }
        let baseT = Double(now() - t0) / 1e9
        close(fd)
        precondition(total == size)
        // Strata: iterate every record (CRC-checked batches), touching key/value.
        let c = try! log.cursor()
        let t1 = now()
        var count = 0
        while let r = try! c.next() {
            count += 1
            sink &+= UInt64(r.value?.count ?? 0)
        }
        let strataT = Double(now() - t1) / 1e9
        precondition(count == records.count)
        best = (min(best.strata, strataT), min(best.base, baseT))
    }
    // Batch level: the zero-copy fetch path (what a broker serves), CRC-checked, against
    // read(2) of the same file plus the same CRC check of every batch in the buffer.
    var bestBatch = (strata: Double.infinity, base: Double.infinity)
    for _ in 0 ..< 5 {
        let t0 = now()
        let batches = readAndCheckBatches(path)
        let baseT = Double(now() - t0) / 1e9
        let c = try! log.cursor()
        let t1 = now()
        var n = 0
        while let b = try! c.nextBatch() { try! b.validateChecksum(); n += 1 }
        let strataT = Double(now() - t1) / 1e9
        precondition(n == batches)
        bestBatch = (min(bestBatch.strata, strataT), min(bestBatch.base, baseT))
    }
    buf.deallocate()
    let mb = Double(size) / 1e6
    report("sequential consume, every record decoded (\(String(format: "%.0f", mb)) MB, CRC checked)", strata: mb / best.strata, baseline: mb / best.base, unit: "MB/s",
           baselineName: "read(2) of the same file")
    report("sequential consume, whole batches (zero-copy, CRC checked)", strata: mb / bestBatch.strata, baseline: mb / bestBatch.base, unit: "MB/s",
           baselineName: "read(2) + the same CRC checks")
    if sink == 42 { print("") }
    try! log.close()
}

// MARK: - Random reads

func benchRandom() {
    var config = LogConfig()
    config.targetBatchBytes = options.batchBytes
    config.compression = .none
    let ldir = options.dir + "/random-\(options.randomLogRecords)-\(options.batchBytes)"
    let path = ldir + "/p-0"
    var log = try! Log.open(directory: path, config: config)
    if log.highWatermark != Int64(options.randomLogRecords) {
        try! log.close()
        try? FileSystem.removeTree(ldir)
        log = try! Log.open(directory: path, config: config)
        let lines = makeLines(1_000_000)
        var done = 0
        while done < options.randomLogRecords {
            let n = min(lines.count, options.randomLogRecords - done)
            var i = 0
            while i < n { try! log.append(lines[i ..< min(i + 10_000, n)]); i += 10_000 }
            done += n
        }
        try! log.flush()
    }
    let total = UInt64(log.highWatermark)
    var x: UInt64 = 99
    func r() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
    // Warm the page cache and the mapping with one sequential pass (both sides then read from
    // memory; the pread baseline reads the same cached file).
    do {
        let c = try! log.cursor()
        var n = 0
        while (try! c.next()) != nil { n += 1 } // CRC checks read every byte
        precondition(n == Int(log.highWatermark))
    }
    for verify in [false, true] {
        let c = try! log.cursor()
        c.verifyChecksums = verify
        var lat = [UInt64](repeating: 0, count: options.lookups)
        // Warm the page cache and the mapping.
        for _ in 0 ..< 10_000 { let o = Int64(r() % total); try! c.seek(to: o); _ = try! c.next() }
        for k in 0 ..< options.lookups {
            let o = Int64(r() % total)
            let t0 = now()
            try! c.seek(to: o)
            let rec = try! c.next()
            lat[k] = now() - t0
            precondition(rec?.offset == o)
        }
        lat.sort()
        let p50 = Double(lat[lat.count / 2]) / 1000, p99 = Double(lat[lat.count * 99 / 100]) / 1000
        // Baseline: pread(2) of one 128-byte slice at a random position (no lookup at all).
        let fd = open(path + "/00000000000000000000.log", O_RDONLY)
        let size = UInt64(FileSystem.fileSize(path + "/00000000000000000000.log")!)
        var blat = [UInt64](repeating: 0, count: options.lookups)
        var buf = [UInt8](repeating: 0, count: 128)
        for k in 0 ..< options.lookups {
            let pos = off_t(r() % (size - 128))
            let t0 = now()
            _ = pread(fd, &buf, 128, pos)
            blat[k] = now() - t0
        }
        close(fd)
        blat.sort()
        let b50 = Double(blat[blat.count / 2]) / 1000, b99 = Double(blat[blat.count * 99 / 100]) / 1000
        let what = verify ? "CRC-checked" : "no CRC check"
        report("random read by offset, \(total / 1_000_000) M-record log, p50 (\(what))", strata: p50, baseline: b50, unit: "µs",
               baselineName: "pread(2) of 128 bytes", higherIsBetter: false)
        report("random read by offset, \(total / 1_000_000) M-record log, p99 (\(what))", strata: p99, baseline: b99, unit: "µs",
               baselineName: "pread(2) of 128 bytes", higherIsBetter: false)
    }
    try! log.close()
}

// MARK: - Recovery

/// Unclean open of a log whose last segment holds `recoveryMB` of unflushed data: every batch
/// validated (structure, CRC, offsets) and the indexes rebuilt. Baseline: read(2) of the same
/// file with the same CRC check of every batch — the least any recovery must do.
func benchRecovery(records: [Record]) {
    var config = LogConfig()
    config.targetBatchBytes = options.batchBytes
    config.segmentBytes = max(config.segmentBytes, (options.recoveryMB + 64) << 20)
    let ldir = freshDir("recovery")
    let path = ldir + "/p-0"
    do {
        let log = try! Log.open(directory: path, config: config, logger: .silent)
        var written = 0
        while written < options.recoveryMB << 20 {
            var i = 0
            while i < records.count && written < options.recoveryMB << 20 {
                try! log.append(records[i ..< min(i + 10_000, records.count)])
                i += 10_000
                written = log.sizeInBytes
            }
        }
        try! log.close()
    }
    let file = path + "/00000000000000000000.log"
    let size = Double(FileSystem.fileSize(file)!)
    var best = (strata: Double.infinity, base: Double.infinity)
    for _ in 0 ..< 3 {
        let t0 = now()
        let log = try! Log.open(directory: path, config: config, recovery: .unclean(recoveryPoint: nil), logger: .silent)
        let strataT = Double(now() - t0) / 1e9
        precondition(log.recoveryReport.recoveredSegments == [0] && log.recoveryReport.truncatedBytes == 0)
        try! log.close()
        let t1 = now()
        _ = readAndCheckBatches(file)
        best = (min(best.strata, strataT), min(best.base, Double(now() - t1) / 1e9))
    }
    let gb = size / 1e9
    report("recovery of an unflushed tail (\(String(format: "%.2f", gb)) GB, page cache warm)", strata: best.strata / gb, baseline: best.base / gb,
           unit: "s/GB", baselineName: "read(2) + CRC of every batch", higherIsBetter: false)
    try? FileSystem.removeTree(ldir)
}

// MARK: - Compaction

/// Compaction of closed segments holding `compactionRecords` records over 100,000 keys.
/// Baseline: copying the same bytes with read(2) + write(2) (the I/O any rewrite needs).
func benchCompaction() {
    var config = LogConfig()
    config.targetBatchBytes = options.batchBytes
    config.segmentBytes = 64 << 20
    config.cleanupPolicy = .compact
    let ldir = freshDir("compaction")
    let path = ldir + "/p-0"
    let log = try! Log.open(directory: path, config: config, logger: .silent)
    var x: UInt64 = 7
    var batch: [Record] = []
    for i in 0 ..< options.compactionRecords {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        batch.append(Record(key: Array("user-\(x % 100_000)".utf8), value: Array("state \(i) \(x)".utf8) + [UInt8](repeating: 46, count: 60), timestamp: Int64(i)))
        if batch.count == 10_000 { try! log.append(batch); batch.removeAll(keepingCapacity: true) }
    }
    if !batch.isEmpty { try! log.append(batch) }
    try! log.roll()
    let bytes = Double(log.sizeInBytes)
    let t0 = now()
    let result = try! log.compact()
    let strataT = Double(now() - t0) / 1e9
    // Baseline: copy every closed segment file.
    let t1 = now()
    let buf = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
    for name in try! FileSystem.list(path) where name.hasSuffix(".log") {
        let src = open(path + "/" + name, O_RDONLY)
        let dst = open(ldir + "/copy-" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        while true { let r = read(src, buf, 1 << 20); if r <= 0 { break }; writeAll(dst, buf, r) }
        fsync(dst)
        close(src); close(dst)
    }
    let baseT = Double(now() - t1) / 1e9
    buf.deallocate()
    let mb = bytes / 1e6
    report("compaction (\(options.compactionRecords / 1000) k records, 100 k keys, kept \(result.recordsKept))", strata: mb / strataT, baseline: mb / baseT,
           unit: "MB/s", baselineName: "read(2)+write(2)+fsync copy of the segments")
    try! log.close()
    try? FileSystem.removeTree(ldir)
}

if let dir = options.capiScanOnlyDir {
    _ = capiSwiftRound(dir: dir, values: capiValues(options.capiRecords), scanOnly: true)
    exit(0)
}
try! FileSystem.createDirectory(options.dir)
let records = options.only.isSubset(of: ["search", "search-memory", "search-indexing", "search-segments", "store", "capi"]) && !options.only.isEmpty ? [] : makeLines(options.records)
if options.wants("append") { for codec in options.codecs { benchAppend(codec, records: codec == .gzip ? Array(records.prefix(records.count / 4)) : records) } }
if options.wants("fsync") { benchFsync(records: records) }
if options.wants("consume") { benchConsume(records: records) }
if options.wants("random") { benchRandom() }
if options.wants("recovery") { benchRecovery(records: records) }
if options.wants("compaction") { benchCompaction() }
if options.wants("search") { benchSearch() }
if options.wants("store") { benchStore() }
if options.only.contains("search-memory") { benchSearchMemory() }
if options.only.contains("search-indexing") { benchSearchIndexing() }
if options.only.contains("search-segments") { benchManySegments() }
if options.only.contains("capi") { benchCAPI() }

print("| benchmark | Strata | baseline | baseline is | Strata ÷ baseline |")
print("|---|---|---|---|---|")
for r in rows {
    let ratio = r.higherIsBetter ? r.strata / r.baseline : r.baseline / r.strata
    print(String(format: "| %@ | %.2f %@ | %.2f %@ | %@ | %.2f× |", r.name, r.strata, r.unit, r.baseline, r.unit, r.baselineName, ratio))
}
if options.json {
    for r in rows {
        print("{\"name\":\"\(r.name)\",\"strata\":\(r.strata),\"baseline\":\(r.baseline),\"unit\":\"\(r.unit)\",\"baselineName\":\"\(r.baselineName)\"}")
    }
}
try? FileSystem.removeTree(options.dir + "/append-base")
try? FileSystem.removeTree(options.dir + "/append-strata")
if options.only.contains("encode") { // diagnostic: the batch encoder alone, 20 k records in cache
    let b = RecordBatchBuilder()
    let recs = records
    for _ in 0 ..< 3 {
        let t0 = now()
        var i = 0
        for _ in 0 ..< 100 { i = 0
        while i < recs.count {
            b.reset()
            b.begin(baseOffset: Int64(i), codec: .none)
            let end = min(i + 150, recs.count)
            while i < end { b.add(recs[i], defaultTimestamp: 0); i += 1 }
            try! b.finish()
        } }
        FileHandle.standardError.write(Data("encode only: \(Double(recs.count * 100) / (Double(now() - t0) / 1e9) / 1e6) M rec/s\n".utf8))
    }
}
