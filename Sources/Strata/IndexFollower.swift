import Foundation
import Logging
@_spi(Store) import StrataSearch
import StrataIO
import StrataLog

/// Keeps one index of the store equal to its topic (Formats/store.md §4): a thread of its own,
/// woken by appends to any partition, adds each new record as a document, refreshes so new
/// documents become searchable within the refresh interval (at once when it has caught up, at
/// most every `minimumRefreshGapMs`), commits on an interval with the next offset of every
/// partition, and deletes what retention removed from the log. The log is the write-ahead
/// log: a crash loses no data, only the indexing work since the last commit, redone on open.
final class IndexFollower: @unchecked Sendable {
    /// Where a partition stands (offsets are "next offset": everything below is in).
    struct PartitionState: Sendable, Equatable {
        var indexed: Int64
        var searchable: Int64
        var committed: Int64
    }

    let name: String
    /// The definition (changed by rebuilds and mapping extensions; read by any thread).
    var definition: IndexDefinition {
        get { monitor.withLock { definitionValue } }
        set { monitor.withLock { definitionValue = newValue } }
    }
    private var definitionValue: IndexDefinition
    let indexesDirectory: String
    let logs: [Log]
    let compacted: Bool
    let options: StoreOptions
    let logger: Logger

    // Indexing state: touched only while holding `work`.
    private let work = Lock()
    private var index: SearchIndex
    private var cursors: [LogCursor?]
    /// Each partition's next record, read from its cursor but not indexed yet (valid until that
    /// cursor moves).
    private var peeked: [RecordView?]
    private var next: [Int64]
    private var reflectedStart: [Int64]
    private var documents: [RecordDocument]
    private var fallbacks = 0
    private var lastRefresh: Int64 = 0
    private var lastCommit: Int64
    private var unrefreshedSince: Int64?
    private var uncommitted = false
    private var lastFailureLog: Int64 = 0

    // Published state: under `monitor`.
    private let monitor = Monitor()
    private var partitions: [PartitionState]
    private var refreshRequested = false
    private var failure: Error?
    private var stopping = false
    private var running = false
    private var publishedIndex: SearchIndex
    private var publishedFallbacks = 0

    private let wake = WakeSignal()

    var directory: String { indexesDirectory + "/" + name }
    var dataDirectory: String { directory + "/" + IndexDefinition.dataDirectoryName(definition.generation) }

    /// Opens the index's data (creating generation 1 when new) and brings it in line with the
    /// log as of its last commit; `start()` begins following.
    init(definition: IndexDefinition, indexesDirectory: String, topic: Topic, options: StoreOptions, logger: Logger) throws {
        name = definition.name
        definitionValue = definition
        self.indexesDirectory = indexesDirectory
        logs = topic.partitions
        compacted = topic.config.log.cleanupPolicy == .compact
        self.options = options
        self.logger = logger
        let dir = indexesDirectory + "/" + definition.name + "/" + IndexDefinition.dataDirectoryName(definition.generation)
        do {
            index = try SearchIndex(directory: dir, schema: try definition.mapping.schema(), options: Self.indexOptions(options))
        } catch let StrataError.unsupported(file, _, reason) where !options.readOnly {
            // Written in a format this build does not read (Formats/search-segment.md §7): the
            // index is a view of the log, so it is derived again from the log's start.
            logger.warning("index \(definition.name): \(file) cannot be read (\(reason)); rebuilding the index from the log")
            try FileSystem.removeTree(dir)
            index = try SearchIndex(directory: dir, schema: try definition.mapping.schema(), options: Self.indexOptions(options))
        }
        publishedIndex = index
        cursors = Array(repeating: nil, count: topic.partitions.count)
        peeked = Array(repeating: nil, count: topic.partitions.count)
        next = Array(repeating: 0, count: topic.partitions.count)
        reflectedStart = next
        documents = (0 ..< topic.partitions.count).map { RecordDocument(partition: Int32($0), timestampPath: definition.timestampField, compacted: topic.config.log.cleanupPolicy == .compact) }
        partitions = Array(repeating: PartitionState(indexed: 0, searchable: 0, committed: 0), count: topic.partitions.count)
        lastCommit = monotonicNanoseconds()
        try work.withLock { try resumeFromCommit() }
    }

    /// Documents of a store index are sorted by time, partition and offset in every segment
    /// (Formats/store.md §3): ties go in that order cheaply, a time range is a run of documents.
    static let indexSort = [RecordDocument.timestampField, RecordDocument.partitionField, RecordDocument.offsetField]

    static func indexOptions(_ o: StoreOptions) -> SearchIndex.Options {
        SearchIndex.Options(bufferBytes: o.indexBufferBytes, mergePolicy: TieredMergePolicy(), backgroundMerges: true, publishRefreshes: true, indexSort: indexSort)
    }

    /// Reads the committed offsets and repairs the view against the log (Formats/store.md §4).
    private func resumeFromCommit() throws {
        let data = index.committedUserData
        fallbacks = Int(data["fallback-documents"] ?? "") ?? 0
        var changed = false
        for (p, log) in logs.enumerated() {
            var committed = Int64(data["p.\(p).next"] ?? "") ?? 0
            let start = Int64(data["p.\(p).start"] ?? "") ?? 0
            let end = log.highWatermark
            if committed > end {
                // The log lost records the index had (its recovery cut an unflushed tail).
                let n = try index.delete(Self.partitionRange(p, offsetsFrom: end, below: nil))
                logger.warning("index \(name): partition \(p) of the log ends at \(end) but the index had offsets up to \(committed); removed \(n) documents")
                committed = end
                changed = true
            }
            reflectedStart[p] = start
            next[p] = max(committed, log.logStartOffset)
            cursors[p] = nil
            peeked[p] = nil
        }
        try applyRetention()
        if changed || uncommitted { try commitNow() }
        let offsets = next
        monitor.withLock {
            for p in partitions.indices { partitions[p] = PartitionState(indexed: offsets[p], searchable: offsets[p], committed: offsets[p]) }
            publishedIndex = index
            publishedFallbacks = fallbacks
        }
    }

    /// Documents of partition `p` with `lower ≤ _offset < upper` (nil: open).
    static func partitionRange(_ p: Int, offsetsFrom lower: Int64?, below upper: Int64?) -> Query {
        .boolean(must: [.range(field: RecordDocument.partitionField, lower: String(p), upper: String(p), includeLower: true, includeUpper: true),
                        .range(field: RecordDocument.offsetField, lower: lower.map(String.init), upper: upper.map(String.init), includeLower: true, includeUpper: false)],
                 should: [], mustNot: [], minimumShouldMatch: 0)
    }

    /// Deletes the documents of records retention removed from the log.
    private func applyRetention() throws {
        for (p, log) in logs.enumerated() {
            let start = log.logStartOffset
            guard start > reflectedStart[p] else { continue }
            let n = try index.delete(Self.partitionRange(p, offsetsFrom: nil, below: start))
            if n > 0 { markChanged() }
            reflectedStart[p] = start
            uncommitted = true
            if next[p] < start {
                next[p] = start
                cursors[p] = nil
                peeked[p] = nil
            }
        }
    }

    private func markChanged() {
        uncommitted = true
        if unrefreshedSince == nil { unrefreshedSince = monotonicNanoseconds() }
    }

    // MARK: the thread

    func start() {
        monitor.withLock { running = true }
        for log in logs { log.addAppendObserver(wake) }
        let t = Thread { [self] in self.run() }
        t.name = "strata-index-\(name)"
        t.start()
    }

    private func run() {
        while true {
            if monitor.withLock({ stopping }) { break }
            var progressed = false
            do {
                progressed = try work.withLock { try step() }
                monitor.withLock { if failure != nil { failure = nil } }
            } catch {
                monitor.withLock { failure = error }
                monitor.broadcast()
                let now = monotonicNanoseconds()
                if now - lastFailureLog > 10_000_000_000 {
                    lastFailureLog = now
                    logger.error("index \(name): indexing failed, retrying every second (searches see the last refreshed state; the log keeps every record): \(error)")
                }
                wake.wait(nanoseconds: 1_000_000_000)
                continue
            }
            if !progressed { wake.wait(nanoseconds: nextDeadline()) }
        }
        for log in logs { log.removeAppendObserver(wake) }
        monitor.withLock { running = false }
        monitor.broadcast()
    }

    /// How long the thread may sleep before a refresh or commit falls due.
    private func nextDeadline() -> Int64 {
        let now = monotonicNanoseconds()
        var wait: Int64 = 1_000_000_000 // retention checks at least every second
        work.withLock {
            if let since = unrefreshedSince {
                let byInterval = since + Int64(options.refreshIntervalMs) * 1_000_000 - now
                let byGap = lastRefresh + Int64(options.minimumRefreshGapMs) * 1_000_000 - now
                wait = min(wait, max(0, min(byInterval, max(byGap, 0))))
            }
            if uncommitted { wait = min(wait, max(0, lastCommit + Int64(options.commitIntervalMs) * 1_000_000 - now)) }
        }
        return max(wait, 100_000)
    }

    /// Indexes what is available (up to a time slice), then refreshes and commits when due.
    /// Returns whether there may be more to do at once.
    private func step() throws -> Bool {
        try applyRetention()
        let (added, caughtUp) = try indexAvailable(budgetNanoseconds: 20_000_000)
        let now = monotonicNanoseconds()
        let requested = monitor.withLock { refreshRequested }
        if let since = unrefreshedSince {
            let gapPassed = now - lastRefresh >= Int64(options.minimumRefreshGapMs) * 1_000_000
            // Behind (a backlog longer than one slice): refresh less often, so a catch-up writes
            // fewer, larger segments; the backlog, not the interval, sets the latency then.
            let interval = caughtUp ? options.refreshIntervalMs : max(options.refreshIntervalMs, options.catchUpRefreshIntervalMs)
            if requested || (caughtUp && gapPassed) || now - since >= Int64(interval) * 1_000_000 {
                try refreshNow()
            }
        } else if requested {
            try publishIndexed(searchable: true)
        }
        if uncommitted && now - lastCommit >= Int64(options.commitIntervalMs) * 1_000_000 { try commitNow() }
        return added > 0 && !caughtUp
    }

    /// Adds records from every partition, oldest first (by time, then partition, as the index
    /// sorts them — segments then need little reordering), until each partition is caught up
    /// or the budget is spent. Returns the records added and whether every partition was
    /// caught up.
    private func indexAvailable(budgetNanoseconds: Int64) throws -> (Int, Bool) {
        let deadline = monotonicNanoseconds() + budgetNanoseconds
        var added = 0
        for p in logs.indices where peeked[p] == nil { try peek(p) }
        while true {
            var best = -1
            var bestTime = Int64.max
            for p in logs.indices { if let r = peeked[p], r.timestamp < bestTime { best = p; bestTime = r.timestamp } }
            if best < 0 { break }
            let r = peeked[best]!
            let outcome = try documents[best].add(r, to: index)
            if outcome == .fallback { fallbacks += 1 }
            next[best] = r.offset + 1
            peeked[best] = nil
            added += 1
            try peek(best)
            if added & 255 == 0 && monotonicNanoseconds() >= deadline { break }
        }
        if added > 0 {
            markChanged()
            let offsets = next
            monitor.withLock { for p in partitions.indices { partitions[p].indexed = offsets[p] } }
        }
        return (added, !peeked.contains { $0 != nil })
    }

    /// Reads partition `p`'s next record into `peeked` (nil when caught up: then every offset
    /// below the cursor's high watermark is accounted for — control batches and records
    /// compaction removed hold none).
    private func peek(_ p: Int) throws {
        for attempt in 0 ..< 2 {
            do {
                if cursors[p] == nil { cursors[p] = try logs[p].cursor(from: .offset(next[p])) }
                let c = cursors[p]!
                if let r = try c.next() { peeked[p] = r } else { next[p] = max(next[p], c.highWatermark) }
                return
            } catch StrataError.offsetOutOfRange where attempt == 0 {
                // Retention removed the records this cursor was reading: drop their documents and
                // go on from the new log start.
                cursors[p] = nil
                peeked[p] = nil
                try applyRetention()
            }
        }
    }

    private func userData() -> [String: String] {
        var d: [String: String] = ["topic": definition.topic, "fallback-documents": String(fallbacks)]
        for p in logs.indices {
            d["p.\(p).next"] = String(next[p])
            d["p.\(p).start"] = String(reflectedStart[p])
        }
        return d
    }

    /// Slowest refresh and commit so far, in nanoseconds (`IndexStatus`).
    private var slowestRefresh: Int64 = 0, slowestCommit: Int64 = 0
    private var publishedSlowest: (refresh: Int64, commit: Int64) = (0, 0)

    /// Makes everything indexed searchable (here and to read-only processes).
    private func refreshNow() throws {
        let t0 = monotonicNanoseconds()
        defer {
            slowestRefresh = max(slowestRefresh, monotonicNanoseconds() - t0)
            let s = (slowestRefresh, slowestCommit)
            monitor.withLock { publishedSlowest = s }
        }
        try index.refresh(userData: userData())
        lastRefresh = monotonicNanoseconds()
        unrefreshedSince = nil
        try publishIndexed(searchable: true)
    }

    private func publishIndexed(searchable: Bool) throws {
        let offsets = next
        let f = fallbacks
        monitor.withLock {
            for p in partitions.indices {
                partitions[p].indexed = offsets[p]
                if searchable { partitions[p].searchable = offsets[p] }
            }
            refreshRequested = false
            publishedFallbacks = f
        }
        monitor.broadcast()
    }

    /// Flushes the logs up to what the index holds, then commits the index with the offsets.
    private func commitNow() throws {
        let t0 = monotonicNanoseconds()
        defer {
            slowestCommit = max(slowestCommit, monotonicNanoseconds() - t0)
            let s = (slowestRefresh, slowestCommit)
            monitor.withLock { publishedSlowest = s }
        }
        for log in logs { try log.syncRecords() }
        let report = try index.commit(userData: userData())
        if let e = report.mergeError { logger.warning("index \(name): a merge after the commit failed (retried later): \(e)") }
        lastCommit = monotonicNanoseconds()
        uncommitted = false
        unrefreshedSince = nil
        let offsets = next
        monitor.withLock {
            for p in partitions.indices {
                partitions[p].indexed = offsets[p]
                partitions[p].searchable = offsets[p]
                partitions[p].committed = offsets[p]
            }
        }
        monitor.broadcast()
    }

    // MARK: for the store

    /// A searcher over what is searchable now.
    func searcher() -> IndexSearcher { monitor.withLock { publishedIndex }.searcher() }

    /// Per partition: indexed, searchable, committed offsets (a copy of its own: the indexing
    /// thread goes on changing the original).
    var state: [PartitionState] { monitor.withLock { partitions.map { $0 } } }

    /// The slowest refresh and commit so far, in milliseconds.
    var slowest: (refreshMs: Double, commitMs: Double) {
        monitor.withLock { (Double(publishedSlowest.refresh) / 1e6, Double(publishedSlowest.commit) / 1e6) }
    }

    var fallbackDocuments: Int { monitor.withLock { publishedFallbacks } }

    /// The error that stopped indexing last, while it keeps failing.
    var lastFailure: Error? { monitor.withLock { failure } }

    var segmentCount: Int { monitor.withLock { publishedIndex }.segmentCount }
    var sizeOnDisk: Int64 { monitor.withLock { publishedIndex }.sizeOnDisk() }

    /// Blocks until every record appended before the call is searchable (read-your-writes), or
    /// `timeoutMs` passes (`StrataError.timedOut`), or indexing fails (its error).
    func refresh(timeoutMs: Int) throws {
        let targets = logs.map(\.highWatermark)
        let isRunning = monitor.withLock { () -> Bool in
            refreshRequested = true
            return running
        }
        if !isRunning {
            // Not following (indexing off): do the work on the calling thread.
            try work.withLock {
                while try indexAvailable(budgetNanoseconds: Int64.max / 4).1 == false {}
                try refreshNow()
            }
            return
        }
        wake.signal()
        var thrown: Error?
        let ok = monitor.wait(until: {
            if let failure { thrown = failure; return true }
            if stopping { return true }
            return zip(partitions, targets).allSatisfy { $0.searchable >= $1 }
        }, timeoutNanoseconds: Int64(timeoutMs) * 1_000_000)
        if let thrown { throw thrown }
        if monitor.withLock({ stopping }) { throw StrataError.closed("index \(name)") }
        if !ok { throw StrataError.timedOut("refresh of index \(name): records appended before the call were not searchable within \(timeoutMs) ms (indexing lags; see indexStatus)") }
    }

    /// Re-derives the index from its log into the next generation and switches to it
    /// atomically (Formats/store.md §6). Searches use the old generation until the switch.
    func rebuild(with newDefinition: IndexDefinition? = nil) throws {
        try work.withLock {
            // The old generation's state is committed first, so it can be resumed exactly if the
            // rebuild fails.
            if uncommitted { try commitNow() }
            var d = newDefinition ?? definition
            d.generation = definition.generation + 1
            let dir = directory + "/" + IndexDefinition.dataDirectoryName(d.generation)
            if FileSystem.exists(dir) { try FileSystem.removeTree(dir) }
            let fresh = try SearchIndex(directory: dir, schema: try d.mapping.schema(), options: Self.indexOptions(options))
            let old = index
            let oldDefinition = definition
            do {
                index = fresh
                definition = d
                documents = (0 ..< logs.count).map { RecordDocument(partition: Int32($0), timestampPath: d.timestampField, compacted: compacted) }
                fallbacks = 0
                for p in logs.indices {
                    next[p] = logs[p].logStartOffset
                    reflectedStart[p] = logs[p].logStartOffset
                    cursors[p] = nil
                    peeked[p] = nil
                }
                while try indexAvailable(budgetNanoseconds: Int64.max / 4).1 == false {}
                try commitNow()
                // The switch: from here on the new generation is the index.
                try FileSystem.writeAtomically(try d.encode(), to: directory + "/" + IndexDefinition.fileName)
            } catch {
                index = old
                definition = oldDefinition
                documents = (0 ..< logs.count).map { RecordDocument(partition: Int32($0), timestampPath: oldDefinition.timestampField, compacted: compacted) }
                fresh.close()
                try? FileSystem.removeTree(dir)
                try resumeFromCommit()
                throw error
            }
            let offsets = next
            monitor.withLock {
                publishedIndex = fresh
                publishedFallbacks = fallbacks
                for p in partitions.indices { partitions[p] = PartitionState(indexed: offsets[p], searchable: offsets[p], committed: offsets[p]) }
            }
            monitor.broadcast()
            old.close()
            try? FileSystem.removeTree(old.directory)
        }
    }

    /// Adds fields to the mapping in place (new documents get them).
    func extendMapping(_ d: IndexDefinition) throws {
        try work.withLock {
            try index.extendSchema(try d.mapping.schema())
            var updated = definition
            updated.mapping = d.mapping
            try FileSystem.writeAtomically(try updated.encode(), to: directory + "/" + IndexDefinition.fileName)
            definition = updated
        }
    }

    /// Stops following, commits what was indexed and closes the index.
    func close() throws {
        let wasRunning = monitor.withLock { () -> Bool in
            stopping = true
            return running
        }
        wake.signal()
        if wasRunning { _ = monitor.wait(until: { !running }, timeoutNanoseconds: nil) }
        try work.withLock {
            defer { index.close() }
            if uncommitted { try commitNow() }
        }

    }
}
