#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// Where a segment's bytes go as they are produced: memory (tests, small files) or a file
/// written through a 1 MiB buffer with a running CRC-32C and renamed into place on `commit`
/// (fsync'd first when durable) — so flushes and merges never hold a whole segment in memory.
final class SegmentOutput {
    private let file: DataFile?
    private let path: String
    private let temporary: String
    private var buffer: [UInt8] = []
    private(set) var memory: [UInt8] = []
    /// Bytes written so far.
    private(set) var count = 0
    /// CRC-32C of every byte written so far.
    private(set) var crc: UInt32 = 0
    private static let chunk = 1 << 20

    /// In memory.
    init() {
        file = nil
        path = ""
        temporary = ""
    }

    /// To `path` (through `path.tmp`).
    init(path: String) throws {
        self.path = path
        temporary = path + ".tmp"
        file = try DataFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        buffer.reserveCapacity(Self.chunk)
    }

    /// Bytes already handed to the file.
    private var flushed = 0

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        crc = CRC32C.checksum(bytes, continuing: crc)
        count += bytes.count
        guard let file else { memory.append(contentsOf: bytes); return }
        if buffer.count + bytes.count > Self.chunk { try drain() }
        if bytes.count >= Self.chunk {
            try file.write(bytes, at: Int64(flushed))
            flushed += bytes.count
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    private func drain() throws {
        guard let file, !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try file.write($0, at: Int64(flushed)) }
        flushed += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the rest and renames into place; `durable`: fsyncs the file first and the
    /// directory after (otherwise the index syncs it at its next commit).
    func commit(durable: Bool) throws {
        guard let file else { return }
        try drain()
        if durable { try file.sync() } else { file.startWriteback() }
        file.close()
        try FileSystem.rename(temporary, path)
        if durable { try FileSystem.syncDirectory(FileSystem.parent(of: path)) }
    }

    /// Removes the temp file after a failure.
    func abandon() {
        file?.close()
        if file != nil { try? FileSystem.remove(temporary) }
    }
}

/// A byte stream that stays in memory up to `limit` bytes and spills to an unlinked temp file
/// beyond it (a section of a segment being built, copied into the output at the end).
final class SpillBuffer {
    /// The in-memory tail (appended to in place: no copy-on-write check per write).
    let tail = ByteWriter(capacity: 1 << 12)
    private let limit: Int
    private let directory: String?
    private var file: DataFile?
    private var spilled = 0
    /// Bytes appended so far.
    var count: Int { spilled + tail.count }

    /// `directory`: where a temp file may go (nil: always memory).
    init(directory: String?, limit: Int = 4 << 20) {
        self.directory = directory
        self.limit = limit
    }

    /// Appends `bytes`.
    @inline(__always) func append(_ bytes: UnsafeRawBufferPointer) throws {
        tail.append(bytes)
        try settle()
    }

    /// Spills the tail once it passes the limit (after writing to `tail` directly).
    @inline(__always) func settle() throws {
        if tail.count >= limit, directory != nil { try spill() }
    }

    private func spill() throws {
        if file == nil {
            let path = directory! + "/.spill-\(getpid())-\(UInt32.random(in: 0 ... .max))"
            file = try DataFile(path: path, flags: O_RDWR | O_CREAT | O_EXCL)
            try FileSystem.remove(path) // unlinked: gone when closed, even after a crash
        }
        try file!.write(tail.bytes, at: Int64(spilled))
        spilled += tail.count
        tail.removeAll()
    }

    /// Copies everything to `out`.
    func copy(to out: SegmentOutput) throws {
        if let file, spilled > 0 {
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            var at = 0
            while at < spilled {
                let n = min(chunk.count, spilled - at)
                try chunk.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0 ..< n]), at: Int64(at)) }
                try chunk.withUnsafeBytes { try out.write(UnsafeRawBufferPointer(rebasing: $0[0 ..< n])) }
                at += n
            }
        }
        try out.write(tail.bytes)
    }
}
