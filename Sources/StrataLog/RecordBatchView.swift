import CStrataSupport
import StrataIO

/// A record batch borrowed from mapped memory or a buffer: its header and its bytes.
/// Parsing checks the structure (lengths, magic); `validateChecksum()` checks the CRC.
public struct RecordBatchView {
    /// The whole batch (`header.sizeInBytes` bytes).
    public let bytes: UnsafeRawBufferPointer
    public let header: RecordBatchHeader
    /// Byte position of the batch in its file (for error messages).
    public let position: Int64

    /// The outcome of looking for a batch at a position.
    public enum Probe {
        case batch(RecordBatchView)
        /// Fewer bytes remain than the batch needs (a torn write at the tail, or the end).
        case truncated(needed: Int, available: Int)
    }

    /// Parses the batch starting at `offset` in `data`. `data` must hold the readable region of
    /// the file (its start is byte `base` of the file). Throws `corrupt`/`unsupported` for a
    /// structurally invalid batch; returns `.truncated` when the batch runs past `data`'s end.
    @inlinable
    public static func probe(_ data: UnsafeRawBufferPointer, at offset: Int, base: Int64 = 0, file: String = "") throws -> Probe {
        let available = data.count - offset
        let position = base + Int64(offset)
        if available < RecordBatchHeader.logOverhead + 5 {
            return .truncated(needed: RecordBatchHeader.size, available: available)
        }
        let p = data.baseAddress! + offset
        let length = p.loadBE(at: 8, as: Int32.self)
        let magic = p.loadBE(at: RecordBatchHeader.magicOffset, as: Int8.self)
        if magic != 2 {
            if magic == 0 || magic == 1 {
                throw StrataError.unsupported(file: file, position: position,
                    reason: "message format v\(magic) (magic \(magic)); only magic v2 record batches (Kafka 0.11+) are supported — upgrade the data with a Kafka broker")
            }
            throw StrataError.corrupt(file: file, position: position + 16, reason: "bad magic byte \(magic) (expected 2)")
        }
        if Int(length) < RecordBatchHeader.size - RecordBatchHeader.logOverhead {
            throw StrataError.corrupt(file: file, position: position + 8, reason: "impossible batch length \(length) (a v2 batch needs at least \(RecordBatchHeader.size - RecordBatchHeader.logOverhead))")
        }
        let size = Int(length) + RecordBatchHeader.logOverhead
        if size > available {
            return .truncated(needed: size, available: available)
        }
        let header = RecordBatchHeader(at: p)
        if header.baseOffset < 0 || header.baseOffset > Int64.max - Int64(Int32.max) - 1 {
            throw StrataError.corrupt(file: file, position: position, reason: "impossible base offset \(header.baseOffset)")
        }
        if header.recordCount < 0 || header.lastOffsetDelta < 0 {
            throw StrataError.corrupt(file: file, position: position + 23, reason: "negative record count \(header.recordCount) or last offset delta \(header.lastOffsetDelta)")
        }
        return .batch(RecordBatchView(bytes: UnsafeRawBufferPointer(start: p, count: size), header: header, position: position))
    }

    @inlinable
    init(bytes: UnsafeRawBufferPointer, header: RecordBatchHeader, position: Int64) {
        self.bytes = bytes
        self.header = header
        self.position = position
    }

    /// Parses exactly one batch that must fill `data` (tests and tools).
    public static func parse(_ data: UnsafeRawBufferPointer, file: String = "") throws -> RecordBatchView {
        switch try probe(data, at: 0, file: file) {
        case let .batch(b): return b
        case let .truncated(needed, available):
            throw StrataError.corrupt(file: file, position: 0, reason: "truncated batch: needs \(needed) bytes, \(available) available")
        }
    }

    /// The CRC computed over bytes [21, end).
    public var computedChecksum: UInt32 {
        CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.attributesOffset...]))
    }

    public var isChecksumValid: Bool { computedChecksum == header.crc }

    /// Throws `corrupt` when the stored CRC does not match the bytes.
    public func validateChecksum(file: String = "") throws {
        let c = computedChecksum
        if c != header.crc {
            throw StrataError.corrupt(file: file, position: position + Int64(RecordBatchHeader.crcOffset),
                                      reason: "record batch CRC mismatch: stored \(hex(header.crc)), computed \(hex(c)) (batch at offset \(header.baseOffset))")
        }
    }

    /// The records section as stored (compressed or not).
    public var recordsSection: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.size...])
    }
}

@usableFromInline
func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - s.count) + s
}

/// Iterates the records of one batch. For compressed batches the records section is
/// decompressed into `buffer` (owned by the caller and reused), so views stay valid until the
/// buffer is reused.
public struct BatchRecordIterator {
    public let header: RecordBatchHeader
    private var reader: ByteReader
    private var index: Int32 = 0
    /// The previous record's offset delta (-1 before the first).
    private var previousDelta: Int32 = -1
    private let file: String
    private let compressed: Bool
    private let batchPosition: Int64
    /// Keeps the decompression buffer alive while views point into it.
    private let storage: ByteWriter?

    /// Prepares iteration. Throws for unknown codecs, undecodable compressed data, or a
    /// decompression bomb.
    public init(batch: RecordBatchView, codecs: Codecs, buffer: ByteWriter, file: String = "") throws {
        header = batch.header
        self.file = file
        batchPosition = batch.position
        guard let codec = batch.header.codec else {
            throw StrataError.corrupt(file: file, position: batch.position + 21, reason: "unknown compression codec id \(batch.header.codecId)")
        }
        if codec == .none {
            compressed = false
            storage = nil
            reader = ByteReader(batch.recordsSection, base: batch.position + Int64(RecordBatchHeader.size))
        } else {
            compressed = true
            storage = buffer
            buffer.removeAll()
            do {
                try codecs.decompress(codec, batch.recordsSection, into: buffer)
            } catch let error as StrataError {
                switch error {
                case .corrupt(_, _, let reason):
                    throw StrataError.corrupt(file: file, position: batch.position + Int64(RecordBatchHeader.size),
                                              reason: "\(codec) records section of the batch at offset \(batch.header.baseOffset): \(reason)")
                case .unsupported(_, _, let reason):
                    throw StrataError.unsupported(file: file, position: batch.position + 21,
                                                  reason: "batch at offset \(batch.header.baseOffset): \(reason)")
                default: throw error
                }
            }
            reader = ByteReader(buffer.bytes, base: 0)
        }
    }

    private func fail(_ reason: String, at relative: Int) -> StrataError {
        if compressed {
            return .corrupt(file: file, position: batchPosition,
                            reason: "\(reason) (byte \(relative) of the decompressed records of the batch at offset \(header.baseOffset))")
        }
        return .corrupt(file: file, position: reader.base + Int64(relative), reason: reason)
    }

    /// The next record, or nil after the last. Throws on any malformed record, a record count
    /// that does not match the header, or trailing bytes.
    public mutating func next() throws -> RecordView? {
        if index >= header.recordCount {
            if !reader.isAtEnd { throw fail("\(reader.remaining) bytes of trailing data after the last record", at: reader.position) }
            return nil
        }
        let recordStart = reader.position
        do {
            let length = try reader.readVarint()
            if length < 0 { throw fail("negative record length \(length)", at: recordStart) }
            let body = try reader.readBytes(Int(length), "record body")
            var r = ByteReader(body)
            _ = try r.readUInt8() // attributes (unused)
            let tsDelta = try r.readVarlong()
            let offsetDelta = try r.readVarint()
            let key = try r.readNullableBytes("record key")
            let value = try r.readNullableBytes("record value")
            let headerCount = try r.readVarint()
            if headerCount < 0 { throw fail("negative header count \(headerCount)", at: recordStart) }
            let headerStart = r.position
            for _ in 0 ..< headerCount {
                guard try r.readNullableBytes("header key") != nil else { throw fail("null header key", at: recordStart) }
                _ = try r.readNullableBytes("header value")
            }
            if !r.isAtEnd { throw fail("record length \(length) does not match its contents (\(r.remaining) bytes left over)", at: recordStart) }
            // Offsets must rise inside the batch and stay within its header's range: a record
            // claiming offset 5002 in a batch ending at 3 would hide every later record.
            if offsetDelta <= previousDelta || offsetDelta > header.lastOffsetDelta {
                throw fail("record \(index) has offset delta \(offsetDelta), outside \(previousDelta + 1)...\(header.lastOffsetDelta) (the batch covers offsets \(header.baseOffset)...\(header.lastOffset))", at: recordStart)
            }
            previousDelta = offsetDelta
            index += 1
            let ts = header.timestampType == .logAppendTime ? header.maxTimestamp : header.baseTimestamp &+ tsDelta
            return RecordView(offset: header.baseOffset &+ Int64(offsetDelta), timestamp: ts, key: key, value: value,
                              headerCount: Int(headerCount),
                              headerBytes: UnsafeRawBufferPointer(rebasing: body[headerStart ..< body.count]))
        } catch let error as StrataError {
            if case .corrupt(let f, let pos, let reason) = error, f.isEmpty {
                throw fail(reason, at: Int(pos - reader.base) >= 0 ? recordStart : recordStart)
            }
            throw error
        }
    }

    /// Decodes the next records into `out` (at most `out.count`) and returns how many, with the
    /// error that stopped it early, if one did (the records before it are good). Fewer than
    /// `out.count` without an error: the batch ended. Offsets rise from record to record.
    public mutating func read(into out: UnsafeMutableBufferPointer<RecordView>) -> (count: Int, error: (any Error)?) {
        guard let base = out.baseAddress else { return (0, nil) }
        var n = 0
        do {
            while n < out.count, let r = try next() {
                // RecordView is trivial: plain stores initialize it.
                (base + n).initialize(to: r)
                n += 1
            }
        } catch {
            return (n, error)
        }
        return (n, nil)
    }

    /// Skips records whose offset is below `target`, reading only each record's length and
    /// offset delta (the fast path of a seek inside a batch). Bounds are still checked.
    public mutating func skip(toOffset target: Int64) throws {
        let base = header.baseOffset
        // A dense batch (never compacted: one record per offset) places offset `base + i` at
        // record i, so only the length prefixes need reading.
        if header.lastOffsetDelta == header.recordCount - 1 {
            let k = Int32(clamping: min(target - base, Int64(header.recordCount))) - index
            // Records have similar sizes: fetch every line up to a little past the estimated
            // target position at once instead of missing the cache record by record.
            if k > 4, let start = reader.bytes.baseAddress {
                let estimate = min(reader.bytes.count, Int(Int64(reader.bytes.count) * Int64(index + k) / Int64(max(1, header.recordCount))) + 512)
                strata_prefetch(start + reader.position, max(0, estimate - reader.position))
            }
            var i: Int32 = 0
            while i < k {
                let start = reader.position
                let length = try reader.readVarint()
                if length < 0 { throw fail("negative record length \(length)", at: start) }
                try reader.require(Int(length), "record body")
                reader.position += Int(length)
                i += 1
            }
            index += max(0, k)
            return
        }
        while index < header.recordCount {
            let start = reader.position
            let length = try reader.readVarint()
            if length < 0 { throw fail("negative record length \(length)", at: start) }
            let bodyStart = reader.position
            try reader.require(Int(length), "record body")
            _ = try reader.readUInt8()
            _ = try reader.readVarlong()
            let delta = try reader.readVarint()
            if base + Int64(delta) >= target {
                reader.position = start
                return
            }
            reader.position = bodyStart + Int(length)
            index += 1
        }
    }
}
