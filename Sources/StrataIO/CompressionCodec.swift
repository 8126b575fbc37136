/// Kafka's compression codec ids (the low 3 bits of a v2 batch's attributes).
public enum CompressionCodec: UInt8, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// Parses `none`, `gzip`, `snappy`, `lz4`, `zstd`.
    public init?(name: String) {
        guard let c = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = c
    }
}

/// Reusable compression state for every supported codec. One instance per thread (it holds
/// mutable encoder/decoder contexts); create one per writer and one per reader.
public final class Codecs {
    /// Default cap on decompressed output: 64 MiB (a batch is at most `maxBatchBytes`
    /// compressed; real ratios are far below this).
    public static let defaultMaxDecompressedBytes = 64 << 20

    /// Decoders fail with `decompressionLimitExceeded` instead of producing more than this.
    public var maxDecompressedBytes: Int
    /// zlib level for gzip (Kafka's default is zlib's default, 6).
    public var gzipLevel: Int32 = 6

    lazy var lz4Encoder = LZ4FrameEncoder()
    lazy var lz4Decoder = LZ4FrameDecoder()
    lazy var gzip = GzipCodec()
    lazy var zstd = ZstdCodec()
    lazy var snappy = SnappyCodec()
    /// zstd level (Kafka's default `compression.zstd.level` is 3).
    public var zstdLevel: Int32 = ZstdCodec.defaultLevel

    public init(maxDecompressedBytes: Int = Codecs.defaultMaxDecompressedBytes) {
        self.maxDecompressedBytes = maxDecompressedBytes
    }

    /// Appends the compressed form of `input` to `out`.
    public func compress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, into out: ByteWriter) throws {
        switch codec {
        case .none: out.append(input)
        case .lz4: lz4Encoder.compress(input, into: out)
        case .gzip: try gzip.compress(input, level: gzipLevel, into: out)
        case .zstd: try zstd.compress(input, level: zstdLevel, into: out)
        case .snappy: try snappy.compress(input, into: out)
        }
    }

    /// Appends the decompressed form of `input` to `out`, never more than `limit` bytes
    /// (default `maxDecompressedBytes`).
    public func decompress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, into out: ByteWriter, limit: Int? = nil) throws {
        let cap = limit ?? maxDecompressedBytes
        switch codec {
        case .none:
            if input.count > cap { throw StrataError.decompressionLimitExceeded(codec: "none", limit: cap) }
            out.append(input)
        case .lz4: try lz4Decoder.decompress(input, into: out, limit: cap)
        case .gzip: try gzip.decompress(input, into: out, limit: cap)
        case .zstd: try zstd.decompress(input, into: out, limit: cap)
        case .snappy: try snappy.decompress(input, into: out, limit: cap)
        }
    }
}
