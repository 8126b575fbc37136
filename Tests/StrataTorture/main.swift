// strata-torture: child processes for the crash and disk-full tests (Tests/StrataLogTests/
// CrashTests.swift). Not a user tool.
//
//   strata-torture append DIR         append forever with FlushPolicy.everyBatch, printing
//                                     "ack <last offset>" after each acknowledged append
//   strata-torture fill DIR BYTES     cap the file size at BYTES (RLIMIT_FSIZE), append until a
//                                     write fails, check the failure, lift the cap, append again
#if canImport(Glibc)
import Glibc
#endif
import StrataIO
import StrataLog

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

let args = CommandLine.arguments
guard args.count >= 3 else { say("usage: strata-torture append DIR | fill DIR BYTES"); exit(2) }
let dir = args[2]

do {
    switch args[1] {
    case "append":
        let store = try LogStore(root: dir, logger: { _ in }, backgroundIntervalMs: 50)
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
    case "fill":
        signal(SIGXFSZ, SIG_IGN) // get EFBIG from write instead of being killed
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        var capped = limit
        capped.rlim_cur = rlim_t(UInt64(args[3])!)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &capped)
        var config = tortureConfig()
        config.log.segmentBytes = 64 << 20 // the cap, not a roll, must stop the writes
        let store = try LogStore(root: dir, logger: { _ in }, backgroundIntervalMs: 0)
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
    default:
        say("unknown mode \(args[1])")
        exit(2)
    }
} catch {
    say("error: \(error)")
    exit(1)
}
