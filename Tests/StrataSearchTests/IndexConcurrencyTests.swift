import Foundation
import Testing
import StrataIO
@testable import StrataSearch

@Suite struct IndexConcurrencyTests {
    /// One writer adds, deletes, refreshes, commits and merges while readers take searchers and
    /// query them: every searcher is a consistent snapshot (a count never changes under it and
    /// matches what its own search returns), and no data race (run under ThreadSanitizer by
    /// scripts/tsan.sh). STRATA_STRESS_SECONDS sets the duration (default 2).
    @Test func searchersAreSnapshotsWhileTheWriterWorks() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["STRATA_STRESS_SECONDS"] ?? "") ?? 2
        let index = try SearchIndex(directory: tempDirectory("conc"), schema: Corpus.schema(),
                                    options: .init(bufferBytes: 60_000, mergePolicy: TieredMergePolicy(mergeFactor: 3, floorDocuments: 100)))
        let corpus = Corpus(count: 4000, seed: 5)
        let stop = Atomic(false)
        let failures = Atomic(0)
        let readers = (0 ..< 2).map { _ in
            Thread {
                while !stop.load() {
                    let s = index.searcher()
                    do {
                        let q = try QueryParser.parse("error OR kafka")
                        let a = try s.count(q)
                        let hits = try s.search(q, limit: 100_000)
                        let b = try s.count(q)
                        let agg = try s.aggregate(.matchAll, ["n": .stats(field: "n")])
                        if a != b || hits.count != a { failures.add(1) }
                        if case let .stats(st)? = agg["n"], st.count > s.documentCount { failures.add(1) }
                    } catch {
                        failures.add(1)
                    }
                }
            }
        }
        readers.forEach { $0.start() }
        let deadline = Date().addingTimeInterval(seconds)
        var i = 0
        while Date() < deadline {
            let d = corpus.docs[i % corpus.docs.count]
            try index.add(json: corpus.json(d))
            i += 1
            if i % 97 == 0 { try index.refresh() }
            if i % 401 == 0 { try index.delete(.term(field: "body", text: "crash")) }
            if i % 800 == 0 { try index.commit() }
            if i % 3000 == 0 { try index.forceMerge(maxSegments: 2) }
        }
        stop.store(true)
        while readers.contains(where: { $0.isExecuting }) { usleep(1000) }
        #expect(failures.load() == 0)
        #expect(i > 100)
    }
}

@Suite struct CommittedReaderTests {
    /// A lock-free reader of the committed state (`openSearcher`, as `strata search` beside an
    /// indexer) opens while commits and merges replace manifests and remove files: it always
    /// gets a whole commit (its document count is one the writer committed).
    @Test func committedStateReadersBesideAWriter() throws {
        let dir = tempDirectory("reader")
        let index = try SearchIndex(directory: dir, schema: Corpus.schema(), options: .init(bufferBytes: 30_000, mergePolicy: TieredMergePolicy(mergeFactor: 3, floorDocuments: 50)))
        try index.commit()
        let corpus = Corpus(count: 1200, seed: 9)
        let committedCounts = Atomic<Set<Int>>([0])
        let stop = Atomic(false)
        let failures = Atomic(0)
        let reader = Thread {
            while !stop.load() {
                do {
                    let s = try SearchIndex.openSearcher(directory: dir)
                    if !committedCounts.load().contains(s.documentCount) { failures.add(1) }
                    usleep(500)
                } catch {
                    failures.add(1)
                }
            }
        }
        reader.start()
        for (i, d) in corpus.docs.enumerated() {
            try index.add(json: corpus.json(d))
            if i % 150 == 149 {
                var counts = committedCounts.load()
                counts.insert(i + 1)
                committedCounts.store(counts)   // announced before the commit lands
                try index.commit()
            }
        }
        stop.store(true)
        while reader.isExecuting { usleep(1000) }
        #expect(failures.load() == 0)
    }
}

/// A tiny lock-protected value for the test threads.
final class Atomic<T: Sendable>: @unchecked Sendable {
    private let lock = Lock()
    private var value: T
    init(_ v: T) { value = v }
    func load() -> T { lock.withLock { value } }
    func store(_ v: T) { lock.withLock { value = v } }
}

extension Atomic where T == Int {
    func add(_ d: Int) { lock.withLock { value += d } }
}
