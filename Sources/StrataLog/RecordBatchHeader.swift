import StrataIO

/// Kafka's timestamp types (attribute bit 3).
public enum TimestampType: Int8, Sendable {
    /// Record timestamps are what the producer set.
    case createTime = 0
    /// The log stamped the batch on append: every record's timestamp is the batch's maxTimestamp.
    case logAppendTime = 1
}

/// The 61-byte header of a magic v2 record batch (see Formats/record-batch.md).
/// All integers big-endian.
public struct RecordBatchHeader: Sendable, Equatable {
    public static let size = 61
    /// Bytes before `batchLength` counts: baseOffset (8) + batchLength (4).
    public static let logOverhead = 12
    public static let magicOffset = 16
    public static let crcOffset = 17
    /// The CRC covers bytes from here to the end of the batch.
    public static let attributesOffset = 21
    public static let noProducerId: Int64 = -1
    public static let noProducerEpoch: Int16 = -1
    public static let noSequence: Int32 = -1

    public var baseOffset: Int64
    /// Bytes after this field: the whole batch is `batchLength + 12` bytes.
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    public var sizeInBytes: Int { Int(batchLength) + Self.logOverhead }
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    public var nextOffset: Int64 { lastOffset + 1 }
    public var codecId: UInt8 { UInt8(attributes & 0x7) }
    public var codec: CompressionCodec? { CompressionCodec(rawValue: codecId) }
    public var timestampType: TimestampType { attributes & 0x8 != 0 ? .logAppendTime : .createTime }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }
    public var hasDeleteHorizon: Bool { attributes & 0x40 != 0 }

    /// Composes attribute bits.
    public static func attributes(codec: CompressionCodec, timestampType: TimestampType = .createTime,
                                  transactional: Bool = false, control: Bool = false, deleteHorizon: Bool = false) -> Int16 {
        var a = Int16(codec.rawValue)
        if timestampType == .logAppendTime { a |= 0x8 }
        if transactional { a |= 0x10 }
        if control { a |= 0x20 }
        if deleteHorizon { a |= 0x40 }
        return a
    }

    /// Parses the header at `p` (at least 61 readable bytes). Does not validate.
    @inlinable
    public init(at p: UnsafeRawPointer) {
        baseOffset = p.loadBE(at: 0, as: Int64.self)
        batchLength = p.loadBE(at: 8, as: Int32.self)
        partitionLeaderEpoch = p.loadBE(at: 12, as: Int32.self)
        magic = p.loadBE(at: 16, as: Int8.self)
        crc = p.loadBE(at: 17, as: UInt32.self)
        attributes = p.loadBE(at: 21, as: Int16.self)
        lastOffsetDelta = p.loadBE(at: 23, as: Int32.self)
        baseTimestamp = p.loadBE(at: 27, as: Int64.self)
        maxTimestamp = p.loadBE(at: 35, as: Int64.self)
        producerId = p.loadBE(at: 43, as: Int64.self)
        producerEpoch = p.loadBE(at: 51, as: Int16.self)
        baseSequence = p.loadBE(at: 53, as: Int32.self)
        recordCount = p.loadBE(at: 57, as: Int32.self)
    }

    /// Writes the header to `p` (61 bytes), CRC as stored in `crc`.
    public func write(to p: UnsafeMutableRawPointer) {
        p.storeBE(baseOffset, at: 0)
        p.storeBE(batchLength, at: 8)
        p.storeBE(partitionLeaderEpoch, at: 12)
        p.storeBE(magic, at: 16)
        p.storeBE(crc, at: 17)
        p.storeBE(attributes, at: 21)
        p.storeBE(lastOffsetDelta, at: 23)
        p.storeBE(baseTimestamp, at: 27)
        p.storeBE(maxTimestamp, at: 35)
        p.storeBE(producerId, at: 43)
        p.storeBE(producerEpoch, at: 51)
        p.storeBE(baseSequence, at: 53)
        p.storeBE(recordCount, at: 57)
    }
}
