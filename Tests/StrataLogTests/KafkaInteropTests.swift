import Foundation
import Testing
import StrataIO
@testable import StrataLog

/// The JSON that Tests/Interop/kafka_read_segments.py prints (kafka-python's view of a partition).
struct PyDump: Decodable {
    struct Segment: Decodable { let file: String; let batches: [Batch]; let error: String? }
    struct Batch: Decodable {
        let baseOffset: Int64, lastOffset: Int64, crcValid: Bool, crc: UInt32, codec: String, attributes: Int16
        let producerId: Int64, producerEpoch: Int16, baseSequence: Int32, partitionLeaderEpoch: Int32
        let isTransactional: Bool, isControl: Bool, timestampType: Int8, firstTimestamp: Int64, maxTimestamp: Int64
        let records: [Rec]
    }
    struct Rec: Decodable { let offset: Int64; let timestamp: Int64; let key: String?; let value: String?; let headers: [Hdr] }
    struct Hdr: Decodable { let key: String; let value: String? }
    let segments: [Segment]
    let error: String?
}

func kafkaPythonDump(_ dir: String) throws -> PyDump {
    let (status, out, err) = try run(["python3", packageRoot + "/Tests/Interop/kafka_read_segments.py", dir])
    #expect(status == 0, "kafka_read_segments.py failed: \(err)")
    return try JSONDecoder().decode(PyDump.self, from: Data(out.utf8))
}

/// Every batch of a partition as Strata reads it, segment by segment.
func strataBatches(_ dir: String) throws -> [(file: String, header: RecordBatchHeader, crcValid: Bool, records: [(Int64, Record)])] {
    var out: [(String, RecordBatchHeader, Bool, [(Int64, Record)])] = []
    let codecs = Codecs()
    let buffer = ByteWriter()
    for name in try FileSystem.list(dir) where name.hasSuffix(".log") {
        let path = dir + "/" + name
        let bytes = try DataFile(path: path, flags: O_RDONLY).readAll()
        try bytes.withUnsafeBytes { buf in
            var pos = 0
            while pos < buf.count {
                guard case .batch(let b) = try RecordBatchView.probe(buf, at: pos, file: path) else {
                    Issue.record("\(path): trailing partial batch at \(pos)")
                    break
                }
                var it = try BatchRecordIterator(batch: b, codecs: codecs, buffer: buffer, file: path)
                var records: [(Int64, Record)] = []
                while let r = try it.next() { records.append((r.offset, r.owned())) }
                out.append((name, b.header, b.isChecksumValid, records))
                pos += b.header.sizeInBytes
            }
        }
    }
    return out
}

/// Checks that kafka-python's view and Strata's view of a partition agree on every field.
func expectSameView(_ py: PyDump, _ mine: [(file: String, header: RecordBatchHeader, crcValid: Bool, records: [(Int64, Record)])],
                    sourceLocation: SourceLocation = #_sourceLocation) {
    let pyBatches = py.segments.flatMap { s in s.batches.map { (s.file, $0) } }
    #expect(py.error == nil, "kafka-python reported: \(py.error ?? "")", sourceLocation: sourceLocation)
    #expect(pyBatches.count == mine.count, "batch count", sourceLocation: sourceLocation)
    for ((file, p), m) in zip(pyBatches, mine) {
        let h = m.header
        #expect(file == m.file, sourceLocation: sourceLocation)
        #expect(p.crcValid && m.crcValid && p.crc == h.crc, "crc of batch \(h.baseOffset)", sourceLocation: sourceLocation)
        #expect(p.baseOffset == h.baseOffset && p.lastOffset == h.lastOffset && p.attributes == h.attributes, sourceLocation: sourceLocation)
        #expect(p.codec == (h.codec?.description ?? "?") && p.isControl == h.isControl && p.isTransactional == h.isTransactional, sourceLocation: sourceLocation)
        #expect(p.producerId == h.producerId && p.producerEpoch == h.producerEpoch && p.baseSequence == h.baseSequence, sourceLocation: sourceLocation)
        #expect(p.partitionLeaderEpoch == h.partitionLeaderEpoch && p.timestampType == h.timestampType.rawValue, sourceLocation: sourceLocation)
        #expect(p.firstTimestamp == h.baseTimestamp && p.maxTimestamp == h.maxTimestamp, sourceLocation: sourceLocation)
        #expect(p.records.count == m.records.count, "record count of batch \(h.baseOffset)", sourceLocation: sourceLocation)
        for (pr, (offset, r)) in zip(p.records, m.records) {
            let same = pr.offset == offset && pr.timestamp == r.timestamp && pr.key == r.key.map(hexString) && pr.value == r.value.map(hexString)
                && pr.headers.map(\.key) == r.headers.map(\.key) && pr.headers.map(\.value) == r.headers.map { $0.value.map(hexString) }
            if !same { Issue.record("record \(offset) differs: kafka-python \(pr) vs strata \(r)", sourceLocation: sourceLocation); return }
        }
    }
}

@Suite(.serialized) struct KafkaInteropTests {
    /// kafka-python reads Strata-written segments — every codec, keys, headers, null values,
    /// several segments, LogAppendTime — and every CRC and field matches.
    @Test(arguments: [CompressionCodec.none, .gzip, .snappy, .lz4, .zstd])
    func kafkaPythonReadsStrataSegments(codec: CompressionCodec) throws {
        guard kafkaPythonAvailable else { return }
        let dir = TempDir()
        let path = dir.path + "/events-0"
        var config = LogConfig()
        config.compression = codec
        config.segmentBytes = 80 << 10
        config.targetBatchBytes = 4096
        let log = try Log.open(directory: path, config: config)
        var records = makeRecords(6000)
        records.append(Record(key: Array(0 ... 255), value: [UInt8](repeating: 0x5a, count: 70_000), timestamp: 42)) // > one LZ4 block
        records.append(Record(key: nil, value: nil, headers: [RecordHeader(key: "nullvalue", value: nil), RecordHeader(key: "ключ", value: [])], timestamp: 43))
        for r in records.chunked(333) { try log.append(r) }
        try log.close()
        #expect(try FileSystem.list(path).filter { $0.hasSuffix(".log") }.count >= 2)
        let mine = try strataBatches(path)
        expectSameView(try kafkaPythonDump(path), mine)
        // And what Strata reads back is what was appended.
        #expect(mine.flatMap(\.records).map(\.1) == records)
    }

    @Test func kafkaPythonReadsLogAppendTimeBatches() throws {
        guard kafkaPythonAvailable else { return }
        let dir = TempDir()
        var config = LogConfig()
        config.timestampType = .logAppendTime
        config.compression = .lz4
        let log = try Log.open(directory: dir.path + "/t-0", config: config)
        try log.append(makeRecords(100))
        try log.close()
        let mine = try strataBatches(dir.path + "/t-0")
        expectSameView(try kafkaPythonDump(dir.path + "/t-0"), mine)
        #expect(mine.allSatisfy { $0.header.timestampType == .logAppendTime })
    }

    /// Strata reads batches built by kafka-python's DefaultRecordBatchBuilder (none, gzip, lz4
    /// with content size, zstd, snappy in xerial framing and raw, idempotent and transactional
    /// batches).
    @Test func strataReadsKafkaPythonBatches() throws {
        guard kafkaPythonAvailable else { return }
        let dir = TempDir()
        let path = dir.path + "/py-0"
        try FileSystem.createDirectory(path)
        let (status, _, err) = try run(["python3", packageRoot + "/Tests/Interop/kafka_build_batches.py",
                                        path + "/00000000000000000000.log", dir.path + "/expected.json"])
        try #require(status == 0, "kafka_build_batches.py: \(err)")
        let expected = try JSONDecoder().decode(PyDump.self, from: Data(contentsOf: URL(fileURLWithPath: dir.path + "/expected.json")))
        let mine = try strataBatches(path)
        expectSameView(expected, mine)
        #expect(Set(mine.map { $0.header.codec! }) == [.none, .gzip, .snappy, .lz4, .zstd])
        // Opening it as a Strata log builds the indexes and serves every offset.
        let log = try Log.open(directory: path, recovery: .clean)
        #expect(log.openReports[0]?.rebuiltIndexReason != nil, "no index files: built on open")
        let all = try readAll(log)
        #expect(all.map(\.1) == mine.flatMap(\.records).map(\.1))
        try log.append(Record(value: [1], timestamp: 1))
        try log.close()
        expectSameView(try kafkaPythonDump(path), try strataBatches(path))
    }

    /// Partitions written by a real Kafka broker: every batch, record and CRC agrees with
    /// kafka-python; the control batch and idempotent batches decode; Strata's own index
    /// rebuild reproduces the broker's `.index` and `.timeindex` byte for byte.
    @Test(arguments: ["__consumer_offsets-6", "TestTopicPatient-0", "__cluster_metadata-0"])
    func brokerWrittenPartitions(partition: String) throws {
        guard let shared = sharedData else { print("skip: ../shared/data is absent"); return }
        let dir = shared + "/kafka-segments/LDI-POC/" + partition
        let mine = try strataBatches(dir)
        #expect(!mine.isEmpty && mine.allSatisfy(\.crcValid))
        if kafkaPythonAvailable { expectSameView(try kafkaPythonDump(dir), mine) }
        switch partition {
        case "__cluster_metadata-0":
            #expect(mine.count == 4814)
            #expect(mine[0].header.isControl && mine[0].header.attributes == 0x20)
            #expect(mine[0].records.first?.1.key == [0, 0, 0, 2], "leader-change control record")
        case "TestTopicPatient-0":
            #expect(mine.count == 3)
            #expect(mine.map(\.header.producerId) == [1, 2, 3])
        default:
            #expect(mine.count == 13)
        }
        // Read-only open straight from the broker's directory serves every offset.
        let log = try Log.open(directory: dir, readOnly: true)
        let offsets = mine.filter { !$0.header.isControl }.flatMap(\.records).map(\.0)
        #expect(try readAll(log).map(\.0) == offsets, "cursors return every data record and skip control batches")
        let withControl = try log.cursor()
        withControl.includeControlBatches = true
        var all: [Int64] = []
        while let r = try withControl.next() { all.append(r.offset) }
        #expect(all == mine.flatMap(\.records).map(\.0))
        let c = try log.cursor()
        for o in offsets.shuffled().prefix(200) {
            try c.seek(to: o)
            #expect(try c.next()?.offset == o)
        }
        // Index files: lookups agree with the broker's files, and a rebuild reproduces them.
        let indexPath = dir + "/00000000000000000000.index"
        if FileSystem.exists(indexPath) {
            let brokerIndex = try DataFile(path: indexPath, flags: O_RDONLY).readAll()
            let brokerTime = try DataFile(path: dir + "/00000000000000000000.timeindex", flags: O_RDONLY).readAll()
            let segment = log.snapshot().segments[0]
            #expect(segment.offsetIndex.count == brokerIndex.count / 8)
            for i in 0 ..< segment.offsetIndex.count {
                let e = segment.offsetIndex.entry(i)
                let batch = mine.first { $0.header.lastOffset == e.offset }
                #expect(batch != nil, "index entry \(i) names the last offset of a batch")
                #expect(try segment.position(ofOffset: e.offset, readable: segment.size) == e.position)
            }
            for i in 0 ..< segment.timeIndex.count {
                let e = segment.timeIndex.entry(i)
                let largest = mine.filter { $0.header.lastOffset <= e.offset }.map(\.header.maxTimestamp).max()
                #expect(largest == e.timestamp, "time entry \(i) is the largest timestamp up to its offset")
                #expect(try log.offset(forTimestamp: e.timestamp).map { $0 <= e.offset } == true)
            }
            let copy = TempDir()
            try FileSystem.createDirectory(copy.path + "/p-0")
            try FileSystem.writeAtomically(try DataFile(path: dir + "/00000000000000000000.log", flags: O_RDONLY).readAll(),
                                           to: copy.path + "/p-0/00000000000000000000.log")
            let rebuilt = try Log.open(directory: copy.path + "/p-0")
            try rebuilt.close()
            #expect(try DataFile(path: copy.path + "/p-0/00000000000000000000.index", flags: O_RDONLY).readAll() == brokerIndex)
            #expect(try DataFile(path: copy.path + "/p-0/00000000000000000000.timeindex", flags: O_RDONLY).readAll() == brokerTime)
        }
    }

    /// Fetch-response captures from a real broker (kafka-go fixtures, gzip and uncompressed):
    /// every byte is whole CRC-valid batches, and Strata's view equals kafka-python's.
    @Test func brokerFetchCaptures() throws {
        guard let shared = sharedData else { print("skip: ../shared/data is absent"); return }
        let dir = shared + "/kafka-segments/kafka-go"
        for name in try FileSystem.list(dir) {
            let bytes = try DataFile(path: dir + "/" + name, flags: O_RDONLY).readAll()
            let tmp = TempDir()
            try FileSystem.createDirectory(tmp.path + "/p-0")
            try FileSystem.writeAtomically(bytes, to: tmp.path + "/p-0/00000000000000000000.log")
            let mine = try strataBatches(tmp.path + "/p-0")
            #expect(mine.count > 0 && mine.allSatisfy(\.crcValid), "\(name)")
            #expect(mine.reduce(0) { $0 + $1.header.sizeInBytes } == bytes.count, "\(name): whole batches only")
            #expect(mine.contains { $0.header.codec == .gzip }, "\(name) holds gzip batches")
            if kafkaPythonAvailable { expectSameView(try kafkaPythonDump(tmp.path + "/p-0"), mine) }
        }
    }
}
