#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// A batch `strata recover` took out of a segment: its place, offsets and what was wrong.
public struct RemovedBatch: Sendable, Equatable, CustomStringConvertible {
    public var position: Int
    public var baseOffset: Int64
    public var lastOffset: Int64
    public var reason: String
    public var description: String { "offsets \(baseOffset)...\(lastOffset) at byte \(position) (\(reason))" }
}

extension LogSegment {
    /// Full recovery's first step for one segment (`RecoveryMode.full`, `strata recover`):
    /// every batch whose framing is intact (its length leads to the next batch or to the end)
    /// but that fails `validator` — a CRC mismatch, offsets out of order or past the segment's
    /// reach, records that do not decode — is taken out. The segment is rewritten without them
    /// through `<segment>.log.swap` (the compaction swap, finished by
    /// `Log.finishInterruptedSwaps` after a crash), and their bytes go to one quarantine file.
    /// The offsets they held become a gap, as compaction leaves; later batches keep theirs.
    /// A tail whose framing is broken is left for the open that follows to cut (and quarantine).
    static func removeDamagedBatches(directory: String, baseOffset: Int64, validator: BatchValidator) throws -> (removed: [RemovedBatch], quarantine: String?) {
        let path = directory + "/" + fileName(baseOffset, ".log")
        let file = try DataFile(path: path, flags: O_RDONLY)
        defer { file.close() }
        let size = Int(try file.size())
        guard size > 0 else { return ([], nil) }
        let region = try MappedRegion(file: file, length: size)
        let data = region.bytes(count: size)
        var removed: [RemovedBatch] = []
        var keptRanges: [Range<Int>] = []
        var quarantined: [UInt8] = []
        var pos = 0
        var next = baseOffset
        while pos < size {
            guard case .batch(let b)? = try? RecordBatchView.probe(data, at: pos) else { break }
            let after = pos + b.header.sizeInBytes
            if let reason = validator.problem(of: b, segmentBase: baseOffset, next: next, file: path) {
                // Taken out only when the next batch (or the end) is where its length says.
                if after < size { guard case .batch? = try? RecordBatchView.probe(data, at: after) else { break } }
                removed.append(RemovedBatch(position: pos, baseOffset: b.header.baseOffset, lastOffset: b.header.lastOffset, reason: reason))
                quarantined.append(contentsOf: b.bytes)
            } else {
                keptRanges.append(pos ..< after)
                next = b.header.nextOffset
            }
            pos = after
        }
        guard !removed.isEmpty else { return ([], nil) }
        // The tail from `pos` stays as it is, for the open to judge.
        if pos < size { keptRanges.append(pos ..< size) }
        let quarantine = try Quarantine.keep(quarantined, from: path, position: removed[0].position)
        let swap = path + ".swap"
        let out = try DataFile(path: swap, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            var at: Int64 = 0
            for r in keptRanges {
                try out.write(UnsafeRawBufferPointer(rebasing: data[r]), at: at)
                at += Int64(r.count)
            }
            try out.sync()
        } catch {
            out.close()
            try? FileSystem.remove(swap)
            throw error
        }
        out.close()
        // As `finishInterruptedSwaps` would: the indexes point into the old layout.
        try FileSystem.remove(directory + "/" + fileName(baseOffset, ".index"))
        try FileSystem.remove(directory + "/" + fileName(baseOffset, ".timeindex"))
        try FileSystem.rename(swap, path)
        try FileSystem.syncDirectory(directory)
        return (removed, quarantine)
    }
}
