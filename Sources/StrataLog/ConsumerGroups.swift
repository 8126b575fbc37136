import StrataIO

/// A topic and partition.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)-\(partition)" }
}

/// A committed consumer position: the next offset to read, like Kafka's OffsetAndMetadata.
public struct CommittedOffset: Sendable, Equatable {
    public var offset: Int64
    public var commitTimestamp: Int64
    public var metadata: String
    public init(offset: Int64, commitTimestamp: Int64 = currentTimeMillis(), metadata: String = "") {
        self.offset = offset
        self.commitTimestamp = commitTimestamp
        self.metadata = metadata
    }
}

/// Committed offsets per consumer group, one file per group in `<root>/groups/`, replaced
/// atomically on every commit (temp file, fsync, rename, directory fsync): a crash leaves the
/// previous or the new commit, never a mix. Format: Formats/consumer-offsets.md.
public final class ConsumerGroups: @unchecked Sendable {
    public let directory: String
    private let lock = Lock()
    private var cache: [String: [TopicPartition: CommittedOffset]] = [:]
    private let readOnly: Bool
    /// Set when the store closes: the writer lock that made commits safe is gone.
    private var closed = false
    /// The store whose topics commits must name (set once, right after the store opens).
    weak var store: LogStore?

    init(directory: String, readOnly: Bool) throws {
        self.directory = directory
        self.readOnly = readOnly
        if !readOnly { try FileSystem.createDirectory(directory) }
    }

    /// Group ids may hold any characters; in file names bytes outside `[A-Za-z0-9._-]` are
    /// written `%XX`.
    static func fileName(_ group: String) -> String {
        var out = ""
        for b in group.utf8 {
            let ok = (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b == 0x2e || b == 0x5f || b == 0x2d
            out += ok ? String(Character(Unicode.Scalar(b))) : "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
        }
        return out + ".offsets"
    }

    static func groupName(fromFile name: String) -> String? {
        guard name.hasSuffix(".offsets") else { return nil }
        var bytes: [UInt8] = []
        let raw = Array(name.dropLast(".offsets".count).utf8)
        var i = 0
        while i < raw.count {
            if raw[i] == 0x25, i + 2 < raw.count,
               let v = UInt8(String(decoding: raw[i + 1 ... i + 2], as: UTF8.self), radix: 16) {
                bytes.append(v)
                i += 3
            } else {
                bytes.append(raw[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func path(_ group: String) -> String { directory + "/" + Self.fileName(group) }

    private func validate(_ group: String) throws {
        // The escaped file name plus ".tmp" must fit a 255-byte file name.
        let nameLength = Self.fileName(group).utf8.count + 4
        if group.isEmpty || nameLength > 255 {
            throw StrataError.invalidArgument("group id must be non-empty and at most 243 bytes once escaped for its file name (got \(group.utf8.count) bytes, \(nameLength - 12) escaped)")
        }
    }

    /// A writable store owns the files, so it caches them; a read-only store (beside another
    /// process's writer) reads the file every time to see new commits.
    private func load(_ group: String) throws -> [TopicPartition: CommittedOffset] {
        if !readOnly, let c = cache[group] { return c }
        let p = path(group)
        guard try FileSystem.existsChecked(p) else { return [:] }
        let offsets = try GroupOffsetsFile.decode(try FileSystem.readFile(p), file: p)
        if !readOnly { cache[group] = offsets }
        return offsets
    }

    /// Commits positions for a group: all of them or none, durably, before returning. Every
    /// topic and partition must exist (`notFound`) and every offset lie in
    /// `[logStartOffset, highWatermark]` (`offsetOutOfRange`).
    public func commit(group: String, _ offsets: [TopicPartition: CommittedOffset]) throws {
        try validate(group)
        if readOnly { throw StrataError.readOnly("the store") }
        try checkOpen()
        for (tp, o) in offsets {
            try TopicName.validate(tp.topic)
            if tp.partition < 0 || o.offset < 0 { throw StrataError.invalidArgument("negative partition or offset in commit for \(tp)") }
            // The topic and partition must exist and the offset lie within the log, so a typo
            // never records a position a consumer would skip to.
            if let store {
                let log = try store.topic(tp.topic).log(tp.partition)
                guard o.offset >= log.logStartOffset, o.offset <= log.highWatermark else {
                    throw StrataError.offsetOutOfRange(requested: o.offset, logStart: log.logStartOffset, logEnd: log.highWatermark)
                }
            }
        }
        try lock.withLock {
            if closed { throw StrataError.closed("the consumer groups of \(directory)") }
            var merged = try load(group)
            for (tp, o) in offsets { merged[tp] = o }
            try FileSystem.writeAtomically(GroupOffsetsFile.encode(merged), to: path(group))
            cache[group] = merged
        }
    }

    /// After the store closed, every call throws `StrataError.closed`.
    func close() { lock.withLock { closed = true } }

    private func checkOpen() throws {
        if lock.withLock({ closed }) { throw StrataError.closed("the consumer groups of \(directory)") }
    }

    /// Commits one position (the next offset to consume).
    public func commit(group: String, topic: String, partition: Int32, offset: Int64, metadata: String = "") throws {
        try commit(group: group, [TopicPartition(topic: topic, partition: partition): CommittedOffset(offset: offset, metadata: metadata)])
    }

    /// The committed position of a group for one partition, if any.
    public func committed(group: String, topic: String, partition: Int32) throws -> CommittedOffset? {
        try checkOpen()
        return try lock.withLock { try load(group)[TopicPartition(topic: topic, partition: partition)] }
    }

    /// Every committed position of a group.
    public func describe(group: String) throws -> [TopicPartition: CommittedOffset] {
        try checkOpen()
        return try lock.withLock { try load(group) }
    }

    /// Groups with committed offsets.
    public func list() throws -> [String] {
        try checkOpen()
        guard try FileSystem.isDirectoryChecked(directory) else { return [] }
        return try FileSystem.list(directory).compactMap(Self.groupName(fromFile:)).sorted()
    }

    /// Forgets a group.
    public func delete(group: String) throws {
        if readOnly { throw StrataError.readOnly("the store") }
        try lock.withLock {
            if closed { throw StrataError.closed("the consumer groups of \(directory)") }
            try FileSystem.remove(path(group))
            try FileSystem.syncDirectory(directory)
            cache[group] = nil
        }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
