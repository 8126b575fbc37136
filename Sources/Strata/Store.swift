import Foundation
import Logging
@_spi(Store) import StrataSearch
@_exported import StrataIO
@_exported import StrataLog
@_exported import StrataSearch

/// The offsets one append gave the records of one partition.
public struct AppendedRange: Sendable, Equatable {
    public var partition: Int32
    public var firstOffset: Int64
    public var lastOffset: Int64
    public var count: Int { Int(lastOffset - firstOffset + 1) }
}

/// One partition as `describeTopic` reports it.
public struct PartitionDescription: Sendable, Equatable {
    public var partition: Int32
    public var logStartOffset: Int64
    /// The next offset (records below it are readable).
    public var highWatermark: Int64
    public var sizeBytes: Int
    public var segments: Int
}

/// A topic as `describeTopic` reports it.
public struct TopicDescription: Sendable, Equatable {
    public var name: String
    public var config: TopicConfig
    public var partitions: [PartitionDescription]
    /// The indexes that follow the topic.
    public var indexes: [String]
}

/// Where an index stands against its log, per partition (next offsets: everything below is in).
public struct PartitionIndexLag: Sendable, Equatable {
    public var partition: Int32
    /// The log's high watermark.
    public var logEndOffset: Int64
    /// Added to the index (maybe not searchable yet).
    public var indexedOffset: Int64
    /// Searchable.
    public var searchableOffset: Int64
    /// Durable in the index's last commit.
    public var committedOffset: Int64
    /// Records appended but not searchable yet.
    public var lag: Int64 { max(0, logEndOffset - searchableOffset) }
}

/// An index's state (`strata status`).
public struct IndexStatus: Sendable {
    public var definition: IndexDefinition
    /// Searchable documents.
    public var documents: Int
    public var segments: Int
    public var sizeBytes: Int64
    /// Documents indexed as fallback text (JSON that did not fit the mapping).
    public var fallbackDocuments: Int
    public var partitions: [PartitionIndexLag]
    /// Why indexing is failing right now (it retries every second), if it is.
    public var failure: String?
    /// The slowest refresh and commit since the store opened (the indexer does not index
    /// meanwhile, so these bound the spikes of append-to-searchable latency).
    public var slowestRefreshMs: Double = 0
    public var slowestCommitMs: Double = 0
    public var totalLag: Int64 { partitions.reduce(0) { $0 + $1.lag } }
}

/// The front door of Strata: one directory holding Kafka-format topics and the full-text
/// indexes that follow them.
///
/// ```swift
/// let store = try Store(directory: "/var/lib/app/strata")
/// try store.createTopic("logs", config: TopicConfig(partitions: 4))
/// try store.createIndex("logs")                       // follows every partition of "logs"
/// try store.append("logs", [Record(text: #"{"level":"error","msg":"disk full"}"#)])
/// try store.refresh("logs")                           // read-your-writes (else ≤ 100 ms)
/// let results = try store.search("logs", "level:error AND disk", limit: 10)
/// ```
///
/// Appends go to the log (durable per the topic's flush policy); each index follows its topic
/// on a background thread woken by appends, so new records become searchable within
/// `StoreOptions.refreshIntervalMs`. An index commits the next offset of every partition with
/// its documents, so after any crash it equals a replay of the log, each record once.
///
/// One writer process per directory (the `strata.lock` writer lock); other processes open it
/// read-only and see what the writer appended and refreshed. A `Store` may be shared between
/// threads.
public final class Store: @unchecked Sendable {
    public let directory: String
    public let options: StoreOptions
    /// The log layer beneath (topics, partitions, consumer groups).
    public let log: LogStore
    private let lock = Lock()
    private var followers: [String: IndexFollower] = [:]
    private var readers: [String: ReadOnlyIndex] = [:]
    private var closed = false
    private var logger: Logger { options.logger }

    var indexesDirectory: String { directory + "/indexes" }

    /// Opens (creating when needed) the store in `directory`. A writable open takes the writer
    /// lock (`StrataError.locked`-style `io` error naming the holder when another process has
    /// it), recovers the logs, opens every index, repairs it against its log and starts
    /// following. A corrupt index is rebuilt from its log (the log is the source of truth),
    /// with a warning.
    public init(directory: String, options: StoreOptions = StoreOptions()) throws {
        self.directory = directory
        self.options = options
        log = try LogStore(root: directory, readOnly: options.readOnly, logger: options.logger,
                           backgroundIntervalMs: options.readOnly ? 0 : options.backgroundIntervalMs,
                           forceFullRecovery: options.forceFullRecovery)
        do {
            if !options.readOnly { try FileSystem.createDirectory(indexesDirectory) }
            for name in try indexNamesOnDisk() {
                if options.readOnly { continue } // opened on first use
                try openFollower(name)
            }
        } catch {
            for f in followers.values { try? f.close() }
            try? log.close()
            throw error
        }
    }

    deinit {
        if !closed { try? close() }
    }

    private func checkOpen() throws {
        if closed { throw StrataError.closed("store at \(directory)") }
    }

    func checkWritable() throws {
        try checkOpen()
        if options.readOnly { throw StrataError.readOnly("the store at \(directory)") }
    }

    /// Stops the indexers (each commits what it indexed), flushes and closes the topics and
    /// releases the writer lock. Every later call throws `StrataError.closed`. Calling it twice
    /// is harmless.
    public func close() throws {
        let toClose: [IndexFollower] = lock.withLock {
            if closed { return [] }
            closed = true
            let f = Array(followers.values)
            followers.removeAll()
            readers.removeAll()
            return f
        }
        var firstError: Error?
        for f in toClose {
            do { try f.close() } catch { firstError = firstError ?? error }
        }
        do { try log.close() } catch { firstError = firstError ?? error }
        if let firstError { throw firstError }
    }

    // MARK: topics

    /// Creates topic `name` with `config`, or returns quietly when it exists with the same
    /// configuration; an existing topic with another configuration throws `alreadyExists`
    /// saying what differs.
    @discardableResult
    public func createTopic(_ name: String, config: TopicConfig = TopicConfig()) throws -> Topic {
        try checkWritable()
        // The log store refuses an existing topic with another configuration, saying what differs.
        return try log.topic(name, create: config)
    }

    /// The topic `name` (the log layer's handle: partitions, appends, cursors).
    public func topic(_ name: String) throws -> Topic {
        try checkOpen()
        return try log.topic(name)
    }

    /// The names of the topics, sorted.
    public func topicNames() throws -> [String] {
        try checkOpen()
        return try log.topicNames()
    }

    /// Partitions, offsets and sizes of a topic.
    public func describeTopic(_ name: String) throws -> TopicDescription {
        let t = try topic(name)
        if options.readOnly { for p in t.partitions { _ = try p.refresh() } }
        let parts = t.partitions.enumerated().map { i, l in
            PartitionDescription(partition: Int32(i), logStartOffset: l.logStartOffset, highWatermark: l.highWatermark, sizeBytes: l.sizeInBytes, segments: l.segmentCount)
        }
        let idx = try indexNames().filter { (try? indexDefinition($0).topic) == name }
        return TopicDescription(name: name, config: t.config, partitions: parts, indexes: idx)
    }

    // MARK: appending and reading

    /// Appends records to a topic: to `partition`, or each to the partition its key selects
    /// (Kafka's murmur2; unkeyed records share a round-robin partition per call). Returns the
    /// offsets per partition, in partition order.
    @discardableResult
    public func append(_ topic: String, _ records: [Record], partition: Int32? = nil) throws -> [AppendedRange] {
        try checkWritable()
        // Kafka's producer refuses negative timestamps (ProducerRecord); so does the store.
        for (i, r) in records.enumerated() where (r.timestamp ?? 0) < 0 {
            throw StrataError.invalidArgument("record \(i) has timestamp \(r.timestamp!): timestamps are milliseconds since the epoch, 0 or more (nil: the time of the append)")
        }
        let t = try log.topic(topic)
        if let partition {
            let r = try t.append(records, partition: partition)
            return [AppendedRange(partition: partition, firstOffset: r.firstOffset, lastOffset: r.lastOffset)]
        }
        return try t.append(records).sorted { $0.key < $1.key }.map { AppendedRange(partition: $0.key, firstOffset: $0.value.firstOffset, lastOffset: $0.value.lastOffset) }
    }

    /// Appends `count` records to one partition from borrowed bytes: `fill(i, builder)` adds
    /// record `i` with `builder.add(key:value:headers:timestamp:)` (the allocation-free path of
    /// `Log.append(count:_:)`; the C API's batches use it). Timestamps must be ≥ 0.
    package func append(_ topic: String, partition: Int32, count: Int, _ fill: (Int, RecordBatchBuilder) -> Void) throws -> AppendedRange {
        try checkWritable()
        let r = try log.topic(topic).log(partition).append(count: count, fill)
        return AppendedRange(partition: partition, firstOffset: r.firstOffset, lastOffset: r.lastOffset)
    }

    /// Appends one record; returns its partition and offset.
    @discardableResult
    public func append(_ topic: String, _ record: Record, partition: Int32? = nil) throws -> (partition: Int32, offset: Int64) {
        let r = try append(topic, [record], partition: partition)[0]
        return (r.partition, r.firstOffset)
    }

    /// Appends `value` encoded as JSON (`JSONEncoder`, keys sorted) with an optional UTF-8 key.
    @discardableResult
    public func append<T: Encodable>(_ topic: String, json value: T, key: String? = nil, timestamp: Int64? = nil, partition: Int32? = nil) throws -> (partition: Int32, offset: Int64) {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        let bytes: Data
        do { bytes = try e.encode(value) } catch { throw StrataError.invalidArgument("the value does not encode as JSON: \(error)") }
        return try append(topic, Record(key: key.map { Array($0.utf8) }, value: Array(bytes), timestamp: timestamp), partition: partition)
    }

    /// A cursor on one partition (see `LogStore.cursor`).
    public func cursor(topic: String, partition: Int32, from start: ConsumerStart) throws -> LogCursor {
        try checkOpen()
        if options.readOnly { _ = try log.topic(topic).log(partition).refresh() }
        return try log.cursor(topic: topic, partition: partition, from: start)
    }

    /// Committed consumer-group offsets.
    public var groups: ConsumerGroups { log.groups }

    // MARK: indexes

    private func indexNamesOnDisk() throws -> [String] {
        guard try FileSystem.isDirectoryChecked(indexesDirectory) else { return [] }
        return try FileSystem.list(indexesDirectory).filter { FileSystem.exists(indexesDirectory + "/" + $0 + "/" + IndexDefinition.fileName) }.sorted()
    }

    /// The names of the indexes, sorted.
    public func indexNames() throws -> [String] {
        try checkOpen()
        return try indexNamesOnDisk()
    }

    /// The definition of index `name`.
    public func indexDefinition(_ name: String) throws -> IndexDefinition {
        try checkOpen()
        if let f = lock.withLock({ followers[name] }) { return f.definition }
        return try readDefinition(name)
    }

    private func readDefinition(_ name: String) throws -> IndexDefinition {
        let path = indexesDirectory + "/" + name + "/" + IndexDefinition.fileName
        guard FileSystem.exists(path) else { throw StrataError.notFound("index \(name) in \(directory) (indexes: \(((try? indexNamesOnDisk()) ?? []).joined(separator: ", ")))") }
        return try IndexDefinition.decode(try FileSystem.readFile(path), path: path, directoryName: name)
    }

    /// Creates an index `name` (default: the topic's name) that follows every partition of
    /// `topic` (default: `name`), or, when it exists, adds the mapping's new fields in place.
    /// `timestampField` names the JSON field holding a document's time (default: the record's
    /// timestamp). An existing index with another topic or timestamp field, or a field whose
    /// type differs, throws `invalidArgument` saying to rebuild. The index catches up with the
    /// topic in the background.
    public func createIndex(_ name: String, topic: String? = nil, mapping: IndexMapping = IndexMapping(), timestampField: String? = nil) throws {
        try checkWritable()
        try TopicName.validate(name)
        let topicName = topic ?? name
        let t = try log.topic(topicName)
        try mapping.validate()
        if let ts = timestampField, ts.isEmpty || ts.hasPrefix("_") {
            throw StrataError.invalidArgument("timestampField '\(ts)' must name a JSON field of the records' values")
        }
        let definition = IndexDefinition(name: name, topic: topicName, mapping: mapping, timestampField: timestampField)
        if let existing = try? readDefinition(name) {
            guard existing.topic == topicName else {
                throw StrataError.invalidArgument("index \(name) follows topic \(existing.topic), not \(topicName); drop it or pick another name")
            }
            guard existing.timestampField == timestampField else {
                throw StrataError.invalidArgument("index \(name) takes timestamps from \(existing.timestampField ?? "the records"), not \(timestampField ?? "the records"); rebuild it with the new definition (rebuildIndex(_:definition:))")
            }
            guard let f = lock.withLock({ followers[name] }) else { throw StrataError.notFound("index \(name) is not open") }
            try f.extendMapping(definition)
            return
        }
        _ = t
        let dir = indexesDirectory + "/" + name
        try FileSystem.createDirectory(dir)
        try FileSystem.writeAtomically(try definition.encode(), to: dir + "/" + IndexDefinition.fileName)
        try openFollower(name)
    }

    private func openFollower(_ name: String) throws {
        let definition = try readDefinition(name)
        let t = try log.topic(definition.topic)
        let dir = indexesDirectory + "/" + name
        // Data directories of other generations are left by an interrupted rebuild.
        for entry in try FileSystem.list(dir) where entry != IndexDefinition.dataDirectoryName(definition.generation) {
            if IndexDefinition.generation(ofDataDirectory: entry) != nil { try FileSystem.removeTree(dir + "/" + entry) }
        }
        let follower: IndexFollower
        do {
            follower = try IndexFollower(definition: definition, indexesDirectory: indexesDirectory, topic: t, options: options, logger: logger)
        } catch let e as StrataError {
            guard case .corrupt = e else { throw e }
            // The index is a view of the log: rebuild it rather than refuse to open.
            logger.warning("index \(name) is damaged (\(e)); rebuilding it from topic \(definition.topic)")
            var next = definition
            next.generation += 1
            try FileSystem.writeAtomically(try next.encode(), to: dir + "/" + IndexDefinition.fileName)
            try FileSystem.removeTree(dir + "/" + IndexDefinition.dataDirectoryName(definition.generation))
            follower = try IndexFollower(definition: next, indexesDirectory: indexesDirectory, topic: t, options: options, logger: logger)
        }
        lock.withLock { followers[name] = follower }
        if options.indexing { follower.start() }
    }

    /// Removes index `name` (its definition and data); the topic is untouched.
    public func dropIndex(_ name: String) throws {
        try checkWritable()
        _ = try readDefinition(name)
        let f = lock.withLock { followers.removeValue(forKey: name) }
        try f?.close()
        try FileSystem.removeTree(indexesDirectory + "/" + name)
        try FileSystem.syncDirectory(indexesDirectory)
    }

    /// Re-derives index `name` from its topic into a new generation and switches to it
    /// atomically (searches use the old one meanwhile), optionally with a new mapping or
    /// timestamp field. Works from any state of the old data.
    public func rebuildIndex(_ name: String, mapping: IndexMapping? = nil, timestampField: String?? = nil) throws {
        try checkWritable()
        guard let f = lock.withLock({ followers[name] }) else {
            _ = try readDefinition(name)
            throw StrataError.notFound("index \(name) is not open")
        }
        var d = f.definition
        if let mapping {
            try mapping.validate()
            d.mapping = mapping
        }
        if let timestampField { d.timestampField = timestampField }
        try f.rebuild(with: d)
    }

    /// Makes every record appended to the index's topic before this call searchable
    /// (read-your-writes), waiting up to `timeoutMs`. `name` is an index or a topic with one
    /// index. A read-only store reopens the writer's newest refresh instead.
    public func refresh(_ name: String, timeoutMs: Int = 30_000) throws {
        try checkOpen()
        if options.readOnly {
            _ = try readOnlyIndex(resolveIndexName(name)).refresh()
            return
        }
        try follower(resolveIndexName(name)).refresh(timeoutMs: timeoutMs)
    }

    /// Per partition: log end, indexed, searchable and committed offsets of index `name`
    /// (cheap: no searcher is opened).
    public func indexLag(_ name: String) throws -> [PartitionIndexLag] {
        try checkOpen()
        if options.readOnly { return try indexStatus(name).partitions }
        let f = try follower(try resolveIndexName(name))
        return zip(f.logs, f.state).enumerated().map { i, pair in
            PartitionIndexLag(partition: Int32(i), logEndOffset: pair.0.highWatermark, indexedOffset: pair.1.indexed,
                              searchableOffset: pair.1.searchable, committedOffset: pair.1.committed)
        }
    }

    /// Documents, segments, size, fallbacks, lag and failure of index `name`.
    public func indexStatus(_ name: String) throws -> IndexStatus {
        try checkOpen()
        let indexName = try resolveIndexName(name)
        if options.readOnly {
            let r = try readOnlyIndex(indexName)
            try r.refresh()
            let t = try log.topic(r.definition.topic)
            for p in t.partitions { _ = try p.refresh() }
            let data = r.reader.userData
            let parts = t.partitions.enumerated().map { i, l -> PartitionIndexLag in
                let n = Int64(data["p.\(i).next"] ?? "") ?? 0
                return PartitionIndexLag(partition: Int32(i), logEndOffset: l.highWatermark, indexedOffset: n, searchableOffset: n, committedOffset: n)
            }
            let s = r.reader.searcher()
            return IndexStatus(definition: r.definition, documents: s.documentCount, segments: s.segmentCount, sizeBytes: 0,
                               fallbackDocuments: Int(data["fallback-documents"] ?? "") ?? 0, partitions: parts, failure: nil)
        }
        let f = try follower(indexName)
        var status = IndexStatus(definition: f.definition, documents: f.searcher().documentCount, segments: f.segmentCount, sizeBytes: f.sizeOnDisk,
                                 fallbackDocuments: f.fallbackDocuments, partitions: try indexLag(indexName), failure: f.lastFailure.map { "\($0)" })
        (status.slowestRefreshMs, status.slowestCommitMs) = f.slowest
        return status
    }

    private func follower(_ name: String) throws -> IndexFollower {
        guard let f = lock.withLock({ followers[name] }) else { throw StrataError.notFound("index \(name) in \(directory)") }
        return f
    }

    /// The index `name` stands for: an index of that name, or the only index of a topic of that
    /// name (`notFound` / `invalidArgument` otherwise).
    public func resolveIndexName(_ name: String) throws -> String {
        let names = try indexNamesOnDisk()
        if names.contains(name) { return name }
        let following = names.filter { (try? readDefinition($0).topic) == name }
        if following.count == 1 { return following[0] }
        if following.isEmpty {
            throw StrataError.notFound("index \(name) in \(directory) (indexes: \(names.isEmpty ? "none; create one with createIndex" : names.joined(separator: ", ")))")
        }
        throw StrataError.invalidArgument("topic \(name) has several indexes (\(following.joined(separator: ", "))); name one")
    }

    /// A point-in-time searcher over what index `name` (or a topic's one index) has searchable
    /// now — the search layer beneath `search`, for queries built as `Query` values, custom
    /// sorts and aggregations. Documents carry the store's fields (`_partition`, `_offset`,
    /// `_timestamp`, …). One thread at a time.
    public func indexSearcher(_ name: String) throws -> IndexSearcher { try searchContext(name).0 }

    /// The searchable state of an index: the follower's in a writer, the newest refresh point
    /// in a read-only store.
    func searchContext(_ name: String) throws -> (IndexSearcher, IndexDefinition, Topic) {
        try checkOpen()
        let indexName = try resolveIndexName(name)
        if options.readOnly {
            let r = try readOnlyIndex(indexName)
            try r.refresh()
            let t = try log.topic(r.definition.topic)
            return (r.reader.searcher(), r.definition, t)
        }
        let f = try follower(indexName)
        return (f.searcher(), f.definition, try log.topic(f.definition.topic))
    }

    private func readOnlyIndex(_ name: String) throws -> ReadOnlyIndex {
        if let r = lock.withLock({ readers[name] }) { return r }
        let r = try ReadOnlyIndex(definitionPath: indexesDirectory + "/" + name + "/" + IndexDefinition.fileName, name: name)
        lock.withLock { readers[name] = r }
        return r
    }
}

/// An index opened by a read-only store: follows the writer's refresh points and, after a
/// rebuild, its new generation.
final class ReadOnlyIndex: @unchecked Sendable {
    let definitionPath: String
    let name: String
    private let lock = Lock()
    private var current: (definition: IndexDefinition, reader: IndexReader)

    init(definitionPath: String, name: String) throws {
        self.definitionPath = definitionPath
        self.name = name
        current = try Self.open(definitionPath, name)
    }

    private static func open(_ path: String, _ name: String) throws -> (IndexDefinition, IndexReader) {
        let d = try IndexDefinition.decode(try FileSystem.readFile(path), path: path, directoryName: name)
        let dir = FileSystem.parent(of: path) + "/" + IndexDefinition.dataDirectoryName(d.generation)
        return (d, try IndexReader(directory: dir))
    }

    var definition: IndexDefinition { lock.withLock { current.definition } }
    var reader: IndexReader { lock.withLock { current.reader } }

    /// Picks up the writer's newest refresh, or a new generation after a rebuild.
    @discardableResult
    func refresh() throws -> Bool {
        let d = try IndexDefinition.decode(try FileSystem.readFile(definitionPath), path: definitionPath, directoryName: name)
        if d.generation != definition.generation {
            let next = try Self.open(definitionPath, name)
            lock.withLock { current = next }
            return true
        }
        return try reader.refresh()
    }
}
