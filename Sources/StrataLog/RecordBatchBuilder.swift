import StrataIO

/// Where a finished batch sits in a `RecordBatchBuilder`'s output buffer.
public struct BuiltBatch: Sendable, Equatable {
    /// Byte position of the batch inside `RecordBatchBuilder.output`.
    public var position: Int
    public var size: Int
    public var baseOffset: Int64
    public var lastOffset: Int64
    public var maxTimestamp: Int64
    /// The offset of the record holding `maxTimestamp` (Kafka indexes the batch's last offset).
    public var recordCount: Int
}

/// Producer identity and sequence for idempotent/transactional batches.
public struct ProducerState: Sendable, Equatable {
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var isTransactional: Bool

    public static let none = ProducerState(producerId: -1, producerEpoch: -1, baseSequence: -1, isTransactional: false)

    public init(producerId: Int64, producerEpoch: Int16, baseSequence: Int32, isTransactional: Bool = false) {
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.isTransactional = isTransactional
    }
}

/// Encodes records into magic v2 record batches, appended back to back to `output`.
/// Reuses all its buffers: after warm-up, building a batch allocates nothing.
///
/// Usage: `begin(...)`, `add(...)` for each record, `finish()`; repeat; write `output.bytes`;
/// `reset()`.
public final class RecordBatchBuilder {
    /// Complete batches, ready to write.
    public let output = ByteWriter(capacity: 1 << 20)
    /// Where each finished batch sits in `output`.
    public private(set) var batches: [BuiltBatch] = []

    private let codecs: Codecs
    private let scratch = ByteWriter(capacity: 64 << 10)
    private var codec: CompressionCodec = .none
    private var timestampType: TimestampType = .createTime
    private var producer: ProducerState = .none
    private var partitionLeaderEpoch: Int32 = 0
    private var batchStart = 0
    private var baseOffset: Int64 = 0
    private var baseTimestamp: Int64 = 0
    private var maxTimestamp: Int64 = -1
    private var count = 0
    private var isOpen = false

    public init(codecs: Codecs = Codecs()) {
        self.codecs = codecs
    }

    /// Drops all output.
    public func reset() {
        output.removeAll()
        batches.removeAll(keepingCapacity: true)
        isOpen = false
    }

    /// Number of records in the open batch.
    public var recordCount: Int { count }

    /// Uncompressed size of the open batch so far (header + records).
    public var openBatchSize: Int {
        guard isOpen else { return 0 }
        return codec == .none ? output.count - batchStart : RecordBatchHeader.size + scratch.count
    }

    /// Starts a batch whose first record gets `baseOffset`.
    public func begin(baseOffset: Int64, codec: CompressionCodec, timestampType: TimestampType = .createTime,
                      producer: ProducerState = .none, partitionLeaderEpoch: Int32 = 0) {
        precondition(!isOpen, "finish() the open batch first")
        self.baseOffset = baseOffset
        self.codec = codec
        self.timestampType = timestampType
        self.producer = producer
        self.partitionLeaderEpoch = partitionLeaderEpoch
        count = 0
        maxTimestamp = -1
        batchStart = output.count
        _ = output.appendZeros(RecordBatchHeader.size)
        scratch.removeAll()
        isOpen = true
    }

    /// Encodes one record from borrowed bytes. `headers` are written in order.
    @inline(__always)
    public func add(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader] = [], timestamp: Int64) {
        precondition(isOpen, "begin() a batch first")
        if count == 0 { baseTimestamp = timestamp }
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
        let tsDelta = timestamp &- baseTimestamp
        let offsetDelta = Int64(count)
        let keyLen = key.map { Int64($0.count) } ?? -1
        let valueLen = value.map { Int64($0.count) } ?? -1
        // Body size: attributes + varlong(tsDelta) + varint(offsetDelta) + key + value + headers.
        var body = 1 + Varint.size(tsDelta) + Varint.size(offsetDelta)
        body += Varint.size(keyLen) + max(0, Int(keyLen))
        body += Varint.size(valueLen) + max(0, Int(valueLen))
        body += Varint.size(Int64(headers.count))
        for h in headers {
            let k = h.key.utf8.count
            body += Varint.size(Int64(k)) + k
            let v = h.value.map { Int64($0.count) } ?? -1
            body += Varint.size(v) + max(0, Int(v))
        }
        let sink = codec == .none ? output : scratch
        var p = sink.reserve(body + 5)
        let start = p
        p += Varint.write(Int64(body), to: p)
        p.storeBytes(of: 0 as UInt8, as: UInt8.self) // record attributes: unused, always 0
        p += 1
        p += Varint.write(tsDelta, to: p)
        p += Varint.write(offsetDelta, to: p)
        p += Varint.write(keyLen, to: p)
        if let key, key.count > 0 { p.copyMemory(from: key.baseAddress!, byteCount: key.count); p += key.count }
        p += Varint.write(valueLen, to: p)
        if let value, value.count > 0 { p.copyMemory(from: value.baseAddress!, byteCount: value.count); p += value.count }
        p += Varint.write(Int64(headers.count), to: p)
        if !headers.isEmpty {
            sink.count += p - start
            for h in headers {
                var k = h.key
                k.withUTF8 { u in
                    sink.appendVarint(Int64(u.count))
                    sink.append(UnsafeRawBufferPointer(u))
                }
                if let v = h.value {
                    sink.appendVarint(Int64(v.count))
                    sink.append(v)
                } else {
                    sink.appendVarint(-1)
                }
            }
        } else {
            sink.count += p - start
        }
        count += 1
    }

    /// Encodes an owned record (timestamp nil → `defaultTimestamp`).
    @inline(__always)
    public func add(_ record: Record, defaultTimestamp: Int64) {
        let ts = record.timestamp ?? defaultTimestamp
        switch (record.key, record.value) {
        case let (k?, v?):
            k.withUnsafeBytes { kb in v.withUnsafeBytes { vb in add(key: kb, value: vb, headers: record.headers, timestamp: ts) } }
        case let (k?, nil):
            k.withUnsafeBytes { kb in add(key: kb, value: nil, headers: record.headers, timestamp: ts) }
        case let (nil, v?):
            v.withUnsafeBytes { vb in add(key: nil, value: vb, headers: record.headers, timestamp: ts) }
        case (nil, nil):
            add(key: nil, value: nil, headers: record.headers, timestamp: ts)
        }
    }

    /// Closes the open batch: compresses, writes the header and CRC. `logAppendTime` is the
    /// stamp used when the batch's timestamp type is LogAppendTime. Returns the batch's place.
    @discardableResult
    public func finish(logAppendTime: Int64 = 0) throws -> BuiltBatch {
        precondition(isOpen && count > 0, "a batch needs at least one record")
        isOpen = false
        if codec != .none {
            do {
                try codecs.compress(codec, scratch.bytes, into: output)
            } catch {
                output.count = batchStart
                throw error
            }
        }
        let size = output.count - batchStart
        let header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: Int32(size - RecordBatchHeader.logOverhead),
            partitionLeaderEpoch: partitionLeaderEpoch, magic: 2, crc: 0,
            attributes: RecordBatchHeader.attributes(codec: codec, timestampType: timestampType, transactional: producer.isTransactional),
            lastOffsetDelta: Int32(count - 1), baseTimestamp: baseTimestamp,
            maxTimestamp: timestampType == .logAppendTime ? logAppendTime : maxTimestamp,
            producerId: producer.producerId, producerEpoch: producer.producerEpoch,
            baseSequence: producer.baseSequence, recordCount: Int32(count))
        let p = output.base + batchStart
        header.write(to: p)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p + RecordBatchHeader.attributesOffset, count: size - RecordBatchHeader.attributesOffset))
        p.storeBE(crc, at: RecordBatchHeader.crcOffset)
        let built = BuiltBatch(position: batchStart, size: size, baseOffset: baseOffset, lastOffset: baseOffset + Int64(count - 1),
                               maxTimestamp: header.maxTimestamp, recordCount: count)
        batches.append(built)
        return built
    }

    /// Abandons the open batch (its bytes are removed from `output`).
    public func cancel() {
        guard isOpen else { return }
        output.count = batchStart
        isOpen = false
    }
}

extension RecordBatchHeader {
    /// Memberwise initializer.
    public init(baseOffset: Int64, batchLength: Int32, partitionLeaderEpoch: Int32, magic: Int8, crc: UInt32,
                attributes: Int16, lastOffsetDelta: Int32, baseTimestamp: Int64, maxTimestamp: Int64,
                producerId: Int64, producerEpoch: Int16, baseSequence: Int32, recordCount: Int32) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }
}
