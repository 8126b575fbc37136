#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import StrataIO

/// Where a consumer starts.
public enum ConsumerStart: Sendable, Equatable {
    case position(StartPosition)
    /// The group's committed offset; `otherwise` when it has none or it is out of range.
    case committed(group: String, otherwise: StartPosition)
}

/// A directory of topics in Kafka's layout (`topics/<topic>-<partition>/`), owned by one
/// writer process through an exclusive `flock` on `strata.lock`.
public final class LogStore: @unchecked Sendable {
    public let root: String
    public let isReadOnly: Bool
    private var writerLock: DirectoryLock?
    private let lock = Lock()
    private var topics: [String: Topic] = [:]
    /// Whether the previous writer shut down cleanly (Kafka's `.kafka_cleanshutdown` marker).
    public let openedAfterCleanShutdown: Bool
    /// Recovery points read at open, for partitions not opened yet.
    private var checkpointed: [RecoveryCheckpoint.Key: Int64]
    /// Cleaner checkpoints read at open.
    private var cleanerCheckpointed: [RecoveryCheckpoint.Key: Int64] = [:]
    public let logger: Logger
    private var scheduler: StoreScheduler?
    /// After `close()` every call throws `StrataError.closed`: the writer lock is released, so
    /// a partition opened for writing now could race another store's writer.
    private var isClosed = false
    /// Validate every batch of every partition on open, whatever the shutdown was (`strata recover`).
    public let forceFullRecovery: Bool
    /// Committed consumer-group offsets (`<root>/groups/`).
    public let groups: ConsumerGroups

    public var topicsDirectory: String { root + "/topics" }
    var configsDirectory: String { root + "/topic-configs" }
    var cleanShutdownPath: String { topicsDirectory + "/.kafka_cleanshutdown" }
    var checkpointPath: String { topicsDirectory + "/" + RecoveryCheckpoint.fileName }
    var cleanerCheckpointPath: String { topicsDirectory + "/cleaner-offset-checkpoint" }

    /// Opens (creating when needed) the store at `root`. A writable open takes the directory's
    /// writer lock and fails with a clear error when another writer holds it; it then reads
    /// the clean-shutdown marker and the recovery-point checkpoint and removes the marker, so
    /// a crash from here on is seen as unclean by the next open. `backgroundIntervalMs` paces
    /// the background work (interval flushes, checkpoints); 0 disables it.
    public init(root: String, readOnly: Bool = false, logger: Logger = defaultStrataLogger(),
                backgroundIntervalMs: Int = 100, forceFullRecovery: Bool = false) throws {
        self.root = root
        self.forceFullRecovery = forceFullRecovery
        self.logger = logger
        isReadOnly = readOnly
        if readOnly {
            guard try FileSystem.isDirectoryChecked(root + "/topics") else { throw StrataError.notFound("a Strata store at \(root) (no topics/ directory)") }
            writerLock = nil
            openedAfterCleanShutdown = true
            checkpointed = [:]
            groups = try ConsumerGroups(directory: root + "/groups", readOnly: true)
        } else {
            try FileSystem.createDirectory(root + "/topics")
            try FileSystem.createDirectory(root + "/topic-configs")
            writerLock = try DirectoryLock(path: root + "/strata.lock", what: "store")
            openedAfterCleanShutdown = FileSystem.exists(root + "/topics/.kafka_cleanshutdown")
            do { checkpointed = try RecoveryCheckpoint.read(root + "/topics/" + RecoveryCheckpoint.fileName) } catch {
                logger.warning("ignoring an unreadable recovery-point checkpoint (partitions recover from offset 0): \(error)")
                checkpointed = [:]
            }
            do { cleanerCheckpointed = try RecoveryCheckpoint.read(root + "/topics/cleaner-offset-checkpoint") } catch {
                logger.warning("ignoring an unreadable cleaner checkpoint (everything counts as dirty): \(error)")
            }
            if openedAfterCleanShutdown {
                try FileSystem.remove(root + "/topics/.kafka_cleanshutdown")
                try FileSystem.syncDirectory(root + "/topics")
            }
            groups = try ConsumerGroups(directory: root + "/groups", readOnly: false)
            groups.store = self
            if backgroundIntervalMs > 0 { scheduler = StoreScheduler(store: self, intervalMs: backgroundIntervalMs) }
        }
    }

    private func releaseWriterLock() {
        writerLock?.release()
        writerLock = nil
    }

    /// Opens topic `name`, creating it with `config` when it does not exist. An existing topic
    /// keeps its stored configuration.
    public func topic(_ name: String, create config: TopicConfig? = nil) throws -> Topic {
        try TopicName.validate(name)
        return try lock.withLock {
            if isClosed { throw StrataError.closed("the store at \(root)") }
            // Asked to create a topic that exists: fine with the same configuration, refused
            // with another (what differs is named), never silently another topic than asked for.
            func refuseAnother(_ existing: TopicConfig) throws {
                if let config, existing != config {
                    throw StrataError.alreadyExists("topic \(name) with another configuration (\(existing.difference(from: config))); change it with setTopicConfig while it is closed, or use the existing one")
                }
            }
            if let t = topics[name] {
                try refuseAnother(t.config)
                return t
            }
            let configPath = configsDirectory + "/" + name + ".json"
            var effective: TopicConfig
            if try FileSystem.existsChecked(configPath) {
                let bytes = try DataFile(path: configPath, flags: O_RDONLY).readAll()
                do { effective = try JSONDecoder().decode(TopicConfig.self, from: Data(bytes)) } catch {
                    throw StrataError.corrupt(file: configPath, position: 0, reason: "unreadable topic config: \(error); fix or remove the file (the partitions stay on disk)")
                }
                // What is read from disk is checked like what a caller passes.
                do {
                    try effective.validate()
                } catch let StrataError.invalidArgument(why) {
                    throw StrataError.corrupt(file: configPath, position: 0, reason: "invalid topic config: \(why); fix or remove the file (the partitions stay on disk)")
                }
            } else if let discovered = try discoverPartitions(name), discovered > 0 {
                effective = config ?? TopicConfig()
                effective.partitions = discovered
            } else {
                guard let config else { throw StrataError.notFound("topic \(name) in \(root)") }
                if isReadOnly { throw StrataError.notFound("topic \(name) in \(root)") }
                try config.validate()
                effective = config
            }
            try refuseAnother(effective)
            // Before any directory is made: every partition keeps about three descriptors per
            // segment open (counted here for one segment each; reopening counts the files).
            try DescriptorLimit.ensure(Int(effective.partitions) * 3, for: "topic \(name) (\(effective.partitions) partitions)")
            if try !isReadOnly && !FileSystem.existsChecked(configPath) {
                let data = try JSONEncoder().encode(effective)
                try FileSystem.writeAtomically([UInt8](data), to: configPath)
            }
            var logs: [Log] = []
            for p in 0 ..< effective.partitions {
                let dir = topicsDirectory + "/" + TopicName.directoryName(topic: name, partition: p)
                let key = RecoveryCheckpoint.Key(topic: name, partition: p)
                // Like Kafka, a partition without a checkpointed recovery point recovers from 0.
                let recovery: RecoveryMode = forceFullRecovery ? .full
                    : (openedAfterCleanShutdown ? .clean : .unclean(recoveryPoint: checkpointed[key] ?? 0))
                let log = try Log.open(directory: dir, config: effective.log, flushPolicy: effective.flushPolicy, readOnly: isReadOnly,
                                       recovery: recovery, logger: logger)
                // A checkpoint outside the log (recovery cut it) is reset, as Kafka does.
                let cleaned = cleanerCheckpointed[key] ?? 0
                log.cleanerCheckpoint = cleaned >= log.logStartOffset && cleaned <= log.highWatermark ? cleaned : log.logStartOffset
                logs.append(log)
            }
            let t = Topic(name: name, config: effective, partitions: logs)
            topics[name] = t
            return t
        }
    }

    /// Replaces the stored configuration of a topic that is not open in this store (the
    /// partition count cannot change). Takes effect when the topic is next opened.
    public func setTopicConfig(_ name: String, _ config: TopicConfig) throws {
        try TopicName.validate(name)
        if isReadOnly { throw StrataError.readOnly("the store") }
        try config.log.validate()
        try lock.withLock {
            if isClosed { throw StrataError.closed("the store at \(root)") }
            if topics[name] != nil { throw StrataError.invalidArgument("topic \(name) is open; change its config before opening it") }
            let configPath = configsDirectory + "/" + name + ".json"
            if FileSystem.exists(configPath) {
                let old = try JSONDecoder().decode(TopicConfig.self, from: Data(try FileSystem.readFile(configPath)))
                if old.partitions != config.partitions {
                    throw StrataError.invalidArgument("topic \(name) has \(old.partitions) partitions; the count cannot change")
                }
            }
            try FileSystem.writeAtomically([UInt8](try JSONEncoder().encode(config)), to: configPath)
        }
    }

    /// Partition count from existing `<name>-N` directories (for data copied from Kafka).
    private func discoverPartitions(_ name: String) throws -> Int32? {
        guard try FileSystem.isDirectoryChecked(topicsDirectory) else { return nil }
        let ps = try FileSystem.list(topicsDirectory).compactMap(TopicName.parseDirectoryName).filter { $0.topic == name }.map(\.partition)
        guard let maxP = ps.max() else { return nil }
        return maxP + 1
    }

    /// Names of the topics on disk.
    public func topicNames() throws -> [String] {
        if lock.withLock({ isClosed }) { throw StrataError.closed("the store at \(root)") }
        guard try FileSystem.isDirectoryChecked(topicsDirectory) else { return [] }
        return Array(Set(try FileSystem.list(topicsDirectory).compactMap(TopicName.parseDirectoryName).map(\.topic))).sorted()
    }

    /// A cursor on one partition. `.committed(group:otherwise:)` starts at the group's committed
    /// offset, or at `otherwise` when the group has none (Kafka's `auto.offset.reset`), or when
    /// the committed offset fell below the log start (retention deleted it).
    public func cursor(topic: String, partition: Int32, from start: ConsumerStart) throws -> LogCursor {
        let log = try self.topic(topic).log(partition)
        switch start {
        case let .position(p):
            return try log.cursor(from: p)
        case let .committed(group, otherwise):
            guard let c = try groups.committed(group: group, topic: topic, partition: partition),
                  c.offset >= log.logStartOffset, c.offset <= log.highWatermark else {
                return try log.cursor(from: otherwise)
            }
            return try log.cursor(from: .offset(c.offset))
        }
    }

    /// Every open partition log.
    var openLogs: [(RecoveryCheckpoint.Key, Log)] {
        lock.withLock {
            topics.values.flatMap { t in t.partitions.enumerated().map { (RecoveryCheckpoint.Key(topic: t.name, partition: Int32($0.offset)), $0.element) } }
        }
    }

    /// Writes the recovery point of every partition (open ones from their logs, the others as
    /// read at open) to `topics/recovery-point-offset-checkpoint`, atomically.
    public func checkpointRecoveryPoints() throws {
        if isReadOnly { return }
        var points = lock.withLock { checkpointed }
        var cleaner = lock.withLock { cleanerCheckpointed }
        for (key, log) in openLogs {
            points[key] = log.recoveryPoint
            if log.cleanerCheckpoint > 0 { cleaner[key] = log.cleanerCheckpoint }
        }
        try RecoveryCheckpoint.write(points, to: checkpointPath)
        if !cleaner.isEmpty { try RecoveryCheckpoint.write(cleaner, to: cleanerCheckpointPath) }
    }

    /// Runs one round of background work now: interval flushes; with `maintenance`, retention
    /// and scheduled compaction; with `checkpoint`, the recovery-point checkpoint. The
    /// scheduler calls this; tests may too.
    public func runBackgroundWork(maintenance: Bool, checkpoint: Bool) throws {
        let now = currentTimeMillis()
        for (_, log) in openLogs { try log.flushIfDue(now: now) }
        if maintenance {
            for (_, log) in openLogs {
                if log.config.retentionMs != nil || log.config.retentionBytes != nil { try log.applyRetention(now: now) }
                if log.config.cleanupPolicy == .compact { try log.compactIfDirty(now: now) }
            }
        }
        if checkpoint { try checkpointRecoveryPoints() }
    }

    /// Applies retention to every open partition now.
    @discardableResult
    public func applyRetention() throws -> [RecoveryCheckpoint.Key: RetentionResult] {
        var out: [RecoveryCheckpoint.Key: RetentionResult] = [:]
        for (key, log) in openLogs { out[key] = try log.applyRetention() }
        return out
    }

    /// Closes every open topic (flushing them), writes the recovery-point checkpoint and the
    /// clean-shutdown marker, and releases the writer lock.
    public func close() throws {
        scheduler?.stop()
        scheduler = nil
        groups.close()
        if isReadOnly {
            lock.withLock {
                isClosed = true
                topics.removeAll()
            }
            return
        }
        try lock.withLock {
            isClosed = true
            defer { releaseWriterLock() }
            if writerLock == nil { return }
            for t in topics.values { try t.close() }
            var points = checkpointed
            var cleaner = cleanerCheckpointed
            for t in topics.values {
                for (p, log) in t.partitions.enumerated() {
                    let key = RecoveryCheckpoint.Key(topic: t.name, partition: Int32(p))
                    points[key] = log.recoveryPoint
                    if log.cleanerCheckpoint > 0 { cleaner[key] = log.cleanerCheckpoint }
                }
            }
            try RecoveryCheckpoint.write(points, to: checkpointPath)
            if !cleaner.isEmpty { try RecoveryCheckpoint.write(cleaner, to: cleanerCheckpointPath) }
            try FileSystem.writeAtomically([], to: cleanShutdownPath)
            topics.removeAll()
        }
    }
}
