#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataIO

/// Settings of a topic, kept in `<root>/topic-configs/<topic>.json`.
public struct TopicConfig: Sendable, Equatable, Codable {
    public var partitions: Int32
    public var log: LogConfig
    public var flushPolicy: FlushPolicy

    public init(partitions: Int32 = 1, log: LogConfig = LogConfig(), flushPolicy: FlushPolicy = .os) {
        self.partitions = partitions
        self.log = log
        self.flushPolicy = flushPolicy
    }
}

/// A topic: N partition logs and Kafka's key partitioning.
public final class Topic: @unchecked Sendable {
    public let name: String
    public let config: TopicConfig
    public let partitions: [Log]
    private let lock = Lock()
    private var nextRoundRobin: Int32 = 0

    init(name: String, config: TopicConfig, partitions: [Log]) {
        self.name = name
        self.config = config
        self.partitions = partitions
    }

    /// The partition for a record: Kafka's murmur2 for keyed records, round-robin per call for
    /// unkeyed ones.
    public func partition(forKey key: [UInt8]?) -> Int32 {
        if let key { return Murmur2.partition(forKey: key, partitions: Int32(partitions.count)) }
        return lock.withLock {
            let p = nextRoundRobin
            nextRoundRobin = (nextRoundRobin + 1) % Int32(partitions.count)
            return p
        }
    }

    public func log(_ partition: Int32) throws -> Log {
        guard partition >= 0 && Int(partition) < partitions.count else {
            throw StrataError.notFound("partition \(partition) of topic \(name) (it has \(partitions.count))")
        }
        return partitions[Int(partition)]
    }

    /// Appends records to an explicit partition.
    @discardableResult
    public func append(_ records: [Record], partition: Int32) throws -> AppendResult {
        try log(partition).append(records)
    }

    /// Appends records, each to the partition its key selects (unkeyed records share one
    /// round-robin partition per call). Returns the results per partition. Records are routed
    /// by index, never copied.
    @discardableResult
    public func append(_ records: [Record]) throws -> [Int32: AppendResult] {
        if partitions.count == 1 { return [0: try partitions[0].append(records)] }
        var picks = [[Int32]](repeating: [], count: partitions.count)
        var unkeyed: Int32?
        for (i, r) in records.enumerated() {
            let p: Int32
            if let key = r.key { p = Murmur2.partition(forKey: key, partitions: Int32(partitions.count)) } else {
                if unkeyed == nil { unkeyed = partition(forKey: nil) }
                p = unkeyed!
            }
            picks[Int(p)].append(Int32(i))
        }
        var out: [Int32: AppendResult] = [:]
        try records.withUnsafeBufferPointer { buffer in
            for (p, indices) in picks.enumerated() where !indices.isEmpty {
                out[Int32(p)] = try indices.withUnsafeBufferPointer { try partitions[p].append(buffer: buffer, selecting: $0) }
            }
        }
        return out
    }

    public func flush() throws { for p in partitions { try p.flush() } }
    public func close() throws { for p in partitions { try p.close() } }
}

/// A directory of topics in Kafka's layout (`topics/<topic>-<partition>/`), owned by one
/// writer process through an exclusive `flock` on `strata.lock`.
public final class LogStore: @unchecked Sendable {
    public let root: String
    public let isReadOnly: Bool
    private var lockFD: Int32
    private let lock = Lock()
    private var topics: [String: Topic] = [:]

    public var topicsDirectory: String { root + "/topics" }
    var configsDirectory: String { root + "/topic-configs" }

    /// Opens (creating when needed) the store at `root`. A writable open takes the directory's
    /// writer lock and fails with a clear error when another writer holds it.
    public init(root: String, readOnly: Bool = false) throws {
        self.root = root
        isReadOnly = readOnly
        if readOnly {
            guard FileSystem.isDirectory(root + "/topics") else { throw StrataError.notFound("a Strata store at \(root) (no topics/ directory)") }
            lockFD = -1
        } else {
            try FileSystem.createDirectory(root + "/topics")
            try FileSystem.createDirectory(root + "/topic-configs")
            let path = root + "/strata.lock"
            let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 { throw StrataError.io(operation: "open", path: path, errno: errno) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                var buf = [UInt8](repeating: 0, count: 64)
                let n = pread(fd, &buf, 63, 0)
                Glibc.close(fd)
                let holder = n > 0 ? String(decoding: buf[0 ..< n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
                if code == EWOULDBLOCK {
                    throw StrataError.invalidArgument("the store at \(root) is already open for writing by \(holder) (strata.lock is held); close it first or open read-only")
                }
                throw StrataError.io(operation: "flock", path: path, errno: code)
            }
            let me = "pid \(getpid())\n"
            _ = ftruncate(fd, 0)
            _ = me.withCString { pwrite(fd, $0, strlen($0), 0) }
            lockFD = fd
        }
    }

    deinit { if lockFD >= 0 { Glibc.close(lockFD) } }

    private func releaseWriterLock() {
        if lockFD >= 0 {
            flock(lockFD, LOCK_UN)
            Glibc.close(lockFD)
            lockFD = -1
        }
    }

    /// Opens topic `name`, creating it with `config` when it does not exist. An existing topic
    /// keeps its stored configuration.
    public func topic(_ name: String, create config: TopicConfig? = nil) throws -> Topic {
        try TopicName.validate(name)
        return try lock.withLock {
            if let t = topics[name] { return t }
            let configPath = configsDirectory + "/" + name + ".json"
            var effective: TopicConfig
            if FileSystem.exists(configPath) {
                let bytes = try DataFile(path: configPath, flags: O_RDONLY).readAll()
                do { effective = try JSONDecoder().decode(TopicConfig.self, from: Data(bytes)) } catch {
                    throw StrataError.corrupt(file: configPath, position: 0, reason: "unreadable topic config: \(error)")
                }
            } else if let discovered = try discoverPartitions(name), discovered > 0 {
                effective = config ?? TopicConfig()
                effective.partitions = discovered
            } else {
                guard let config else { throw StrataError.notFound("topic \(name) in \(root)") }
                if isReadOnly { throw StrataError.notFound("topic \(name) in \(root)") }
                if config.partitions < 1 { throw StrataError.invalidArgument("a topic needs at least one partition") }
                try config.log.validate()
                effective = config
            }
            if !isReadOnly && !FileSystem.exists(configPath) {
                let data = try JSONEncoder().encode(effective)
                try FileSystem.writeAtomically([UInt8](data), to: configPath)
            }
            var logs: [Log] = []
            for p in 0 ..< effective.partitions {
                let dir = topicsDirectory + "/" + TopicName.directoryName(topic: name, partition: p)
                logs.append(try Log.open(directory: dir, config: effective.log, flushPolicy: effective.flushPolicy, readOnly: isReadOnly))
            }
            let t = Topic(name: name, config: effective, partitions: logs)
            topics[name] = t
            return t
        }
    }

    /// Partition count from existing `<name>-N` directories (for data copied from Kafka).
    private func discoverPartitions(_ name: String) throws -> Int32? {
        guard FileSystem.isDirectory(topicsDirectory) else { return nil }
        let ps = try FileSystem.list(topicsDirectory).compactMap(TopicName.parseDirectoryName).filter { $0.topic == name }.map(\.partition)
        guard let maxP = ps.max() else { return nil }
        return maxP + 1
    }

    /// Names of the topics on disk.
    public func topicNames() throws -> [String] {
        guard FileSystem.isDirectory(topicsDirectory) else { return [] }
        return Array(Set(try FileSystem.list(topicsDirectory).compactMap(TopicName.parseDirectoryName).map(\.topic))).sorted()
    }

    /// Closes every open topic and releases the writer lock.
    public func close() throws {
        try lock.withLock {
            defer { releaseWriterLock() }
            for t in topics.values { try t.close() }
            topics.removeAll()
        }
    }
}
