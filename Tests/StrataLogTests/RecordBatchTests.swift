import Foundation
import Testing
import StrataIO
@testable import StrataLog

struct GoldenVector: Decodable {
    let hex: String
    let crc: UInt32
    let baseOffset: Int64
    let maxTimestamp: Int64
    let firstTimestamp: Int64
    let recordCount: Int32
}

func loadGolden() throws -> [String: GoldenVector] {
    let data = try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/Tests/Interop/golden_vectors.json"))
    let all = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    var out: [String: GoldenVector] = [:]
    for key in ["a", "b"] {
        let d = try JSONSerialization.data(withJSONObject: all[key]!)
        out[key] = try JSONDecoder().decode(GoldenVector.self, from: d)
    }
    return out
}

func buildBatch(_ records: [Record], baseOffset: Int64 = 0, codec: CompressionCodec = .none,
                timestampType: TimestampType = .createTime, producer: ProducerState = .none) throws -> [UInt8] {
    let b = RecordBatchBuilder()
    b.begin(baseOffset: baseOffset, codec: codec, timestampType: timestampType, producer: producer)
    for r in records { b.add(r, defaultTimestamp: 0) }
    try b.finish(logAppendTime: 1_800_000_000_000)
    return b.output.toArray()
}

func decodeBatch(_ bytes: [UInt8]) throws -> (RecordBatchHeader, [(Int64, Record)]) {
    try bytes.withUnsafeBytes { buf in
        let batch = try RecordBatchView.parse(buf)
        try batch.validateChecksum()
        var it = try BatchRecordIterator(batch: batch, codecs: Codecs(), buffer: ByteWriter())
        var out: [(Int64, Record)] = []
        while let r = try it.next() { out.append((r.offset, r.owned())) }
        return (batch.header, out)
    }
}

@Suite struct RecordBatchTests {
    let goldenA = [Record(key: Array("k1".utf8), value: Array("hello".utf8), timestamp: 1_700_000_000_000),
                   Record(key: nil, value: Array("world".utf8), headers: [RecordHeader(key: "h", value: Array("v".utf8))], timestamp: 1_700_000_000_005)]
    let goldenB = [Record(key: Array("key".utf8), value: nil, timestamp: 1_700_000_000_000)]

    /// Strata writes the same bytes kafka-python's builder wrote (an independent implementation).
    @Test func encodesGoldenVectorsByteForByte() throws {
        let golden = try loadGolden()
        #expect(hexString(try buildBatch(goldenA)) == golden["a"]!.hex)
        #expect(hexString(try buildBatch(goldenB, baseOffset: 100)) == golden["b"]!.hex)
        // Vector c of Formats/record-batch.md: vector a's records as an LZ4 frame (stored block).
        let c = "00000000000000000000005e00000000021528f98f0003000000010000018bcfe568000000018bcfe56805"
            + "ffffffffffffffffffffffffffff0000000204224d186040821e0000801a000000046b310a68656c6c6f001e"
            + "000a02010a776f726c64020268027600000000"
        #expect(hexString(try buildBatch(goldenA, codec: .lz4)) == c)
        #expect(try decodeBatch(hexBytes(c)).1.map(\.1) == goldenA)
    }

    @Test func decodesGoldenVectors() throws {
        let golden = try loadGolden()
        let (ha, ra) = try decodeBatch(hexBytes(golden["a"]!.hex))
        #expect(ha.crc == golden["a"]!.crc && ha.maxTimestamp == golden["a"]!.maxTimestamp && ha.recordCount == 2)
        #expect(ra.map(\.0) == [0, 1])
        #expect(ra.map(\.1) == goldenA)
        let (hb, rb) = try decodeBatch(hexBytes(golden["b"]!.hex))
        #expect(hb.baseOffset == 100 && hb.crc == golden["b"]!.crc)
        #expect(rb.map(\.0) == [100] && rb[0].1 == goldenB[0])
    }

    @Test(arguments: [CompressionCodec.none, .gzip, .lz4])
    func roundTripsEveryFieldShape(codec: CompressionCodec) throws {
        var records = makeRecords(500)
        records.append(Record(key: [], value: [], timestamp: 5))
        records.append(Record(key: nil, value: nil, headers: [RecordHeader(key: "ü", value: nil), RecordHeader(key: "", value: [])], timestamp: -3))
        records.append(Record(key: Array(0 ... 255), value: [UInt8](repeating: 7, count: 100_000), timestamp: 9_000_000_000_000))
        let bytes = try buildBatch(records, baseOffset: 1234, codec: codec,
                                   producer: ProducerState(producerId: 99, producerEpoch: 3, baseSequence: 17, isTransactional: true))
        let (h, decoded) = try decodeBatch(bytes)
        #expect(h.codec == codec && h.isTransactional && h.producerId == 99 && h.producerEpoch == 3 && h.baseSequence == 17)
        #expect(h.baseTimestamp == records[0].timestamp && h.maxTimestamp == 9_000_000_000_000)
        #expect(decoded.map(\.0) == (0 ..< Int64(records.count)).map { 1234 + $0 })
        #expect(decoded.map(\.1) == records)
    }

    @Test func logAppendTimeRecordsReadAsMaxTimestamp() throws {
        let bytes = try buildBatch(makeRecords(10), timestampType: .logAppendTime)
        let (h, decoded) = try decodeBatch(bytes)
        #expect(h.timestampType == .logAppendTime && h.maxTimestamp == 1_800_000_000_000)
        #expect(decoded.allSatisfy { $0.1.timestamp == 1_800_000_000_000 })
    }

    /// A CRC-valid batch whose record claims an offset outside the batch (issue 12: offset
    /// 5002 in a batch ending at 3 passed, then hid every later record) or repeats one is
    /// corrupt, with the record named.
    @Test func recordOffsetsMustStayInsideTheirBatch() throws {
        let good = try buildBatch([Record(value: Array("a".utf8), timestamp: 1), Record(value: Array("b".utf8), timestamp: 1),
                                   Record(value: Array("c".utf8), timestamp: 1)])
        // Record 1's offset delta: after its length varint, attributes byte and timestamp delta.
        var r = ByteReader(good.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[...]) })
        var at = RecordBatchHeader.size
        for _ in 0 ..< 1 {
            r.position = at
            let length = try r.readVarint()
            at = r.position + Int(length)
        }
        r.position = at
        _ = try r.readVarint() // length
        r.position += 1        // attributes
        _ = try r.readVarlong() // timestamp delta
        let deltaAt = r.position
        #expect(good[deltaAt] == 0x02, "offset delta 1, one zigzag byte")
        for (forged, words) in [(UInt8(100), "offset delta 50"), (UInt8(0), "offset delta 0")] { // beyond the batch; a repeat
            var bad = good
            bad[deltaAt] = forged
            let crc = bad.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.attributesOffset...])) }
            bad[17] = UInt8(crc >> 24); bad[18] = UInt8(crc >> 16 & 0xff); bad[19] = UInt8(crc >> 8 & 0xff); bad[20] = UInt8(crc & 0xff)
            #expect { _ = try decodeBatch(bad) } throws: { e in
                guard case let StrataError.corrupt(_, _, reason) = e else { return false }
                return reason.contains("record 1 has \(words)")
            }
        }
        #expect(try decodeBatch(good).1.count == 3)
    }

    @Test func everyFlippedBitIsCaught() throws {
        let bytes = try buildBatch(makeRecords(20), codec: .lz4)
        for i in RecordBatchHeader.attributesOffset ..< bytes.count {
            for bit in [0, 3, 7] {
                var bad = bytes
                bad[i] ^= UInt8(1 << bit)
                bad.withUnsafeBytes { buf in
                    guard let b = try? RecordBatchView.parse(buf) else { return }
                    #expect(!b.isChecksumValid, "flip at \(i) bit \(bit)")
                }
            }
        }
    }

    @Test func badMagicLengthsAndTruncationAreTypedErrors() throws {
        let bytes = try buildBatch(makeRecords(5))
        for magic: UInt8 in [0, 1] {
            var b = bytes
            b[16] = magic
            #expect {
                try b.withUnsafeBytes { _ = try RecordBatchView.parse($0, file: "x.log") }
            } throws: { e in
                guard case let StrataError.unsupported(file, position, reason) = e else { return false }
                return file == "x.log" && position == 0 && reason.contains("v\(magic)")
            }
        }
        var b7 = bytes
        b7[16] = 7
        #expect(throws: StrataError.self) { try b7.withUnsafeBytes { _ = try RecordBatchView.parse($0) } }
        var shortLen = bytes
        shortLen[8 ..< 12] = [0, 0, 0, 10]
        #expect(throws: StrataError.self) { try shortLen.withUnsafeBytes { _ = try RecordBatchView.parse($0) } }
        for base: [UInt8] in [[0x80, 0, 0, 0, 0, 0, 0, 0], [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]] {
            var b = bytes
            b.replaceSubrange(0 ..< 8, with: base) // baseOffset is outside the CRC: checked on its own
            #expect(throws: StrataError.self, "base offset \(base)") { try b.withUnsafeBytes { _ = try RecordBatchView.parse($0) } }
        }
        var hugeLen = bytes
        hugeLen[8 ..< 12] = [0x7f, 0xff, 0xff, 0xff]
        #expect(throws: StrataError.self) { try hugeLen.withUnsafeBytes { _ = try RecordBatchView.parse($0) } }
        for cut in 0 ..< bytes.count {
            let part = Array(bytes[0 ..< cut])
            part.withUnsafeBytes { buf in
                if case .batch? = try? RecordBatchView.probe(buf, at: 0) { Issue.record("a \(cut)-byte prefix parsed as a whole batch") }
            }
        }
    }

    /// Records whose lengths or counts lie are rejected even when the CRC is recomputed.
    @Test func malformedRecordsAreRejected() throws {
        let good = try buildBatch([Record(key: [1], value: [2, 3], timestamp: 1)])
        func withRecords(_ records: [UInt8], count: Int32 = 1) -> [UInt8] {
            var b = Array(good[0 ..< RecordBatchHeader.size]) + records
            let len = Int32(b.count - 12).bigEndian
            withUnsafeBytes(of: len) { b.replaceSubrange(8 ..< 12, with: $0) }
            withUnsafeBytes(of: count.bigEndian) { b.replaceSubrange(57 ..< 61, with: $0) }
            let crc = b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }.bigEndian
            withUnsafeBytes(of: crc) { b.replaceSubrange(17 ..< 21, with: $0) }
            return b
        }
        let record = Array(good[RecordBatchHeader.size...])
        #expect(try decodeBatch(withRecords(record)).1.count == 1)
        let cases: [(String, [UInt8], Int32)] = [
            ("trailing bytes", record + [0], 1),
            ("count too high", record, 2),
            ("length too long", [record[0] + 2] + record.dropFirst(), 1),
            ("length too short", [record[0] - 2] + record.dropFirst(), 1),
            ("negative length", [0x03] + record.dropFirst(), 1),
            ("null header key", [0x0e, 0, 0, 0, 0x02, 1, 0x04, 2, 3, 0x02, 0x01, 0x01], 1),
        ]
        for (name, records, count) in cases {
            #expect(throws: StrataError.self, "\(name)") { _ = try decodeBatch(withRecords(records, count: count)) }
        }
    }

    @Test func compressedBatchDecompressionBombIsRefused() throws {
        let records = [Record(value: [UInt8](repeating: 0, count: 4 << 20), timestamp: 1)]
        let bytes = try buildBatch(records, codec: .lz4)
        try bytes.withUnsafeBytes { buf in
            let batch = try RecordBatchView.parse(buf)
            #expect(throws: StrataError.decompressionLimitExceeded(codec: "lz4", limit: 1 << 20)) {
                _ = try BatchRecordIterator(batch: batch, codecs: Codecs(maxDecompressedBytes: 1 << 20), buffer: ByteWriter())
            }
        }
    }
}
