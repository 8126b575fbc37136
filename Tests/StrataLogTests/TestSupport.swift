import Logging
import Foundation
import StrataIO
@testable import StrataLog

/// The package root (…/Tests/StrataLogTests/TestSupport.swift → …).
let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// `../shared/data` beside the package, or nil (tests that need it skip with a message).
let sharedData: String? = {
    let p = FileSystem.parent(of: packageRoot) + "/shared/data"
    return FileSystem.isDirectory(p) ? p : nil
}()

/// A fresh temporary directory, removed by `cleanup()`.
final class TempDir {
    let path: String
    init(_ name: String = "strata-test") {
        var template = Array("/tmp/\(name)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
    }
    deinit { try? FileSystem.removeTree(path) }
}

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.utf8.makeIterator()
    func nib(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57 }
    while let a = it.next(), let b = it.next() { out.append(nib(a) << 4 | nib(b)) }
    return out
}

func hexString(_ b: some Sequence<UInt8>) -> String {
    b.map { String(format: "%02x", $0) }.joined()
}

/// Runs a program, returning (status, stdout, stderr).
@discardableResult
func run(_ argv: [String], cwd: String? = nil) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Whether python3 can import kafka-python and friends. In CI (`STRATA_REQUIRE_INTEROP=1`)
/// a missing peer is a failure, not a skip.
let kafkaPythonAvailable: Bool = {
    let ok = (try? run(["python3", "-c", "import kafka, lz4, crc32c, zstandard, snappy"]).0) == 0
    if !ok && ProcessInfo.processInfo.environment["STRATA_REQUIRE_INTEROP"] == "1" {
        fatalError("STRATA_REQUIRE_INTEROP=1 but kafka-python is not importable: pip install -r Tests/Interop/requirements.txt")
    }
    if !ok { print("note: kafka-python not installed; interop tests skip (pip install -r Tests/Interop/requirements.txt)") }
    return ok
}()

/// All records of a log, owned.
func readAll(_ log: Log, from: StartPosition = .earliest) throws -> [(Int64, Record)] {
    let c = try log.cursor(from: from)
    var out: [(Int64, Record)] = []
    while let r = try c.next() { out.append((r.offset, r.owned())) }
    return out
}

func smallConfig(_ tweak: (inout LogConfig) -> Void = { _ in }) -> LogConfig {
    var c = LogConfig()
    c.segmentBytes = 64 << 10
    c.maxIndexBytes = 4096
    tweak(&c)
    return c
}

func makeRecords(_ n: Int, start: Int = 0, ts: Int64 = 1_700_000_000_000) -> [Record] {
    var out: [Record] = []
    out.reserveCapacity(n)
    for i in start ..< start + n {
        let key: [UInt8]? = i % 3 == 0 ? nil : Array("key-\(i % 17)".utf8)
        let text = "2026-11-22 03:47:\(i % 60) INFO worker-\(i % 7) processed request \(i) in \(i % 997) ms"
        let value: [UInt8]? = i % 11 == 5 ? nil : Array(text.utf8)
        let headers: [RecordHeader] = i % 4 == 0 ? [RecordHeader(key: "trace", value: Array("t\(i)".utf8))] : []
        let skew: Int64 = i % 5 == 0 ? 7 : 0
        out.append(Record(key: key, value: value, headers: headers, timestamp: ts + Int64(i) * 10 - skew))
    }
    return out
}

/// Collects logger messages across threads (a swift-log handler).
final class MessageCollector: @unchecked Sendable {
    private let lock = Lock()
    private var storage: [String] = []
    var messages: [String] { lock.withLock { storage } }
    func append(_ m: String) { lock.withLock { storage.append(m) } }
    var logger: Logger { Logger(label: "strata-test") { _ in CollectingHandler(collector: self) } }
}

struct CollectingHandler: LogHandler {
    let collector: MessageCollector
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { collector.append(event.message.description) }
}

/// Writes three 3-record batches (offsets 0-2, 3-5, 6-8) to a log at `path`, closes it, then
/// forges record 1 of the middle batch to claim offset delta 50 with the batch CRC recomputed
/// (CRC-valid garbage). Returns the middle batch's byte range in the segment file.
@discardableResult
func writeLogWithForgedMiddleRecord(_ path: String) throws -> Range<Int> {
    do {
        let log = try Log.open(directory: path, config: smallConfig())
        for b in 0 ..< 3 { _ = try log.append((0 ..< 3).map { Record(value: Array("b\(b) r\($0)".utf8), timestamp: 1) }) }
        try log.close()
    }
    let file = path + "/" + String(repeating: "0", count: 20) + ".log"
    var bytes = try FileSystem.readFile(file)
    func be32(_ at: Int) -> Int { Int(bytes[at ..< at + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
    let first = be32(8) + 12
    let end = first + 12 + be32(first + 8)
    // Record 1 of batch 2: skip record 0 (length varint + body), then its length varint,
    // attributes byte and one-byte timestamp delta.
    var at = first + RecordBatchHeader.size
    at += 1 + Int(bytes[at] >> 1)
    let deltaAt = at + 3
    precondition(bytes[deltaAt] == 0x02, "offset delta 1, one zigzag byte")
    bytes[deltaAt] = 100
    let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(first + 21) ..< end])) }
    for k in 0 ..< 4 { bytes[first + 17 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
    try FileSystem.writeAtomically(bytes, to: file)
    return first ..< end
}
