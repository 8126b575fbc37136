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
    let ok = (try? run(["python3", "-c", "import kafka, lz4, crc32c"]).0) == 0
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
