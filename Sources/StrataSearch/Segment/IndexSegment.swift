#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataIO

/// A segment file opened for reading through mmap (Formats/search-segment.md). Opening checks
/// the magic numbers, the CRC-32C of the whole file and every section bound; decoding checks
/// every varint, block and offset, so damaged files give `StrataError.corrupt` naming the
/// byte, never a crash or a read outside the mapping.
@_spi(Internals) public final class IndexSegment: @unchecked Sendable {
    public let path: String
    private let file: DataFile
    private let region: MappedRegion
    let data: UnsafeRawBufferPointer
    public let documentCount: Int
    public let termCount: Int
    public let totalTokens: UInt64
    let normsOffset: Int, postingsOffset: Int, positionsOffset: Int, termsOffset: Int, blockIndexOffset: Int
    /// Bytes per document in the norms section: 1, 2 or 4 (§1).
    let normBytes: Int
    private let blockCount: Int
    /// The sparse term index, read in place: each dictionary block's key
    /// (`SegmentFormat.blockKey` of its first term), so a lookup binary-searches integers and
    /// reads a block's first term from the mapping only when the keys tie.
    private let storedKeys: UnsafeRawPointer
    @inline(__always) private func blockKey(_ b: Int) -> UInt64 {
        storedKeys.loadUnaligned(fromByteOffset: 8 * b, as: UInt64.self).littleEndian
    }

    /// Where a term's data lies.
    public struct TermInfo: Sendable, Equatable {
        public var docFreq: Int
        var postings: Range<Int>
        var positions: Range<Int>
    }

    /// `checksumUpTo`: the whole-file CRC is checked on open only for files of at most this
    /// many bytes (the structure always is); larger ones by `verifyChecksum()`, which merges
    /// and `SearchIndex.checkIntegrity()` call — so opening a large index reads nothing but
    /// footers (Lucene checks big files' checksums the same way, on merge and CheckIndex).
    public convenience init(path: String, checksumUpTo: Int) throws {
        let size = FileSystem.fileSize(path) ?? 0
        try self.init(path: path, verifyChecksum: size <= Int64(checksumUpTo))
    }

    public init(path: String, verifyChecksum: Bool = true) throws {
        self.path = path
        file = try DataFile(path: path, flags: O_RDONLY)
        let size = Int(try file.size())
        func bad(_ at: Int, _ why: String) -> StrataError { .corrupt(file: path, position: Int64(at), reason: "index segment: \(why)") }
        guard size >= SegmentFormat.magic.count + SegmentFormat.footerSize else { throw bad(0, "\(size) bytes is too short for a segment") }
        region = try MappedRegion(file: file, length: size)
        data = region.bytes(count: size)
        let p = data.baseAddress!
        if !Self.memcmpEqual(p, SegmentFormat.magic) {
            guard Self.memcmpEqual(p, SegmentFormat.magicStem) else { throw bad(0, "bad magic (not a Strata index segment)") }
            let digit = p.load(fromByteOffset: 7, as: UInt8.self)
            let version = digit >= 0x30 && digit <= 0x39 ? String(digit - 0x30) : "0x" + String(digit, radix: 16)
            throw StrataError.unsupported(file: path, position: 7, reason: "index segment version \(version); this build reads version 5 only (Formats/search-segment.md §7): index the data again (a Store rebuilds its indexes from the log on open)")
        }
        if !Self.memcmpEqual(p + size - 8, SegmentFormat.magic) { throw bad(size - 8, "bad footer magic (truncated or damaged file)") }
        let f = size - SegmentFormat.footerSize
        if verifyChecksum { try Self.verifyCRC(data, path: path) }
        func u32(_ o: Int) -> Int { Int(p.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian) }
        // Offsets above the file size are clamped to it (and then fail the checks below).
        func u64(_ o: Int) -> Int {
            let v = p.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian
            return v > UInt64(size) ? size + 1 : Int(v)
        }
        documentCount = u32(f)
        termCount = u32(f + 4)
        totalTokens = p.loadUnaligned(fromByteOffset: f + 8, as: UInt64.self).littleEndian
        normsOffset = u32(f + 16)
        normBytes = u32(f + 20)
        postingsOffset = u64(f + 24)
        positionsOffset = u64(f + 32)
        termsOffset = u64(f + 40)
        blockIndexOffset = u64(f + 48)
        blockCount = u32(f + 56)
        guard normsOffset == 8, normBytes == 1 || normBytes == 2 || normBytes == 4, documentCount <= (size - 8) / normBytes,
              postingsOffset == normsOffset + normBytes * documentCount,
              postingsOffset <= positionsOffset, positionsOffset <= termsOffset, termsOffset <= blockIndexOffset,
              blockCount <= size / 12, blockIndexOffset + 12 * blockCount == f,
              blockCount == (termCount + SegmentFormat.termsPerBlock - 1) / SegmentFormat.termsPerBlock else {
            throw bad(f, "inconsistent section table (norms \(normsOffset) of \(normBytes) bytes each, postings \(postingsOffset), positions \(positionsOffset), terms \(termsOffset), block index \(blockIndexOffset), \(blockCount) blocks, \(termCount) terms, \(documentCount) docs)")
        }
        storedKeys = p + blockIndexOffset + 4 * blockCount
    }

    /// A term's first 8 bytes as a big-endian integer, zero-padded: `key(a) < key(b)` implies
    /// a < b in byte order; equal keys need the full comparison.
    @inline(__always)
    static func key(_ term: UnsafeRawBufferPointer) -> UInt64 { SegmentFormat.blockKey(term) }

    /// The last block whose first term is ≤ `term` (0 when `term` precedes every block).
    private func block(for term: UnsafeRawBufferPointer) throws -> Int {
        let target = Self.key(term)
        var lo = 0, hi = blockCount - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            let k = blockKey(mid)
            let notBefore = k != target ? k < target : !SegmentFormat.precedes(term, try firstTerm(mid))
            if notBefore { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    private static func memcmpEqual(_ p: UnsafeRawPointer, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { memcmp(p, $0.baseAddress!, bytes.count) == 0 }
    }

    func fail(_ at: Int, _ why: String) -> StrataError {
        .corrupt(file: path, position: Int64(at), reason: "index segment: \(why)")
    }

    /// The token count of a document.
    public func norm(_ doc: Int) -> UInt32 {
        SegmentFormat.norm(norms, width: normBytes, doc)
    }

    /// The norms section: document d's token count is the little-endian integer of
    /// `normBytes` bytes at normBytes · d (`SegmentFormat.norm`, for loops that read many
    /// without a call each; d < documentCount).
    var norms: UnsafeRawPointer { data.baseAddress! + normsOffset }

    private var termsSection: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: data[termsOffset ..< blockIndexOffset]) }

    private func blockStart(_ b: Int) throws -> Int {
        let v = Int(data.baseAddress!.loadUnaligned(fromByteOffset: blockIndexOffset + 4 * b, as: UInt32.self).littleEndian)
        if v >= blockIndexOffset - termsOffset { throw fail(blockIndexOffset + 4 * b, "dictionary block \(b) starts past the dictionary") }
        return v
    }

    /// Decodes dictionary entries of block `b` in order, calling `body(shared, suffix, info)`
    /// with the suffix read in place; stops early when `body` returns false.
    private func scanEntries(_ b: Int, _ body: (Int, UnsafeRawBufferPointer, TermInfo) throws -> Bool) throws {
        var r = ByteReader(termsSection, base: Int64(termsOffset))
        r.position = try blockStart(b)
        let inBlock = min(SegmentFormat.termsPerBlock, termCount - b * SegmentFormat.termsPerBlock)
        var po = 0, qo = 0
        var length = 0
        for k in 0 ..< inBlock {
            let shared = Int(clamping: try r.readUnsignedVarint(maxBytes: 5)), suffix = Int(clamping: try r.readUnsignedVarint(maxBytes: 5))
            if shared > length || (k == 0 && shared != 0) { throw fail(termsOffset + r.position, "shared prefix \(shared) longer than the previous term") }
            let suffixBytes = try r.readBytes(suffix, "term suffix")
            length = shared + suffix
            let docFreq = Int(clamping: try r.readUnsignedVarint(maxBytes: 5))
            if k == 0 {
                po = Int(clamping: try r.readUnsignedVarint(maxBytes: 10))
                qo = Int(clamping: try r.readUnsignedVarint(maxBytes: 10))
            }
            let pl = Int(clamping: try r.readUnsignedVarint(maxBytes: 10)), ql = Int(clamping: try r.readUnsignedVarint(maxBytes: 10))
            guard docFreq >= 1, docFreq <= documentCount, po <= positionsOffset - postingsOffset, pl <= positionsOffset - postingsOffset - po,
                  qo <= termsOffset - positionsOffset, ql <= termsOffset - positionsOffset - qo else {
                throw fail(termsOffset + r.position, "term entry points outside its sections")
            }
            let info = TermInfo(docFreq: docFreq, postings: postingsOffset + po ..< postingsOffset + po + pl, positions: positionsOffset + qo ..< positionsOffset + qo + ql)
            po += pl
            qo += ql
            if try !body(shared, suffixBytes, info) { return }
        }
    }

    /// Decodes dictionary entries of block `b` in order, calling `body(term, info)`; stops early
    /// when `body` returns false.
    func scanBlock(_ b: Int, _ body: (UnsafeRawBufferPointer, TermInfo) throws -> Bool) throws {
        var term = [UInt8]()
        try scanEntries(b) { shared, suffix, info in
            term.removeLast(term.count - shared)
            term.append(contentsOf: suffix)
            return try term.withUnsafeBytes { try body($0, info) }
        }
    }

    /// The first term of block `b`, in place (a block's first entry shares nothing).
    private func firstTerm(_ b: Int) throws -> UnsafeRawBufferPointer {
        var r = ByteReader(termsSection, base: Int64(termsOffset))
        r.position = try blockStart(b)
        let shared = try r.readUnsignedVarint(maxBytes: 5), suffix = Int(clamping: try r.readUnsignedVarint(maxBytes: 5))
        if shared != 0 { throw fail(termsOffset + r.position, "a block's first term shares \(shared) bytes") }
        return try r.readBytes(suffix, "term")
    }

    /// Looks a term up without allocating: binary search over the in-memory block keys, then a
    /// scan of one block tracking the common prefix with the target.
    public func lookup(_ term: UnsafeRawBufferPointer) throws -> TermInfo? {
        if blockCount == 0 { return nil }
        return try findInBlock(try block(for: term), term)
    }


    /// Reads an unsigned LEB128 varint at `at` (below `end`); −1 when it runs past `end` or
    /// exceeds 63 bits. Non-throwing, so the dictionary scan checks once per entry.
    @inline(__always)
    private static func varint(_ base: UnsafeRawPointer, _ at: inout Int, _ end: Int) -> Int {
        guard at < end else { return -1 }
        let first = Int(base.load(fromByteOffset: at, as: UInt8.self))
        at += 1
        if first < 0x80 { return first }
        var v = first & 0x7F, shift = 7
        while true {
            guard at < end, shift < 63 else { return -1 }
            let byte = Int(base.load(fromByteOffset: at, as: UInt8.self))
            at += 1
            v |= (byte & 0x7F) << shift
            if byte < 0x80 { return v }
            shift += 7
        }
    }

    /// Scans block `b` for `term` on raw bytes: each entry's suffix is compared in place (the
    /// common prefix with `term` is tracked across entries) and offsets are only summed, so a
    /// miss decodes no term and builds no info. Every entry's prefix, suffix and lengths are
    /// bounds-checked as it is read (so the sums cannot overflow); the entry found gets the full
    /// checks of `scanEntries`.
    private func findInBlock(_ b: Int, _ term: UnsafeRawBufferPointer) throws -> TermInfo? {
        let base = data.baseAddress!
        var at = termsOffset + (try blockStart(b))
        let end = blockIndexOffset
        let postingsSpan = positionsOffset - postingsOffset, positionsSpan = termsOffset - positionsOffset
        let inBlock = min(SegmentFormat.termsPerBlock, termCount - b * SegmentFormat.termsPerBlock)
        let target = term.baseAddress.map { UnsafeRawPointer($0) } ?? base
        let targetCount = term.count
        var po = 0, qo = 0
        var common = 0   // bytes the current entry shares with `term`
        var length = 0   // the current entry's length
        for k in 0 ..< inBlock {
            let entryAt = at
            let shared = Self.varint(base, &at, end), suffix = Self.varint(base, &at, end)
            guard shared >= 0, suffix >= 0, shared <= length, k != 0 || shared == 0, suffix <= end - at else {
                throw fail(entryAt, "dictionary entry \(k) of block \(b) is damaged (shared prefix \(shared), suffix \(suffix))")
            }
            let suffixAt = at
            at += suffix
            length = shared + suffix
            let docFreq = Self.varint(base, &at, end)
            if k == 0 { po = Self.varint(base, &at, end); qo = Self.varint(base, &at, end) }
            let pl = Self.varint(base, &at, end), ql = Self.varint(base, &at, end)
            guard docFreq >= 0, po >= 0, qo >= 0, pl >= 0, ql >= 0, pl <= postingsSpan, ql <= positionsSpan, po <= postingsSpan, qo <= positionsSpan else {
                throw fail(entryAt, "term entry points outside its sections")
            }
            if shared <= common {
                // The entry agrees with `term` on its first `shared` bytes; compare the suffix.
                let n = min(suffix, targetCount - shared)
                var j = 0
                while j < n && base.load(fromByteOffset: suffixAt + j, as: UInt8.self) == target.load(fromByteOffset: shared + j, as: UInt8.self) { j += 1 }
                common = shared + j
                if common == targetCount && j == suffix {
                    guard docFreq >= 1, docFreq <= documentCount, pl <= postingsSpan - po, ql <= positionsSpan - qo else {
                        throw fail(entryAt, "term entry points outside its sections")
                    }
                    return TermInfo(docFreq: docFreq, postings: postingsOffset + po ..< postingsOffset + po + pl, positions: positionsOffset + qo ..< positionsOffset + qo + ql)
                }
                // Past `term` in byte order: stop.
                if j < n && base.load(fromByteOffset: suffixAt + j, as: UInt8.self) > target.load(fromByteOffset: shared + j, as: UInt8.self) { return nil }
            }
            po += pl
            qo += ql
        }
        return nil
    }

    public func lookup(_ term: String) throws -> TermInfo? {
        var copy = term
        return try copy.withUTF8 { try lookup(UnsafeRawBufferPointer($0)) }
    }

    /// Walks the dictionary in byte order one block at a time (merges k-way merge these).
    final class TermIterator {
        let segment: IndexSegment
        private var block = -1
        /// The current block's terms, back to back in `termBytes` (start, length), with infos.
        private var termBytes: [UInt8] = []
        private var entries: [(start: Int, count: Int, info: TermInfo)] = []
        private var index = 0
        /// Whether a term is current (false past the last term).
        private(set) var hasTerm = false

        init(_ segment: IndexSegment) throws {
            self.segment = segment
            try next()
        }

        /// The current term's info (only while `hasTerm`).
        var info: TermInfo { entries[index].info }

        /// Calls `body` with the current term's bytes (valid only inside; only while `hasTerm`).
        @inline(__always) func withTerm<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            let e = entries[index]
            return try termBytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[e.start ..< e.start + e.count])) }
        }

        func next() throws {
            index += 1
            while index >= entries.count {
                block += 1
                guard block < segment.blockCount else { hasTerm = false; return }
                entries.removeAll(keepingCapacity: true)
                termBytes.removeAll(keepingCapacity: true)
                try segment.scanBlock(block) { t, info in
                    entries.append((termBytes.count, t.count, info))
                    termBytes.append(contentsOf: t)
                    return true
                }
                index = 0
            }
            hasTerm = true
        }
    }

    /// Terms in byte order from the block that may hold `lower` (every term when nil) until
    /// `body` returns false.
    func forEachTerm(from lower: [UInt8]?, _ body: (UnsafeRawBufferPointer, TermInfo) throws -> Bool) throws {
        if blockCount == 0 { return }
        var start = 0
        if let lower { start = try lower.withUnsafeBytes { try block(for: $0) } }
        var going = true
        for b in start ..< blockCount where going {
            try scanBlock(b) { t, i in going = try body(t, i); return going }
        }
    }

    /// Every term in byte order with its info.
    public func forEachTerm(_ body: (UnsafeRawBufferPointer, TermInfo) throws -> Void) throws {
        for b in 0 ..< blockCount { try scanBlock(b) { t, i in try body(t, i); return true } }
    }

    /// Decodes a term's postings: documents (ascending, < documentCount) and frequencies (≥ 1),
    /// through the same `PostingsCursor` queries use (one decoder; a full walk also checks that
    /// nothing follows the last posting).
    public func postings(_ info: TermInfo) throws -> (docs: [UInt32], freqs: [UInt32]) {
        var docs: [UInt32] = [], freqs: [UInt32] = [], positions: [UInt32] = []
        try decode(info, withPositions: false, &docs, &freqs, &positions)
        return (docs, freqs)
    }

    /// Decodes a term's postings and all its positions, concatenated in posting order.
    func decode(_ info: TermInfo, withPositions: Bool, _ docs: inout [UInt32], _ freqs: inout [UInt32], _ positions: inout [UInt32]) throws {
        let c = try PostingsCursor.open(self, info, positions: withPositions)
        docs.reserveCapacity(docs.count + info.docFreq)
        freqs.reserveCapacity(freqs.count + info.docFreq)
        var list: [UInt32] = []
        while c.doc != PostingsCursor.exhausted {
            let f = c.frequency
            if f == 0 { throw fail(info.postings.lowerBound, "a frequency of 0") }
            docs.append(c.doc)
            freqs.append(f)
            if withPositions {
                try c.positions(into: &list)
                positions.append(contentsOf: list)
            }
            try c.next()
        }
        if withPositions, let left = c.positionsLeft, left > 0 {
            throw fail(info.positions.upperBound - left, "\(left) bytes after the last position")
        }
    }

    /// Decodes a term's positions, per posting in order.
    public func positions(_ info: TermInfo, freqs: [UInt32]) throws -> [[UInt32]] {
        var docs: [UInt32] = [], decodedFreqs: [UInt32] = [], flat: [UInt32] = []
        try decode(info, withPositions: true, &docs, &decodedFreqs, &flat)
        guard decodedFreqs == freqs else { throw fail(info.postings.lowerBound, "frequencies differ from the postings given") }
        var out: [[UInt32]] = []
        out.reserveCapacity(freqs.count)
        var at = 0
        for f in freqs {
            out.append(Array(flat[at ..< at + Int(f)]))
            at += Int(f)
        }
        return out
    }

    /// BM25 top-`limit` for analyzed query terms OR-ed (repeats counted), as `MemoryIndex.search`.
    public func search(terms: [[UInt8]], limit: Int, bm25: BM25 = BM25()) throws -> [MemoryIndex.Hit] {
        try MatchTree.top(terms: terms, limit: limit) { try termNode($0, occurrences: $1, bm25: bm25) }
    }

    /// The match-tree node of an analyzed term on a cursor (nil: absent), scored from this
    /// file's statistics (nil `bm25`: not scored).
    func termNode(_ term: [UInt8], occurrences: Int, bm25: BM25?) throws -> MatchNode? {
        guard let info = try term.withUnsafeBytes({ try lookup($0) }) else { return nil }
        let scorer = bm25?.scorer(documents: info.docFreq, total: documentCount, occurrences: occurrences,
                                  averageLength: Float(Double(totalTokens) / Double(max(1, documentCount))))
        return CursorTermNode(try PostingsCursor.open(self, info), scorer: scorer)
    }
}

extension IndexSegment {
    /// Checks the whole-file CRC (`corrupt` on a mismatch): reads every page.
    /// Checks the whole-file CRC and that each stored block key is its block's first term's
    /// (a wrong key behind a valid CRC would send lookups to the wrong block).
    public func verifyChecksum() throws {
        try Self.verifyCRC(data, path: path)
        for b in 0 ..< blockCount where blockKey(b) != Self.key(try firstTerm(b)) {
            throw fail(blockIndexOffset + 4 * blockCount + 8 * b, "the stored key of dictionary block \(b) is not its first term's")
        }
    }

    static func verifyCRC(_ data: UnsafeRawBufferPointer, path: String) throws {
        let size = data.count
        let stored = data.loadUnaligned(fromByteOffset: size - 12, as: UInt32.self).littleEndian
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: data[0 ..< size - 12]))
        if stored != computed {
            throw StrataError.corrupt(file: path, position: Int64(size - 12), reason: "index segment: CRC mismatch (stored \(stored), computed \(computed))")
        }
    }
}
