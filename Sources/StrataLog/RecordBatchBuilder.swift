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

    /// Per-batch state, kept behind a pointer so the per-record path pays no dynamic
    /// exclusivity checks.
    struct OpenBatch {
        var codec: CompressionCodec = .none
        var timestampType: TimestampType = .createTime
        var producer: ProducerState = .none
        var partitionLeaderEpoch: Int32 = 0
        var batchStart = 0
        var baseOffset: Int64 = 0
        var baseTimestamp: Int64 = 0
        var maxTimestamp: Int64 = -1
        var count = 0
        var isOpen = false
        // Rewriting (compaction) only:
        var keepLastOffsetDelta: Int32?
        var control = false
        var deleteHorizon = false
        var fixedBaseTimestamp = false
        var keptMaxTimestamp: Int64?
    }

    private let open: UnsafeMutablePointer<OpenBatch>

    public init(codecs: Codecs = Codecs()) {
        self.codecs = codecs
        open = .allocate(capacity: 1)
        open.initialize(to: OpenBatch())
    }

    deinit {
        open.deinitialize(count: 1)
        open.deallocate()
    }

    /// Drops all output.
    public func reset() {
        output.removeAll()
        batches.removeAll(keepingCapacity: true)
        open.pointee.isOpen = false
    }

    /// Number of records in the open batch.
    public var recordCount: Int { open.pointee.count }

    /// Uncompressed size of the open batch so far (header + records).
    public var openBatchSize: Int {
        let o = open.pointee
        guard o.isOpen else { return 0 }
        return o.codec == .none ? output.count - o.batchStart : RecordBatchHeader.size + scratch.count
    }

    /// Starts a batch whose first record gets `baseOffset`.
    public func begin(baseOffset: Int64, codec: CompressionCodec, timestampType: TimestampType = .createTime,
                      producer: ProducerState = .none, partitionLeaderEpoch: Int32 = 0) {
        precondition(!open.pointee.isOpen, "finish() the open batch first")
        let start = output.appendZeros(RecordBatchHeader.size)
        scratch.removeAll()
        open.pointee = OpenBatch(codec: codec, timestampType: timestampType, producer: producer, partitionLeaderEpoch: partitionLeaderEpoch,
                                 batchStart: start, baseOffset: baseOffset, baseTimestamp: 0, maxTimestamp: -1, count: 0, isOpen: true)
    }

    /// Marks the open batch as a control batch (attribute bit 5), for writing broker-shaped
    /// data such as transaction markers in tests and tools.
    @_spi(Internals) public func markControl() { open.pointee.control = true }

    /// Encodes one record from borrowed bytes. `headers` are written in order.
    @inline(__always)
    public func add(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader] = [], timestamp: Int64) {
        let o = open
        precondition(o.pointee.isOpen, "begin() a batch first")
        let index = o.pointee.count
        if index == 0 && !o.pointee.fixedBaseTimestamp { o.pointee.baseTimestamp = timestamp }
        if timestamp > o.pointee.maxTimestamp { o.pointee.maxTimestamp = timestamp }
        let tsDelta = timestamp &- o.pointee.baseTimestamp
        let offsetDelta = Int64(index)
        let keyLen = key.map { $0.count } ?? -1
        let valueLen = value.map { $0.count } ?? -1
        // Body size: attributes + varlong(tsDelta) + varint(offsetDelta) + key + value + headers.
        var body = 1 + Varint.size(tsDelta) + Varint.size(offsetDelta)
        body += Varint.size(Int64(keyLen)) + max(0, keyLen)
        body += Varint.size(Int64(valueLen)) + max(0, valueLen)
        let hasHeaders = !headers.isEmpty
        if hasHeaders { body += Self.headersSize(headers) } else { body += 1 }
        let sink = o.pointee.codec == .none ? output : scratch
        var p = sink.reserve(body + 5)
        let start = p
        p += Varint.write(Int64(body), to: p)
        p.storeBytes(of: 0 as UInt8, as: UInt8.self) // record attributes: unused, always 0
        p += 1
        p += Varint.write(tsDelta, to: p)
        p += Varint.write(offsetDelta, to: p)
        p += Varint.write(Int64(keyLen), to: p)
        if keyLen > 0 { p.copyMemory(from: key.unsafelyUnwrapped.baseAddress!, byteCount: keyLen); p += keyLen }
        p += Varint.write(Int64(valueLen), to: p)
        if valueLen > 0 { p.copyMemory(from: value.unsafelyUnwrapped.baseAddress!, byteCount: valueLen); p += valueLen }
        if hasHeaders {
            sink.count += p - start
            Self.writeHeaders(headers, to: sink)
        } else {
            p.storeBytes(of: 0 as UInt8, as: UInt8.self) // zero headers
            p += 1
            sink.count += p - start
        }
        o.pointee.count = index + 1
    }

    @inline(never)
    static func headersSize(_ headers: [RecordHeader]) -> Int {
        var body = Varint.size(Int64(headers.count))
        for h in headers {
            let k = h.key.utf8.count
            body += Varint.size(Int64(k)) + k
            let v = h.value.map { $0.count } ?? -1
            body += Varint.size(Int64(v)) + max(0, v)
        }
        return body
    }

    @inline(never)
    static func writeHeaders(_ headers: [RecordHeader], to sink: ByteWriter) {
        sink.appendVarint(Int64(headers.count))
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
    }

    /// Encodes an owned record (timestamp nil → `defaultTimestamp`).
    @inline(__always)
    public func add(_ record: Record, defaultTimestamp: Int64) {
        let ts = record.timestamp ?? defaultTimestamp
        record.key.withOptionalBytes { kb in
            record.value.withOptionalBytes { vb in
                add(key: kb, value: vb, headers: record.headers, timestamp: ts)
            }
        }
    }

    /// Closes the open batch: compresses, writes the header and CRC. `logAppendTime` is the
    /// stamp used when the batch's timestamp type is LogAppendTime. Returns the batch's place.
    @discardableResult
    public func finish(logAppendTime: Int64 = 0) throws -> BuiltBatch {
        let o = open.pointee
        precondition(o.isOpen && o.count > 0, "a batch needs at least one record")
        open.pointee.isOpen = false
        if o.codec != .none {
            do {
                try codecs.compress(o.codec, scratch.bytes, into: output)
            } catch {
                output.count = o.batchStart
                throw error
            }
        }
        let size = output.count - o.batchStart
        let header = RecordBatchHeader(
            baseOffset: o.baseOffset, batchLength: Int32(size - RecordBatchHeader.logOverhead),
            partitionLeaderEpoch: o.partitionLeaderEpoch, magic: 2, crc: 0,
            attributes: RecordBatchHeader.attributes(codec: o.codec, timestampType: o.timestampType, transactional: o.producer.isTransactional,
                                                     control: o.control, deleteHorizon: o.deleteHorizon),
            lastOffsetDelta: o.keepLastOffsetDelta ?? Int32(o.count - 1), baseTimestamp: o.baseTimestamp,
            maxTimestamp: o.keptMaxTimestamp ?? (o.timestampType == .logAppendTime ? logAppendTime : o.maxTimestamp),
            producerId: o.producer.producerId, producerEpoch: o.producer.producerEpoch,
            baseSequence: o.producer.baseSequence, recordCount: Int32(o.count))
        let p = output.base + o.batchStart
        header.write(to: p)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p + RecordBatchHeader.attributesOffset, count: size - RecordBatchHeader.attributesOffset))
        p.storeBE(crc, at: RecordBatchHeader.crcOffset)
        let built = BuiltBatch(position: o.batchStart, size: size, baseOffset: o.baseOffset, lastOffset: header.lastOffset,
                               maxTimestamp: header.maxTimestamp, recordCount: o.count)
        batches.append(built)
        return built
    }

    // MARK: Rewriting (compaction)

    /// Starts a batch that replaces `original` with a subset of its records: same base and last
    /// offset, producer fields, codec, timestamp type and control flag. Record timestamp deltas
    /// are taken against `baseTimestamp` (the first kept record's timestamp, or the delete
    /// horizon when `deleteHorizon` is set — Kafka's attribute bit 6).
    public func beginRewrite(of original: RecordBatchHeader, baseTimestamp: Int64, deleteHorizon: Bool) {
        begin(baseOffset: original.baseOffset, codec: original.codec ?? .none, timestampType: original.timestampType,
              producer: ProducerState(producerId: original.producerId, producerEpoch: original.producerEpoch,
                                      baseSequence: original.baseSequence, isTransactional: original.isTransactional),
              partitionLeaderEpoch: original.partitionLeaderEpoch)
        open.pointee.keepLastOffsetDelta = original.lastOffsetDelta
        open.pointee.control = original.isControl
        open.pointee.deleteHorizon = deleteHorizon
        open.pointee.fixedBaseTimestamp = true
        open.pointee.baseTimestamp = baseTimestamp
        if original.timestampType == .logAppendTime { open.pointee.keptMaxTimestamp = original.maxTimestamp }
    }

    /// Adds a record read from the original batch, keeping its offset, timestamp, key, value
    /// and encoded headers.
    public func addKept(_ r: RecordView) {
        let o = open
        precondition(o.pointee.isOpen, "beginRewrite() first")
        if r.timestamp > o.pointee.maxTimestamp { o.pointee.maxTimestamp = r.timestamp }
        let tsDelta = r.timestamp &- o.pointee.baseTimestamp
        let offsetDelta = r.offset - o.pointee.baseOffset
        let keyLen = r.key.map { $0.count } ?? -1
        let valueLen = r.value.map { $0.count } ?? -1
        var body = 1 + Varint.size(tsDelta) + Varint.size(offsetDelta)
        body += Varint.size(Int64(keyLen)) + max(0, keyLen) + Varint.size(Int64(valueLen)) + max(0, valueLen)
        body += Varint.size(Int64(r.headerCount)) + r.headerBytes.count
        let sink = o.pointee.codec == .none ? output : scratch
        var p = sink.reserve(body + 5)
        let start = p
        p += Varint.write(Int64(body), to: p)
        p.storeBytes(of: 0 as UInt8, as: UInt8.self)
        p += 1
        p += Varint.write(tsDelta, to: p)
        p += Varint.write(offsetDelta, to: p)
        p += Varint.write(Int64(keyLen), to: p)
        if keyLen > 0 { p.copyMemory(from: r.key!.baseAddress!, byteCount: keyLen); p += keyLen }
        p += Varint.write(Int64(valueLen), to: p)
        if valueLen > 0 { p.copyMemory(from: r.value!.baseAddress!, byteCount: valueLen); p += valueLen }
        p += Varint.write(Int64(r.headerCount), to: p)
        if r.headerBytes.count > 0 { p.copyMemory(from: r.headerBytes.baseAddress!, byteCount: r.headerBytes.count); p += r.headerBytes.count }
        sink.count += p - start
        o.pointee.count += 1
    }

    /// Abandons the open batch (its bytes are removed from `output`).
    public func cancel() {
        guard open.pointee.isOpen else { return }
        output.count = open.pointee.batchStart
        open.pointee.isOpen = false
    }
}

extension Optional where Wrapped == [UInt8] {
    /// Calls `body` with the array's bytes, or nil when the optional is nil.
    @inline(__always)
    func withOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBytes { body($0) }
        case .none: return body(nil)
        }
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
