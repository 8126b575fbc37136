#if canImport(Glibc)
import Glibc
#endif
import Logging
import StrataIO

extension Log {
    /// Opens the partition directory, creating it (with an empty first segment) when absent and
    /// not read-only.
    ///
    /// Every segment's indexes are checked against its log and its tail after the last index
    /// entry is scanned (`LogSegment.open`). With `.unclean` recovery (the default: a log
    /// opened on its own cannot know how the last writer stopped; `LogStore` passes `.clean`
    /// after a clean shutdown), every batch from the recovery point on is validated as well,
    /// the indexes of those segments are rebuilt, the log is cut at the first invalid byte and
    /// later segments are deleted. `recoveryReport` says what was repaired; repairs are also
    /// sent to `logger`.
    public static func open(directory: String, config: LogConfig = LogConfig(), flushPolicy: FlushPolicy = .os,
                            readOnly: Bool = false, recovery: RecoveryMode = .unclean(recoveryPoint: nil),
                            logger: Logger = defaultStrataLogger()) throws -> Log {
        try config.validate()
        if try !FileSystem.isDirectoryChecked(directory) {
            if readOnly { throw StrataError.notFound("partition directory \(directory)") }
            try FileSystem.createDirectory(directory)
            try FileSystem.syncDirectory(FileSystem.parent(of: directory))
        }
        if !readOnly { try finishInterruptedSwaps(in: directory) }
        let names = try FileSystem.list(directory)
        let bases = names.compactMap(LogSegment.baseOffset(ofLogFile:)).sorted()
        // Segments from this base offset on are validated batch by batch.
        var recoverFrom = Int64.max
        if case .unclean(let point) = recovery, !readOnly, let last = bases.last {
            recoverFrom = point.map { p in bases.last(where: { $0 <= p }) ?? bases.first! } ?? last
        }
        let full = recovery == .full && !readOnly
        if full { recoverFrom = bases.first ?? 0 }
        let validator = BatchValidator(records: full, maxDecompressedBytes: config.maxDecompressedBytes)
        var segments: [LogSegment] = []
        var reports: [Int64: LogSegment.OpenReport] = [:]
        var summary = RecoveryReport()
        var cutAt: Int? // index of the segment that was truncated during recovery
        for (i, base) in bases.enumerated() {
            if base > Log.maxOffset {
                throw StrataError.corrupt(file: directory + "/" + LogSegment.fileName(base, ".log"), position: 0,
                                          reason: "segment file name says base offset \(base), beyond the largest offset a record may have (\(Log.maxOffset)); rename or remove the file")
            }
            if cutAt != nil {
                // An earlier segment lost its tail: later segments cannot follow it (Kafka
                // deletes them). They are moved aside whole, into quarantine, not deleted.
                let path = directory + "/" + LogSegment.fileName(base, ".log")
                summary.deletedSegments[base] = Int(FileSystem.fileSize(path) ?? 0)
                let aside = Quarantine.path(for: path, position: 0)
                try FileSystem.rename(path, aside)
                summary.quarantined.append(aside)
                for suffix in [".index", ".timeindex", TransactionIndex.suffix] { try FileSystem.remove(directory + "/" + LogSegment.fileName(base, suffix)) }
                try FileSystem.syncDirectory(directory)
                continue
            }
            if full {
                let (removed, quarantine) = try LogSegment.removeDamagedBatches(directory: directory, baseOffset: base, validator: validator)
                if !removed.isEmpty { summary.removedBatches[base] = removed }
                if let quarantine { summary.quarantined.append(quarantine) }
            }
            let recover = base >= recoverFrom
            // A closed segment below the recovery point was flushed: damage there is bit rot,
            // not a torn write, and costs only the damaged batch (kept, reported).
            let flushed = !recover && i < bases.count - 1
            let (segment, report) = try LogSegment.open(directory: directory, baseOffset: base, config: config, writable: !readOnly,
                                                        active: i == bases.count - 1, fullRecovery: recover, flushed: flushed, validator: validator)
            summary.quarantined += report.quarantined
            if report != LogSegment.OpenReport() { reports[base] = report }
            if !report.damagedPositions.isEmpty { summary.damagedBatches[base] = report.damagedPositions }
            if recover { summary.recoveredSegments.append(base) }
            if let why = report.rebuiltIndexReason { summary.rebuiltIndexes[base] = why }
            if let previous = segments.last, segment.baseOffset < previous.nextOffset {
                throw StrataError.corrupt(file: segment.logPath, position: 0,
                                          reason: "segment base offset \(segment.baseOffset) overlaps the previous segment, which ends at \(previous.nextOffset)")
            }
            if report.truncatedBytes > 0 && !readOnly {
                summary.truncatedBytes += report.truncatedBytes
                summary.truncatedAtOffset = segment.nextOffset
                // Full recovery checks every later segment on its own instead: offsets cut
                // here become a gap before them.
                if i < bases.count - 1 && !full { cutAt = i }
            }
            segments.append(segment)
        }
        if !readOnly {
            // Closed segments keep trimmed indexes; everything recovered is made durable.
            for s in segments.dropLast() { try s.onBecomeInactive() }
            if !summary.isEmpty || !summary.recoveredSegments.isEmpty {
                for s in segments { try s.flush() }
                try FileSystem.syncDirectory(directory)
            }
        }
        if segments.isEmpty {
            if readOnly { throw StrataError.notFound("log segments in \(directory)") }
            segments.append(try LogSegment.create(directory: directory, baseOffset: 0, config: config))
        }
        let log = Log(directory: directory, config: config, flushPolicy: flushPolicy, readOnly: readOnly, segments: segments, logger: logger)
        log.openReports = reports
        log.recoveryReport = summary
        if !summary.isEmpty || !summary.recoveredSegments.isEmpty { logger.warning("recovered \(directory): \(summary)") }
        return log
    }

    /// Completes a compaction swap interrupted by a crash: `<base>.log.swap` files replace their
    /// segment; `.cleaned` leftovers (a compaction that never finished) are deleted.
    static func finishInterruptedSwaps(in directory: String) throws {
        for name in try FileSystem.list(directory) {
            let path = directory + "/" + name
            if name.hasSuffix(".cleaned") || name.hasSuffix(".deleted") || name.hasSuffix(".index.swap") || name.hasSuffix(".timeindex.swap") {
                // An unfinished compaction, files Kafka was deleting, index swaps (rebuilt anyway).
                try FileSystem.remove(path)
            } else if name.hasSuffix(".log.swap") {
                let target = String(path.dropLast(".swap".count))
                let stem = String(target.dropLast(".log".count))
                try FileSystem.remove(stem + ".index")
                try FileSystem.remove(stem + ".timeindex")
                try FileSystem.rename(path, target)
                try FileSystem.syncDirectory(directory)
            }
        }
    }
}
