#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// One doc-value column as written (Formats/search-index.md §5).
enum DocValueColumn {
    /// i64 / f64 (bit pattern) / timestamp values, one per document, with a presence bitmap.
    case numeric(field: Int, type: FieldType, present: [UInt64], values: [Int64])
    /// Sorted unique values; each document's ordinals (ascending) are
    /// `ords[docStarts[d] ..< docStarts[d + 1]]`.
    case keyword(field: Int, values: [[UInt8]], docStarts: [UInt32], ords: [UInt32])
    /// A numeric column made of merge inputs' columns back to back (`count` documents each; a
    /// nil column: none has a value), read from the mapped inputs as it is written — a merge
    /// in order without deletes holds no per-document array.
    case concatenated(field: Int, type: FieldType, parts: [(column: DocValues.NumericColumn?, count: Int)])

    var field: Int {
        switch self {
        case let .numeric(f, _, _, _), let .keyword(f, _, _, _), let .concatenated(f, _, _): return f
        }
    }
}

/// The doc-value file of a segment (`STRADV02`; `STRADV01` still read): columnar per-document values for sorting,
/// numeric ranges and aggregations, read in place through mmap.
@_spi(Internals) public final class DocValues: @unchecked Sendable {
    /// Written: numeric columns open with their statistics (§5).
    static let magic: [UInt8] = Array("STRADV02".utf8)
    /// Still read: numeric columns without statistics, computed on open.
    static let magicV1: [UInt8] = Array("STRADV01".utf8)
    /// Bytes of a version-2 numeric column's statistics: min, max, flags.
    static let statisticsSize = 24
    static let footerSize = 12

    static func kindCode(_ t: FieldType) -> UInt8 {
        switch t {
        case .i64: return 1
        case .f64: return 2
        case .timestamp: return 3
        default: return 4
        }
    }

    /// Encodes `columns` for `docCount` documents (in memory).
    static func encode(docCount: Int, columns: [DocValueColumn]) -> [UInt8] {
        let out = SegmentOutput()
        try! write(docCount: docCount, columns: columns, to: out) // in memory: cannot fail
        return out.memory
    }

    /// Writes the file for `columns` to `path` through a temp file (not fsync'd: the index syncs
    /// it when a commit first names it), streamed: no copy of the file is built in memory.
    static func write(docCount: Int, columns: [DocValueColumn], path: String) throws {
        let out = try SegmentOutput(path: path)
        do {
            try write(docCount: docCount, columns: columns, to: out)
            try out.commit(durable: false)
        } catch {
            out.abandon()
            throw error
        }
    }

    /// Bytes of a column's body (after its 8-byte alignment).
    private static func bodySize(_ column: DocValueColumn) -> Int {
        switch column {
        case let .numeric(_, _, present, values):
            return statisticsSize + 8 * present.count + 8 * values.count
        case let .concatenated(_, _, parts):
            let n = parts.reduce(0) { $0 + $1.count }
            return statisticsSize + 8 * ((n + 63) / 64) + 8 * n
        case let .keyword(_, values, docStarts, ords):
            let strings = 12 + 4 * values.count + values.reduce(0) { $0 + $1.count }
            return (strings + 3) / 4 * 4 + 4 * docStarts.count + 4 * ords.count
        }
    }

    /// The layout is computed first (the directory ahead of the columns names their offsets),
    /// then every section is written in order through `out`, which keeps the CRC.
    private static func write(docCount: Int, columns: [DocValueColumn], to out: SegmentOutput) throws {
        var head = magic
        SegmentFormat.putLE(UInt32(docCount), &head)
        SegmentFormat.putLE(UInt32(columns.count), &head)
        var at = head.count + 24 * columns.count
        var starts: [Int] = []
        for column in columns {
            at = (at + 7) / 8 * 8
            starts.append(at)
            let size = bodySize(column)
            let kind: UInt8
            switch column {
            case let .numeric(_, type, _, _), let .concatenated(_, type, _): kind = kindCode(type)
            case .keyword: kind = 4
            }
            SegmentFormat.putLE(UInt16(column.field), &head)
            head.append(kind)
            head.append(0)
            SegmentFormat.putLE(UInt32(0), &head)
            SegmentFormat.putLE(UInt64(at), &head)
            SegmentFormat.putLE(UInt64(size), &head)
            at += size
        }
        try out.write(head)
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 16)
        /// Writes a little-endian word through `chunk`, 64 KiB at a time.
        @inline(__always) func put<T: FixedWidthInteger>(_ word: T) throws {
            SegmentFormat.putLE(word, &chunk)
            if chunk.count >= 1 << 16 {
                try out.write(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        func put<T: FixedWidthInteger>(_ words: [T]) throws { for w in words { try put(w) } }
        for (c, column) in columns.enumerated() {
            chunk.removeAll(keepingCapacity: true)
            while out.count + chunk.count < starts[c] { chunk.append(0) }
            switch column {
            case let .numeric(_, type, present, values):
                let stats = present.withUnsafeBytes { p in values.withUnsafeBytes { v in
                    Statistics(type: type, present: p.baseAddress!, values: v.baseAddress!, count: docCount)
                } }
                SegmentFormat.putLE(stats.range?.min ?? 0, &chunk)
                SegmentFormat.putLE(stats.range?.max ?? 0, &chunk)
                SegmentFormat.putLE(stats.flags, &chunk)
                try put(present)
                try put(values)
            case let .concatenated(_, type, parts):
                // Two passes over the inputs: statistics (stored ahead), then bits and values.
                var acc = Statistics.Accumulator(type: type)
                for (column, count) in parts {
                    guard let column else { if count > 0 { acc.absent() }; continue }
                    for d in 0 ..< count { if column.has(d) { acc.add(column.bits(d)) } else { acc.absent() } }
                }
                let stats = acc.statistics
                SegmentFormat.putLE(stats.range?.min ?? 0, &chunk)
                SegmentFormat.putLE(stats.range?.max ?? 0, &chunk)
                SegmentFormat.putLE(stats.flags, &chunk)
                var word: UInt64 = 0, n = 0
                for (column, count) in parts {
                    for d in 0 ..< count {
                        if column?.has(d) ?? false { word |= 1 << UInt64(n & 63) }
                        n += 1
                        if n & 63 == 0 { try put(word); word = 0 }
                    }
                }
                if n & 63 != 0 { try put(word) }
                for (column, count) in parts {
                    for d in 0 ..< count { try put(column.map { $0.has(d) ? $0.bits(d) : 0 } ?? 0) }
                }
            case let .keyword(_, values, docStarts, ords):
                SegmentFormat.putLE(UInt32(values.count), &chunk)
                SegmentFormat.putLE(UInt32(ords.count), &chunk)
                var offset: UInt32 = 0
                var offsets: [UInt32] = [0]
                offsets.reserveCapacity(values.count + 1)
                for v in values { offset += UInt32(v.count); offsets.append(offset) }
                try put(offsets)
                var written = 0
                for v in values {
                    chunk.append(contentsOf: v)
                    written += v.count
                    if chunk.count >= 1 << 16 {
                        try out.write(chunk)
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
                for _ in 0 ..< (4 - written % 4) % 4 { chunk.append(0) }
                try put(docStarts)
                try put(ords)
            }
            try out.write(chunk)
        }
        var end: [UInt8] = []
        SegmentFormat.putLE(out.crc, &end)
        end.append(contentsOf: magic)
        try out.write(end)
    }

    /// A numeric column's statistics, stored ahead of it (version 2) or computed from it on open
    /// (version 1): the smallest and largest present value as stored bits (for f64 the bit
    /// patterns of the smallest and largest double; nil when no document has a value), and for
    /// integer and timestamp columns whether the values ascend in document order, a document
    /// without a value counting as below every value (the segment is sorted by the field).
    struct Statistics: Equatable {
        var range: (min: Int64, max: Int64)?
        var ascending: Bool

        static let hasValues: UInt64 = 1, ascendingFlag: UInt64 = 2
        var flags: UInt64 { (range == nil ? 0 : Self.hasValues) | (ascending ? Self.ascendingFlag : 0) }

        init(range: (min: Int64, max: Int64)?, ascending: Bool) {
            self.range = range
            self.ascending = ascending
        }

        /// One pass over the column.
        init(type: FieldType, present: UnsafeRawPointer, values: UnsafeRawPointer, count n: Int) {
            var acc = Accumulator(type: type)
            var d = 0
            while d < n {
                let word = present.loadUnaligned(fromByteOffset: 8 * (d >> 6), as: UInt64.self).littleEndian
                if word == 0 {
                    // 64 documents without a value (one absence says what 64 would).
                    acc.absent()
                    d = (d | 63) + 1
                    continue
                }
                if word & (1 << UInt64(d & 63)) != 0 {
                    acc.add(values.loadUnaligned(fromByteOffset: 8 * d, as: Int64.self).littleEndian)
                } else {
                    acc.absent()
                }
                d += 1
            }
            self = acc.statistics
        }

        /// Statistics gathered one document at a time, in document order.
        struct Accumulator {
            let type: FieldType
            private var lo = Int64.max, hi = Int64.min
            private var dlo = Double.infinity, dhi = -Double.infinity
            private var any = false
            private var ascending: Bool
            private var previous = Int64.min

            init(type: FieldType) {
                self.type = type
                ascending = type != .f64
            }

            /// A document without a value: below everything, so after a value the order breaks.
            @inline(__always) mutating func absent() {
                if previous != .min { ascending = false }
            }

            /// A document with value bits `v`.
            @inline(__always) mutating func add(_ v: Int64) {
                any = true
                if type == .f64 {
                    let x = Double(bitPattern: UInt64(bitPattern: v))
                    if x < dlo { dlo = x }
                    if x > dhi { dhi = x }
                } else {
                    if v < lo { lo = v }
                    if v > hi { hi = v }
                    if v < previous { ascending = false }
                    previous = v
                }
            }

            var statistics: Statistics {
                Statistics(range: !any ? nil : type == .f64 ? (Int64(bitPattern: dlo.bitPattern), Int64(bitPattern: dhi.bitPattern)) : (lo, hi),
                           ascending: ascending)
            }
        }

        static func == (a: Statistics, b: Statistics) -> Bool {
            a.ascending == b.ascending && a.range?.min == b.range?.min && a.range?.max == b.range?.max
        }
    }

    /// A numeric column read in place.
    public struct NumericColumn: @unchecked Sendable {
        public let type: FieldType
        let present: UnsafeRawPointer
        let values: UnsafeRawPointer
        public let count: Int
        /// The smallest and largest value (raw bits, see `DocValues.Statistics`), nil when no
        /// document has one: a range — a time range above all — skips a segment without
        /// reading it. Stored with the column (read in O(1) on open), or computed on open
        /// from a version-1 file.
        public var range: (min: Int64, max: Int64)? { statistics.range }
        let statistics: Statistics
        /// Integer or timestamp values ascending in document order (absent values first).
        var ascending: Bool { statistics.ascending }

        /// Whether some integer or timestamp value may lie in `[lower, upper]` (nil bounds are
        /// open). False means no document of the segment matches the range. f64 columns answer
        /// true whenever they have values.
        public func mayContain(lower: Int64?, upper: Int64?) -> Bool {
            guard let range else { return false }
            if type == .f64 { return true }
            if let lower, range.max < lower { return false }
            if let upper, range.min > upper { return false }
            return true
        }

        /// Whether every document has a value and all of them lie in `[lower, upper]`.
        public func allWithin(lower: Int64?, upper: Int64?) -> Bool {
            guard let range, type != .f64 else { return false }
            if let lower, range.min < lower { return false }
            if let upper, range.max > upper { return false }
            var d = 0
            while d + 64 <= count {
                if present.loadUnaligned(fromByteOffset: 8 * (d >> 6), as: UInt64.self) != UInt64.max { return false }
                d += 64
            }
            while d < count { if !has(d) { return false }; d += 1 }
            return true
        }

        /// In a segment whose documents are sorted by this column (documents without a value
        /// first): the run of documents whose value lies in `[lower, upper]` (nil bounds are
        /// open), by binary search. Documents without a value are outside it.
        func sortedRun(lower: Int64?, upper: Int64?) -> Range<Int> {
            let n = count
            @inline(__always) func value(_ d: Int) -> Int64 { has(d) ? bits(d) : .min }
            func firstAtLeast(_ v: Int64) -> Int {
                var lo = 0, hi = n
                while lo < hi { let mid = (lo + hi) / 2; if value(mid) < v { lo = mid + 1 } else { hi = mid } }
                return lo
            }
            var first = lower.map(firstAtLeast) ?? 0
            while first < n && !has(first) { first += 1 }
            let end = max(first, upper.map { $0 == .max ? n : firstAtLeast($0 + 1) } ?? n)
            return first ..< end
        }

        @inline(__always) public func has(_ doc: Int) -> Bool {
            present.loadUnaligned(fromByteOffset: 8 * (doc >> 6), as: UInt64.self).littleEndian & (1 << UInt64(doc & 63)) != 0
        }
        /// The raw 64 bits (i64 or timestamp value; f64 bit pattern).
        @inline(__always) public func bits(_ doc: Int) -> Int64 {
            values.loadUnaligned(fromByteOffset: 8 * doc, as: Int64.self).littleEndian
        }
        /// The value as a Double (for aggregations and sorting), nil when absent.
        @inline(__always) public func double(_ doc: Int) -> Double? {
            guard has(doc) else { return nil }
            let b = bits(doc)
            return type == .f64 ? Double(bitPattern: UInt64(bitPattern: b)) : Double(b)
        }
    }

    /// A keyword column read in place.
    public struct KeywordColumn: @unchecked Sendable {
        let base: UnsafeRawPointer
        public let valueCount: Int
        let ordCount: Int
        let valueOffsets: UnsafeRawPointer
        let valueBytes: UnsafeRawPointer
        let docStarts: UnsafeRawPointer
        let ords: UnsafeRawPointer

        /// The ordinals of `doc` (ascending; ordinal order is byte order of the values).
        @inline(__always) public func ordinals(_ doc: Int) -> Range<Int> {
            let s = Int(docStarts.loadUnaligned(fromByteOffset: 4 * doc, as: UInt32.self).littleEndian)
            let e = Int(docStarts.loadUnaligned(fromByteOffset: 4 * doc + 4, as: UInt32.self).littleEndian)
            return s ..< e
        }
        @inline(__always) public func ordinal(at i: Int) -> Int {
            Int(ords.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
        }
        /// The bytes of value `ord`.
        public func value(_ ord: Int) -> UnsafeRawBufferPointer {
            let s = Int(valueOffsets.loadUnaligned(fromByteOffset: 4 * ord, as: UInt32.self).littleEndian)
            let e = Int(valueOffsets.loadUnaligned(fromByteOffset: 4 * ord + 4, as: UInt32.self).littleEndian)
            return UnsafeRawBufferPointer(start: valueBytes + s, count: e - s)
        }
        public func string(_ ord: Int) -> String { String(decoding: value(ord), as: UTF8.self) }
    }

    public let path: String
    public let documentCount: Int
    private let file: DataFile
    private let region: MappedRegion
    /// The file's size in bytes.
    private let byteCount: Int
    private var numeric: [Int: NumericColumn] = [:]
    private var keyword: [Int: KeywordColumn] = [:]

    public func numericColumn(_ field: Int) -> NumericColumn? { numeric[field] }

    /// Checks the whole-file CRC (`corrupt` on a mismatch).
    public func verifyChecksum() throws {
        let size = byteCount
        let data = region.bytes(count: size)
        let stored = data.loadUnaligned(fromByteOffset: size - 12, as: UInt32.self).littleEndian
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: data[0 ..< size - 12]))
        if stored != computed { throw StrataError.corrupt(file: path, position: Int64(size - 12), reason: "doc values: CRC mismatch (stored \(stored), computed \(computed))") }
        // Stored statistics must describe the values (a writer's bug or crafted bytes behind a
        // valid CRC would otherwise skip segments or binary-search unsorted values).
        for (field, c) in numeric.sorted(by: { $0.key < $1.key }) {
            let actual = Statistics(type: c.type, present: c.present, values: c.values, count: c.count)
            if actual != c.statistics {
                throw StrataError.corrupt(file: path, position: Int64(c.present - data.baseAddress!), reason: "doc values: the stored minimum, maximum or order of field \(field) does not match its values")
            }
        }
    }
    public func keywordColumn(_ field: Int) -> KeywordColumn? { keyword[field] }

    /// Opens and validates a doc-value file: magics, CRC, directory bounds, and every keyword
    /// column's offsets and ordinals, so reads after opening need no checks.
    /// `checksumUpTo`: the whole-file CRC is checked on open only for files of at most this
    /// many bytes (see `IndexSegment.init(path:checksumUpTo:)`); `verifyChecksum()` checks it.
    public init(path: String, expectedDocuments: Int?, verifyChecksum: Bool = true, checksumUpTo: Int = .max) throws {
        self.path = path
        file = try DataFile(path: path, flags: O_RDONLY)
        let size = Int(try file.size())
        let verifyChecksum = verifyChecksum && size <= checksumUpTo
        func bad(_ at: Int, _ why: String) -> StrataError { .corrupt(file: path, position: Int64(at), reason: "doc values: \(why)") }
        guard size >= 16 + Self.footerSize else { throw bad(0, "\(size) bytes is too short") }
        region = try MappedRegion(file: file, length: size)
        byteCount = size
        let data = region.bytes(count: size)
        let p = data.baseAddress!
        let version = memcmp(p, Self.magic, 8) == 0 ? 2 : memcmp(p, Self.magicV1, 8) == 0 ? 1 : 0
        if version == 0 { throw bad(0, "bad magic (not a Strata doc-value file)") }
        if memcmp(p + size - 8, version == 2 ? Self.magic : Self.magicV1, 8) != 0 { throw bad(size - 8, "bad footer magic (truncated or damaged file)") }
        let stored = p.loadUnaligned(fromByteOffset: size - 12, as: UInt32.self).littleEndian
        let computed = verifyChecksum ? CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: size - 12)) : stored
        if stored != computed { throw bad(size - 12, "CRC mismatch (stored \(stored), computed \(computed))") }
        func u32(_ o: Int) -> Int { Int(p.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian) }
        func u64(_ o: Int) -> UInt64 { p.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian }
        documentCount = u32(8)
        let columns = u32(12)
        guard documentCount == expectedDocuments ?? documentCount else { throw bad(8, "\(documentCount) documents, the manifest says \(expectedDocuments ?? documentCount)") }
        let end = size - Self.footerSize
        guard columns <= (end - 16) / 24 else { throw bad(12, "\(columns) columns do not fit") }
        let n = documentCount
        for c in 0 ..< columns {
            let e = 16 + 24 * c
            let field = Int(p.loadUnaligned(fromByteOffset: e, as: UInt16.self).littleEndian)
            let kind = p.load(fromByteOffset: e + 2, as: UInt8.self)
            let off64 = u64(e + 8), len64 = u64(e + 16)
            guard off64 <= UInt64(end), len64 <= UInt64(end) - off64 else { throw bad(e, "column \(c) lies outside the file") }
            let off = Int(off64), len = Int(len64)
            switch kind {
            case 1, 2, 3:
                let words = (n + 63) / 64
                let head = version == 2 ? Self.statisticsSize : 0
                guard len == head + 8 * words + 8 * n else { throw bad(e, "numeric column \(c) has \(len) bytes, expected \(head + 8 * words + 8 * n)") }
                let type: FieldType = kind == 1 ? .i64 : kind == 2 ? .f64 : .timestamp
                let present = p + off + head, values = p + off + head + 8 * words
                let statistics: Statistics
                if version == 2 {
                    let flags = u64(off + 16)
                    guard flags & ~(Statistics.hasValues | Statistics.ascendingFlag) == 0, type != .f64 || flags & Statistics.ascendingFlag == 0 else {
                        throw bad(off + 16, "numeric column \(c) has unknown statistics flags \(flags)")
                    }
                    let lo = Int64(bitPattern: u64(off)), hi = Int64(bitPattern: u64(off + 8))
                    statistics = Statistics(range: flags & Statistics.hasValues != 0 ? (lo, hi) : nil, ascending: flags & Statistics.ascendingFlag != 0)
                } else {
                    statistics = Statistics(type: type, present: present, values: values, count: n)
                }
                numeric[field] = NumericColumn(type: type, present: present, values: values, count: n, statistics: statistics)
            case 4:
                guard len >= 8 else { throw bad(off, "keyword column too short") }
                let values = u32(off), ordCount = u32(off + 4)
                var at = off + 8
                guard values <= len / 4, ordCount <= len / 4 else { throw bad(off, "keyword column counts do not fit") }
                let offsets = p + at
                at += 4 * (values + 1)
                guard at <= off + len else { throw bad(off, "keyword value offsets do not fit") }
                var previous = 0
                for k in 0 ... values {
                    let v = u32(at - 4 * (values + 1) + 4 * k)
                    guard v >= previous else { throw bad(at, "keyword value offsets decrease") }
                    previous = v
                }
                let bytesStart = at
                at += previous
                at = (at + 3) & ~3
                guard at + 4 * (n + 1) + 4 * ordCount == off + len else { throw bad(off, "keyword column size does not add up") }
                let starts = p + at
                var prev = 0
                for d in 0 ... n {
                    let s = u32(at + 4 * d)
                    guard s >= prev, s <= ordCount, d > 0 || s == 0 else { throw bad(at + 4 * d, "keyword document starts out of order") }
                    prev = s
                }
                guard prev == ordCount else { throw bad(at, "keyword document starts do not end at the ordinal count") }
                let ordsAt = at + 4 * (n + 1)
                for k in 0 ..< ordCount where u32(ordsAt + 4 * k) >= values {
                    throw bad(ordsAt + 4 * k, "ordinal \(u32(ordsAt + 4 * k)) ≥ \(values) values")
                }
                keyword[field] = KeywordColumn(base: p + off, valueCount: values, ordCount: ordCount, valueOffsets: offsets,
                                               valueBytes: p + bytesStart, docStarts: starts, ords: p + ordsAt)
            default:
                throw bad(e + 2, "unknown column kind \(kind)")
            }
        }
    }
}
