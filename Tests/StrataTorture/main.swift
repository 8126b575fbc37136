// strata-torture: child processes for the crash and disk-full tests (Tests/StrataLogTests/
// CrashTests.swift). Not a user tool.
//
//   strata-torture append DIR         append forever with FlushPolicy.everyBatch, printing
//                                     "ack <last offset>" after each acknowledged append
//   strata-torture fill DIR BYTES     cap the file size at BYTES (RLIMIT_FSIZE), append until a
//                                     write fails, check the failure, lift the cap, append again
//   strata-torture index DIR          add documents, delete some, commit (merges run), forever,
//                                     printing "ack <next id> <deleted below>" after each commit
//   strata-torture index-fill DIR BYTES
//                                     index until a write fails at the file-size cap BYTES,
//                                     check the failure, lift the cap, reopen, commit again
//   strata-torture index-crash DIR STEP
//                                     commit 10 documents, then add 10 more, delete 3 and
//                                     exit(9) at commit step STEP (SearchIndex.commitHook)
//   strata-torture diskfull DIR FILLERS
//                                     on a small filesystem: append one-record batches (every
//                                     batch indexed) until ENOSPC, free one filler file (one
//                                     block) and go on, for every file in FILLERS; then read
//                                     everything read-only beside the writer and check every
//                                     acknowledged record; "ok <records> <enospc count>"
//   strata-torture store DIR          ingest through a Store with its index following
//                                     (refresh 5 ms, commit 40 ms, background merges), printing
//                                     "ack <partition> <first offset> <last offset> <first seq>"
//                                     after each acknowledged (fdatasync'd) append
#if canImport(Glibc)
import Glibc
#endif
import Strata
import StrataIO
import StrataLog
@_spi(Testing) import StrataSearch

/// The deterministic content of offset `o` (the parent checks every byte).
func payload(_ o: Int64) -> [UInt8] {
    let head = Array("record \(o) ".utf8)
    let length = o % 97 == 0 ? 70_000 : 20 + Int(o % 300)
    var out = head
    out.reserveCapacity(length)
    var x = UInt64(bitPattern: o) &* 0x9E37_79B9_7F4A_7C15 | 1
    while out.count < length {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        out.append(UInt8(97 + x % 26))
    }
    return out
}

func say(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { write(1, $0, strlen($0)) }
}

func tortureConfig() -> TopicConfig {
    var config = TopicConfig(partitions: 1)
    config.log.compression = .lz4
    config.log.segmentBytes = 256 << 10
    config.log.maxIndexBytes = 64 << 10
    config.flushPolicy = .everyBatch
    return config
}

func tortureSchema() throws -> Schema {
    try Schema(fields: [FieldDefinition("id", .i64), FieldDefinition("group", .keyword), FieldDefinition("body", .text(.standard))], dynamic: .strict)
}

/// The value of the store child's record number `seq` (the parent recomputes it): JSON for
/// most, plain text for every fifth, so both kinds of document are indexed.
func storeValue(_ seq: Int64) -> String {
    let words = ["disk", "error", "timeout", "retry", "node", "kernel", "link", "down", "up", "ok", "slow", "queue"]
    var x = UInt64(bitPattern: seq) &* 0x9E37_79B9_7F4A_7C15 | 1
    var text: [String] = []
    for _ in 0 ..< 3 + Int(seq % 9) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        text.append(words[Int(x % UInt64(words.count))])
    }
    if seq % 5 == 0 { return "seq \(seq) " + text.joined(separator: " ") }
    return #"{"seq":\#(seq),"level":"\#(seq % 7 == 0 ? "error" : "info")","msg":"\#(text.joined(separator: " "))"}"#
}

/// The store child's topic: three partitions, every append fdatasync'd before it is acknowledged.
func storeTopicConfig() -> TopicConfig {
    var config = TopicConfig(partitions: 3)
    config.log.segmentBytes = 128 << 10
    config.flushPolicy = .everyBatch
    return config
}

/// Document `i`: its id, group i mod 7, and text (the parent recomputes it).
func tortureDocument(_ i: Int) -> String {
    #"{"id":\#(i),"group":"\#(i % 7)","body":"doc\#(i) word\#(i % 13) common"}"#
}

let args = CommandLine.arguments
guard args.count >= 3 else { say("usage: strata-torture append DIR | fill DIR BYTES"); exit(2) }
let dir = args[2]

do {
    switch args[1] {
    case "append":
        let store = try LogStore(root: dir, logger: .silent, backgroundIntervalMs: 50)
        let log = try store.topic("torture", create: tortureConfig()).log(0)
        var rng = UInt64(getpid())
        while true {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            let n = 1 + Int(rng % 40)
            let first = log.highWatermark
            let records = (0 ..< Int64(n)).map { Record(key: Array("k\(($0 + first) % 13)".utf8), value: payload(first + $0), timestamp: first + $0) }
            let r = try log.append(records)
            say("ack \(r.lastOffset)")
        }
    case "diskfull":
        var config = TopicConfig(partitions: 1)
        config.log.indexIntervalBytes = 0 // an index entry per batch: index pages fill often
        config.log.segmentBytes = 64 << 20
        let store = try LogStore(root: dir, logger: .silent, backgroundIntervalMs: 0)
        let log = try store.topic("full", create: config).log(0)
        let fillers = try FileSystem.list(args[3]).sorted()
        var acked: Int64 = 0, enospc = 0
        // Append until ENOSPC; then free the next filler (one block) and go on; after the last.
        while true {
            do {
                _ = try log.append([Record(value: payload(acked % 50 + 1), timestamp: 1_700_000_000_000 + acked)])
                acked += 1
            } catch let e as StrataError {
                guard case let .io(_, _, code) = e, code == ENOSPC else { throw e }
                if enospc == fillers.count { break }
                try FileSystem.remove(args[3] + "/" + fillers[enospc])
                enospc += 1
            }
        }
        enospc += 1
        // A reader beside the writer while the disk is full: opening read-only probes the
        // preallocated (sparse) index files; a fault on one of their holes would be a SIGBUS.
        let reader = try LogStore(root: dir, readOnly: true, logger: .silent, backgroundIntervalMs: 0)
        let rc = try reader.topic("full").log(0).cursor()
        var seen: Int64 = 0
        while try rc.next() != nil { seen += 1 }
        guard seen == acked else { say("the reader saw \(seen) of \(acked) records"); exit(6) }
        let c = try log.cursor()
        var n: Int64 = 0
        while let r = try c.next() {
            guard r.offset == n, r.value.map(Array.init) == payload(n % 50 + 1) else { say("bad record \(n)"); exit(4) }
            n += 1
        }
        guard n == acked else { say("read \(n) of \(acked) acknowledged records"); exit(5) }
        say("ok \(acked) \(enospc)")
    case "fill":
        signal(SIGXFSZ, SIG_IGN) // get EFBIG from write instead of being killed
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        var capped = limit
        capped.rlim_cur = rlim_t(UInt64(args[3])!)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &capped)
        var config = tortureConfig()
        config.log.segmentBytes = 64 << 20 // the cap, not a roll, must stop the writes
        let store = try LogStore(root: dir, logger: .silent, backgroundIntervalMs: 0)
        let log = try store.topic("torture", create: config).log(0)
        var failure: StrataError?
        while failure == nil {
            let first = log.highWatermark
            do {
                _ = try log.append((0 ..< Int64(25)).map { Record(value: payload(first + $0), timestamp: first + $0) })
            } catch let e as StrataError { failure = e }
        }
        say("failed at \(log.highWatermark): \(failure!)")
        guard case let .io(_, _, code)? = failure, code == EFBIG else { say("unexpected error"); exit(3) }
        // Nothing acknowledged was lost and the log is readable.
        let end = log.highWatermark
        let c = try log.cursor()
        var n: Int64 = 0
        while let r = try c.next() {
            guard r.offset == n, r.value.map(Array.init) == payload(n) else { say("bad record \(n)"); exit(4) }
            n += 1
        }
        guard n == end else { say("read \(n) of \(end)"); exit(5) }
        // Space returns: appends work again.
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        _ = try log.append((0 ..< Int64(25)).map { Record(value: payload(end + $0), timestamp: end + $0) })
        try store.close()
        say("ok \(end) \(end + 25)")
    case "index":
        // Small buffers and merge tiers, so flushes and merges happen between kills.
        let options = SearchIndex.Options(bufferBytes: 30_000, mergePolicy: TieredMergePolicy(mergeFactor: 4, floorDocuments: 40))
        let index = try SearchIndex(directory: dir, schema: tortureSchema(), options: options)
        var next = Int(index.committedUserData["next"] ?? "0") ?? 0
        var deletedBelow = Int(index.committedUserData["deletedBelow"] ?? "0") ?? 0
        var round = 0
        while true {
            for _ in 0 ..< 1 + next % 37 {
                try index.add(json: tortureDocument(next))
                next += 1
            }
            round += 1
            if round % 5 == 0 {
                try index.delete(.term(field: "group", text: "3"))
                deletedBelow = next
            }
            try index.commit(userData: ["next": String(next), "deletedBelow": String(deletedBelow)])
            say("ack \(next) \(deletedBelow)")
        }
    case "store":
        var options = StoreOptions()
        options.refreshIntervalMs = 5
        options.minimumRefreshGapMs = 1
        options.commitIntervalMs = 40
        options.indexBufferBytes = 1 << 20
        options.logger = .silent
        let store = try Store(directory: dir, options: options)
        try store.createTopic("events", config: storeTopicConfig())
        if (try? store.indexDefinition("events")) == nil { try store.createIndex("events") }
        // Sequence numbers continue across runs: the next is one past the largest in the log.
        var seq: Int64 = 0
        for p in 0 ..< 3 { seq += try store.topic("events").log(Int32(p)).highWatermark }
        var rng = UInt64(getpid())
        while true {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            let n = 1 + Int(rng % 20)
            let p = Int32(rng % 3)
            let records = (0 ..< Int64(n)).map { Record(key: Array("k\(($0 + seq) % 11)".utf8), value: Array(storeValue(seq + $0).utf8)) }
            let r = try store.append("events", records, partition: p)[0]
            say("ack \(p) \(r.firstOffset) \(r.lastOffset) \(seq)")
            seq += Int64(n)
            usleep(UInt32(1000 + rng % 4000))
        }
    case "index-fill":
        // Disk full while indexing: cap the file size, add and commit until a write fails,
        // check the failure, lift the cap, reopen: the last commit is intact and commits resume.
        signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        var capped = limit
        capped.rlim_cur = rlim_t(UInt64(args[3])!)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &capped)
        var index = try SearchIndex(directory: dir, schema: tortureSchema(), options: .init(bufferBytes: 200_000))
        var committed = 0, next = 0
        var failure: StrataError?
        while failure == nil {
            do {
                for _ in 0 ..< 200 { try index.add(json: tortureDocument(next)); next += 1 }
                let report = try index.commit(userData: ["next": String(next)])
                committed = next // durable, even when a merge after it failed
                if let e = report.mergeError { failure = e }
            } catch let e as StrataError { failure = e }
        }
        say("failed after commit \(committed): \(failure!)")
        guard case let .io(_, _, code)? = failure, code == EFBIG else { say("unexpected error"); exit(3) }
        index.close()
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        index = try SearchIndex(directory: dir)
        let s = index.searcher()
        guard index.committedUserData["next"] == String(committed), s.documentCount == committed else {
            say("reopened with \(s.documentCount) documents, last commit had \(committed)"); exit(4)
        }
        for i in committed ..< committed + 10 { try index.add(json: tortureDocument(i)) }
        try index.commit(userData: ["next": String(committed + 10)])
        say("ok \(committed) \(index.searcher().documentCount)")
    case "index-crash":
        let index = try SearchIndex(directory: dir, schema: tortureSchema())
        for i in 0 ..< 10 { try index.add(json: tortureDocument(i)) }
        try index.commit(userData: ["next": "10"])
        say("committed 10")
        let step = args[3]
        index.commitHook = { if $0 == step { _exit(9) } }
        for i in 10 ..< 20 { try index.add(json: tortureDocument(i)) }
        try index.delete(.term(field: "group", text: "3"))
        try index.commit(userData: ["next": "20"])
        say("step \(step) never reached")
        exit(3)
    default:
        say("unknown mode \(args[1])")
        exit(2)
    }
} catch {
    say("error: \(error)")
    exit(1)
}
