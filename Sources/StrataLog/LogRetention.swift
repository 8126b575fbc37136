#if canImport(Glibc)
import Glibc
#endif
import Logging
import StrataIO

/// What one retention pass deleted.
public struct RetentionResult: Sendable, Equatable {
    /// Base offsets of the deleted segments.
    public var deletedSegments: [Int64] = []
    public var deletedBytes = 0
    /// The log start offset afterwards.
    public var logStartOffset: Int64 = 0
}

extension LogSegment {
    /// The newest record timestamp in the segment, or the file's modification time when its
    /// batches carry no timestamps (Kafka's rule).
    var largestTimestamp: Int64 {
        if maxTimestampSoFar >= 0 { return maxTimestampSoFar }
        var st = stat()
        if stat(logPath, &st) == 0 { return Int64(st.st_mtim.tv_sec) * 1000 + Int64(st.st_mtim.tv_nsec) / 1_000_000 }
        return -1
    }
}

extension Log {
    /// Deletes the oldest whole segments that break `config.retentionMs` or
    /// `config.retentionBytes` (Kafka's `deleteOldSegments`), never the active segment, and
    /// advances the log start offset. Reads below it then fail with `offsetOutOfRange`, which
    /// names the earliest available offset. Cursors already reading a deleted segment finish
    /// it (its mapping outlives the file).
    @discardableResult
    public func applyRetention(now: Int64 = currentTimeMillis()) throws -> RetentionResult {
        try writeLock.withLock {
            try checkWritable()
            var result = RetentionResult()
            let closedSegments = segments.dropLast()
            var remaining = segments.reduce(0) { $0 + $1.size }
            var victims: [LogSegment] = []
            for segment in closedSegments {
                var expired = false
                if let ms = config.retentionMs, segment.largestTimestamp >= 0, now - segment.largestTimestamp > ms { expired = true }
                if let bytes = config.retentionBytes, remaining - segment.size >= bytes { expired = true }
                guard expired else { break } // only a prefix of the log is ever deleted
                victims.append(segment)
                remaining -= segment.size
            }
            if victims.isEmpty { return RetentionResult(logStartOffset: startOffset) }
            let newStart = segments[victims.count].baseOffset
            stateLock.withLock {
                segments.removeFirst(victims.count)
                startOffset = newStart
            }
            for v in victims {
                result.deletedSegments.append(v.baseOffset)
                result.deletedBytes += v.size
                try v.deleteFiles()
            }
            try FileSystem.syncDirectory(directory)
            result.logStartOffset = newStart
            logger.info("retention deleted \(victims.count) segment(s) (\(result.deletedBytes) bytes) of \(directory); log start offset is now \(newStart)")
            return result
        }
    }
}
