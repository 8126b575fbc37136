import Foundation
import Testing
import StrataIO
@testable import StrataLog

/// Bytes of address space this process maps per file under `directory` (from /proc/self/maps).
func mappedBytes(under directory: String) throws -> [String: Int] {
    // /proc files have no size: read to the end.
    let fd = open("/proc/self/maps", O_RDONLY)
    guard fd >= 0 else { throw StrataError.io(operation: "open", path: "/proc/self/maps", errno: errno) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0 ..< n]
    }
    let maps = String(decoding: bytes, as: UTF8.self)
    var out: [String: Int] = [:]
    for line in maps.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 6, fields[5].hasPrefix(directory) else { continue }
        let range = fields[0].split(separator: "-").compactMap { Int($0, radix: 16) }
        guard range.count == 2 else { continue }
        out[String(fields[5]), default: 0] += range[1] - range[0]
    }
    return out
}

@Suite(.serialized) struct AddressSpaceTests {
    /// An idle partition holds no mapping: its empty segment reserves address space only at
    /// its first append (it used to map 1 GiB for the `.log` and 10 MiB per index each).
    @Test func idlePartitionsMapNothing() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, logger: .silent, backgroundIntervalMs: 0)
        let topic = try store.topic("idle", create: TopicConfig(partitions: 64))
        let before = try mappedBytes(under: dir.path)
        #expect(before.count == 0, "files mapped by idle partitions")
        try topic.append([Record(value: [1], timestamp: 1)], partition: 3)
        let mapped = try mappedBytes(under: dir.path)
        #expect(Set(mapped.keys.map { URL(fileURLWithPath: $0).deletingLastPathComponent().lastPathComponent }) == ["idle-3"])
        #expect(mapped.count == 3, "the written partition maps its .log and both indexes: \(mapped)")
        #expect(try topic.log(3).cursor().next()?.value.map(Array.init) == [1])
        #expect(try topic.log(5).cursor().next() == nil, "an idle partition reads as empty")
        try store.close()
    }

    /// Reopened, a closed segment maps only the bytes it holds, and its trimmed indexes a page
    /// at most; only the active segment reserves `segmentBytes`.
    @Test func closedSegmentsMapWhatTheyHold() throws {
        let dir = TempDir()
        var config = LogConfig()
        config.segmentBytes = 96 << 10 // segments end short of it: a full reservation would show
        config.indexIntervalBytes = 4096
        config.compression = .none
        do {
            let log = try Log.open(directory: dir.path + "/t-0", config: config)
            for chunk in makeRecords(6000).chunked(200) { try log.append(chunk) }
            try log.close()
        }
        let log = try Log.open(directory: dir.path + "/t-0", config: config)
        let segments = log.snapshot().segments
        #expect(segments.count >= 4)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        func roundUp(_ n: Int) -> Int { max(page, (n + page - 1) / page * page) }
        let mapped = try mappedBytes(under: dir.path)
        for s in segments.dropLast() {
            #expect(mapped[s.logPath] == roundUp(s.size), "closed \(s.logPath): \(mapped[s.logPath] ?? 0) bytes for \(s.size)")
            let indexSize = Int(FileSystem.fileSize(s.indexPath) ?? 0)
            #expect((mapped[s.indexPath] ?? 0) <= roundUp(indexSize), "closed index: \(mapped[s.indexPath] ?? 0) bytes for \(indexSize)")
        }
        #expect(mapped[segments.last!.logPath] == roundUp(config.segmentBytes), "the active segment keeps its reservation")
        // Rolling gives back the index address space of the segment it closes.
        try log.roll()
        let after = try mappedBytes(under: dir.path)
        let closed = segments.last!
        #expect((after[closed.indexPath] ?? 0) <= roundUp(Int(FileSystem.fileSize(closed.indexPath) ?? 0)))
        #expect(try readAll(log).count == 6000)
        try log.close()
    }
}
