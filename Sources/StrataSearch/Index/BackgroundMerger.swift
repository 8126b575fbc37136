#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataIO

/// Runs an index's merge policy on a thread of its own (`SearchIndex.Options.backgroundMerges`):
/// woken after refreshes and commits, it picks segments under the index's lock, merges them
/// without it (segments are immutable), then swaps the result in under the lock, carrying
/// over deletes made while it ran. The merged segment is committed by the index's next commit,
/// or at once when nothing else changed since the last commit.
final class BackgroundMerger: @unchecked Sendable {
    private weak var index: SearchIndex?
    private let wakeSignal = WakeSignal()
    private let idleSignal = WakeSignal()
    private let state = Lock()
    private var stopped = false
    private var paused = 0
    private var running = false
    /// A wake the thread has not taken yet: `waitUntilIdle` waits for it too, so a caller that
    /// woke the merger (a commit) and then waits sees the merges that wake starts.
    private var pending = false
    private var thread: Thread?
    /// The error that stopped the last merge (a full disk, say); cleared by a merge that succeeds.
    private(set) var lastError: StrataError? {
        get { state.withLock { error } }
        set { state.withLock { error = newValue } }
    }
    private var error: StrataError?

    init(_ index: SearchIndex) {
        self.index = index
        let t = Thread { [self] in self.loop() }
        t.name = "strata-merge"
        thread = t
        t.start()
    }

    /// Asks for a round of the merge policy.
    func wake() {
        state.withLock { pending = true }
        wakeSignal.signal()
    }

    /// Stops the thread after a merge in progress; waits until it has.
    func stop() {
        state.withLock { stopped = true }
        wakeSignal.signal()
        waitUntilIdle(exited: true)
    }

    /// Holds merging off (a merge in progress finishes first) until `resume`.
    func pause() {
        state.withLock { paused += 1 }
        waitUntilIdle()
    }

    func resume() {
        state.withLock { paused -= 1 }
        wakeSignal.signal()
    }

    /// Waits until no merge is running or asked for (with `exited`, until the thread has ended).
    func waitUntilIdle(exited: Bool = false) {
        while true {
            let done = state.withLock { exited ? thread == nil : thread == nil || (!running && !pending) }
            if done { return }
            idleSignal.wait(nanoseconds: 20_000_000)
        }
    }

    private func loop() {
        // Merging is deferrable work: below the indexing thread, so a busy machine indexes
        // first (segments wait a little longer to be merged).
        lowerCurrentThreadPriority(by: 10)
        while true {
            wakeSignal.wait(nanoseconds: nil)
            while true {
                // Taking the wake and starting to run is one step, so `waitUntilIdle` never sees
                // neither between them.
                let go = state.withLock { () -> Bool in
                    pending = false
                    if stopped || paused > 0 { running = false; return false }
                    running = true
                    return true
                }
                if !go { break }
                let merged = (index?.runOneBackgroundMerge(self)) ?? false
                if !merged { state.withLock { running = false } }
                idleSignal.signal()
                if !merged { break }
            }
            if state.withLock({ stopped }) { break }
        }
        state.withLock { thread = nil }
        idleSignal.signal()
    }

    func record(_ e: StrataError?) { lastError = e }
}

extension SearchIndex {
    /// The last background merge's failure, if the most recent one failed.
    public var backgroundMergeError: StrataError? { merger?.lastError }

    /// Picks, runs and swaps in one merge; returns whether one ran.
    func runOneBackgroundMerge(_ merger: BackgroundMerger) -> Bool {
        struct Job {
            var numbers: [UInt32]
            var output: UInt32
            var inputs: [(SegmentReader, DeletedDocuments?)]
            var schema: Schema
            var sort: IndexSort?
        }
        let job: Job? = lock.withLock {
            guard !isClosedLocked else { return nil }
            // The policy merges neighbours only: it sees each run of segments between those
            // already being merged on its own, so a merge never spans one in progress.
            var chosen: [Int]? = nil
            var start = 0
            while chosen == nil && start < segments.count {
                var end = start
                while end < segments.count && !merging.contains(segments[end].entry.number) { end += 1 }
                if end > start, let pick = options.mergePolicy.pick(segments[start ..< end].map { ($0.entry.documentCount - $0.entry.deletedCount, $0.entry.deletedCount) }) {
                    chosen = pick.map { start + $0 }
                }
                start = end + 1
            }
            guard let chosen else { return nil }
            let output = nextSegment
            nextSegment += 1
            mergeOutput = output
            let numbers = chosen.map { segments[$0].entry.number }
            merging.formUnion(numbers)
            return Job(numbers: numbers, output: output, inputs: chosen.map { (segments[$0].reader, segments[$0].deletes()) }, schema: schema, sort: indexSort)
        }
        guard let job else { return false }
        do {
            let (docs, fields, maps) = try SegmentMerger.merge(job.inputs, schema: job.schema, directory: directory, name: Manifest.segmentName(job.output), sort: job.sort)
            let reader = docs > 0 ? try SegmentReader(directory: directory, number: job.output, documentCount: docs, invertedFields: fields) : nil
            try lock.withLock {
                defer {
                    merging.subtract(job.numbers)
                    mergeOutput = nil
                }
                let positions = job.numbers.map { n in segments.firstIndex { $0.entry.number == n }! }
                var kept = segments.enumerated().filter { !positions.contains($0.offset) }.map(\.element)
                if let reader {
                    // Deletes made while the merge ran: the merger dropped what its snapshot had.
                    var carried = DocSet(capacity: docs)
                    for (k, (input, _)) in job.inputs.enumerated() {
                        let live = segments[positions[k]]
                        for d in 0 ..< input.documentCount where maps[k][d] >= 0 && live.isDeleted(UInt32(d)) {
                            carried.insert(UInt32(maps[k][d]))
                        }
                    }
                    var merged = Live(entry: Manifest.SegmentEntry(number: job.output, documentCount: docs, deletedCount: 0, deleteGeneration: 0, invertedFields: fields), reader: reader)
                    if carried.count > 0 { merged.markDeleted(carried) }
                    noteUnsynced(merged)
                    kept.insert(merged, at: positions.min()!)
                }
                let clean = !uncommittedChanges
                segments = kept
                // Nothing else changed since the last commit: commit the merge now (same user
                // data), so it survives a restart; otherwise the next commit takes it along.
                if clean && !isClosedLocked { try commitLocked(userData: committed.userData) }
            }
            merger.record(nil)
            return true
        } catch {
            lock.withLock {
                merging.subtract(job.numbers)
                mergeOutput = nil
                for f in (try? FileSystem.list(directory)) ?? [] where f.hasPrefix(Manifest.segmentName(job.output) + ".") {
                    try? FileSystem.remove(directory + "/" + f)
                }
            }
            merger.record(error as? StrataError ?? .io(operation: "merge", path: directory, errno: EIO))
            return false
        }
    }
}
