import ArgumentParser
import Foundation
import Strata

/// Reads lines from a file descriptor in large chunks, handing each line (without its
/// newline) as borrowed bytes.
struct LineReader {
    private let fd: Int32
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var eof = false
    /// Bytes read so far.
    private(set) var bytesRead = 0

    init(fd: Int32, chunk: Int = 1 << 20) {
        self.fd = fd
        buffer = [UInt8](repeating: 0, count: chunk)
    }

    /// Calls `body` with the next line; false at the end of input.
    mutating func next(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        while true {
            if let nl = buffer[start ..< end].firstIndex(of: 0x0A) {
                var stop = nl
                if stop > start && buffer[stop - 1] == 0x0D { stop -= 1 }
                try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start ..< stop])) }
                start = nl + 1
                return true
            }
            if eof {
                guard start < end else { return false }
                try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start ..< end])) }
                start = end
                return true
            }
            // Move the partial line to the front (grow for a line longer than the buffer), then read.
            if start > 0 {
                buffer.replaceSubrange(0 ..< end - start, with: buffer[start ..< end])
                end -= start
                start = 0
            }
            if end == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + end, $0.count - end) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StrataError.io(operation: "read", path: fd == 0 ? "standard input" : "input", errno: errno)
            }
            if n == 0 { eof = true } else { end += n; bytesRead += n }
        }
    }
}

/// A progress line on a terminal: records, MB/s and, when the input size is known, an ETA.
struct Progress {
    let total: Int64?
    let enabled: Bool
    private let started = DispatchTime.now()
    private var lastDraw: UInt64 = 0

    init(total: Int64?) {
        self.total = total
        enabled = isatty(2) == 1
    }

    mutating func update(records: Int, bytes: Int, force: Bool = false) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if !force && now - lastDraw < 100_000_000 { return }
        lastDraw = now
        let seconds = max(1e-9, Double(now - started.uptimeNanoseconds) / 1e9)
        let rate = Double(bytes) / seconds / 1e6
        var line = String(format: "\r  %10d records  %8.1f MB  %7.1f MB/s", records, Double(bytes) / 1e6, rate)
        if let total, total > 0 {
            let fraction = min(1, Double(bytes) / Double(total))
            let width = 24
            let filled = Int(fraction * Double(width))
            let eta = rate > 0 ? (Double(total - Int64(bytes)) / 1e6) / rate : 0
            line += "  [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
            line += String(format: " %3.0f%%  ETA %4.0f s", fraction * 100, max(0, eta))
        }
        writeStandardError(line)
    }

    func finish() { if enabled { writeStandardError("\n") } }
}

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append JSON or text lines to a topic through the store; its index (created when missing) makes them searchable.")

    @Option(name: .shortAndLong, help: "The data directory.") var dir: String = "strata-data"
    @Option(name: .shortAndLong, help: "The topic.") var topic: String
    @Option(help: "json: each line is a record value (JSON objects become fields); text: each line is a text record.") var format: String = "json"
    @Option(help: "Partitions when the topic is created.") var partitions: Int32 = 1
    @Option(help: "Codec when the topic is created: none, gzip, snappy, lz4, zstd.") var compression: String = "lz4"
    @Option(help: "text: split each line at the first occurrence of this separator into key and value.") var keySeparator: String?
    @Option(help: "json: use this top-level string field as the record key (partitioning by key).") var keyField: String?
    @Flag(help: "Do not create an index for the topic.") var noIndex = false
    @Flag(help: "Return once the records are appended, without waiting for them to be searchable.") var noWait = false
    @Option(help: "Lines per append.") var batch: Int = 2000
    @Argument(help: "Input file, or - for standard input.") var input: String = "-"

    func run() throws {
        try reportingErrors {
            guard format == "json" || format == "text" else { throw StrataError.invalidArgument("--format must be json or text, not \(format)") }
            guard let codec = CompressionCodec(name: compression) else {
                throw StrataError.invalidArgument("unknown compression \(compression); use none, gzip, snappy, lz4 or zstd")
            }
            let fd: Int32 = input == "-" ? 0 : open(input, O_RDONLY)
            if fd < 0 { throw StrataError.io(operation: "open", path: input, errno: errno) }
            defer { if fd > 0 { close(fd) } }
            let size = input == "-" ? nil : FileSystem.fileSize(input)
            let store = try Store(directory: dir)
            var config = TopicConfig(partitions: partitions)
            config.log.compression = codec
            if (try? store.topic(topic)) == nil { try store.createTopic(topic, config: config) }
            if !noIndex, (try? store.resolveIndexName(topic)) == nil { try store.createIndex(topic) }
            var reader = LineReader(fd: fd)
            var progress = Progress(total: size)
            var pending: [Record] = []
            pending.reserveCapacity(batch)
            var records = 0
            let keyNeedle = keyField.map { Array("\"\($0)\"".utf8) }
            let separator = keySeparator.map { Array($0.utf8) }
            let started = DispatchTime.now()
            while try reader.next({ line in
                if line.isEmpty { return }
                var key: [UInt8]?
                var value = Array(line)
                if let separator, let at = Self.find(separator, in: line) {
                    key = Array(line[..<at])
                    value = Array(line[(at + separator.count)...])
                } else if let keyNeedle {
                    key = Self.jsonStringField(keyNeedle, in: line)
                }
                pending.append(Record(key: key, value: value))
            }) {
                if pending.count >= batch {
                    try store.append(topic, pending)
                    records += pending.count
                    pending.removeAll(keepingCapacity: true)
                    progress.update(records: records, bytes: reader.bytesRead)
                }
            }
            if !pending.isEmpty {
                try store.append(topic, pending)
                records += pending.count
            }
            progress.update(records: records, bytes: reader.bytesRead, force: true)
            progress.finish()
            let appendSeconds = seconds(since: started)
            var summary = String(format: "appended %d records (%.1f MB) to %@ in %.2f s: %.0f records/s, %.1f MB/s",
                                 records, Double(reader.bytesRead) / 1e6, topic, appendSeconds, Double(records) / max(appendSeconds, 1e-9), Double(reader.bytesRead) / 1e6 / max(appendSeconds, 1e-9))
            if !noIndex && !noWait {
                try store.refresh(topic, timeoutMs: 3_600_000)
                let status = try store.indexStatus(topic)
                summary += String(format: "; searchable after %.2f s (index %@: %d documents, %d segments, %.1f MB)",
                                  seconds(since: started), status.definition.name, status.documents, status.segments, Double(status.sizeBytes) / 1e6)
            }
            try store.close()
            print(summary)
        }
    }

    static func find(_ needle: [UInt8], in hay: UnsafeRawBufferPointer) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count else { return nil }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == needle[0] && needle.indices.allSatisfy({ hay[i + $0] == needle[$0] }) { return i }
            i += 1
        }
        return nil
    }

    /// The value of `"field":"value"` in a JSON line (plain strings; no full parse).
    static func jsonStringField(_ needle: [UInt8], in line: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let at = find(needle, in: line) else { return nil }
        var i = at + needle.count
        while i < line.count, line[i] == 0x20 || line[i] == UInt8(ascii: ":") { i += 1 }
        guard i < line.count, line[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        let start = i
        while i < line.count, line[i] != UInt8(ascii: "\"") {
            if line[i] == UInt8(ascii: "\\") { return nil }
            i += 1
        }
        return i < line.count ? Array(line[start ..< i]) : nil
    }
}

/// Writes to standard error, ignoring a failure (a closed stderr must not kill the process).
func writeStandardError(_ s: String) {
    _ = try? writeAll(fd: 2, s)
}

/// Writes `s` to standard output with write(2), throwing when it fails (a full disk, a closed
/// pipe, `> /dev/full`): output that did not arrive is an error, not a silent exit 0.
func writeStandardOutput(_ s: String) throws {
    try writeAll(fd: 1, s)
}

private func writeAll(fd: Int32, _ s: String) throws {
    var copy = s
    try copy.withUTF8 { u in
        var off = 0
        while off < u.count {
            let n = write(fd, u.baseAddress! + off, u.count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw StrataError.io(operation: "write", path: fd == 1 ? "standard output" : "standard error", errno: n < 0 ? errno : EIO) }
            off += n
        }
    }
}
