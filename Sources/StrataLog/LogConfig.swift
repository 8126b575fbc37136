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

    public init() {}

    /// Throws `invalidArgument` for settings the format cannot honour.
    public func validate() throws {
        if segmentBytes < 1024 || segmentBytes > Int(Int32.max) {
            throw StrataError.invalidArgument("segmentBytes \(segmentBytes) must be between 1 KiB and 2 GiB - 1 (positions are 32-bit)")
        }
        if maxIndexBytes < 24 { throw StrataError.invalidArgument("maxIndexBytes \(maxIndexBytes) must hold at least two entries") }
        if maxBatchBytes < RecordBatchHeader.size + 16 { throw StrataError.invalidArgument("maxBatchBytes \(maxBatchBytes) is too small") }
        if targetBatchBytes < 1 { throw StrataError.invalidArgument("targetBatchBytes must be positive") }
        if indexIntervalBytes < 0 { throw StrataError.invalidArgument("indexIntervalBytes must not be negative") }
        if !compression.isSupported { throw StrataError.invalidArgument("compression \(compression) is not built in; use none, gzip or lz4") }
    }
}

extension TimestampType: Codable {}

