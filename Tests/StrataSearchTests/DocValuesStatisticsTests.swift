import Foundation
import Testing
import StrataIO
@_spi(Internals) @testable import StrataSearch

/// Version-2 doc values store each numeric column's minimum, maximum and order, so opening reads
/// them instead of scanning the column; version-1 files still open (statistics computed);
/// statistics that lie behind a valid CRC are found by `verifyChecksum()`.
@Suite struct DocValuesStatisticsTests {
    /// Columns of `n` documents: ascending with leading absents, ascending, unordered, absent in
    /// the middle, empty, f64.
    static func columns(_ n: Int) -> [DocValueColumn] {
        func column(_ field: Int, _ type: FieldType, _ value: (Int) -> Int64?) -> DocValueColumn {
            var present = [UInt64](repeating: 0, count: (n + 63) / 64), values = [Int64](repeating: 0, count: n)
            for d in 0 ..< n { if let v = value(d) { present[d >> 6] |= 1 << UInt64(d & 63); values[d] = v } }
            return .numeric(field: field, type: type, present: present, values: values)
        }
        return [
            column(0, .timestamp) { $0 < 70 ? nil : 1_000 + Int64($0 / 3) },
            column(1, .i64) { Int64($0) - 50 },
            column(2, .i64) { Int64(($0 * 7919) % 101) - 40 },
            column(3, .i64) { $0 == n / 2 ? nil : Int64($0) },
            column(4, .i64) { _ in nil },
            column(5, .f64) { Int64(bitPattern: Double(n - $0).bitPattern) },
        ]
    }

    @Test func storedStatisticsMatchTheValues() throws {
        for n in [1, 63, 64, 65, 200, 1000] {
            let path = tempPath("dv-stats-\(n).dv")
            let bytes = DocValues.encode(docCount: n, columns: Self.columns(n))
            #expect(Array(bytes.prefix(8)) == DocValues.magic)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let dv = try DocValues(path: path, expectedDocuments: n)
            try dv.verifyChecksum()
            for f in 0 ..< 6 {
                let c = try #require(dv.numericColumn(f))
                let scanned = DocValues.Statistics(type: c.type, present: c.present, values: c.values, count: n)
                #expect(c.statistics == scanned, "field \(f), \(n) documents")
            }
            #expect(dv.numericColumn(0)!.ascending == true && dv.numericColumn(1)!.ascending == true)
            #expect(dv.numericColumn(2)!.ascending == (n <= 1))
            #expect(dv.numericColumn(3)!.ascending == (n == 1), "a document without a value after one with a value breaks the order")
            #expect(dv.numericColumn(4)!.range == nil && dv.numericColumn(5)!.ascending == false)
            let t = dv.numericColumn(1)!.range!
            #expect(t.min == -50 && t.max == Int64(n) - 51)
        }
    }

    /// A version-1 file (no statistics) written byte by byte as §5 described it before.
    static func versionOne(docCount n: Int, columns: [DocValueColumn]) -> [UInt8] {
        var out = DocValues.magicV1
        SegmentFormat.putLE(UInt32(n), &out)
        SegmentFormat.putLE(UInt32(columns.count), &out)
        let directory = out.count
        out.append(contentsOf: [UInt8](repeating: 0, count: 24 * columns.count))
        for (k, column) in columns.enumerated() {
            guard case let .numeric(field, type, present, values) = column else { continue }
            while out.count % 8 != 0 { out.append(0) }
            let start = out.count
            for w in present { SegmentFormat.putLE(w, &out) }
            for v in values { SegmentFormat.putLE(v, &out) }
            var entry: [UInt8] = []
            SegmentFormat.putLE(UInt16(field), &entry)
            entry.append(DocValues.kindCode(type))
            entry.append(0)
            SegmentFormat.putLE(UInt32(0), &entry)
            SegmentFormat.putLE(UInt64(start), &entry)
            SegmentFormat.putLE(UInt64(out.count - start), &entry)
            out.replaceSubrange(directory + 24 * k ..< directory + 24 * (k + 1), with: entry)
        }
        SegmentFormat.putLE(out.withUnsafeBytes { CRC32C.checksum($0) }, &out)
        out.append(contentsOf: DocValues.magicV1)
        return out
    }

    @Test func versionOneFilesStillOpen() throws {
        let n = 300
        let path = tempPath("dv-v1.dv")
        try Data(Self.versionOne(docCount: n, columns: Self.columns(n))).write(to: URL(fileURLWithPath: path))
        let v1 = try DocValues(path: path, expectedDocuments: n)
        let v2path = tempPath("dv-v2.dv")
        try Data(DocValues.encode(docCount: n, columns: Self.columns(n))).write(to: URL(fileURLWithPath: v2path))
        let v2 = try DocValues(path: v2path, expectedDocuments: n)
        try v1.verifyChecksum()
        for f in 0 ..< 6 {
            let a = try #require(v1.numericColumn(f)), b = try #require(v2.numericColumn(f))
            #expect(a.statistics == b.statistics, "field \(f)")
            for d in 0 ..< n { #expect(a.has(d) == b.has(d) && a.bits(d) == b.bits(d)) }
        }
    }

    /// Lying statistics with a recomputed CRC: the file opens (statistics are trusted then, as
    /// postings are), and `verifyChecksum()` — what merges and `checkIntegrity()` run — names it.
    @Test func lyingStatisticsAreFoundByTheIntegrityCheck() throws {
        let n = 200
        for (name, patch) in [("order", { (b: inout [UInt8], at: Int) in b[at + 16] ^= 2 }), ("maximum", { (b: inout [UInt8], at: Int) in b[at + 8] ^= 1 })] {
            var bytes = DocValues.encode(docCount: n, columns: Self.columns(n))
            // The second column (field 1, i64, ascending) starts where its directory entry says.
            let at = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16 + 24 + 8, as: UInt64.self) })
            patch(&bytes, at)
            let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0 ..< bytes.count - 12])) }
            withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(bytes.count - 12 ..< bytes.count - 8, with: $0) }
            let path = tempPath("dv-lie-\(name).dv")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let dv = try DocValues(path: path, expectedDocuments: n)
            #expect(throws: StrataError.self, "\(name)") { try dv.verifyChecksum() }
            do { try dv.verifyChecksum() } catch { #expect("\(error)".contains("field 1"), "\(error)") }
        }
        // Unknown flags are refused on open.
        var bytes = DocValues.encode(docCount: n, columns: Self.columns(n))
        let at = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16 + 8, as: UInt64.self) })
        bytes[at + 16] |= 8
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0 ..< bytes.count - 12])) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(bytes.count - 12 ..< bytes.count - 8, with: $0) }
        let path = tempPath("dv-flags.dv")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: StrataError.self) { try DocValues(path: path, expectedDocuments: n) }
    }
}
