// libFuzzer targets for Strata's decoders. Build (see Fuzz/README.md):
//   swift build -c debug --product strata-fuzz --scratch-path .build-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld \
//     -Xcc -fsanitize=fuzzer-no-link,address
// Run: strata-fuzz batch|segment CORPUS_DIR [libFuzzer flags]
// Without -DFUZZING the same binary replays corpus files (regression mode) and `seed DIR`
// writes the seed corpus.
#if canImport(Glibc)
import Glibc
#endif
import CStrataFuzzSupport
import StrataIO
@_spi(Internals) import StrataLog
@_spi(Internals) import StrataSearch

nonisolated(unsafe) var fuzzDirectory = ""
nonisolated(unsafe) var sharedCodecs = Codecs(maxDecompressedBytes: 1 << 20)
nonisolated(unsafe) var sharedBuffer = ByteWriter()

/// Decodes every batch in `data` the way a cursor would, ignoring CRC mismatches so the record
/// decoder sees mutated bytes. Must never crash, whatever the input.
func fuzzBatches(_ data: UnsafeRawBufferPointer) {
    var pos = 0
    while pos < data.count {
        guard case .batch(let b)? = try? RecordBatchView.probe(data, at: pos) else { return }
        _ = b.isChecksumValid
        if var it = try? BatchRecordIterator(batch: b, codecs: sharedCodecs, buffer: sharedBuffer) {
            while let r = try? it.next() {
                _ = r.headers()
                _ = r.key?.count
                _ = r.value?.count
            }
        }
        pos += b.header.sizeInBytes
    }
}

/// Treats the input as a segment: [u16 index length][index bytes][u16 timeindex length]
/// [timeindex bytes][log bytes]. Writes the files, opens the partition (which validates,
/// repairs and rebuilds), reads everything, seeks and looks up timestamps.
func fuzzSegment(_ data: UnsafeRawBufferPointer) {
    var r = ByteReader(data)
    func part() -> [UInt8] {
        guard let n = try? r.readBE(UInt16.self), let bytes = try? r.readBytes(min(Int(n), r.remaining)) else { return [] }
        return Array(bytes)
    }
    let index = part()
    let time = part()
    let transactions = part()
    let log = Array(UnsafeRawBufferPointer(rebasing: data[r.position...]))
    let dir = fuzzDirectory + "/p-0"
    try? FileSystem.removeTree(dir)
    try? FileSystem.createDirectory(dir)
    func put(_ bytes: [UInt8], _ name: String) {
        guard let f = try? DataFile(path: dir + "/" + name, flags: O_WRONLY | O_CREAT | O_TRUNC) else { return }
        if !bytes.isEmpty { try? bytes.withUnsafeBytes { try f.write($0, at: 0) } }
    }
    put(log, "00000000000000000000.log")
    if !index.isEmpty { put(index, "00000000000000000000.index") }
    if !time.isEmpty { put(time, "00000000000000000000.timeindex") }
    if !transactions.isEmpty { put(transactions, "00000000000000000000.txnindex") }
    var config = LogConfig()
    config.segmentBytes = 1 << 20
    config.maxIndexBytes = 4096
    config.maxDecompressedBytes = 1 << 20
    for readOnly in [true, false] {
        guard let l = try? Log.open(directory: dir, config: config, readOnly: readOnly) else { continue }
        for isolation in [IsolationLevel.readUncommitted, .readCommitted] {
            guard let c = try? l.cursor() else { continue }
            c.isolation = isolation
            var n = 0
            while n < 10_000, let rec = try? c.next() { _ = rec.value?.count; n += 1 }
            let hw = l.highWatermark
            for o in [l.logStartOffset, hw / 2, hw - 1, hw] where o >= l.logStartOffset { try? c.seek(to: o); _ = try? c.next() }
        }
        _ = try? l.offset(forTimestamp: 0)
        _ = try? l.offset(forTimestamp: Int64.max)
        if !readOnly { _ = try? l.append(Record(value: [1, 2, 3], timestamp: 5)) }
        try? l.close()
    }
}

/// Treats the input as the store's small text files: half becomes a recovery-point
/// checkpoint, half a consumer group's offsets file; the store must open (or fail with a
/// typed error) and the group must read back or fail cleanly.
func fuzzStoreFiles(_ data: UnsafeRawBufferPointer) {
    let bytes = Array(data)
    let half = bytes.count / 2
    let root = fuzzDirectory + "/store"
    try? FileSystem.removeTree(root)
    try? FileSystem.createDirectory(root + "/topics")
    try? FileSystem.createDirectory(root + "/groups")
    try? FileSystem.writeAtomically(Array(bytes[..<half]), to: root + "/topics/recovery-point-offset-checkpoint")
    try? FileSystem.writeAtomically(Array(bytes[half...]), to: root + "/groups/g.offsets")
    guard let store = try? LogStore(root: root, logger: .silent, backgroundIntervalMs: 0) else { return }
    _ = try? store.groups.describe(group: "g")
    _ = try? store.groups.list()
    try? store.close()
}

nonisolated(unsafe) let fuzzIndex: MemoryIndex = {
    let idx = MemoryIndex(analyzer: Analyzer(.english))
    for line in ["the connection was reset by peer", "session opened for user root", "Receiving block blk_123 src 10.0.0.1",
                 "東京都は、日本の首都であり", "error: failed to connect to host:42 (timeout)"] { idx.add(line) }
    return idx
}()

/// The query parser and query execution: any input either parses (and then runs against a
/// small index) or fails with a QueryParseError — never a crash. Also feeds the raw bytes to
/// every analyzer.
func fuzzQuery(_ data: UnsafeRawBufferPointer) {
    for kind in AnalyzerKind.allCases { Analyzer(kind).analyze(data) { _ = $0.bytes.count } }
    let text = String(decoding: data, as: UTF8.self)
    guard let q = try? QueryParser.parse(text) else { return }
    _ = try? fuzzIndex.count(q)
    _ = try? fuzzIndex.search(q, limit: 3)
}

/// Index segment files: the input is written as a segment and opened without the CRC check
/// (so mutations reach the decoders); every term's postings and positions are decoded.
func fuzzIndexSegment(_ data: UnsafeRawBufferPointer) {
    let path = fuzzDirectory + "/fuzz.seg"
    guard let f = try? DataFile(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC) else { return }
    if data.count > 0 { try? f.write(data, at: 0) }
    f.close()
    guard let seg = try? IndexSegment(path: path, verifyChecksum: false) else { return }
    var n = 0
    try? seg.forEachTerm { _, info in
        n += 1
        if n > 2000 { return }
        if let (_, freqs) = try? seg.postings(info) { _ = try? seg.positions(info, freqs: freqs) }
        // The streaming cursor: every posting, positions of some, and block-skipping jumps.
        if let c = try? PostingsCursor.open(seg, info, positions: true) {
            var buffer: [UInt32] = []
            var steps = 0
            while c.doc != PostingsCursor.exhausted, steps < 3000 {
                if steps % 2 == 0 { if (try? c.positions(into: &buffer)) == nil { break } }
                // Bounded reads, as exact phrases do (part of a posting, then more of it).
                if steps % 3 == 1 {
                    if (try? c.positions(into: &buffer, upTo: UInt32(steps))) == nil { break }
                    if (try? c.positions(into: &buffer, upTo: UInt32(steps * 7))) == nil { break }
                }
                if (try? (steps % 5 == 4 ? c.advance(to: c.doc &+ 97) : c.next())) == nil { break }
                steps += 1
            }
        }
    }
    _ = try? seg.lookup("segment")
    _ = try? seg.search(terms: [Array("a".utf8), Array("log".utf8)], limit: 5)
}

/// The search index's other files and its JSON input. The first byte picks: 0 a manifest,
/// 1 a doc-value file (every value of every column is read), 2 a deletes file — each decoded
/// without its CRC check so mutations reach the decoders — and otherwise a JSON document added
/// to an index buffer (dynamic mapping) and, when accepted, made searchable.
func fuzzIndexFiles(_ data: UnsafeRawBufferPointer) {
    guard let selector = data.first else { return }
    let rest = Array(data.dropFirst())
    switch selector {
    case 0:
        _ = try? Manifest.decode(rest, path: "fuzz", verifyChecksum: false)
    case 1:
        let path = fuzzDirectory + "/fuzz.dv"
        guard (try? FileSystem.writeAtomically(rest, to: path)) != nil,
              let dv = try? DocValues(path: path, expectedDocuments: nil, verifyChecksum: false) else { return }
        var sink = 0
        for f in 0 ..< 8 {
            if let c = dv.numericColumn(f) { for d in 0 ..< min(dv.documentCount, 5000) { sink &+= Int(truncatingIfNeeded: c.bits(d)) &+ (c.has(d) ? 1 : 0) } }
            if let c = dv.keywordColumn(f) {
                for d in 0 ..< min(dv.documentCount, 5000) { for k in c.ordinals(d) { sink &+= c.value(c.ordinal(at: k)).count } }
            }
        }
        _ = sink
    case 2:
        let docs = rest.count >= 12 ? Int(rest[8]) | Int(rest[9]) << 8 | Int(rest[10]) << 16 : 0
        _ = try? DeletesFile.decode(rest, path: "fuzz", documents: docs, deleted: nil, verifyChecksum: false)
    default:
        fuzzJSONIndex.withLock {
            guard let index = fuzzSearchIndex else { return }
            if (try? rest.withUnsafeBytes { try index.add(json: $0) }) != nil, index.bufferedDocuments >= 50 {
                try? index.refresh()
                _ = try? index.searcher().count(.matchAll)
                _ = try? index.searcher().aggregate(.matchAll, ["s": .stats(field: "n")])
                _ = try? index.searcher().aggregate(.matchAll, ["h": .histogram(field: "n", interval: 1000)])
                _ = try? index.searcher().aggregate(.matchAll, ["d": .dateHistogram(field: "at", interval: .month)])
                _ = try? index.searcher().aggregate(.matchAll, ["t": .terms(field: "tag", size: 3)])
                _ = try? index.searcher().search(.matchAll, limit: 5, sort: .field("n", descending: true))
                try? index.forceMerge()
            }
        }
    }
}

let fuzzJSONIndex = Lock()
nonisolated(unsafe) var fuzzSearchIndex: SearchIndex?

nonisolated(unsafe) var mode = "batch"

func target(_ data: UnsafeRawBufferPointer) {
    switch mode {
    case "segment": fuzzSegment(data)
    case "files": fuzzStoreFiles(data)
    case "query": fuzzQuery(data)
    case "index": fuzzIndexSegment(data)
    case "indexfiles": fuzzIndexFiles(data)
    default: fuzzBatches(data)
    }
}

/// A segment of Kafka transactions (Formats/transactions.md) without offset or time index:
/// producer 7 commits, 8 aborts (with its `.txnindex` entry), 9 stays open, plain batches
/// around them.
func transactionalSegmentSeed() throws -> [UInt8] {
    let b = RecordBatchBuilder()
    var next: Int64 = 0
    func batch(_ producer: Int64, control: Int16? = nil) throws {
        let state = producer < 0 ? ProducerState.none : ProducerState(producerId: producer, producerEpoch: 0, baseSequence: control == nil ? 0 : -1, isTransactional: true)
        b.begin(baseOffset: next, codec: control == nil ? .lz4 : .none, producer: state)
        if let control {
            b.markControl()
            let key: [UInt8] = [0, 0, 0, UInt8(control)], value: [UInt8] = [0, 0, 0, 0, 0, 1]
            key.withUnsafeBytes { k in value.withUnsafeBytes { v in b.add(key: k, value: v, timestamp: 10 + next) } }
        } else {
            [UInt8]("txn seed \(next)".utf8).withUnsafeBytes { b.add(key: nil, value: $0, timestamp: 10 + next) }
        }
        next += 1
        try b.finish()
    }
    try batch(-1); try batch(7); try batch(8); try batch(7, control: 1); try batch(8); try batch(8, control: 0)
    try batch(9); try batch(-1)
    // version 0, producer 8, first offset 2, marker offset 5, last stable offset 6.
    var txn: [UInt8] = [0, 0]
    for v: Int64 in [8, 2, 5, 6] { for s in stride(from: 56, through: 0, by: -8) { txn.append(UInt8(truncatingIfNeeded: v >> Int64(s))) } }
    return [0, 0, 0, 0, UInt8(txn.count >> 8), UInt8(txn.count & 0xff)] + txn + b.output.toArray()
}

/// Seed inputs: real batches of every codec, and a small segment.
func seeds() throws -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    for codec in CompressionCodec.allCases {
        let b = RecordBatchBuilder()
        b.begin(baseOffset: 0, codec: codec)
        b.add(key: nil, value: UnsafeRawBufferPointer(start: nil, count: 0), headers: [RecordHeader(key: "h", value: [1])], timestamp: 1)
        [UInt8]("hello fuzz".utf8).withUnsafeBytes { b.add(key: $0, value: $0, timestamp: 2) }
        try b.finish()
        out.append(("batch-\(codec)", b.output.toArray()))
    }
    let dir = "/tmp/strata-fuzz-seed-\(getpid())"
    try? FileSystem.removeTree(dir)
    var config = LogConfig()
    config.indexIntervalBytes = 10
    let log = try Log.open(directory: dir, config: config)
    for i in 0 ..< 6 { try log.append([Record(key: [UInt8(i)], value: Array("record \(i)".utf8), timestamp: Int64(100 * i))]) }
    try log.close()
    let idx = try DataFile(path: dir + "/00000000000000000000.index", flags: O_RDONLY).readAll()
    let tim = try DataFile(path: dir + "/00000000000000000000.timeindex", flags: O_RDONLY).readAll()
    let lg = try DataFile(path: dir + "/00000000000000000000.log", flags: O_RDONLY).readAll()
    var seg: [UInt8] = [UInt8(idx.count >> 8), UInt8(idx.count & 0xff)] + idx
    seg += [UInt8(tim.count >> 8), UInt8(tim.count & 0xff)] + tim + [0, 0] + lg
    out.append(("segment", seg))
    out.append(("segment-txn", try transactionalSegmentSeed()))
    let checkpoint = Array("0\n2\nevents 0 1042\nevents 1 977\n".utf8)
    let root = dir + "-groups"
    try? FileSystem.removeTree(root)
    let store = try LogStore(root: root, logger: .silent, backgroundIntervalMs: 0)
    try store.topic("events", create: TopicConfig()).append((0 ..< 42).map { Record(value: [UInt8($0)], timestamp: 1) }, partition: 0)
    try store.groups.commit(group: "g", topic: "events", partition: 0, offset: 42, metadata: "seed")
    try store.close()
    let offsets = try FileSystem.readFile(root + "/groups/g.offsets")
    try? FileSystem.removeTree(root)
    // Equal halves: the first is the checkpoint, the second the group file.
    let padded = checkpoint + [UInt8](repeating: 0x0a, count: max(0, offsets.count - checkpoint.count))
    out.append(("files-seed", padded + offsets + [UInt8](repeating: 0x0a, count: max(0, padded.count - offsets.count))))
    try? FileSystem.removeTree(dir)
    return out
}

@main
struct StrataFuzz {
    static func main() throws {
        var args = CommandLine.arguments
        guard args.count >= 3, ["batch", "segment", "files", "query", "index", "indexfiles", "seed"].contains(args[1]) else {
            print("usage: strata-fuzz batch|segment|files|query|index|indexfiles CORPUS_DIR [libFuzzer flags]   |   strata-fuzz seed DIR")
            exit(2)
        }
        let selected = args.remove(at: 1)
        if selected == "seed" {
            let dir = args[1]
            try FileSystem.createDirectory(dir + "/batch")
            try FileSystem.createDirectory(dir + "/segment")
            try FileSystem.createDirectory(dir + "/files")
            try FileSystem.createDirectory(dir + "/query")
            try FileSystem.createDirectory(dir + "/index")
            try FileSystem.createDirectory(dir + "/indexfiles")
            // A small committed index: its manifest, doc values and deletes, plus JSON documents.
            let seedIndex = try SearchIndex(directory: dir + "/tmp-index")
            for i in 0 ..< 40 { try seedIndex.add(json: #"{"n":\#(i),"tag":["a","b\#(i % 3)"],"at":"2026-11-\#(10 + i % 9)","msg":"x \#(i)"}"#) }
            try seedIndex.commit(userData: ["offset": "40"])
            try seedIndex.delete(.term(field: "msg", text: "3"))
            try seedIndex.commit()
            for name in try FileSystem.list(dir + "/tmp-index") {
                let selector: UInt8 = name.hasPrefix("manifest-") ? 0 : name.hasSuffix(".dv") ? 1 : name.hasSuffix(".del") ? 2 : 255
                if selector == 255 { continue }
                try FileSystem.writeAtomically([selector] + FileSystem.readFile(dir + "/tmp-index/" + name), to: dir + "/indexfiles/seed-" + name)
            }
            seedIndex.close()
            try FileSystem.removeTree(dir + "/tmp-index")
            for (n, j) in [#"{"a":"x\u00e9","b":[1,2.5,true,null,{"c":"2026-01-01T00:00:00Z"}]}"#, #"{"n":-12,"m":1e400,"s":"\ud800"}"#].enumerated() {
                try FileSystem.writeAtomically([3] + Array(j.utf8), to: dir + "/indexfiles/seed-json-\(n)")
            }
            let sample = MemoryIndex(analyzer: Analyzer(.standard))
            for i in 0 ..< 300 { sample.add("log segment \(i % 7) index record \(i) a b a") }
            try SegmentWriter.write(sample, to: dir + "/index/seed-0")
            let tiny = MemoryIndex(analyzer: Analyzer(.standard))
            tiny.add("a b a")
            try SegmentWriter.write(tiny, to: dir + "/index/seed-1")
            for (n, q) in ["level:error AND \"connection reset\"~2", "(a OR b) -c +d*", "size:[1 TO 5} host:(x y)", "fuzy~1 \"session op*\""].enumerated() {
                try FileSystem.writeAtomically(Array(q.utf8), to: dir + "/query/seed-\(n)")
            }
            for (name, bytes) in try seeds() {
                let sub = name.hasPrefix("segment") ? "/segment/" : name.hasPrefix("files") ? "/files/" : "/batch/"
                try FileSystem.writeAtomically(bytes, to: dir + sub + name)
            }
            return
        }
        fuzzDirectory = "/tmp/strata-fuzz-\(getpid())"
        try FileSystem.createDirectory(fuzzDirectory)
        mode = selected
        if mode == "indexfiles" {
            fuzzSearchIndex = try SearchIndex(directory: fuzzDirectory + "/index", options: .init(bufferBytes: 1 << 20, mergePolicy: TieredMergePolicy(mergeFactor: 3, floorDocuments: 50)))
        }
        #if FUZZING
        var argc = Int32(args.count)
        var cargs = args.map { strdup($0) } + [nil]
        let rc = cargs.withUnsafeMutableBufferPointer { buf -> Int32 in
            var argv = buf.baseAddress
            let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
                target(UnsafeRawBufferPointer(start: data, count: size))
                return 0
            }
            strata_fuzz_set_callback(callback)
            return LLVMFuzzerRunDriver(&argc, &argv, callback)
        }
        try? FileSystem.removeTree(fuzzDirectory)
        exit(rc)
        #else
        // Regression mode: run every file in the corpus directories given.
        var count = 0
        for dir in args.dropFirst() where !dir.hasPrefix("-") {
            for name in try FileSystem.list(dir) {
                let bytes = try DataFile(path: dir + "/" + name, flags: O_RDONLY).readAll()
                bytes.withUnsafeBytes { target($0) }
                count += 1
            }
        }
        try? FileSystem.removeTree(fuzzDirectory)
        print("replayed \(count) inputs without a crash")
        #endif
    }
}
