import StrataIO

/// Settings of one partition log. Defaults follow Kafka's broker/topic defaults where one exists.
public struct LogConfig: Sendable, Equatable, Codable {
    /// Roll to a new segment before a segment's `.log` would exceed this (Kafka `segment.bytes`, 1 GiB).
    public var segmentBytes: Int = 1 << 30
    /// Roll a segment this long after it was created, once it holds data (Kafka `segment.ms`, 7 days).
    public var segmentMs: Int64 = 7 * 24 * 3600 * 1000
    /// An offset-index entry is added once more than this many bytes were appended since the last (Kafka `index.interval.bytes`).
    public var indexIntervalBytes: Int = 4096
    /// Preallocated size of `.index`/`.timeindex` files (Kafka `segment.index.bytes`, 10 MiB).
    public var maxIndexBytes: Int = 10 << 20
    /// Largest batch accepted on append (Kafka `message.max.bytes`, here 1 MiB).
    public var maxBatchBytes: Int = 1 << 20
    /// Appends group records into batches of about this many uncompressed bytes (the role of
    /// the producer's `batch.size`). 8 KiB: a lookup by offset scans at most one batch, and
    /// halving Kafka's 16 KiB halves that scan (Benchmarks/README.md) at a small cost in
    /// compression ratio.
    public var targetBatchBytes: Int = 8 << 10
    /// Codec for new batches.
    public var compression: CompressionCodec = .none
    /// `createTime` keeps the caller's timestamps; `logAppendTime` stamps batches on append.
    public var timestampType: TimestampType = .createTime
    /// Cap on the decompressed size of one batch when reading.
    public var maxDecompressedBytes: Int = Codecs.defaultMaxDecompressedBytes
    /// Delete the oldest segments while the partition holds more than this many bytes
    /// (Kafka `retention.bytes`); nil keeps everything.
    public var retentionBytes: Int?
    /// Delete segments whose newest record is older than this (Kafka `retention.ms`); nil keeps
    /// everything. Unlike Kafka (7 days), an embedded store keeps data until told otherwise.
    public var retentionMs: Int64?
    /// `delete` (retention) or `compact` (keep the latest record per key; Kafka
    /// `cleanup.policy`).
    public var cleanupPolicy: CleanupPolicy = .delete
    /// Tombstones (null values) survive compaction for this long after the first cleaning that
    /// kept them (Kafka `delete.retention.ms`, 1 day).
    public var deleteRetentionMs: Int64 = 24 * 3600 * 1000
    /// Compact when at least this fraction of the closed segments' bytes was never cleaned
    /// (Kafka `min.cleanable.dirty.ratio`, 0.5). Scheduled compaction only; `compact()` always runs.
    public var minCleanableDirtyRatio: Double = 0.5

    public init() {}

    enum CodingKeys: String, CodingKey {
        case segmentBytes, segmentMs, indexIntervalBytes, maxIndexBytes, maxBatchBytes, targetBatchBytes, compression
        case timestampType, maxDecompressedBytes, retentionBytes, retentionMs, cleanupPolicy, deleteRetentionMs, minCleanableDirtyRatio
    }

    /// Missing keys keep their defaults, so configs written by older versions still load.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = LogConfig()
        segmentBytes = try c.decodeIfPresent(Int.self, forKey: .segmentBytes) ?? d.segmentBytes
        segmentMs = try c.decodeIfPresent(Int64.self, forKey: .segmentMs) ?? d.segmentMs
        indexIntervalBytes = try c.decodeIfPresent(Int.self, forKey: .indexIntervalBytes) ?? d.indexIntervalBytes
        maxIndexBytes = try c.decodeIfPresent(Int.self, forKey: .maxIndexBytes) ?? d.maxIndexBytes
        maxBatchBytes = try c.decodeIfPresent(Int.self, forKey: .maxBatchBytes) ?? d.maxBatchBytes
        targetBatchBytes = try c.decodeIfPresent(Int.self, forKey: .targetBatchBytes) ?? d.targetBatchBytes
        compression = try c.decodeIfPresent(CompressionCodec.self, forKey: .compression) ?? d.compression
        timestampType = try c.decodeIfPresent(TimestampType.self, forKey: .timestampType) ?? d.timestampType
        maxDecompressedBytes = try c.decodeIfPresent(Int.self, forKey: .maxDecompressedBytes) ?? d.maxDecompressedBytes
        retentionBytes = try c.decodeIfPresent(Int.self, forKey: .retentionBytes)
        retentionMs = try c.decodeIfPresent(Int64.self, forKey: .retentionMs)
        cleanupPolicy = try c.decodeIfPresent(CleanupPolicy.self, forKey: .cleanupPolicy) ?? d.cleanupPolicy
        deleteRetentionMs = try c.decodeIfPresent(Int64.self, forKey: .deleteRetentionMs) ?? d.deleteRetentionMs
        minCleanableDirtyRatio = try c.decodeIfPresent(Double.self, forKey: .minCleanableDirtyRatio) ?? d.minCleanableDirtyRatio
    }

    /// Throws `invalidArgument` for settings the format cannot honour.
    public func validate() throws {
        if segmentBytes < 1024 || segmentBytes > Int(Int32.max) {
            throw StrataError.invalidArgument("segmentBytes \(segmentBytes) must be between 1 KiB and 2 GiB - 1 (positions are 32-bit)")
        }
        if maxIndexBytes < 24 { throw StrataError.invalidArgument("maxIndexBytes \(maxIndexBytes) must hold at least two entries") }
        if maxBatchBytes < RecordBatchHeader.size + 16 { throw StrataError.invalidArgument("maxBatchBytes \(maxBatchBytes) is too small") }
        if targetBatchBytes < 1 { throw StrataError.invalidArgument("targetBatchBytes must be positive") }
        if indexIntervalBytes < 0 { throw StrataError.invalidArgument("indexIntervalBytes must not be negative") }
        if let r = retentionBytes, r < 0 { throw StrataError.invalidArgument("retentionBytes must not be negative (nil keeps everything)") }
        if let r = retentionMs, r < 0 { throw StrataError.invalidArgument("retentionMs must not be negative (nil keeps everything)") }
        if deleteRetentionMs < 0 { throw StrataError.invalidArgument("deleteRetentionMs must not be negative") }
        if !(0 ... 1).contains(minCleanableDirtyRatio) { throw StrataError.invalidArgument("minCleanableDirtyRatio must be within 0...1") }
    }
}

extension TimestampType: Codable {}

/// What happens to old data (Kafka `cleanup.policy`).
public enum CleanupPolicy: String, Sendable, Codable, Equatable {
    /// Delete whole old segments by `retentionMs` / `retentionBytes`.
    case delete
    /// Keep the latest record per key (see Formats/compaction.md); retention limits still apply.
    case compact
}

