import StrataIO

/// A read-only check of a partition directory (`strata verify`): every batch's structure and
/// CRC, offset order, gaps, and every index entry against the log. Nothing is repaired.
public struct VerifyReport: Sendable {
    public enum Severity: String, Sendable { case damage, notice }
    public struct Finding: Sendable, CustomStringConvertible {
        public var severity: Severity
        public var file: String
        public var position: Int64
        public var message: String
        public var description: String { "\(severity): \(file) at byte \(position): \(message)" }
    }
    public var partition: String
    public var segments = 0
    public var batches = 0
    public var records = 0
    public var bytes = 0
    public var findings: [Finding] = []
    public var isDamaged: Bool { findings.contains { $0.severity == .damage } }
}

public enum LogVerifier {
    /// Verifies one partition directory. `records: true` also decodes every record (slower).
    public static func verify(partition dir: String, records decodeRecords: Bool = true) throws -> VerifyReport {
        var report = VerifyReport(partition: dir)
        let bases = try FileSystem.list(dir).compactMap(LogSegment.baseOffset(ofLogFile:)).sorted()
        // The routine `strata recover` and open-time recovery use: what this calls damage,
        // recovery takes out (`RecoveryMode.full`).
        let validator = BatchValidator(records: decodeRecords)
        let codecs = Codecs()
        for name in try FileSystem.list(dir) where Quarantine.isQuarantine(name) {
            report.findings.append(.init(severity: .notice, file: dir + "/" + name, position: 0,
                                         message: "quarantine file kept by a recovery (\(FileSystem.fileSize(dir + "/" + name) ?? 0) bytes taken out of the log; not read)"))
        }
        var previousNext: Int64?
        for base in bases {
            report.segments += 1
            let path = dir + "/" + LogSegment.fileName(base, ".log")
            let file = try DataFile(path: path, flags: 0)
            let size = Int(try file.size())
            report.bytes += size
            guard size > 0 else { continue }
            let region = try MappedRegion(file: file, length: size)
            let data = region.bytes(count: size)
            func add(_ s: VerifyReport.Severity, _ pos: Int, _ m: String) {
                report.findings.append(.init(severity: s, file: path, position: Int64(pos), message: m))
            }
            if let p = previousNext, base < p { add(.damage, 0, "segment base offset \(base) overlaps the previous segment (ends at \(p))") }
            if let p = previousNext, base > p { add(.notice, 0, "offsets \(p)..<\(base) are missing between segments") }
            var pos = 0
            var next = base
            var batchEnds: [Int: Int64] = [:] // position → last offset
            var markers: [Int64: RecordBatchView] = [:] // offset → control batch of a transactional producer
            while pos < size {
                let probe: RecordBatchView.Probe
                do { probe = try RecordBatchView.probe(data, at: pos, file: path) } catch {
                    add(.damage, pos, "\(error)")
                    break
                }
                guard case .batch(let b) = probe else {
                    add(.damage, pos, "truncated batch: \(size - pos) bytes remain")
                    break
                }
                report.batches += 1
                if let problem = validator.problem(of: b, segmentBase: base, next: next, file: path) {
                    add(.damage, pos, problem)
                } else if decodeRecords {
                    report.records += Int(b.header.recordCount)
                }
                if b.header.baseOffset > next && next > base { add(.notice, pos, "offsets \(next)..<\(b.header.baseOffset) are missing (compaction leaves such gaps)") }
                batchEnds[pos] = b.header.lastOffset
                if b.header.isControl && b.header.producerId >= 0 { markers[b.header.baseOffset] = b }
                next = b.header.nextOffset
                pos += b.header.sizeInBytes
            }
            previousNext = next
            // Index files: every entry must name a batch boundary and that batch's last offset.
            let indexPath = dir + "/" + LogSegment.fileName(base, ".index")
            if FileSystem.exists(indexPath) {
                let bytes = try FileSystem.readFile(indexPath)
                if bytes.count % 8 != 0 { report.findings.append(.init(severity: .damage, file: indexPath, position: Int64(bytes.count), message: "size \(bytes.count) is not a multiple of 8")) }
                var lastOffset: Int64 = -1
                bytes.withUnsafeBytes { buf in
                    for i in 0 ..< buf.count / 8 {
                        let rel = buf.baseAddress!.loadBE(at: i * 8, as: Int32.self), p = Int(buf.baseAddress!.loadBE(at: i * 8 + 4, as: Int32.self))
                        if p == 0 { break } // preallocated slots of an active segment (position 0 is never indexed)
                        let o = base + Int64(rel)
                        if batchEnds[p] != o {
                            report.findings.append(.init(severity: .damage, file: indexPath, position: Int64(i * 8),
                                                         message: "entry \(i) (\(o) → \(p)) does not point at the batch ending at offset \(o)"))
                        }
                        if o <= lastOffset { report.findings.append(.init(severity: .damage, file: indexPath, position: Int64(i * 8), message: "entry \(i) offset is not increasing")) }
                        lastOffset = o
                    }
                }
            } else {
                report.findings.append(.init(severity: .notice, file: indexPath, position: 0, message: "missing (rebuilt on the next writable open)"))
            }
            verifyTransactionIndex(dir: dir, base: base, next: next, markers: markers, codecs: codecs, into: &report)
            let timePath = dir + "/" + LogSegment.fileName(base, ".timeindex")
            if FileSystem.exists(timePath) {
                let bytes = try FileSystem.readFile(timePath)
                if bytes.count % 12 != 0 { report.findings.append(.init(severity: .damage, file: timePath, position: Int64(bytes.count), message: "size \(bytes.count) is not a multiple of 12")) }
                var lastTs = Int64.min
                bytes.withUnsafeBytes { buf in
                    for i in 0 ..< buf.count / 12 {
                        let ts = buf.baseAddress!.loadBE(at: i * 12, as: Int64.self), rel = buf.baseAddress!.loadBE(at: i * 12 + 8, as: Int32.self)
                        if ts == 0 && rel == 0 { break } // preallocated slots
                        let o = base + Int64(rel)
                        if o < base || o >= max(next, base + 1) || ts <= lastTs {
                            report.findings.append(.init(severity: .damage, file: timePath, position: Int64(i * 12), message: "entry \(i) (\(ts), \(o)) is out of order or outside the segment"))
                        }
                        lastTs = ts
                    }
                }
            }
        }
        return report
    }

    /// `.txnindex`: well formed (Formats/transactions.md §2), and every entry names an ABORT
    /// marker of its producer in this segment.
    static func verifyTransactionIndex(dir: String, base: Int64, next: Int64, markers: [Int64: RecordBatchView], codecs: Codecs,
                                       into report: inout VerifyReport) {
        let path = dir + "/" + LogSegment.fileName(base, TransactionIndex.suffix)
        guard FileSystem.exists(path) else { return }
        func damage(_ pos: Int64, _ m: String) { report.findings.append(.init(severity: .damage, file: path, position: pos, message: m)) }
        do {
            let bytes = try FileSystem.readFile(path)
            let (entries, beyond) = try bytes.withUnsafeBytes { try TransactionIndex.parse($0, baseOffset: base, nextOffset: next, file: path) }
            if beyond > 0 { damage(Int64(entries.count * TransactionIndex.entrySize), "\(beyond) entries name markers past the segment's end (offset \(next)); a writable open drops them") }
            for (i, e) in entries.enumerated() {
                let type = markers[e.lastOffset].flatMap { b in b.header.producerId == e.producerId ? try? ControlRecordType.marker(in: b, codecs: codecs, file: path) : nil }
                if type != .abort {
                    damage(Int64(i * TransactionIndex.entrySize), "entry \(i) (producer \(e.producerId), offsets \(e.firstOffset)...\(e.lastOffset)) names no ABORT marker of that producer; read_committed cursors ignore it")
                }
            }
        } catch {
            damage(0, "\(error) (unusable: read_committed cursors decide from the markers alone)")
        }
    }
}
